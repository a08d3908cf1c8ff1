"""Eligibility rules travel with the index: validated at ingestion, stored in the version, switched and
rolled back with the documents, and served by the app's /v1/eligibility routes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import httpx
import pytest

from assistant.api.app import create_app
from assistant.core import Assistant
from assistant.embeddings import HashingEmbeddings
from assistant.sessions import MemorySessionStore
from assistant.settings import Settings
from assistant.versions import read_active, read_manifest
from ingestion.pipeline import ingest, remove_documents
from ingestion.publish import rollback
from tests.conftest import make_settings
from tests.test_ingestion import write_corpus

RULES = textwrap.dedent(
    """\
    component: propesca-b
    name: Apoyo a pescadores B (muestra)
    program: pesca
    fiscal_year: 2014
    summary: Apoyo directo a pescadores, documento de muestra.
    sources:
      pesca-b-2014: Lineamientos de Pesca 2014
    who_may_apply:
      types: [persona_fisica]
      text: Pescadores, a título personal.
      citation: {document_id: pesca-b-2014, section: Artículo 1}
    conditions:
      - id: actividad
        text: Dedicarse a la pesca.
        fact: actividad
        eq: pesquera
        citation: {document_id: pesca-b-2014, section: Artículo 1, quote: "8,000 pesos por pescador"}
    support:
      text: 8,000 pesos por pescador.
      citation: {document_id: pesca-b-2014, section: Artículo 1}
    """
)


def _ingest(settings: Settings) -> None:
    report = ingest(settings, embeddings=HashingEmbeddings())
    assert report.switched or report.version


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = make_settings(tmp_path)
    write_corpus(settings.corpus_dir)
    (settings.corpus_dir / "eligibility").mkdir()
    (settings.corpus_dir / "eligibility" / "propesca-b.yaml").write_text(RULES, "utf-8")
    return settings


def _assistant(settings: Settings) -> Assistant:
    core = Assistant(settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())
    core.versions.check_interval = 0.0  # see each switch at once (the default polls every 0.5 s)
    return core


def test_rules_are_stored_with_the_version_and_follow_rollback(settings: Settings) -> None:
    _ingest(settings)
    first = read_active(settings.index_dir)
    assert first
    assert read_manifest(settings.index_dir, first)["eligibility"]["components"] == ["propesca-b"]
    core = _assistant(settings)
    result = core.eligibility().evaluate({"tipo_solicitante": "persona_fisica", "actividad": "pesquera"})
    assert [r.status for r in result.results] == ["elegible"]

    # Changing only the rules file makes a new version (documents are reused, nothing re-embedded).
    rules = settings.corpus_dir / "eligibility" / "propesca-b.yaml"
    rules.write_text(RULES.replace("eq: pesquera", "eq: acuicola"), "utf-8")
    report = ingest(settings, embeddings=HashingEmbeddings())
    assert report.switched and report.chunks_embedded == 0 and report.failed == []
    second = read_active(settings.index_dir)
    assert second != first
    result = core.eligibility().evaluate({"tipo_solicitante": "persona_fisica", "actividad": "pesquera"})
    assert [r.status for r in result.results] == ["no_elegible"]

    # Rolling back restores the old rules together with the old documents.
    rollback(settings)
    assert read_active(settings.index_dir) == first
    result = core.eligibility().evaluate({"tipo_solicitante": "persona_fisica", "actividad": "pesquera"})
    assert [r.status for r in result.results] == ["elegible"]


def test_a_broken_rules_file_is_reported_and_kept_out(settings: Settings) -> None:
    folder = settings.corpus_dir / "eligibility"
    (folder / "rota.yaml").write_text(
        RULES.replace("component: propesca-b", "component: rota").replace(
            "fact: actividad", "fact: color_favorito"
        ),
        "utf-8",
    )
    (folder / "cita-falsa.yaml").write_text(
        RULES.replace("component: propesca-b", "component: cita-falsa").replace(
            'quote: "8,000 pesos por pescador"', 'quote: "10,000 pesos por pescador"'
        ),
        "utf-8",
    )
    report = ingest(settings, embeddings=HashingEmbeddings())
    failed = dict(report.failed)
    assert "color_favorito" in failed[str(folder / "rota.yaml")]
    assert "conditions.0" in failed[str(folder / "rota.yaml")]
    assert "la cita no aparece en el Artículo 1" in failed[str(folder / "cita-falsa.yaml")]
    version = read_active(settings.index_dir)
    assert version
    assert read_manifest(settings.index_dir, version)["eligibility"]["components"] == ["propesca-b"]
    assert [c.component for c in _assistant(settings).eligibility().rules] == ["propesca-b"]


def test_removing_the_cited_document_drops_its_rules(settings: Settings) -> None:
    _ingest(settings)
    report = remove_documents(settings, ["pesca-b-2014"])
    assert report.switched
    assert any("no está en el corpus" in reason for _, reason in report.failed)
    assert _assistant(settings).eligibility().rules == []


async def test_http_routes_answer_from_the_active_version(settings: Settings) -> None:
    _ingest(settings)
    app = create_app(settings, _assistant(settings))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://campo") as client:
        questions = (await client.get("/v1/eligibility/questions")).json()["questions"]
        assert [q["fact"] for q in questions] == ["tipo_solicitante", "actividad"]
        response = await client.post(
            "/v1/eligibility", json={"facts": {"tipo_solicitante": "persona_fisica", "actividad": "pesquera"}}
        )
        assert response.status_code == 200
        body = response.json()
        component = body["results"][0]
        assert component["status"] == "elegible"
        assert any(
            r["citation"]["section"] == "Artículo 1" for r in component["reasons"] if r.get("citation")
        )
        bad = await client.post("/v1/eligibility", json={"facts": {"edad": "mucha"}})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_facts"


def test_a_threshold_that_drifted_from_its_sentence_is_rejected(tmp_path: Path) -> None:
    from assistant.eligibility import load_rules_file

    good = RULES.replace(
        "support:",
        "  - id: edad\n    text: Tener 18 años o más.\n    fact: edad\n    gte: 18\n"
        "    citation: {document_id: pesca-b-2014, section: Artículo 1}\nsupport:",
    )
    path = tmp_path / "propesca-b.yaml"
    path.write_text(good, "utf-8")
    assert load_rules_file(path)[1] == []
    path.write_text(good.replace("gte: 18", "gte: 50"), "utf-8")
    rules, errors = load_rules_file(path)
    assert rules is None
    assert [(e.field, "50" in e.reason) for e in errors] == [("conditions.1", True)]


def test_ingesting_files_over_an_index_built_from_records_keeps_the_records(tmp_path: Path) -> None:
    """Evaluations and tests index pre-split records (no source file); a later file ingestion must
    neither crash on them nor drop them."""
    from tests.conftest import build_test_index

    settings = make_settings(tmp_path)
    build_test_index(settings)
    before = {
        d["document_id"]
        for d in read_manifest(settings.index_dir, read_active(settings.index_dir) or "")["documents"]
    }
    write_corpus(settings.corpus_dir)
    report = ingest(settings, embeddings=HashingEmbeddings())
    assert report.failed == [] and report.switched
    after = {
        d["document_id"]
        for d in read_manifest(settings.index_dir, read_active(settings.index_dir) or "")["documents"]
    }
    assert before <= after and {"reglas-a-2014", "pesca-b-2014"} <= after


def test_the_full_example_in_the_docs_is_the_shipped_file() -> None:
    root = Path(__file__).resolve().parents[1]
    doc = (root / "docs" / "eligibility.md").read_text("utf-8")
    shipped = (root / "corpus" / "eligibility" / "propesca.yaml").read_text("utf-8").strip()
    assert f"```yaml\n{shipped}\n```" in doc
