"""The vector store: Chroma (embedded or server) through LangChain. The only module importing chromadb."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

import numpy as np

from assistant.errors import IndexUnavailable
from assistant.layout import CHROMA_DIR
from assistant.settings import Settings

log = logging.getLogger(__name__)

COLLECTION_PREFIX = "campo-"
_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def _unreachable(exc: Exception) -> bool:
    """A Chroma server that cannot be reached: a transport error, or the ValueError chromadb raises when
    a client cannot connect (it has no dedicated exception class)."""
    import httpx

    return isinstance(exc, httpx.TransportError) or "Could not connect to a Chroma server" in str(exc)


def collection_name(version_id: str) -> str:
    name = f"{COLLECTION_PREFIX}{version_id}"
    assert 3 <= len(name) <= 512, name
    return name


def make_client(settings: Settings) -> Any:
    """A Chroma client: embedded ``PersistentClient`` under the data dir, or ``HttpClient`` for a server.

    Clients are shared per location inside a process (Chroma allows one embedded client per path).
    """
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    key = settings.chroma_url or str((settings.index_dir / CHROMA_DIR).resolve())
    with _clients_lock:
        if key in _clients:
            return _clients[key]
        if settings.chroma_url:
            url = urlparse(settings.chroma_url)
            headers = {}
            token = settings.chroma_auth_token.get_secret_value()
            if token:
                headers["Authorization"] = f"Bearer {token}"
            try:
                client = chromadb.HttpClient(
                    host=url.hostname or "localhost",
                    port=url.port or (443 if url.scheme == "https" else 8000),
                    ssl=url.scheme == "https",
                    headers=headers,
                    settings=chroma_settings,
                )
            except Exception as exc:
                if _unreachable(exc):
                    raise IndexUnavailable(f"Chroma unreachable at {url.hostname}:{url.port}") from exc
                raise
        else:
            path = settings.index_dir / CHROMA_DIR
            path.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        _clients[key] = client
        return client


class VersionCollection:
    """One index version's chunks in Chroma: searched through LangChain's ``Chroma`` vector store, written
    (with vectors ingestion computed or reused) and counted through chromadb's public ``Collection``."""

    def __init__(self, client: Any, version_id: str, embeddings: Any, *, create: bool = False) -> None:
        from langchain_chroma import Chroma

        self.name = collection_name(version_id)
        try:
            self._store = Chroma(  # without create: raises if the version's collection is missing
                client=client,
                collection_name=self.name,
                embedding_function=embeddings,
                collection_metadata={"hnsw:space": "cosine"},
                create_collection_if_not_exists=create,
            )
            self._collection = client.get_collection(name=self.name)
        except Exception as exc:
            if _unreachable(exc):
                raise IndexUnavailable(f"Chroma unreachable: {type(exc).__name__}") from exc
            raise

    def add(
        self,
        ids: Sequence[str],
        texts: Sequence[str],
        metadatas: Sequence[dict[str, Any]],
        vectors: np.ndarray,
        batch_size: int = 1000,
    ) -> None:
        """Add chunks with vectors computed (or reused) by ingestion: nothing is embedded here."""
        for start in range(0, len(ids), batch_size):
            end = start + batch_size
            self._collection.add(
                ids=list(ids[start:end]),
                documents=list(texts[start:end]),
                metadatas=[_clean_metadata(m) for m in metadatas[start:end]],
                embeddings=vectors[start:end].astype(np.float32),
            )

    def count(self) -> int:
        return int(self._collection.count())

    def search(self, vector: np.ndarray, k: int, where: dict[str, Any] | None) -> list[tuple[str, float]]:
        """Top-k chunk ids with cosine similarity."""
        if k <= 0:
            return []
        try:
            results = self._store.similarity_search_by_vector_with_relevance_scores(
                vector.tolist(), k=k, filter=where or None
            )
        except Exception as exc:
            if _unreachable(exc):
                raise IndexUnavailable(f"Chroma unreachable: {type(exc).__name__}") from exc
            raise
        return [(str(doc.id), float(score)) for doc, score in results]


def _clean_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v for k, v in meta.items() if v is not None and v != "" and isinstance(v, str | int | float | bool)
    }


def where_clause(filters: dict[str, Any]) -> dict[str, Any] | None:
    """Chroma ``where`` for equality filters combined with AND."""
    items = [{k: v} for k, v in filters.items() if v is not None]
    if not items:
        return None
    return items[0] if len(items) == 1 else {"$and": items}


def list_collections(client: Any) -> list[str]:
    return [c if isinstance(c, str) else c.name for c in client.list_collections()]


def drop_collection(client: Any, version_id: str) -> str | None:
    """Delete a version's collection; returns why it could not be deleted (None: deleted or absent)."""
    from chromadb.errors import NotFoundError

    try:
        client.delete_collection(collection_name(version_id))
    except NotFoundError:
        return None
    except Exception as exc:
        log.warning("collection %s not dropped: %s: %s", version_id, type(exc).__name__, exc)
        return f"{type(exc).__name__}: {exc}"
    return None
