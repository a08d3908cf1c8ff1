"""How many questions a guided eligibility check asks before every program is decided.

    .venv/bin/python tools/eligibility_questions.py                 # the engine's choice of next question
    .venv/bin/python tools/eligibility_questions.py --compare       # + the old "most components" choice
    .venv/bin/python tools/eligibility_questions.py --choice most_components --rules DIR --json out.json

Each typical profile (a fisher, a small farmer, an indigenous group, an OSC, a day labourer, a backyard
household) has an answer for every fact. The walk starts with no facts, asks the chosen next question,
records the profile's answer and stops when no component still lacks information, exactly as the bot's
/elegibilidad flow does. Reported: questions per profile, the order they were asked in, and the average.
Results are in docs/eligibility.md ("Choosing the next question").
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.eligibility import (  # noqa: E402
    FACTS,
    UNKNOWN,
    ComponentResult,
    ComponentRules,
    choose_next_question,
    evaluate_component,
    load_rules_dir,
    validate_facts,
)

_NONE = {  # answers that only matter to programs a profile is far from
    "es_comunidad_indigena": False,
    "numero_integrantes": 1,
    "tipo_superficie": "temporal",
    "recibio_apoyo_previo": "no",
    "convenio_sin_finiquito": False,
    "otro_programa_mismo_proyecto": False,
    "es_servidor_publico": False,
    "unidad_economica_rnpa": False,
    "tiene_permiso_pesca": False,
    "sancionado_veda": False,
    "tiene_embarcacion_menor": False,
    "trabaja_como_jornalero": False,
    "escolaridad": "secundaria",
    "municipio_cruzada": UNKNOWN,
    "habitantes_localidad": 4000,
    "metros_traspatio": 10,
    "anios_constitucion": 0,
    "tiene_cluni": False,
    "objeto_social_rural": False,
    "localidad_marginacion": "alta",
    "hectareas": 0,
    "unidades_animal": 0,
}

PROFILES: dict[str, dict[str, Any]] = {
    "pescador ribereño": _NONE
    | {
        "tipo_solicitante": "persona_fisica",
        "actividad": "pesquera",
        "edad": 35,
        "anios_actividad": 12,
        "unidad_economica_rnpa": True,
        "tiene_permiso_pesca": True,
        "tiene_embarcacion_menor": True,
        "escolaridad": "primaria",
    },
    "pequeño productor agrícola": _NONE
    | {
        "tipo_solicitante": "persona_fisica",
        "actividad": "agricola",
        "edad": 52,
        "hectareas": 4,
        "unidades_animal": 2,
        "anios_actividad": 30,
        "municipio_cruzada": True,
        "metros_traspatio": 40,
        "habitantes_localidad": 1200,
    },
    "grupo indígena de artesanas": _NONE
    | {
        "tipo_solicitante": "grupo",
        "actividad": "artesanal",
        "edad": 28,
        "es_comunidad_indigena": True,
        "numero_integrantes": 8,
        "anios_actividad": 6,
        "municipio_cruzada": True,
        "localidad_marginacion": "muy_alta",
        "habitantes_localidad": 800,
    },
    "organización de la sociedad civil": _NONE
    | {
        "tipo_solicitante": "osc",
        "actividad": "servicios",
        "edad": 30,
        "numero_integrantes": 15,
        "anios_actividad": 6,
        "anios_constitucion": 5,
        "tiene_cluni": True,
        "objeto_social_rural": True,
    },
    "jornalero agrícola": _NONE
    | {
        "tipo_solicitante": "persona_fisica",
        "actividad": "agricola",
        "edad": 24,
        "es_comunidad_indigena": True,
        "anios_actividad": 8,
        "trabaja_como_jornalero": True,
        "escolaridad": "primaria",
        "habitantes_localidad": 2500,
        "metros_traspatio": 5,
    },
    "hogar con traspatio": _NONE
    | {
        "tipo_solicitante": "persona_fisica",
        "actividad": "otra",
        "edad": 45,
        "anios_actividad": 0,
        "municipio_cruzada": True,
        "habitantes_localidad": 5000,
        "metros_traspatio": 30,
    },
}

Chooser = Callable[[Sequence[ComponentResult], Sequence[ComponentRules], Mapping[str, Any]], str | None]


def engine_choice(
    results: Sequence[ComponentResult], rules: Sequence[ComponentRules], facts: Mapping[str, Any]
) -> str | None:
    """What the engine asks next (``assistant.eligibility.choose_next_question``)."""
    return choose_next_question(results, rules, facts)


def most_components(
    results: Sequence[ComponentResult], rules: Sequence[ComponentRules], facts: Mapping[str, Any]
) -> str | None:
    """The choice before issue 14: the missing fact named by the most undecided components."""
    counts: dict[str, int] = {}
    for result in results:
        if result.status == "falta_informacion":
            for key in result.missing_facts:
                counts[key] = counts.get(key, 0) + 1
    order = list(FACTS)
    return min(counts, key=lambda k: (-counts[k], order.index(k))) if counts else None


def walk(rules: Sequence[ComponentRules], answers: Mapping[str, Any], chooser: Chooser) -> list[str]:
    """The facts asked, in order, until every component is decided."""
    facts: dict[str, Any] = {}
    asked: list[str] = []
    for _ in range(len(FACTS) + 1):
        clean = validate_facts(facts)
        results = [evaluate_component(r, clean) for r in rules]
        key = chooser(results, rules, clean)
        if key is None:
            return asked
        asked.append(key)
        facts[key] = answers[key]
    raise RuntimeError(f"the walk did not end: {asked}")


def measure(rules: Sequence[ComponentRules], chooser: Chooser) -> dict[str, Any]:
    runs = {name: walk(rules, answers, chooser) for name, answers in PROFILES.items()}
    average = sum(len(asked) for asked in runs.values()) / len(runs)
    return {
        "average": round(average, 2),
        "profiles": {n: {"questions": len(a), "asked": a} for n, a in runs.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=Path, default=ROOT / "corpus" / "eligibility")
    parser.add_argument(
        "--compare", action="store_true", help="also measure the old 'most components' choice"
    )
    parser.add_argument(
        "--choice",
        choices=("engine", "most_components"),
        default="engine",
        help="which choice to measure (most_components also runs on code from before issue 14)",
    )
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args(argv)

    rules, errors = load_rules_dir(args.rules)
    if errors:
        print("\n".join(map(str, errors)), file=sys.stderr)
        return 1
    available: dict[str, Chooser] = {"most_components": most_components, "engine": engine_choice}
    names = list(available) if args.compare else [args.choice]
    choosers = {name: available[name] for name in names}
    figures = {name: measure(rules, chooser) for name, chooser in choosers.items()}
    for name, data in figures.items():
        print(f"{name}: average {data['average']} questions over {len(PROFILES)} profiles")
        for profile, run in data["profiles"].items():
            print(f"  {run['questions']:>2}  {profile}: {', '.join(run['asked'])}")
    if args.json:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
