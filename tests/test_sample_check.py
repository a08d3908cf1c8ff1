"""The sample-document checker: every figure of a sample document is a listed public fact or marked
illustrative in its sentence, the same rate is not stated with two values, and a rule is flagged
illustrative exactly when the sentence it quotes is. Run on the shipped corpus as ingestion reads it."""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml

from assistant.eligibility import load_rules_dir, validate_citations
from assistant.eligibility.marks import units, units_quoting
from ingestion.loaders import load_document
from ingestion.sample_check import (
    PublicFact,
    canonical,
    check_figures,
    check_repeated_quantities,
    check_sample,
    frame_years,
    load_facts,
)

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"


def loaded_corpus() -> dict[str, tuple[dict[str, object], str]]:
    """document id -> (metadata, text) as the loaders read the shipped files (PDF, DOCX, HTML too)."""
    docs: dict[str, tuple[dict[str, object], str]] = {}
    for path in sorted(CORPUS.iterdir()):
        if path.is_dir() or path.suffix in (".yaml", ".yml"):
            continue
        doc = load_document(path)
        docs[str(doc.metadata["id"])] = (dict(doc.metadata), "\n".join(b.text for b in doc.blocks))
    return docs


@pytest.fixture(scope="module")
def corpus() -> dict[str, tuple[dict[str, object], str]]:
    return loaded_corpus()


@pytest.fixture(scope="module")
def facts() -> list[PublicFact]:
    loaded, problems = load_facts(CORPUS / "facts.yaml")
    assert problems == []
    return loaded


def test_the_shipped_samples_have_nothing_to_report(
    corpus: dict[str, tuple[dict[str, object], str]], facts: list[PublicFact]
) -> None:
    samples = {doc_id: v for doc_id, v in corpus.items() if v[0].get("sample")}
    assert len(samples) == 9 and not corpus["presentacion-inca-rural-2014"][0]["sample"]
    findings = [
        f
        for doc_id, (meta, text) in samples.items()
        for f in check_sample(doc_id, text, frame_years(meta), facts)
    ]
    assert [str(f) for f in findings] == []


