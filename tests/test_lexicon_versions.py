"""The domain lexicon is data that versions with the index: validated at ingestion, kept on errors,
switched and rolled back with the documents, and used by the question road."""

from __future__ import annotations

from pathlib import Path

from assistant.core import Assistant
from assistant.embeddings import HashingEmbeddings
from assistant.sessions import MemorySessionStore
from assistant.settings import Settings
from ingestion.pipeline import ingest
from ingestion.publish import rollback
from tests.test_ingestion import corpus_settings  # noqa: F401  (fixture)

LEXICON = """
spellings:
  q: que
synonyms:
  lana: [monto, pesos]
intents:
  amounts:
    question: [lana, cuanto]
    heading: [monto]
programs:
  propesca: [pesca, pescador]
"""


def _assistant(settings: Settings) -> Assistant:
    return Assistant(settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())


def test_lexicon_is_validated_stored_and_used(corpus_settings: Settings) -> None:  # noqa: F811
    (corpus_settings.corpus_dir / "lexicon.yaml").write_text(LEXICON, "utf-8")
    report = ingest(corpus_settings, embeddings=HashingEmbeddings())
    assert report.ok and report.switched
    assistant = _assistant(corpus_settings)
    version = assistant.versions.current()
    query = assistant.analyze(version, "q tanta lana le dan al pescador")
    assert query.expansions == ["monto", "pesos"]
    assert query.kind == "amounts" and query.programs == ["propesca"]
    answer = assistant.ask("cuanta lana le toca a un pescador")
    assert "8,000 pesos" in answer.text


def test_a_broken_lexicon_is_reported_and_the_active_one_is_kept(corpus_settings: Settings) -> None:  # noqa: F811
    path = corpus_settings.corpus_dir / "lexicon.yaml"
    path.write_text(LEXICON, "utf-8")
    first = ingest(corpus_settings, embeddings=HashingEmbeddings())
    path.write_text("intents:\n  dinero: {question: [lana]}\n", "utf-8")
    second = ingest(corpus_settings, embeddings=HashingEmbeddings())
    assert any("léxico: intents.dinero: tipo desconocido" in reason for _, reason in second.failed)
    assert not second.switched and second.version == first.version  # nothing else changed: same version
    version = _assistant(corpus_settings).versions.current()
    assert version.lexicon.synonyms  # still the valid one


def test_lexicon_changes_make_a_new_version_and_roll_back(corpus_settings: Settings) -> None:  # noqa: F811
    path: Path = corpus_settings.corpus_dir / "lexicon.yaml"
    path.write_text(LEXICON, "utf-8")
    first = ingest(corpus_settings, embeddings=HashingEmbeddings())
    path.write_text(LEXICON.replace("lana: [monto, pesos]", "lana: [monto, pesos, apoyo]"), "utf-8")
    second = ingest(corpus_settings, embeddings=HashingEmbeddings())
    assert second.switched and second.version != first.version
    assert second.chunks_embedded == 0  # only the lexicon changed: documents reused
    assert _assistant(corpus_settings).versions.current().lexicon.synonyms[("lana",)][-1] == "apoyo"
    rollback(corpus_settings)
    assert _assistant(corpus_settings).versions.current().lexicon.synonyms[("lana",)] == ["monto", "pesos"]
