"""Eligibility: rules files (schema, citations), the engine on every shipped component, questions,
fact validation, free-text detection and the HTTP routes."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from assistant.api.routes_eligibility import eligibility_router
from assistant.eligibility import (
    DISCLAIMER,
    FACTS,
    POSSIBLE_PHRASE,
    UNKNOWN,
    ComponentResult,
    ComponentRules,
    EligibilityService,
    InvalidFacts,
    RulesFile,
    article_text,
    choose_next_question,
    drop_invalid,
    evaluate,
    export_rules,
    extract_facts,
    load_rules_dir,
    looks_like_eligibility_question,
    validate_citations,
    validate_facts,
)
from assistant.text import fold

ROOT = Path(__file__).resolve().parents[1]
RULES_DIR = ROOT / "corpus" / "eligibility"
COMPONENTS = {
    "cadenas-valor",
    "ceip",
    "osc",
    "pae-fomento-autoempleo",
    "pae-movilidad-laboral",
    "proin",
    "propesca",
    "sustitucion-motores",
    "traspatio",
}


def corpus_texts() -> dict[str, str]:
    """document_id -> text: Markdown/TXT read directly; PDF/DOCX/HTML from their tools/samples sources."""
    texts: dict[str, str] = {}
    for path in [*sorted((ROOT / "corpus").glob("*.md")), *sorted((ROOT / "corpus").glob("*.txt"))]:
        texts[_front_matter_id(path)] = path.read_text(encoding="utf-8")
    for path in sorted((ROOT / "tools" / "samples").glob("*.md")):
        texts[_front_matter_id(path)] = path.read_text(encoding="utf-8")
    return texts


def _front_matter_id(path: Path) -> str:
    match = re.search(r"^id:\s*(\S+)", path.read_text(encoding="utf-8"), re.M)
    assert match, f"{path} has no id"
    return match.group(1)


@pytest.fixture(scope="module")
def rules() -> list[ComponentRules]:
    loaded, errors = load_rules_dir(RULES_DIR)
    assert errors == []
    return loaded


@pytest.fixture(scope="module")
def service(rules: list[ComponentRules]) -> EligibilityService:
    return EligibilityService(rules)


def by_component(result: Any, component: str) -> ComponentResult:
    return next(r for r in result.results if r.component == component)


# --- Rules files: schema errors -------------------------------------------------------------------

GOOD_RULES = textwrap.dedent(
    """\
    component: prueba
    name: Componente de prueba
    program: pidr
    fiscal_year: 2014
    summary: Un componente pequeño para las pruebas.
    sources:
      reglas-prueba-2014: Reglas de Operación 2014
    who_may_apply:
      types: [persona_fisica]
      text: Productores a título personal.
      citation: {document_id: reglas-prueba-2014, section: Artículo 9}
    conditions:
      - id: superficie
        text: Hasta 20 hectáreas (cifra ilustrativa).
        fact: hectareas
        lte: 20
        illustrative: true
        citation: {document_id: reglas-prueba-2014, section: Artículo 9, quote: "superficie máxima de 20 hectáreas"}
    required_documents:
      - text: Identificación oficial vigente
        citation: {document_id: reglas-prueba-2014, section: Artículo 8}
    support:
      text: Un apoyo de prueba.
      citation: {document_id: reglas-prueba-2014, section: Artículo 9}
    """
)

PRUEBA_DOC = (
    "**Artículo 8.** Requisitos. Los solicitantes deberán presentar:\nI. Identificación oficial vigente;\n\n"
    "**Artículo 9.** Superficie. Podrán participar productores con una superficie máxima de 20 hectáreas "
    "(cifra ilustrativa).\n\n**Artículo 12.** Ventanillas. Las ventanillas abrirán en febrero."
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_broken_files_are_reported_with_file_field_and_reason_and_the_rest_load(tmp_path: Path) -> None:
    write(tmp_path, "prueba.yaml", GOOD_RULES)
    write(tmp_path, "sintaxis.yaml", "component: sintaxis\nname: Algo\nprogram: pidr: mal\n")
    write(
        tmp_path,
        "dato.yaml",
        GOOD_RULES.replace("component: prueba", "component: dato").replace(
            "fact: hectareas", "fact: color_de_ojos"
        ),
    )
    write(
        tmp_path,
        "tipo.yaml",
        GOOD_RULES.replace("component: prueba", "component: tipo").replace(
            "fiscal_year: 2014", "fiscal_year: dos mil catorce"
        ),
    )
    no_citation = re.sub(r"(?m)^    citation: .*\n", "", GOOD_RULES, count=1)
    write(tmp_path, "sincita.yaml", no_citation.replace("component: prueba", "component: sincita"))
    write(
        tmp_path,
        "seccion.yaml",
        GOOD_RULES.replace("component: prueba", "component: seccion").replace(
            "section: Artículo 8", "section: Art. 8"
        ),
    )
    write(tmp_path, "nombre.yaml", GOOD_RULES)  # says component: prueba

    rules, errors = load_rules_dir(tmp_path)

    assert [r.component for r in rules] == ["prueba"]
    assert rules[0].file == "prueba.yaml"
    found = {(e.file, e.field): e.reason for e in errors}
    assert "YAML mal formado" in found[("sintaxis.yaml", "")]
    assert "línea 3" in found[("sintaxis.yaml", "")]
    assert "color_de_ojos" in found[("dato.yaml", "conditions.0")]
    assert "dato desconocido" in found[("dato.yaml", "conditions.0")]
    assert found[("tipo.yaml", "fiscal_year")] == "debe ser un número entero"
    assert found[("sincita.yaml", "conditions.0.citation")] == "falta este campo"
    assert "Artículo N" in found[("seccion.yaml", "required_documents.0.citation.section")]
    assert "prueba.yaml" in found[("nombre.yaml", "component")]


def test_schema_rejects_wrong_operators_values_and_unflagged_illustrative_figures(tmp_path: Path) -> None:
    cases = {
        "op.yaml": ("fact: hectareas\n    lte: 20", "fact: hectareas\n    eq: grande", "es un número"),
        "val.yaml": (
            "fact: hectareas\n    lte: 20",
            "fact: actividad\n    in: [agricola, astronauta]",
            "astronauta",
        ),
        "yn.yaml": ("fact: hectareas\n    lte: 20", "fact: es_comunidad_indigena\n    eq: quizas", "sí/no"),
        "ilu.yaml": ("illustrative: true\n", "illustrative: false\n", "ilustrativ"),
        "tipo.yaml": ("types: [persona_fisica]", "types: [persona_fisica, marciano]", "marciano"),
        "extra.yaml": ("fiscal_year: 2014", "fiscal_year: 2014\ncolor: azul", "campo no permitido"),
    }
    for name, (old, new, _expected) in cases.items():
        component = name.removesuffix(".yaml")
        text = GOOD_RULES.replace("component: prueba", f"component: {component}").replace(old, new, 1)
        write(tmp_path, name, text)
    rules, errors = load_rules_dir(tmp_path)
    assert rules == []
    for name, (_, _, expected) in cases.items():
        reasons = " | ".join(e.reason for e in errors if e.file == name)
        assert expected in reasons, (name, reasons)


def test_missing_rules_folder_is_an_error_not_a_crash(tmp_path: Path) -> None:
    rules, errors = load_rules_dir(tmp_path / "no-existe")
    assert rules == [] and errors and "no existe" in errors[0].reason


def test_citations_are_checked_against_the_document_text(tmp_path: Path) -> None:
    write(tmp_path, "prueba.yaml", GOOD_RULES)
    rules, _ = load_rules_dir(tmp_path)
    assert validate_citations(rules, {"reglas-prueba-2014": PRUEBA_DOC}) == []

    missing_doc = validate_citations(rules, {})
    assert (
        missing_doc
        and "no está en el corpus" in missing_doc[0].reason
        and missing_doc[0].file == "prueba.yaml"
    )

    wrong_article = rules[0].model_copy(deep=True)
    wrong_article.support.citation.section = "Artículo 1"  # "Artículo 1" must not match "Artículo 12"
    errors = validate_citations([wrong_article], {"reglas-prueba-2014": PRUEBA_DOC})
    assert [(e.field, "Artículo 1" in e.reason) for e in errors] == [("support.citation", True)]

    wrong_quote = rules[0].model_copy(deep=True)
    wrong_quote.conditions[0].citation.section = "Artículo 8"  # the quote is in article 9, not 8
    errors = validate_citations([wrong_quote], {"reglas-prueba-2014": PRUEBA_DOC})
    assert [e.field for e in errors] == ["conditions.0.citation.quote"]
    assert drop_invalid([*rules, wrong_quote], errors) == []


def test_article_text_spans_one_article() -> None:
    span = article_text(PRUEBA_DOC, "Artículo 9")
    assert span is not None and "superficie máxima" in span and "Ventanillas" not in span
    assert article_text(PRUEBA_DOC, "Artículo 99") is None


# --- Shipped rules ----------------------------------------------------------------------------------


def test_every_shipped_rules_file_loads(rules: list[ComponentRules]) -> None:
    assert {r.component for r in rules} == COMPONENTS
    assert sorted(p.name for p in RULES_DIR.glob("*.yaml")) == sorted(f"{c}.yaml" for c in COMPONENTS)


def test_shipped_citations_validate_against_the_corpus_texts(rules: list[ComponentRules]) -> None:
    texts = corpus_texts()
    assert {"reglas-cadenas-valor-2014", "lineamientos-ceip-2014", "lineamientos-osc-2014"} <= texts.keys()
    assert validate_citations(rules, texts) == []
    cited = {c.citation.document_id for r in rules for c in r.conditions}
    assert cited >= {"lineamientos-propesca-2014", "reglas-proin-cdi-2014", "reglas-traspatio-2014"}


def test_shipped_citations_validate_against_what_the_loaders_read(rules: list[ComponentRules]) -> None:
    """Ingestion validates against loaded text, so PDF/DOCX/HTML extraction must keep the quotes."""
    from ingestion.loaders import load_document

    texts = corpus_texts()
    for name in (
        "reglas-cadenas-valor-2014.pdf",
        "lineamientos-ceip-2014.docx",
        "lineamientos-osc-2014.html",
    ):
        doc = load_document(ROOT / "corpus" / name)
        texts[doc.metadata["id"]] = "\n".join(block.text for block in doc.blocks)
    assert validate_citations(rules, texts) == []


def test_every_citation_of_an_illustrative_figure_says_so(rules: list[ComponentRules]) -> None:
    for component in rules:
        items = [*component.conditions, *component.exclusions, *component.priorities]
        for item in items:
            if item.citation.quote and "ilustrativ" in fold(item.citation.quote):
                assert item.illustrative and "ilustrativ" in fold(item.text), (component.component, item.id)


def test_rules_survive_export_and_reload(tmp_path: Path, rules: list[ComponentRules]) -> None:
    export_rules(rules, tmp_path / "version" / "eligibility")
    again, errors = load_rules_dir(tmp_path / "version" / "eligibility")
    assert errors == []
    assert [r.model_dump() for r in again] == [r.model_dump() for r in rules]


# --- Engine on each component ---------------------------------------------------------------------

PESCADOR = {
    "tipo_solicitante": "persona_fisica",
    "actividad": "pesquera",
    "edad": 35,
    "unidad_economica_rnpa": True,
    "tiene_permiso_pesca": True,
    "anios_actividad": 10,
    "recibio_apoyo_previo": "no",
    "es_servidor_publico": False,
    "sancionado_veda": False,
    "tiene_embarcacion_menor": True,
}
ORGANIZACION = {
    "tipo_solicitante": "persona_moral",
    "actividad": "agricola",
    "numero_integrantes": 12,
    "edad": 25,
    "hectareas": 15,
    "unidades_animal": 0,  # size caps on land and herd must all hold (issue 14)
    "recibio_apoyo_previo": "no",
    "convenio_sin_finiquito": False,
    "otro_programa_mismo_proyecto": False,
}
OSC = {
    "tipo_solicitante": "osc",
    "recibio_apoyo_previo": "no",  # one project per OSC and fiscal year (Art. 10)
    "anios_constitucion": 5,
    "objeto_social_rural": True,
    "tiene_cluni": True,
    "es_servidor_publico": False,
    "convenio_sin_finiquito": False,
    "otro_programa_mismo_proyecto": False,
}
GRUPO_INDIGENA = {
    "tipo_solicitante": "grupo",
    "actividad": "artesanal",
    "es_comunidad_indigena": True,
    "edad": 30,
    "numero_integrantes": 6,
    "convenio_sin_finiquito": False,
    "otro_programa_mismo_proyecto": False,
}
HOGAR = {
    "tipo_solicitante": "persona_fisica",
    "municipio_cruzada": True,
    "habitantes_localidad": 5000,
    "metros_traspatio": 30,
    "recibio_apoyo_previo": "no",
}
JORNALERO = {
    "tipo_solicitante": "persona_fisica",
    "trabaja_como_jornalero": True,
    "edad": 30,
    "escolaridad": "primaria",
}

# component, facts that qualify, status they give, a change that fails, the article of that failure,
# and a fact whose absence leaves the component undecided
SCENARIOS: list[tuple[str, dict[str, Any], str, dict[str, Any], str, str]] = [
    (
        "cadenas-valor",
        ORGANIZACION,
        "elegible",
        {"hectareas": 50, "tipo_superficie": "temporal", "unidades_animal": 0},
        "Artículo 6",
        "edad",
    ),
    (
        "ceip",
        {"tipo_solicitante": "persona_fisica", "hectareas": 3, "unidades_animal": 0},
        "posiblemente_elegible",
        {"hectareas": 25, "unidades_animal": 0},
        "Artículo 5",
        "hectareas",
    ),
    ("osc", OSC, "elegible", {"anios_constitucion": 1}, "Artículo 5", "tiene_cluni"),
    ("propesca", PESCADOR, "elegible", {"actividad": "acuicola"}, "Artículo 5", "anios_actividad"),
    (
        "sustitucion-motores",
        PESCADOR,
        "posiblemente_elegible",
        {"tiene_embarcacion_menor": False},
        "Artículo 11",
        "tiene_embarcacion_menor",
    ),
    (
        "proin",
        GRUPO_INDIGENA,
        "posiblemente_elegible",
        {"numero_integrantes": 3},
        "Artículo 6",
        "es_comunidad_indigena",
    ),
    ("traspatio", HOGAR, "posiblemente_elegible", {"metros_traspatio": 10}, "Artículo 5", "metros_traspatio"),
    (
        "pae-movilidad-laboral",
        JORNALERO,
        "elegible",
        {"escolaridad": "preparatoria"},
        "Artículo 6",
        "escolaridad",
    ),
    (
        "pae-fomento-autoempleo",
        {"tipo_solicitante": "persona_fisica", "edad": 17},
        "posiblemente_elegible",
        {"edad": 15},
        "Artículo 5",
        "edad",
    ),
]


@pytest.mark.parametrize(("component", "facts", "status", "change", "article", "drop"), SCENARIOS)
def test_engine_on_each_component(
    service: EligibilityService,
    component: str,
    facts: dict[str, Any],
    status: str,
    change: dict[str, Any],
    article: str,
    drop: str,
) -> None:
    good = by_component(service.evaluate(facts), component)
    assert good.status == status, good.reasons
    assert good.missing_facts == []
    assert good.required_documents or component == "sustitucion-motores"
    assert all(d.citation.label.count("Art. ") == 1 for d in good.required_documents)
    assert all(r.citation.section.startswith("Artículo ") for r in good.reasons)
    if status == "posiblemente_elegible":
        assert POSSIBLE_PHRASE in fold(good.summary.text)
        assert any(r.kind == "verificar" for r in good.reasons)

    bad = by_component(service.evaluate({**facts, **change}), component)
    assert bad.status == "no_elegible"
    assert bad.summary.text.startswith(("No cumple:", "Sólo pueden solicitar:"))
    assert bad.summary.citation.section == article
    assert bad.required_documents == []

    unknown = by_component(service.evaluate({k: v for k, v in facts.items() if k != drop}), component)
    assert unknown.status == "falta_informacion"
    assert drop in unknown.missing_facts
    assert unknown.summary.text.startswith("Falta saber:")
    assert all(FACTS[k].label in unknown.summary.text for k in unknown.missing_facts)
    assert unknown.required_documents == []


EXCLUSIONS: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    ("cadenas-valor", ORGANIZACION, {"recibio_apoyo_previo": "hace_3"}, "Artículo 6"),
    ("cadenas-valor", ORGANIZACION, {"convenio_sin_finiquito": True}, "Artículo 6"),
    ("osc", OSC, {"es_servidor_publico": True}, "Artículo 8"),
    ("propesca", PESCADOR, {"recibio_apoyo_previo": "este_anio"}, "Artículo 8"),
    ("propesca", PESCADOR, {"sancionado_veda": True}, "Artículo 8"),
    ("proin", GRUPO_INDIGENA, {"convenio_sin_finiquito": True}, "Artículo 18"),
    ("traspatio", HOGAR, {"recibio_apoyo_previo": "hace_1_2"}, "Artículo 6"),
]


@pytest.mark.parametrize(("component", "facts", "change", "article"), EXCLUSIONS)
def test_exclusions_rule_out(
    service: EligibilityService, component: str, facts: dict[str, Any], change: dict[str, Any], article: str
) -> None:
    result = by_component(service.evaluate({**facts, **change}), component)
    assert result.status == "no_elegible"
    assert result.summary.kind == "excluido" and result.summary.text.startswith("Exclusión que aplica:")
    assert result.summary.citation.section == article


def test_details_of_the_rules_are_honoured(service: EligibilityService) -> None:
    # 30 ha pass in Cadenas de Valor only if they are de temporal (Art. 6: 20 de riego o 40 de temporal)
    riego = by_component(
        service.evaluate({**ORGANIZACION, "hectareas": 30, "tipo_superficie": "riego", "unidades_animal": 0}),
        "cadenas-valor",
    )
    temporal = by_component(
        service.evaluate({**ORGANIZACION, "hectareas": 30, "tipo_superficie": "temporal"}), "cadenas-valor"
    )
    assert (riego.status, temporal.status) == ("no_elegible", "elegible")
    # a sociedad needs no minimum of members in PROIN; a grupo de trabajo does (Art. 6)
    sociedad = {k: v for k, v in GRUPO_INDIGENA.items() if k != "numero_integrantes"} | {
        "tipo_solicitante": "persona_moral"
    }
    assert by_component(service.evaluate(sociedad), "proin").status == "posiblemente_elegible"
    # hace más de 3 años no longer excludes from Cadenas de Valor
    old = by_component(
        service.evaluate({**ORGANIZACION, "recibio_apoyo_previo": "hace_mas"}), "cadenas-valor"
    )
    assert old.status == "elegible"
    # "No sé" can only be confirmed at the ventanilla, never counted as a yes
    unsure = by_component(service.evaluate({**HOGAR, "habitantes_localidad": UNKNOWN}), "traspatio")
    assert unsure.status == "posiblemente_elegible"
    assert any(r.kind == "verificar" and "habitantes" in r.text for r in unsure.reasons)
    # the Cruzada is a preference in Traspatio (Art. 4, illustrative), not a condition (issue 14)
    outside = by_component(service.evaluate({**HOGAR, "municipio_cruzada": False}), "traspatio")
    assert outside.status == "posiblemente_elegible"
    inside = by_component(service.evaluate(HOGAR), "traspatio")
    assert [r.illustrative for r in inside.reasons if r.kind == "prioridad" and "Cruzada" in r.text] == [True]
    # a pescador de acuacultura is not in PROPESCA 2014 (Art. 6 is context for 2017)
    assert (
        by_component(service.evaluate({**PESCADOR, "actividad": "acuicola"}), "propesca").status
        == "no_elegible"
    )


def test_every_result_carries_the_disclaimer_support_and_cited_reasons(service: EligibilityService) -> None:
    result = service.evaluate(PESCADOR)
    assert result.disclaimer == DISCLAIMER and "no una resolución" in result.disclaimer
    for component in result.results:
        assert component.support.citation.label.startswith(("Reglas", "Lineamientos"))
        for reason in [component.summary, *component.reasons]:
            assert "\n" not in reason.text
            assert re.search(r", Art\. \d+$", reason.citation.label)
        illustrative = [r for r in component.reasons if r.illustrative]
        assert all("ilustrativ" in fold(r.text) for r in illustrative)


def test_priorities_are_reported_but_never_change_the_status(service: EligibilityService) -> None:
    plain = by_component(service.evaluate(ORGANIZACION), "cadenas-valor")
    marginal = by_component(
        service.evaluate({**ORGANIZACION, "localidad_marginacion": "muy_alta"}), "cadenas-valor"
    )
    assert plain.status == marginal.status == "elegible"
    assert [r.citation.section for r in marginal.reasons if r.kind == "prioridad"] == ["Artículo 4"]
    assert not any(r.kind == "prioridad" for r in plain.reasons)


# --- Next question ---------------------------------------------------------------------------------


def test_next_question_decides_the_most_components(service: EligibilityService) -> None:
    first = service.evaluate({})
    assert first.next_question is not None and first.next_question.fact == "tipo_solicitante"
    assert all(r.status == "falta_informacion" for r in first.results)
    assert {o.value for o in first.next_question.options} == {
        "persona_fisica",
        "grupo",
        "persona_moral",
        "osc",
    }

    second = service.evaluate({"tipo_solicitante": "persona_fisica"})
    undecided = [r for r in second.results if r.status == "falta_informacion"]
    assert second.next_question is not None
    counts = {k: sum(k in r.missing_facts for r in undecided) for k in FACTS}
    assert counts[second.next_question.fact] == max(counts.values())
    assert second.next_question.fact == "edad"


def test_next_question_ties_follow_the_facts_order(rules: list[ComponentRules]) -> None:
    propesca = next(r for r in rules if r.component == "propesca")
    jornaleros = next(r for r in rules if r.component == "pae-movilidad-laboral")
    # each one misses a different single fact: the tie goes to the earlier fact in FACTS
    facts = {**PESCADOR, "trabaja_como_jornalero": True, "escolaridad": "primaria"}
    facts.pop("sancionado_veda")
    facts.pop("edad")
    result = evaluate([propesca, jornaleros], facts)
    missing = {r.component: r.missing_facts for r in result.results}
    assert missing == {"propesca": ["edad", "sancionado_veda"], "pae-movilidad-laboral": ["edad"]}
    assert result.next_question is not None and result.next_question.fact == "edad"  # 2 components beat 1
    # a tie between a question everyone can answer and one that offers «No sé»: the sure one first,
    # although the other comes first in FACTS
    tie = evaluate(
        [propesca], {**PESCADOR, "edad": 30} | {"sancionado_veda": None, "unidad_economica_rnpa": None}
    )
    assert list(FACTS).index("unidad_economica_rnpa") < list(FACTS).index("sancionado_veda")
    assert FACTS["unidad_economica_rnpa"].allow_unknown and not FACTS["sancionado_veda"].allow_unknown
    assert tie.next_question is not None and tie.next_question.fact == "sancionado_veda"
    # between two sure questions of the same program, the FACTS order
    tie = evaluate(
        [propesca], {**PESCADOR, "edad": 30} | {"sancionado_veda": None, "es_servidor_publico": None}
    )
    assert list(FACTS).index("es_servidor_publico") < list(FACTS).index("sancionado_veda")
    assert tie.next_question is not None and tie.next_question.fact == "es_servidor_publico"


def test_guided_answers_end_with_every_component_decided(service: EligibilityService) -> None:
    answers = {**PESCADOR, "hectareas": 0, "unidades_animal": 0, "trabaja_como_jornalero": False}
    answers |= {"municipio_cruzada": UNKNOWN, "habitantes_localidad": 3000, "metros_traspatio": 10}
    facts: dict[str, Any] = {}
    for _ in range(len(FACTS)):
        result = service.evaluate(facts)
        if result.next_question is None:
            break
        facts[result.next_question.fact] = answers[result.next_question.fact]
    assert result.complete and result.next_question is None
    statuses = {r.component: r.status for r in result.results}
    assert statuses["propesca"] == "elegible"
    assert statuses["sustitucion-motores"] == "posiblemente_elegible"
    assert statuses["proin"] == statuses["cadenas-valor"] == statuses["osc"] == "no_elegible"
    assert "falta_informacion" not in statuses.values()
    assert choose_next_question(result.results) is None


# --- Fact validation ---------------------------------------------------------------------------------


def test_facts_are_normalized() -> None:
    facts = validate_facts(
        {
            "edad": "35",
            "hectareas": "2,5",
            "habitantes_localidad": "12,000",
            "es_comunidad_indigena": "sí",
            "tipo_solicitante": "Persona Fisica",
            "actividad": "Pesca",
            "municipio_cruzada": "no sé",
            "escolaridad": None,
        }
    )
    assert facts == {
        "tipo_solicitante": "persona_fisica",
        "actividad": "pesquera",
        "edad": 35,
        "es_comunidad_indigena": True,
        "hectareas": 2.5,
        "municipio_cruzada": UNKNOWN,
        "habitantes_localidad": 12000,
    }
    assert list(facts) == [k for k in FACTS if k in facts]


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        ({"color": "azul"}, "«color» no es un dato"),
        ({"edad": "muchos"}, "debe ser un número"),
        ({"edad": 500}, "entre 0 y 120 años"),
        ({"edad": 30.5}, "entero"),
        ({"edad": True}, "debe ser un número"),
        ({"tipo_solicitante": "marciano"}, "persona_fisica"),
        ({"es_comunidad_indigena": "quizá"}, "sí o no"),
        ({"es_servidor_publico": "no_se"}, "sí o no"),  # "No sé" is not offered for this question
        ({"hectareas": float("nan")}, "debe ser un número"),
    ],
)
def test_bad_facts_are_refused_with_a_spanish_reason(facts: dict[str, Any], expected: str) -> None:
    with pytest.raises(InvalidFacts) as info:
        validate_facts(facts)
    assert expected in info.value.user_message
    assert info.value.code == "invalid_facts"


def test_several_bad_facts_are_reported_together() -> None:
    with pytest.raises(InvalidFacts) as info:
        validate_facts({"edad": -3, "color": "azul", "hectareas": 4})
    assert len(info.value.problems) == 2


# --- Free text -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "¿puedo pedir apoyo si tengo 3 hectareas?",
        "¿Puedo pedir apoyo si tengo 3 hectáreas?",
        "califico?",
        "soy pescador, me toca?",
        "tengo 3 hectareas, cuanto me toca y si me toca?",
        "somos 8 artesanas indigenas, podemos participar?",
        "tengo 70 anos, todavia tengo derecho?",
        "podria recibir el apoyo de traspatio",
        "CUMPLO CON LOS REQUISITOS DE PROPESCA?",
    ],
)
def test_eligibility_questions_are_detected(text: str) -> None:
    assert looks_like_eligibility_question(text)


@pytest.mark.parametrize(
    "text",
    [
        "¿Cuándo abren las ventanillas de PROPESCA?",
        "que es el folio",
        "¿Puedo pedir prórroga para entregar los papeles?",
        "¿Cómo se califican las solicitudes de Cadenas de Valor?",
        "¿Cuánto dan por pescador en Baja California Sur?",
        "cuanto nos toca poner a nosotros",
        "¿Cuánto me toca de apoyo?",
    ],
)
def test_other_questions_are_not_eligibility_questions(text: str) -> None:
    assert not looks_like_eligibility_question(text)


def test_facts_are_extracted_from_free_text() -> None:
    assert extract_facts("¿puedo pedir apoyo si tengo 3 hectareas?") == {"hectareas": 3.0}
    assert extract_facts("¿Puedo pedir apoyo si tengo 3 hectáreas?") == {"hectareas": 3.0}
    assert extract_facts("soy pescador, me toca?") == {"actividad": "pesquera"}
    assert extract_facts("Tengo 45 años y somos un grupo de 8 indígenas artesanos") == {
        "actividad": "artesanal",
        "edad": 45,
        "es_comunidad_indigena": True,
        "tipo_solicitante": "grupo",
        "numero_integrantes": 8,
    }
    assert extract_facts("llevo 10 anos pescando en la laguna") == {
        "actividad": "pesquera",
        "anios_actividad": 10.0,
    }
    assert extract_facts("somos una cooperativa de 25 socios, 2.5 ha cada uno") == {
        "tipo_solicitante": "persona_moral",
        "numero_integrantes": 25,
        "hectareas": 2.5,
    }
    assert extract_facts("no soy indigena, soy jornalero") == {
        "es_comunidad_indigena": False,
        "trabaja_como_jornalero": True,
    }
    assert extract_facts("tengo 900 anos") == {}  # out of range: ignored, not an error
    assert extract_facts("¿qué es el RNPA?") == {}


def test_quick_check_answers_from_the_rules(service: EligibilityService) -> None:
    result = service.quick_check("¿puedo pedir apoyo si tengo 3 hectareas?")
    assert result.facts == {"hectareas": 3.0}
    assert result.next_question is not None and result.next_question.fact == "tipo_solicitante"


def test_service_loads_a_folder_and_keeps_the_errors(tmp_path: Path) -> None:
    write(tmp_path, "prueba.yaml", GOOD_RULES)
    write(tmp_path, "roto.yaml", "component: [")
    svc = EligibilityService(tmp_path)
    assert [r.component for r in svc.rules] == ["prueba"]
    assert [e.file for e in svc.errors] == ["roto.yaml"]
    assert [q.fact for q in svc.questions()] == ["tipo_solicitante", "hectareas"]
    assert isinstance(svc.rules[0], RulesFile)


# --- HTTP ------------------------------------------------------------------------------------------------


@pytest.fixture
def client(service: EligibilityService) -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(eligibility_router(lambda: service))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_http_questions_list_the_allowed_answers(client: httpx.AsyncClient) -> None:
    async with client:
        response = await client.get("/v1/eligibility/questions")
    assert response.status_code == 200
    body = response.json()
    questions = {q["fact"]: q for q in body["questions"]}
    assert next(iter(questions)) == "tipo_solicitante"
    assert {o["value"] for o in questions["tipo_solicitante"]["options"]} >= {"persona_fisica", "osc"}
    assert questions["edad"]["kind"] == "number" and questions["edad"]["unit"] == "años"
    assert [o["label"] for o in questions["unidad_economica_rnpa"]["options"]] == ["Sí", "No", "No sé"]
    assert "no una resolución" in body["disclaimer"]


async def test_http_evaluation_gives_results_citations_and_next_question(client: httpx.AsyncClient) -> None:
    async with client:
        empty = await client.post("/v1/eligibility", json={"facts": {}})
        full = await client.post("/v1/eligibility", json={"facts": PESCADOR})
    assert empty.status_code == 200
    assert empty.json()["next_question"]["fact"] == "tipo_solicitante"
    assert len(empty.json()["results"]) == len(COMPONENTS)

    body = full.json()
    propesca = next(r for r in body["results"] if r["component"] == "propesca")
    assert propesca["status"] == "elegible"
    assert propesca["summary"]["citation"]["label"] == "Lineamientos 2014, PROPESCA (CONAPESCA), Art. 5"
    assert any(
        d["text"] == "Constancia de inscripción de su unidad económica en el RNPA"
        for d in propesca["required_documents"]
    )
    assert "no una resolución" in body["disclaimer"]
    assert body["facts"]["edad"] == 35


async def test_http_bad_facts_answer_422_in_spanish(client: httpx.AsyncClient) -> None:
    async with client:
        response = await client.post("/v1/eligibility", json={"facts": {"edad": "mucha", "planeta": "Marte"}})
        schema = await client.get("/openapi.json")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_facts"
    assert "«planeta» no es un dato" in error["message"] and "edad" in error["message"]
    paths = schema.json()["paths"]
    assert {"/v1/eligibility", "/v1/eligibility/questions"} <= paths.keys()
    assert "422" in paths["/v1/eligibility"]["post"]["responses"]