def test_every_public_fact_has_a_source_a_year_and_is_used(
    corpus: dict[str, tuple[dict[str, object], str]], facts: list[PublicFact]
) -> None:
    raw = yaml.safe_load((CORPUS / "facts.yaml").read_text("utf-8"))["facts"]
    assert len(raw) == len(facts) and len({f.id for f in facts}) == len(facts)
    texts = {doc_id: canonical(text) for doc_id, (_, text) in corpus.items()}
    for fact in facts:
        assert fact.source and 1990 <= fact.year <= 2030, fact.id
        assert "FACTS.md" not in fact.source and "../shared" not in fact.source
        docs = [d for d in texts if not fact.documents or d in fact.documents]
        assert fact.documents <= texts.keys(), fact.id
        for phrase in fact.phrases:  # the facts file says nothing the corpus doesn't use
            assert any(re.search(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", texts[d]) for d in docs), (
                fact.id,
                phrase,
            )


def test_shipped_rules_flag_illustrative_exactly_when_the_quoted_sentence_is(
    corpus: dict[str, tuple[dict[str, object], str]],
) -> None:
    rules, errors = load_rules_dir(CORPUS / "eligibility")
    assert errors == []
    assert validate_citations(rules, {doc_id: text for doc_id, (_, text) in corpus.items()}) == []


# --- What the checker catches (sentences as the issue found them) ------------------------------------

FACTS = [
    PublicFact(
        id="bcs",
        statement="BCS 2014",
        year=2014,
        source="Uno TV (2014)",
        url="",
        phrases=(canonical("tres a cinco días"), canonical("8,000 pesos")),
        documents=frozenset(),
        context=(canonical("Baja California Sur"),),
    )
]

BEFORE = textwrap.dedent(
    """\
    **Artículo 2.** Glosario. Para efectos de estos lineamientos se entenderá por:
    IX. Curso: capacitación de tres a cinco días que el pescador debe acreditar para recibir el apoyo.

    **Artículo 9.** Apoyo. En Baja California Sur, en 2014, el curso duró de tres a cinco días y después se entregaron 8,000 pesos por pescador.

    **Artículo 11.** Montos. La organización aportará al menos el 20% restante (porcentaje ilustrativo), y hasta la mitad de esa aportación podrá ser en especie.

    **Artículo 18.** Desempate. Cuando dos solicitudes empatan, suele preferirse la de folio más antiguo.

    **Artículo 20.** Obligaciones. Las organizaciones beneficiarias deberán:
    I. Firmar el convenio dentro de los 15 días hábiles siguientes (plazo ilustrativo);
    IV. Entregar informes trimestrales de avance físico y financiero a la Instancia Ejecutora;
    """
)


def test_unmarked_invented_figures_are_found_and_public_facts_keep_their_place() -> None:
    findings = check_figures("doc", BEFORE, {2014}, FACTS)
    found = {(f.section, f.reason.rsplit("(", 1)[-1].rstrip(")")) for f in findings}
    assert found == {
        ("Artículo 2", "3, 5"),  # a Baja California Sur fact stated as a rule for everyone
        ("Artículo 18", "2"),  # the unmarked tie-break
        ("Artículo 20", "trimestral"),  # an unmarked report frequency
    }
    # Art. 9 says the same figures with their state: a public fact. Art. 11's sentence is marked for
    # the 20 %, and a mark covers its whole sentence; written on its own, "la mitad" is found:
    alone = "**Artículo 11.** Montos. Hasta la mitad de esa aportación podrá ser en especie."
    assert [f.section for f in check_figures("doc", alone, {2014}, FACTS)] == ["Artículo 11"]


def test_marks_cover_their_sentence_list_and_table() -> None:
    text = textwrap.dedent(
        """\
        **Artículo 7.** Requisitos. Los pescadores deberán presentar (lista ilustrativa):
        I. Comprobante de domicilio con antigüedad no mayor a tres meses;
        a) Con al menos dos firmas;
        Para acreditar el curso, deberá asistir al 80% de las sesiones.

        **Artículo 10.** Montos. Los apoyos son los de la tabla siguiente:
        TABLA: Tabla 1. Montos (cifras ilustrativas)
        | Concepto | Monto |
        |---|---|
        | Huerto | 3,500 pesos |

        **Artículo 12.** Tabla sin marca:
        | Concepto | Monto |
        |---|---|
        | Módulo de aves | 4,500 pesos |
        | Capacitación | Cifra ilustrativa: 2,000 pesos |
        """
    )
    found = {(u.section, u.kind, u.marked) for u in units(text) if re.search(r"\d|tres|dos", u.text)}
    assert ("Artículo 7", "item", True) in found
    assert ("Artículo 7", "sentence", False) in found  # the sentence after the list is its own
    findings = check_figures("doc", text, {2014}, [])
    assert [(f.section, f.text) for f in findings] == [
        ("Artículo 7", "Para acreditar el curso, deberá asistir al 80% de las sesiones."),
        ("Artículo 12", "Módulo de aves | 4,500 pesos"),
    ]


def test_article_numbers_codes_and_the_documents_own_years_are_not_figures() -> None:
    text = (
        "**Artículo 3.** Estratos. Se aplica el artículo 20 y los artículos 42, 43 y 72; los estratos E1 "
        "a E6 se describen en la Guía. Estos lineamientos rigen en 2014 y 2015."
    )
    assert check_figures("doc", text, {2014, 2015}, []) == []
    assert [f.reason for f in check_figures("doc", text, {2014}, [])] == [
        "cifra o fecha sin marca de ilustrativa ni dato público en facts.yaml (2015)"
    ]


def test_the_same_rate_stated_twice_with_two_values_is_found() -> None:
    text = textwrap.dedent(
        """\
        **Artículo 6.** Restricciones. Sólo se entregará un paquete por hogar en el ejercicio fiscal.

        **Artículo 9.** Entrega. Cada hogar podrá recibir dos paquetes por hogar si hay recursos.

        **Artículo 10.** Montos. En 2014 se entregaron 8,000 pesos por pescador; en 2018, 7,000 pesos por pescador.
        """
    )
    findings = check_repeated_quantities("doc", text)
    assert [(f.section, "paquetes por hogar" in f.reason, "Artículo 6" in f.reason) for f in findings] == [
        ("Artículo 9", True, True)
    ]


def test_rules_flagged_differently_from_their_sentence_are_reported(tmp_path: Path) -> None:
    doc = (
        "**Artículo 5.** Población. Pueden participar los pescadores de 18 años o más (criterio ilustrativo).\n\n"
        "**Artículo 8.** Restricciones. No podrán recibirlo los servidores públicos."
    )
    rules_text = textwrap.dedent(
        """\
        component: prueba
        name: Prueba
        program: pesca
        fiscal_year: 2014
        summary: Un componente de prueba.
        sources: {doc-2014: Lineamientos de prueba}
        who_may_apply:
          types: [persona_fisica]
          text: Pescadores a título personal.
          citation: {document_id: doc-2014, section: Artículo 5, quote: "Pueden participar los pescadores"}
        exclusions:
          - id: servidores
            text: No pueden recibirlo los servidores públicos (restricción ilustrativa).
            when: {fact: es_servidor_publico, eq: true}
            illustrative: true
            citation: {document_id: doc-2014, section: Artículo 8, quote: "No podrán recibirlo los servidores públicos"}
        support:
          text: Un apoyo.
          citation: {document_id: doc-2014, section: Artículo 5}
        """
    )
    (tmp_path / "prueba.yaml").write_text(rules_text, "utf-8")
    rules, errors = load_rules_dir(tmp_path)
    assert errors == []
    found = {(e.field, e.reason.split(":")[0]) for e in validate_citations(rules, {"doc-2014": doc})}
    assert found == {
        ("who_may_apply.citation", "la frase citada está marcada como ilustrativa en el documento"),
        ("exclusions.0.citation", "la regla está marcada como ilustrativa pero la frase citada no lo dice"),
    }
    quoted = units_quoting(doc, "Pueden participar los pescadores")
    assert quoted is not None and quoted[0].marked


def test_ingestion_reports_what_the_checker_finds(tmp_path: Path) -> None:
    from assistant.embeddings import HashingEmbeddings
    from ingestion.pipeline import ingest
    from tests.conftest import make_settings

    settings = make_settings(tmp_path)
    shutil.copytree(CORPUS, settings.corpus_dir)
    guide = settings.corpus_dir / "guia-solicitante-2014.md"
    guide.write_text(
        guide.read_text("utf-8").replace(
            "Todos los trámites descritos en esta guía son gratuitos.",
            "Todos los trámites descritos en esta guía son gratuitos. El folio se entrega en 3 días.",
        ),
        "utf-8",
    )
    report = ingest(settings, embeddings=HashingEmbeddings())
    assert report.switched and report.failed == []
    checks = [n for n in report.notes if n.startswith(("revisión de muestra", "datos públicos"))]
    assert len(checks) == 1 and "guia-solicitante-2014, Artículo 13" in checks[0] and "(3)" in checks[0]
    assert "Nota: revisión de muestra" in report.format_text()
