"""Reviewed answers: what the program's staff answered, served to the next producer who asks the same.

The corpus folder holds ``reviewed-answers.yaml`` (a list of entries: question and its variants, answer,
citations to the rules, reviewer, date, fiscal year). Ingestion validates it like the eligibility rules
(:func:`entry_problems`: citations must exist in the new version, length limits, no HTML), drops entries
that expired or were superseded, and stores the servable ones with one e5 vector per question and variant
in the index version (``reviewed.jsonl``, ``reviewed_vectors.npy``). So a reviewed answer switches,
rolls back and reaches every worker exactly like the rules it cites.

:class:`ReviewedAnswers` answers a question from the active version's entries when the question is close
enough to one of theirs (question-to-question cosine ≥ ``CAMPO_REVIEW_MATCH_THRESHOLD``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, Field, ValidationError

from assistant.layout import REVIEWED_ENTRIES, REVIEWED_VECTORS, version_dir
from assistant.legal import names_section
from assistant.models import Answer, Citation

REVIEWED_FILE = "reviewed-answers.yaml"  # in the corpus folder
MAX_QUESTION_CHARS = 500
MAX_VARIANTS = 20
MAX_CITATIONS = 5
_HTML = re.compile(r"<\s*/?\s*[A-Za-z!?][^>]*>|&[A-Za-z]+;|&#\d+;")


class ReviewedCitation(BaseModel):
    document_id: str = Field(min_length=1, max_length=200)
    section: str = Field("", max_length=300)


class ReviewedEntry(BaseModel):
    """One reviewed answer as written in ``reviewed-answers.yaml``."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    question: str = Field(min_length=3, max_length=MAX_QUESTION_CHARS)
    variants: list[str] = Field(default_factory=list, max_length=MAX_VARIANTS)
    answer: str = Field(min_length=1)
    citations: list[ReviewedCitation] = Field(min_length=1, max_length=MAX_CITATIONS)
    reviewer: str = Field("", max_length=120)
    date: dt.date
    fiscal_year: int | None = Field(None, ge=1990, le=2100)
    expires: dt.date | None = None
    supersedes: list[str] = Field(default_factory=list)
    rule_hashes: dict[str, str] = Field(
        default_factory=dict, description="content_hash of each cited document when it was reviewed"
    )

    def questions(self) -> list[str]:
        return [self.question, *(v for v in self.variants if v.strip())]


def has_html(text: str) -> bool:
    return bool(_HTML.search(text))


def section_matches(chunk_section: str, cited: str) -> bool:
    """'Capítulo II > Artículo 8' is cited as itself, as 'Artículo 8' or (with no section) as the document."""
    return not cited.strip() or names_section(chunk_section, cited)


def entry_problems(
    entry: ReviewedEntry, sections: dict[str, list[str]], *, max_answer_chars: int
) -> list[tuple[str, str]]:
    """(field, reason) for everything that keeps an entry from being published; ``sections`` are the
    sections of each document of the index version it would be served from."""
    problems: list[tuple[str, str]] = []
    if len(entry.answer) > max_answer_chars:
        problems.append(
            ("answer", f"la respuesta supera {max_answer_chars} caracteres ({len(entry.answer)})")
        )
    for name, text in [("question", entry.question), ("answer", entry.answer)] + [
        (f"variants[{i}]", v) for i, v in enumerate(entry.variants)
    ]:
        if has_html(text):
            problems.append((name, "no se permite HTML"))
        if len(text) > max(MAX_QUESTION_CHARS, max_answer_chars) or (
            name.startswith("variants") and len(text) > MAX_QUESTION_CHARS
        ):
            problems.append((name, f"demasiado largo ({len(text)} caracteres)"))
    for i, c in enumerate(entry.citations):
        if c.document_id not in sections:
            problems.append((f"citations[{i}]", f"no existe el documento «{c.document_id}»"))
        elif not any(section_matches(s, c.section) for s in sections[c.document_id]):
            problems.append((f"citations[{i}]", f"«{c.document_id}» no tiene la sección «{c.section}»"))
    return problems


