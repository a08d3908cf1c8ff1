"""Index versions on disk (layout in :mod:`assistant.layout`) and the reader that always serves exactly
one complete version."""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from assistant.errors import IndexNotReady, IndexUnavailable, VersionNotFound
from assistant.layout import (
    ACTIVE,
    BM25_DIR,
    CHUNKS,
    HISTORY,
    SENTENCE_VECTORS,
    SENTENCES,
    VECTORS,
    version_dir,
)
from assistant.layout import MANIFEST as MANIFEST
from assistant.layout import RULES_DIR as RULES_DIR
from assistant.layout import versions_dir as versions_dir
from assistant.lexical import LexicalIndex
from assistant.lexicon import LEXICON_FILE, Lexicon, LexiconError, load_lexicon
from assistant.questions import VersionQuestions
from assistant.settings import Settings
from assistant.store import VersionCollection, make_client

log = logging.getLogger(__name__)

FORMAT = 1


def read_active(index_dir: Path) -> str | None:
    try:
        return str(json.loads((index_dir / ACTIVE).read_text("utf-8"))["version"])
    except (FileNotFoundError, KeyError, json.JSONDecodeError):
        return None


def read_manifest(index_dir: Path, version_id: str) -> dict[str, Any]:
    path = version_dir(index_dir, version_id) / MANIFEST
    try:
        manifest: dict[str, Any] = json.loads(path.read_text("utf-8"))
    except FileNotFoundError as exc:
        raise VersionNotFound(f"version {version_id} not found") from exc
    if manifest.get("status") != "complete":
        raise VersionNotFound(f"version {version_id} is not complete")
    return manifest


def complete_versions(index_dir: Path) -> list[str]:
    """Complete versions, oldest first (ids sort by creation time)."""
    root = versions_dir(index_dir)
    if not root.exists():
        return []
    return sorted(p.name for p in root.iterdir() if not p.name.startswith(".") and (p / MANIFEST).exists())


def read_history(index_dir: Path, limit: int = 50) -> list[dict[str, Any]]:
    path = index_dir / HISTORY
    if not path.exists():
        return []
    lines = path.read_text("utf-8").splitlines()[-limit:]
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@dataclass
class IndexVersion:
    """A loaded, immutable index version. A request holds one of these from start to end."""

    version_id: str
    manifest: dict[str, Any]
    chunks: list[dict[str, Any]]
    vectors: np.ndarray
    sentences: list[dict[str, Any]]
    sentence_vectors: np.ndarray
    lexical: LexicalIndex
    collection: VersionCollection
    chunk_row: dict[str, int] = field(default_factory=dict)
    sentences_of_chunk: list[list[int]] = field(default_factory=list)
    meta_columns: dict[str, np.ndarray] = field(default_factory=dict)
    lexicon: Lexicon = field(default_factory=Lexicon)  # the domain lexicon stored with this version
    questions: VersionQuestions | None = None  # anticipated questions of its sections
    cache: dict[str, Any] = field(default_factory=dict)  # derived per-version data (ranking features)

    @classmethod
    def load(cls, settings: Settings, version_id: str, embeddings: Any) -> IndexVersion:
        index_dir = settings.index_dir
        manifest = read_manifest(index_dir, version_id)
        root = version_dir(index_dir, version_id)
        chunks = load_jsonl(root / CHUNKS)
        sentences = load_jsonl(root / SENTENCES)
        version = cls(
            version_id=version_id,
            manifest=manifest,
            chunks=chunks,
            vectors=np.load(root / VECTORS),
            sentences=sentences,
            sentence_vectors=np.load(root / SENTENCE_VECTORS),
            lexical=LexicalIndex.load(root / BM25_DIR),
            collection=VersionCollection(make_client(settings), version_id, embeddings),
        )
        version.chunk_row = {c["chunk_id"]: i for i, c in enumerate(chunks)}
        try:
            version.lexicon = load_lexicon(root / LEXICON_FILE)
        except LexiconError:  # validated at ingestion; a hand-edited version folder must still serve
            log.exception("version %s: unusable %s, answering without it", version_id, LEXICON_FILE)
        version.questions = VersionQuestions(root, chunks)
        version.sentences_of_chunk = [[] for _ in chunks]
        for i, s in enumerate(sentences):
            version.sentences_of_chunk[s["chunk"]].append(i)
        for key in ("program", "component", "document_id"):
            version.meta_columns[key] = np.array([c.get(key) or "" for c in chunks], dtype=object)
        version.meta_columns["fiscal_year"] = np.array(
            [c.get("fiscal_year") or 0 for c in chunks], dtype=np.int64
        )
        if len(chunks) != version.vectors.shape[0] or len(sentences) != version.sentence_vectors.shape[0]:
            raise VersionNotFound(f"version {version_id} is inconsistent")
        return version

    def mask(self, filters: dict[str, Any]) -> np.ndarray | None:
        """Boolean mask of chunks matching equality filters (None = no filter)."""
        active = {k: v for k, v in filters.items() if v is not None}
        if not active:
            return None
        mask = np.ones(len(self.chunks), dtype=bool)
        for key, value in active.items():
            mask &= self.meta_columns[key] == value
        return mask


class VersionManager:
    """Follows the ACTIVE pointer and hands out the loaded version; reloads when it changes."""

    def __init__(self, settings: Settings, embeddings: Any, check_interval: float = 0.5) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self.check_interval = check_interval
        self._current: IndexVersion | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()
        self._unavailable = ""  # why the active version could not be loaded (its Chroma server is down)

    def current(self) -> IndexVersion:
        """The active version (loads it, or a newer one, when the pointer moved)."""
        now = time.monotonic()
        if self._current is None or now - self._checked_at >= self.check_interval:
            self._refresh(now)
        if self._current is None:
            if self._unavailable:  # not "run campo ingest": there is an index, its store is unreachable
                raise IndexUnavailable(self._unavailable)
            raise IndexNotReady("no active index version")
        return self._current

    def peek(self) -> IndexVersion | None:
        try:
            return self.current()
        except IndexNotReady:
            return None

    def _refresh(self, now: float) -> None:
        with self._lock:
            if self._current is not None and now - self._checked_at < self.check_interval:
                return
            self._checked_at = now
            wanted = read_active(self.settings.index_dir)
            if wanted is None or (self._current is not None and self._current.version_id == wanted):
                self._unavailable = ""
                return
            try:
                loaded = IndexVersion.load(self.settings, wanted, self.embeddings)
            except IndexUnavailable as exc:
                self._unavailable = str(exc)
                log.warning("could not load index version %s (%s); keeping the current one", wanted, exc)
                return
            except Exception:
                log.exception("could not load index version %s; keeping the current one", wanted)
                return
            self._unavailable = ""
            log.info("serving index version %s (%d chunks)", wanted, len(loaded.chunks))
            self._current = loaded  # one reference swap: in-flight requests keep their version
