"""Anticipated questions (corpus/questions/*.yaml) are data that versions with the index: validated at
ingestion, stored with one vector each, kept or dropped with their documents, and used by the question
road (the sections they point to join the candidates and rank higher)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.core import Assistant
from assistant.embeddings import HashingEmbeddings
from assistant.questions import parse_questions_file
from assistant.sessions import MemorySessionStore
from assistant.settings import Settings
from assistant.versions import read_active, read_manifest
from ingestion.pipeline import ingest, remove_documents
from tests.test_ingestion import corpus_settings  # noqa: F401  (fixture)

QUESTIONS_A = """# muestra
document: reglas-a-2014
sections:
  - section: "Artículo 3"
    questions:
      - "tengo un rancho muy grande me dejan entrar"
      - "hasta cuantas tierras puedo tener pa pedir"
  - section: "Capítulo II. Requisitos > Artículo 2"
    questions: ["que papeles piden"]
"""
QUESTIONS_B = """document: pesca-b-2014
sections:
  - section: "Artículo 2"
    questions: ["hasta cuando puedo ir a apuntarme a lo de pesca"]
"""


def _write(settings: Settings, name: str, text: str) -> Path:
    folder = settings.corpus_dir / "questions"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text, "utf-8")
    return path


def _assistant(settings: Settings) -> Assistant:
    return Assistant(settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())


def _count(settings: Settings) -> int:
    version = read_active(settings.index_dir) or ""
    return int(read_manifest(settings.index_dir, version).get("questions", {}).get("count", 0))


def test_parse_reports_what_is_malformed() -> None:
    found, errors = parse_questions_file(QUESTIONS_A)
    assert [q.section for q in found] == ["Artículo 3", "Artículo 3", "Capítulo II. Requisitos > Artículo 2"]
    assert not errors
    assert parse_questions_file("document: x\nsections: nada\n")[1]
    assert parse_questions_file("document: [\n")[1][0].startswith("YAML inválido")
    _, errors = parse_questions_file(
        'document: x\nsections:\n  - section: "A"\n    questions: ["ok?", "' + "a" * 400 + '"]\n'
    )
    assert errors == ["sections[0].questions[1]: entre 3 y 300 caracteres"]


def test_questions_are_stored_and_bring_their_section_to_the_candidates(
    corpus_settings: Settings,  # noqa: F811
) -> None:
    asked = "tengo un rancho muy grande me dejan entrar"
    settings = corpus_settings.model_copy(update={"candidate_k": 1})
    ingest(settings, embeddings=HashingEmbeddings())
    assistant = _assistant(settings)
    version = assistant.versions.current()
    target = {r for r, c in enumerate(version.chunks) if c.get("section", "").endswith("Artículo 3")}
    query, _, _ = assistant._find(version, asked, 5, None)
    assert not query.near.known and not query.near.rows  # no questions yet: nothing added

    _write(settings, "reglas-a.yaml", QUESTIONS_A)
    stages: list[tuple[str, int, int]] = []
    report = ingest(settings, embeddings=HashingEmbeddings(), progress=lambda *a: stages.append(a))
    assert ("preguntas previstas", 3, 3) in stages  # a long first embedding shows its progress
    assert report.ok and report.switched and len(report.unchanged) == 2
    assert "3 preguntas previstas" in report.format_text()
    assert any(n.startswith("pesca-b-2014: sin preguntas previstas") for n in report.notes)
    assert report.chunks_embedded == 3 and _count(settings) == 3  # the three questions, nothing else
    assistant = _assistant(settings)
    version = assistant.versions.current()
    query, retrieval, _ = assistant._find(version, asked, 5, None)
    assert query.near.known and query.near.first_rows == frozenset(target)
    assert query.near.best(next(iter(target))) == pytest.approx(1.0, abs=1e-5)
    assert target <= set(query.near.rows)  # they join the candidates whatever the retrievers found
    assert target <= {h.row for h in retrieval.hits}


def test_a_section_the_document_lacks_is_reported_and_the_rest_kept(
    corpus_settings: Settings,  # noqa: F811
) -> None:
    path = _write(
        corpus_settings, "reglas-a.yaml", QUESTIONS_A + '  - section: "Artículo 99"\n    questions: ["x q"]\n'
    )
    _write(
        corpus_settings, "otro.yaml", "document: no-existe-2014\nsections:\n  - questions: ['hola que tal']\n"
    )
    _write(corpus_settings, "roto.yaml", "document: pesca-b-2014\nsections: nada\n")
    report = ingest(corpus_settings, embeddings=HashingEmbeddings())
    assert report.switched
    assert (
        str(path),
        "preguntas previstas: «reglas-a-2014» no tiene la sección «Artículo 99»",
    ) in report.failed
    assert any(f.endswith("roto.yaml") and "preguntas previstas: sections" in r for f, r in report.failed)
    assert any("«no-existe-2014»: el documento no está en el índice" in n for n in report.notes)
    assert _count(corpus_settings) == 3


def test_unchanged_questions_keep_the_version_and_an_edit_makes_a_new_one(
    corpus_settings: Settings,  # noqa: F811
) -> None:
    _write(corpus_settings, "reglas-a.yaml", QUESTIONS_A)
    first = ingest(corpus_settings, embeddings=HashingEmbeddings())
    second = ingest(corpus_settings, embeddings=HashingEmbeddings())
    assert not second.switched and second.version == first.version
    _write(corpus_settings, "pesca-b.yaml", QUESTIONS_B)
    third = ingest(corpus_settings, embeddings=HashingEmbeddings())
    assert third.switched and third.chunks_embedded == 1 and _count(corpus_settings) == 4
    # No questions folder scanned: the active version's questions stay (like the lexicon).
    shutil.rmtree(corpus_settings.corpus_dir / "questions")
    (corpus_settings.corpus_dir / "reglas-a.md").write_text(
        (corpus_settings.corpus_dir / "reglas-a.md").read_text("utf-8")
        + "\n**Artículo 4.** Vigencia. Un año.\n"
    )
    fourth = ingest(corpus_settings, embeddings=HashingEmbeddings())
    assert fourth.switched and _count(corpus_settings) == 4


def test_removing_a_document_drops_its_questions_and_keeps_the_others(
    corpus_settings: Settings,  # noqa: F811
) -> None:
    _write(corpus_settings, "reglas-a.yaml", QUESTIONS_A)
    _write(corpus_settings, "pesca-b.yaml", QUESTIONS_B)
    ingest(corpus_settings, embeddings=HashingEmbeddings())
    report = remove_documents(corpus_settings, ["pesca-b-2014"])
    assert report.switched and _count(corpus_settings) == 3
    root = corpus_settings.index_dir / "versions" / (report.version or "")
    kept = [
        json.loads(line)["document_id"] for line in (root / "questions.jsonl").read_text("utf-8").splitlines()
    ]
    assert set(kept) == {"reglas-a-2014"}
    assistant = _assistant(corpus_settings)  # the copied vectors still match
    query = assistant.analyze(assistant.versions.current(), "que papeles piden")
    assert query.near.top == pytest.approx(1.0, abs=1e-5)


def test_questions_are_spelt_by_ear_like_the_questions_asked(corpus_settings: Settings) -> None:  # noqa: F811
    """'rekisitos' in an anticipated question is stored as the rules' 'requisitos', as it is read in a
    producer's question at answer time, so both sides meet on the same word."""
    # The rule word must be far commoner than the word typed (spelling.PREFERENCE): these say it right.
    others = ", ".join(f'"requisitos de la solicitud {n}"' for n in range(10))
    _write(
        corpus_settings,
        "reglas-a.yaml",
        "document: reglas-a-2014\nsections:\n"
        f'  - section: "Artículo 2"\n    questions: ["q rekisitos piden", {others}]\n',
    )
    ingest(corpus_settings, embeddings=HashingEmbeddings())
    version = _assistant(corpus_settings).versions.current()
    assert version.questions is not None
    stored = version.questions.questions[0]
    assert stored.text == "q rekisitos piden"  # as written
    assert "requisitos" in stored.search_text.split() and "rekisitos" not in stored.search_text


