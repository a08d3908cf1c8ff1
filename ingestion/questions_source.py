"""Anticipated questions of a new index version: ``<corpus>/questions/*.yaml`` (see assistant/questions.py).

Validated file by file: a malformed file is reported and left out; a question for a section the
document does not have is reported and left out, the others are kept; the questions of a document that
is not in the version are left out with a note (the document was removed). With no ``questions/``
folder in the scanned folders the active version's questions are kept, for the documents still there.
Each question is spelt by ear and analysed with the new version's lexicon, as a question is at answer
time, and embedded as a query; vectors of unchanged questions come from the embedding cache (or,
without a model, from the active version).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.lexicon import Lexicon, LexiconError, parse_lexicon
from assistant.query import analyze_question
from assistant.questions import (
    QUESTIONS_DIR,
    AnticipatedQuestion,
    parse_questions_file,
    read_version_questions,
    section_matches,
    write_version_questions,
)
from assistant.spelling import Speller
from ingestion.report import IngestReport

BATCH = 256


@dataclass
class QuestionSet:
    questions: list[AnticipatedQuestion] = field(default_factory=list)
    digest: str = ""
    vectors: np.ndarray | None = None  # None until embedded (or copied)


def questions_for_version(
    roots: set[Path],
    previous_root: Path | None,
    chunks: dict[str, list[dict[str, Any]]],
    lexicon_text: str,
    report: IngestReport,
    embeddings: Any = None,
    progress: Any = None,
) -> QuestionSet:
    """``chunks``: document id → its chunks, of the version being built. Without ``embeddings`` (a
    version built from the active one's rows) the active version's vectors are used."""
    sections = {doc: [str(c.get("section") or "") for c in rows] for doc, rows in chunks.items()}
    folders = [root / QUESTIONS_DIR for root in sorted(roots) if (root / QUESTIONS_DIR).is_dir()]
    questions: list[AnticipatedQuestion] = []
    if folders:
        for path in sorted(p for folder in folders for p in folder.glob("*.y*ml")):
            try:
                found, errors = parse_questions_file(path.read_text("utf-8"))
            except UnicodeDecodeError:
                found, errors = [], ["no está en UTF-8"]
            for reason in errors:
                report.fail(str(path), f"preguntas previstas: {reason}")
            questions += _valid(found, sections, str(path), report)
    elif previous_root is not None:
        held, _ = read_version_questions(previous_root)
        questions = [q for q in held if q.document_id in sections]
    covered = {q.document_id for q in questions}
    if covered:  # the ranker favours sections with anticipated questions: say which documents lack them
        for doc in sorted(set(sections) - covered):
            report.notes.append(
                f"{doc}: sin preguntas previstas ({QUESTIONS_DIR}/); sus artículos compiten en desventaja "
                "con las preguntas informales"
            )
    lexicon = _lexicon(lexicon_text)
    # Spelt by ear like the questions asked at answer time ('rekisitos' → requisitos), with the same
    # speller (assistant.spelling.version_speller), so both sides meet on the rules' words.
    speller = Speller(
        [str(c["text"]) for rows in chunks.values() for c in rows],
        [q.text for q in questions],
        lexicon.vocabulary(),
    )
    analysed = [
        AnticipatedQuestion(
            q.document_id, q.section, q.text, analyze_question(speller.correct(q.text), lexicon).search_text
        )
        for q in questions
    ]
    lines = sorted(f"{q.document_id}\n{q.section}\n{q.search_text}" for q in analysed)
    digest = hashlib.sha256("\n\n".join(lines).encode()).hexdigest() if analysed else ""
    result = QuestionSet(analysed, digest)
    if embeddings is not None:
        result.vectors = _embedded(embeddings, [q.search_text for q in analysed], progress)
    elif analysed:
        result.vectors = _copied(previous_root, analysed)
    return result


def _embedded(embeddings: Any, texts: list[str], progress: Any) -> np.ndarray:
    """The questions' vectors, in batches so a first ingestion (thousands of questions, minutes on a
    small machine) reports progress; unchanged questions come from the embedding cache."""
    parts = []
    for start in range(0, len(texts), BATCH):
        if progress:
            progress("preguntas previstas", start, len(texts))
        parts.append(embeddings.embed_queries(texts[start : start + BATCH]))
    if progress:
        progress("preguntas previstas", len(texts), len(texts))
    return np.vstack(parts) if parts else np.zeros((0, getattr(embeddings, "dim", 1)), np.float32)


def _valid(
    found: list[AnticipatedQuestion], sections: dict[str, list[str]], source: str, report: IngestReport
) -> list[AnticipatedQuestion]:
    keep, missing_sections, missing_documents = [], set(), set()
    exists: dict[tuple[str, str], bool] = {}  # one check per section, not per question
    for q in found:
        key = (q.document_id, q.section)
        if q.document_id not in sections:
            missing_documents.add(q.document_id)
            continue
        if key not in exists:
            exists[key] = any(section_matches(s, q.section) for s in sections[q.document_id])
        if exists[key]:
            keep.append(q)
        else:
            missing_sections.add(key)
    for doc in sorted(missing_documents):
        report.notes.append(f"preguntas previstas de «{doc}»: el documento no está en el índice; se omiten")
    for doc, section in sorted(missing_sections):
        report.fail(source, f"preguntas previstas: «{doc}» no tiene la sección «{section}»")
    return keep


def _lexicon(text: str) -> Lexicon:
    try:
        return parse_lexicon(text) if text else Lexicon()
    except LexiconError:  # validated before this (lexicon_for_version); an invalid one is never kept
        return Lexicon()


def _copied(previous_root: Path | None, questions: list[AnticipatedQuestion]) -> np.ndarray:
    held, vectors = read_version_questions(previous_root) if previous_root else ([], np.zeros((0, 1)))
    by_text = {q.search_text: vectors[i] for i, q in enumerate(held)}
    # A question whose analysis changed with the version (the speller learns from the documents kept)
    # keeps the vector it had: without a model there is nothing better, and it is one word apart.
    by_question = {(q.document_id, q.section, q.text): vectors[i] for i, q in enumerate(held)}
    rows = [
        by_text.get(q.search_text, by_question.get((q.document_id, q.section, q.text))) for q in questions
    ]
    if any(r is None for r in rows):
        raise RuntimeError("anticipated questions without vectors: re-ingest the corpus")
    return np.vstack([r for r in rows if r is not None])


def write_questions(root: Path, questions: QuestionSet) -> None:
    if questions.questions and questions.vectors is not None:
        write_version_questions(root, questions.questions, questions.vectors)
