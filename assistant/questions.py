"""Anticipated questions: how producers ask what each section of a document answers.

The corpus folder holds ``questions/<anything>.yaml``: for one document, its sections and, for each,
questions in the producers' own words ("q papeles piden pa propesca") that the section answers.
Ingestion validates them against the version being built (the document and the section must exist),
analyses each one with that version's lexicon, as a question is analysed at answer time, and stores one
e5 ``query:`` vector per question in the version (``questions.jsonl``, ``question_vectors.npy``).

At answer time a question is compared with them (question to question, the comparison e5 is best at):
the sections whose anticipated questions are nearest join the candidates, and how near they are is a
feature of the passage ranker. So a section is found by how people ask about it, not only by the rule's
own words. This is data, not code: staff extend it like the lexicon, and it versions with the index.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, Field, ValidationError

from assistant.layout import QUESTION_VECTORS, QUESTIONS
from assistant.legal import names_section
from assistant.lexical import LexicalIndex
from assistant.tuning import DEFAULT, Tuning

QUESTIONS_DIR = "questions"  # in the corpus folder: one YAML file per document (any name)
MAX_QUESTION_CHARS = 300
MAX_PER_SECTION = 60


class SectionQuestions(BaseModel):
    section: str = Field("", max_length=300)
    questions: list[str] = Field(min_length=1, max_length=MAX_PER_SECTION)


class QuestionsFile(BaseModel):
    """One ``questions/*.yaml`` file as written by staff."""

    document: str = Field(min_length=1, max_length=200)
    sections: list[SectionQuestions] = Field(min_length=1)


@dataclass(frozen=True)
class AnticipatedQuestion:
    document_id: str
    section: str
    text: str  # as written
    search_text: str = ""  # as analysed with the version's lexicon (what is embedded)


def section_matches(chunk_section: str, named: str) -> bool:
    """'Capítulo II > Artículo 8' is named as itself or as 'Artículo 8'; '' names an untitled section."""
    return names_section(chunk_section, named) if named.strip() else not chunk_section.strip()


def parse_questions_file(text: str) -> tuple[list[AnticipatedQuestion], list[str]]:
    """The questions of one file and a reason for each part that is not well formed."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return [], [f"YAML inválido: {exc}"]
    try:
        parsed = QuestionsFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(archivo)"
        return [], [f"{where}: {first['msg']}"]
    out, errors = [], []
    for i, block in enumerate(parsed.sections):
        for j, q in enumerate(block.questions):
            q = " ".join(str(q).split())
            if not 3 <= len(q) <= MAX_QUESTION_CHARS:
                errors.append(f"sections[{i}].questions[{j}]: entre 3 y {MAX_QUESTION_CHARS} caracteres")
                continue
            out.append(AnticipatedQuestion(parsed.document, block.section, q))
    return out, errors


def write_version_questions(root: Path, questions: list[AnticipatedQuestion], vectors: np.ndarray) -> None:
    with (root / QUESTIONS).open("w", encoding="utf-8") as fh:
        for q in questions:
            row = {"document_id": q.document_id, "section": q.section, "text": q.text}
            fh.write(json.dumps(dict(row, search_text=q.search_text), ensure_ascii=False) + "\n")
    np.save(root / QUESTION_VECTORS, vectors.astype(np.float32))


def read_version_questions(root: Path) -> tuple[list[AnticipatedQuestion], np.ndarray]:
    path = root / QUESTIONS
    if not path.is_file():
        return [], np.zeros((0, 1), np.float32)
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    questions = [AnticipatedQuestion(**row) for row in rows]
    return questions, np.load(root / QUESTION_VECTORS)


@dataclass
class QuestionMatch:
    """How near a question is to each section's anticipated questions (by chunk row)."""

    sims: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # per question
    of_row: dict[int, np.ndarray] = field(default_factory=dict)  # row → its questions' indexes
    votes: dict[int, float] = field(default_factory=dict)  # row → share of the nearest questions
    top: float = 0.0  # cosine of the nearest question of all
    first_rows: frozenset[int] = frozenset()  # rows of the section of the nearest question
    rows: list[int] = field(default_factory=list)  # rows of the nearest sections, nearest first
    known: bool = False  # the version has anticipated questions at all
    lexical: dict[int, float] = field(default_factory=dict)  # row → BM25 of its questions (best = 1)
    lexical_top: float = 0.0  # the best section's BM25, saturated (0–1): any producer words known?
    unknown_share: float = 1.0  # share of the question's words no anticipated question uses
    gap_cap: float = DEFAULT.question_gap_cap  # a row this far below the nearest question is 'far'

    def best(self, row: int) -> float | None:
        """Cosine of the row's nearest anticipated question (None: the row has none)."""
        idx = self.of_row.get(row)
        return float(self.sims[idx].max()) if idx is not None and len(idx) else None


class VersionQuestions:
    """A version's anticipated questions, their vectors and the chunk rows each one points to."""

    def __init__(self, root: Path, chunks: list[dict[str, Any]]) -> None:
        self.questions, self.vectors = read_version_questions(root)
        by_document: dict[str, list[int]] = {}
        for row, chunk in enumerate(chunks):
            by_document.setdefault(chunk["document_id"], []).append(row)
        self.rows_of: list[tuple[int, ...]] = []
        of_row: dict[int, list[int]] = {}
        resolved: dict[tuple[str, str], tuple[int, ...]] = {}  # thousands of questions, ~200 sections
        for i, q in enumerate(self.questions):
            key = (q.document_id, q.section)
            if key not in resolved:
                rows = by_document.get(q.document_id, [])
                sections = [str(chunks[r].get("section") or "") for r in rows]
                resolved[key] = tuple(
                    r for r, s in zip(rows, sections, strict=True) if section_matches(s, q.section)
                )
            self.rows_of.append(resolved[key])
            for r in self.rows_of[-1]:
                of_row.setdefault(r, []).append(i)
        self.of_row = {r: np.asarray(idx, dtype=np.int64) for r, idx in of_row.items()}
        # One row of each question's section (-1: none), to keep only the questions a filter allows.
        self.first_row = np.asarray([rows[0] if rows else -1 for rows in self.rows_of], dtype=np.int64)
        # BM25 over each section's questions taken together: the producers' own words ("lana",
        # "papeles", "OSNE") that the rules never use, with typos fixed against those words.
        self.sections = sorted({rows for rows in self.rows_of if rows})
        self.section_first_row = np.asarray([rows[0] for rows in self.sections], dtype=np.int64)
        by_section: dict[tuple[int, ...], list[str]] = {}
        for q, rows_of_q in zip(self.questions, self.rows_of, strict=True):
            by_section.setdefault(rows_of_q, []).append(q.search_text)
        texts = [" ".join(by_section[rows]) for rows in self.sections]
        self.lexical = LexicalIndex.build(texts) if texts else None

    def __len__(self) -> int:
        return len(self.questions)

    def match(
        self,
        vector: np.ndarray | None,
        text: str = "",
        tuning: Tuning = DEFAULT,
        allowed: np.ndarray | None = None,
    ) -> QuestionMatch:
        """``allowed``: the chunk rows a filter keeps (None: all); other sections' questions are ignored,
        so a question asked with the PROPESCA filter is not "far" because another program's question
        is nearer."""
        if not self.questions or vector is None or self.vectors.shape[1] != vector.shape[0]:
            return QuestionMatch()
        extra = tuning.question_extra_sections
        # Not `@`: a matrix this size makes OpenBLAS start its threads, which then spin against the
        # embedding engine's OpenMP threads (3× the CPU per question, measured with tools/bench_ask.py).
        sims = np.einsum("ij,j->i", self.vectors, vector)
        kept = None
        if allowed is not None:
            kept = (self.first_row >= 0) & allowed[np.maximum(self.first_row, 0)]
            if not kept.any():
                return QuestionMatch()
            sims = np.where(kept, sims, np.float32(-1.0))
        candidates = len(sims) if kept is None else int(kept.sum())
        k = min(tuning.question_neighbours, candidates)
        nearest = np.argpartition(-sims, k - 1)[:k] if k < len(sims) else np.arange(len(sims))
        nearest = nearest[np.argsort(-sims[nearest])][:k]  # a filtered-out question sorts last
        result = QuestionMatch(sims=sims, of_row=self.of_row, top=float(sims[nearest[0]]), known=True)
        result.gap_cap = tuning.question_gap_cap
        result.first_rows = frozenset(self.rows_of[int(nearest[0])])
        sections: list[tuple[int, ...]] = []
        for i in nearest:
            rows = self.rows_of[int(i)]
            for r in rows:
                result.votes[r] = result.votes.get(r, 0.0) + 1.0 / k
            if rows and rows not in sections:
                sections.append(rows)
        if self.lexical is not None and text:
            terms, result.unknown_share = self.lexical.analyze_query(text)
            scores = self.lexical.scores(terms)
            if allowed is not None:
                scores = np.where(allowed[self.section_first_row], scores, 0.0).astype(scores.dtype)
            best = float(scores.max(initial=0.0))
            result.lexical_top = best / (best + tuning.question_words_saturation)
            if best > 0:
                for j, rows in enumerate(self.sections):
                    for r in rows:
                        result.lexical[r] = float(scores[j]) / best
                top = self.sections[int(np.argmax(scores))]
                if top not in sections[:extra]:
                    sections.insert(extra, top)
        for rows in sections[: extra + 1]:
            result.rows.extend(rows)
        return result