def test_with_the_real_model_an_anticipated_question_lifts_its_article(
    corpus_settings: Settings,  # noqa: F811
) -> None:
    """e5 and the shipped ranker: the producer's phrasing near an anticipated question gives that
    article a higher probability than the same index without the questions."""
    from assistant.embeddings import E5Embeddings

    emb = E5Embeddings()
    settings = corpus_settings.model_copy(update={"embeddings": "e5", "ranker": "learned"})
    asked = "mi terreno es grandote, todavia califico?"

    def article_3_probability() -> float:
        ingest(settings, embeddings=emb)
        assistant = Assistant(settings, embeddings=emb, sessions=MemorySessionStore())
        assert assistant.models.passage is not None
        version = assistant.versions.current()
        _, _, hits = assistant._find(version, asked, 5, None)
        return next(h.rank_score for h in hits if version.chunks[h.row]["section"].endswith("Artículo 3"))

    without = article_3_probability()
    _write(settings, "reglas-a.yaml", QUESTIONS_A)
    assert article_3_probability() > without + 0.05


def test_with_the_real_model_the_answer_model_decides(corpus_settings: Settings) -> None:  # noqa: F811
    """e5 and the shipped models on a version with anticipated questions: the answer model (not the
    evidence threshold) decides; a producer's question near an anticipated one is answered from its
    article, a question the rules don't cover is not."""
    from assistant.embeddings import E5Embeddings

    emb = E5Embeddings()
    settings = corpus_settings.model_copy(update={"embeddings": "e5", "ranker": "learned"})
    _write(settings, "reglas-a.yaml", QUESTIONS_A)
    _write(settings, "pesca-b.yaml", QUESTIONS_B)
    ingest(settings, embeddings=emb)
    assistant = Assistant(settings, embeddings=emb, sessions=MemorySessionStore())
    assert assistant.models.answer is not None
    answer = assistant.ask("q papeles me piden")
    assert not answer.abstained and "Identificación oficial vigente" in answer.text
    assert answer.citations[0].section.endswith("Artículo 2")
    assert assistant.ask("quien gano el partido de futbol ayer").abstained