def parse_entries(text: str) -> tuple[list[ReviewedEntry], list[tuple[str, str]]]:
    """Entries of a reviewed-answers file and (where, reason) for each one that is not well formed."""
    try:
        data = yaml.safe_load(text) or []
    except yaml.YAMLError as exc:
        return [], [("(archivo)", f"YAML inválido: {exc}")]
    raw = data.get("answers", []) if isinstance(data, dict) else data
    if not isinstance(raw, list):
        return [], [("(archivo)", "se esperaba una lista de respuestas")]
    entries, errors = [], []
    for i, item in enumerate(raw):
        try:
            entries.append(ReviewedEntry.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(entrada)"
            errors.append((f"[{i}].{where}", first["msg"]))
    return entries, errors


def dump_entries(entries: Iterable[ReviewedEntry]) -> str:
    rows = [e.model_dump(mode="json", exclude_defaults=True) for e in entries]
    return (
        "# Respuestas revisadas por el personal del programa (docs/review.md). Se publican al ingerir.\n"
        + (yaml.safe_dump(rows, allow_unicode=True, sort_keys=False, width=100))
    )


def servable(
    entries: list[ReviewedEntry], documents: dict[str, dict[str, Any]], today: dt.date | None = None
) -> tuple[list[ReviewedEntry], list[str]]:
    """The entries to serve from a version, and a note for each one left out: superseded by a later
    entry, expired, for another fiscal year than the rules it cites, or reviewed on a rule text that
    has changed since (``rule_hashes``)."""
    today = today or dt.date.today()
    superseded = {old for e in entries for old in e.supersedes}
    keep, notes = [], []
    for e in entries:
        cited = [documents[c.document_id] for c in e.citations if c.document_id in documents]
        if e.id in superseded:
            notes.append(f"respuesta revisada {e.id}: reemplazada por otra más reciente")
        elif e.expires is not None and e.expires < today:
            notes.append(f"respuesta revisada {e.id}: venció el {e.expires.isoformat()}")
        elif e.fiscal_year is not None and any(
            d.get("fiscal_year") not in (None, e.fiscal_year) for d in cited
        ):
            notes.append(f"respuesta revisada {e.id}: es del ejercicio {e.fiscal_year} y las reglas no")
        elif any(
            d.get("content_hash")
            and e.rule_hashes.get(d["document_id"], d["content_hash"]) != d["content_hash"]
            for d in cited
        ):
            notes.append(f"respuesta revisada {e.id}: la regla citada cambió; revísela de nuevo")
        else:
            keep.append(e)
    return keep, notes


def write_version_entries(
    root: Path, entries: list[ReviewedEntry], vectors: np.ndarray, owners: list[int]
) -> None:
    """Store a version's servable entries: one JSON line each and one vector per question/variant."""
    with (root / REVIEWED_ENTRIES).open("w", encoding="utf-8") as fh:
        for e in entries:
            fh.write(e.model_dump_json() + "\n")
    np.save(root / REVIEWED_VECTORS, vectors.astype(np.float32))
    (root / (REVIEWED_ENTRIES + ".owners.json")).write_text(json.dumps(owners), "utf-8")


class _VersionEntries:
    def __init__(self, root: Path) -> None:
        path = root / REVIEWED_ENTRIES
        self.entries: list[ReviewedEntry] = []
        self.vectors = np.zeros((0, 1), np.float32)
        self.owners: list[int] = []
        if path.exists():
            lines = path.read_text("utf-8").splitlines()
            self.entries = [ReviewedEntry.model_validate_json(line) for line in lines if line.strip()]
            self.vectors = np.load(root / REVIEWED_VECTORS)
            self.owners = json.loads((root / (REVIEWED_ENTRIES + ".owners.json")).read_text("utf-8"))


class ReviewedAnswers:
    """The reviewed answers of each index version (loaded once per version) and the matcher."""

    def __init__(self, index_dir: Path, embeddings: Any, threshold: float) -> None:
        self.index_dir, self.embeddings, self.threshold = index_dir, embeddings, threshold
        self._cache: dict[str, _VersionEntries] = {}
        self._lock = threading.Lock()

    def of_version(self, version_id: str) -> _VersionEntries:
        with self._lock:
            found = self._cache.get(version_id)
            if found is None:
                found = _VersionEntries(version_dir(self.index_dir, version_id))
                self._cache = {version_id: found}  # only the active version is needed
            return found

    def served_ids(self, version_id: str) -> set[str]:
        return {e.id for e in self.of_version(version_id).entries}

    def best(self, version_id: str, question: str) -> tuple[ReviewedEntry | None, float]:
        """The entry whose question (or variant) is most similar to ``question``, and the similarity."""
        held = self.of_version(version_id)
        if not held.entries:
            return None, 0.0
        vector = self.embeddings.embed_query_vector(question)
        sims = np.einsum("ij,j->i", held.vectors, vector)  # not `@`: see VersionQuestions.match
        row = int(np.argmax(sims))
        return held.entries[held.owners[row]], float(sims[row])

    def match(self, version: Any, question: str, today: dt.date | None = None) -> Answer | None:
        """The reviewed answer for ``question`` from ``version`` (an IndexVersion), or None."""
        entry, similarity = self.best(version.version_id, question)
        if entry is None or similarity < self.threshold:
            return None
        if entry.expires is not None and entry.expires < (today or dt.date.today()):
            return None
        return Answer(
            text=reviewed_text(entry),
            abstained=False,
            confidence=round(min(1.0, max(0.0, similarity)), 3),
            citations=[_citation(version, c) for c in entry.citations],
            index_version=version.version_id,
            answerer="reviewed",
            reviewed=True,
        )


def reviewed_text(entry: ReviewedEntry) -> str:
    return f"Respuesta revisada por el personal del programa ({entry.date.strftime('%d/%m/%Y')}):\n{entry.answer}"


def _citation(version: Any, c: ReviewedCitation) -> Citation:
    chunk = next(
        (
            ch
            for ch in version.chunks
            if ch["document_id"] == c.document_id and section_matches(ch.get("section") or "", c.section)
        ),
        None,
    )
    if chunk is None:  # validated at ingestion: only a hand-edited version lands here
        return Citation(document_id=c.document_id, title=c.document_id, section=c.section)
    return Citation(
        document_id=c.document_id,
        title=chunk.get("short_title") or chunk["title"],
        section=chunk.get("section") or c.section,
        page=chunk.get("page"),
        fiscal_year=chunk.get("fiscal_year"),
        snippet=chunk["text"][:240],
        text=chunk["text"],
    )
