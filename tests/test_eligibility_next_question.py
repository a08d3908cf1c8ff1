"""The next question of a guided check: what it can still decide for the programs open for this person.
The measured profiles of tools/eligibility_questions.py, and the figures docs/eligibility.md shows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.eligibility import ComponentRules, EligibilityService, evaluate, load_rules_dir
from tools.eligibility_questions import PROFILES, engine_choice, measure, most_components, walk

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def rules() -> list[ComponentRules]:
    loaded, errors = load_rules_dir(ROOT / "corpus" / "eligibility")
    assert errors == []
    return loaded


def test_a_fisher_is_asked_about_the_boat_and_the_rnpa_before_land(rules: list[ComponentRules]) -> None:
    facts = {"tipo_solicitante": "persona_fisica", "actividad": "pesquera", "edad": 35}
    first = evaluate(rules, facts | {"recibio_apoyo_previo": "no"}).next_question
    assert first is not None and first.fact == "tiene_embarcacion_menor"  # it decides a program outright
    asked = walk(rules, PROFILES["pescador ribereño"], engine_choice)
    for fisher_fact in ("tiene_embarcacion_menor", "unidad_economica_rnpa", "tiene_permiso_pesca"):
        assert asked.index(fisher_fact) < asked.index("hectareas") < asked.index("unidades_animal")
    before = walk(rules, PROFILES["pescador ribereño"], most_components)
    assert before.index("hectareas") < before.index("unidad_economica_rnpa")  # what the old choice did


def test_a_day_labourer_is_asked_about_day_labour_first(rules: list[ComponentRules]) -> None:
    asked = walk(rules, PROFILES["jornalero agrícola"], engine_choice)
    assert asked.index("trabaja_como_jornalero") < asked.index("hectareas")
    assert "habitantes_localidad" not in asked  # 5 m² of backyard already rule Traspatio out


@pytest.mark.parametrize("profile", list(PROFILES))
def test_every_profile_ends_with_every_program_decided(rules: list[ComponentRules], profile: str) -> None:
    answers = PROFILES[profile]
    asked = walk(rules, answers, engine_choice)
    result = EligibilityService(rules).evaluate({k: answers[k] for k in asked})
    assert result.complete and result.next_question is None
    assert all(r.status != "falta_informacion" for r in result.results)
    assert len(asked) == len(set(asked))


def test_the_new_choice_never_asks_more_and_the_docs_show_the_measured_figures(
    rules: list[ComponentRules],
) -> None:
    new = measure(rules, engine_choice)
    old = measure(rules, most_components)
    for profile in PROFILES:
        assert new["profiles"][profile]["questions"] <= old["profiles"][profile]["questions"], profile
    assert new["average"] < old["average"]
    doc = (ROOT / "docs" / "eligibility.md").read_text("utf-8")
    rows = {
        "most undecided programs": old,
        "what it can still decide (now)": new,
    }
    for label, data in rows.items():
        line = next(x for x in doc.splitlines() if x.startswith("| issue 14 rules") and label in x)
        cells = [c.strip().strip("*") for c in line.strip("|").split("|")]
        assert float(cells[2]) == data["average"], line
        assert [int(c) for c in cells[3:]] == [r["questions"] for r in data["profiles"].values()], line
    assert re.search(r"\| before issue 14 \| most undecided programs \| 10\.33 \|", doc)
