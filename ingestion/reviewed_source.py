"""Reviewed answers of a new index version, and publishing one: ``<corpus>/reviewed-answers.yaml``.

Validated like the eligibility rules: every entry is checked (schema, length limits, no HTML, citations
to documents and sections of the version being built); a broken entry is reported with its field and
left out, the others are kept. Entries that expired, were superseded or cite a rule text that changed
since review are left out with a note. With no file in the scanned folders, the active version's
entries are kept.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.layout import REVIEWED_ENTRIES
from assistant.reviewed import (
    REVIEWED_FILE,
    ReviewedEntry,
    dump_entries,
    entry_problems,
    parse_entries,
    servable,
    write_version_entries,
)
from assistant.settings import Settings
from ingestion.report import IngestReport


@dataclass
class ReviewedSet:
    """The servable entries of a new version, and a digest that changes when they do."""

    entries: list[ReviewedEntry] = field(default_factory=list)
    digest: str = ""
    embeddings: Any = None  # None: the vectors are copied from the active version


def sections_of(builds: dict[str, Any]) -> dict[str, tuple[dict[str, Any], list[str]]]:
    """Each document build's record and its chunks' sections (what reviewed answers may cite)."""
    return {d: (b.info, [c.get("section") or "" for c in b.chunks]) for d, b in builds.items()}


def reviewed_for_version(
    roots: set[Path],
    previous_root: Path | None,
    documents: dict[str, tuple[dict[str, Any], list[str]]],
    report: IngestReport,
    settings: Settings,
    embeddings: Any = None,
) -> ReviewedSet:
    """``documents``: id → (document record, its chunks' sections) of the version being built."""
    entries: list[ReviewedEntry] = []
    source = next((root / REVIEWED_FILE for root in sorted(roots) if (root / REVIEWED_FILE).is_file()), None)
    if source is not None:
        try:
            text = source.read_text("utf-8")
        except UnicodeDecodeError:
            report.fail(str(source), "respuestas revisadas: no está en UTF-8")
            text = ""
        entries, errors = parse_entries(text)
        for where, reason in errors:
            report.fail(str(source), f"respuestas revisadas: {where}: {reason}")
    elif previous_root is not None and (previous_root / REVIEWED_ENTRIES).is_file():
        lines = (previous_root / REVIEWED_ENTRIES).read_text("utf-8").splitlines()
        entries = [ReviewedEntry.model_validate_json(line) for line in lines if line.strip()]
    sections = {doc_id: secs for doc_id, (_, secs) in documents.items()}
    valid = []
    for entry in entries:
        problems = entry_problems(entry, sections, max_answer_chars=settings.review_answer_max_chars)
        for where, reason in problems:
            report.fail(str(source or REVIEWED_FILE), f"respuestas revisadas: {entry.id}.{where}: {reason}")
        if not problems:
            valid.append(entry)
    keep, notes = servable(valid, {doc_id: info for doc_id, (info, _) in documents.items()})
    report.notes.extend(notes)
    dumps = sorted(e.model_dump_json() for e in keep)
    return ReviewedSet(
        keep, hashlib.sha256("\n".join(dumps).encode()).hexdigest() if keep else "", embeddings
    )


def write_reviewed(root: Path, reviewed: ReviewedSet, index_dir: Path) -> None:
    """Embed every question and variant (e5 ``query:`` on both sides) and store them in the version.
    Without ``embeddings`` (a version built from the previous one's rows) the vectors are copied."""
    if not reviewed.entries:
        return
    embeddings = reviewed.embeddings
    old: dict[str, np.ndarray] = {}
    if embeddings is None:
        from assistant.reviewed import ReviewedAnswers
        from assistant.versions import read_active

        held = ReviewedAnswers(index_dir, None, 1.0).of_version(read_active(index_dir) or "-")
        for row, owner in enumerate(held.owners):
            key = f"{held.entries[owner].id}\n{row - held.owners.index(owner)}"
            old[key] = held.vectors[row]
    texts, owners, rows = [], [], []
    for i, entry in enumerate(reviewed.entries):
        for j, q in enumerate(entry.questions()):
            texts.append(q)
            owners.append(i)
            rows.append(
                old.get(f"{entry.id}\n{j}") if embeddings is None else embeddings.embed_query_vector(q)
            )
    found = [r for r in rows if r is not None]
    if len(found) != len(rows):
        raise RuntimeError("reviewed answers without vectors: re-ingest the corpus")
    write_version_entries(root, reviewed.entries, np.vstack(found), owners)


# --- publishing: the file staff's answers are written to ---------------------------------------
@contextlib.contextmanager
def _file_lock(settings: Settings) -> Iterator[None]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.data_dir / "reviewed.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_reviewed_file(settings: Settings) -> list[ReviewedEntry]:
    path = settings.corpus_dir / REVIEWED_FILE
    if not path.exists():
        return []
    entries, _ = parse_entries(path.read_text("utf-8"))
    return entries


def add_reviewed_entry(settings: Settings, entry: ReviewedEntry) -> Path:
    """Append (or replace, by id) an entry in the corpus folder's reviewed-answers file, atomically:
    the file is written beside itself, flushed to disk and renamed over the old one."""
    path = settings.corpus_dir / REVIEWED_FILE
    with _file_lock(settings):
        entries = [e for e in read_reviewed_file(settings) if e.id != entry.id]
        entries.append(entry)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(dump_entries(entries))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    return path