def test_a_filter_keeps_only_its_documents_questions(corpus_settings: Settings) -> None:  # noqa: F811
    """Asked with a filter, the nearest anticipated question is one of the filtered documents: another
    document's question (here the very same words) must not make the filtered articles look far."""
    from assistant.models import Filters

    _write(corpus_settings, "reglas-a.yaml", QUESTIONS_A)
    _write(corpus_settings, "pesca-b.yaml", QUESTIONS_B)
    ingest(corpus_settings, embeddings=HashingEmbeddings())
    assistant = _assistant(corpus_settings)
    version = assistant.versions.current()
    asked = "hasta cuando puedo ir a apuntarme a lo de pesca"
    rows_a = {r for r, c in enumerate(version.chunks) if c["document_id"] == "reglas-a-2014"}

    query, _, _ = assistant._find(version, asked, 5, None)
    assert query.near.top == pytest.approx(1.0, abs=1e-5) and not query.near.first_rows & rows_a

    query, _, hits = assistant._find(version, asked, 5, Filters(document_id="reglas-a-2014"))
    assert query.near.known and query.near.top < 0.99
    assert query.near.first_rows <= rows_a and set(query.near.rows) <= rows_a
    assert set(query.near.lexical) <= rows_a
    assert {h.row for h in hits} <= rows_a
