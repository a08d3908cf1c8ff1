"""Writing side of index versions: the ingestion lock, atomic switch, rollback and garbage collection."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from assistant.errors import IngestionBusy, VersionNotFound
from assistant.layout import ACTIVE, HISTORY, INGEST_LOCK, PARTIAL_GLOB, versions_dir
from assistant.settings import Settings
from assistant.store import COLLECTION_PREFIX, drop_collection, list_collections, make_client
from assistant.versions import complete_versions, read_active, read_history, read_manifest

log = logging.getLogger(__name__)


@contextlib.contextmanager
def ingestion_lock(settings: Settings) -> Iterator[None]:
    """Exclusive, non-blocking lock: a second ingestion (or rollback) is refused, never queued.

    The kernel releases a flock when its process dies, so a killed run never leaves a stale lock.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(settings.data_dir / INGEST_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise IngestionBusy("another ingestion holds the lock") from exc
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def switch_active(settings: Settings, version_id: str, reason: str) -> None:
    """Point readers at a complete version in one atomic rename, and record it in the history."""
    read_manifest(settings.index_dir, version_id)  # refuses incomplete or missing versions
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    previous = read_active(settings.index_dir)
    write_atomic(settings.index_dir / ACTIVE, json.dumps({"version": version_id, "switched_at": now}))
    with (settings.index_dir / HISTORY).open("a", encoding="utf-8") as fh:
        fh.write(
            json.dumps({"at": now, "version": version_id, "previous": previous, "reason": reason}) + "\n"
        )
    log.info("active index version %s -> %s (%s)", previous, version_id, reason)


def rollback(settings: Settings, to_version: str | None = None) -> str:
    """Switch back to ``to_version`` or to the complete version that was active before the current one."""
    with ingestion_lock(settings):
        current = read_active(settings.index_dir)
        available = complete_versions(settings.index_dir)
        if to_version is None:
            target = None
            for event in reversed(read_history(settings.index_dir, limit=1000)):
                candidate = event.get("previous")
                if candidate and candidate != current and candidate in available:
                    target = candidate
                    break
            if target is None:
                older = [v for v in available if current is None or v < current]
                if not older:
                    raise VersionNotFound("no earlier version to roll back to")
                target = older[-1]
        else:
            target = to_version
        if target not in available:
            raise VersionNotFound(f"version {target} not available")
        switch_active(settings, target, reason="rollback")
        return target


def garbage_collect(settings: Settings, problems: list[str] | None = None) -> list[str]:
    """Remove partial versions, versions beyond ``keep_versions`` and orphan Chroma collections.

    Collections Chroma refuses to drop are described (in Spanish) in ``problems``, e.g. the ingestion
    report's notes. Call only while holding the ingestion lock.
    """
    problems = problems if problems is not None else []
    root = versions_dir(settings.index_dir)
    removed: list[str] = []
    if not root.exists():
        return removed
    for partial in root.glob(PARTIAL_GLOB):
        shutil.rmtree(partial, ignore_errors=True)
        removed.append(partial.name)
    active = read_active(settings.index_dir)
    complete = complete_versions(settings.index_dir)
    keep = set(complete[-settings.keep_versions :])
    if active:
        keep.add(active)
    # The version active until the last switch is still answering: readers move on within their check
    # interval and finish in-flight requests on the version they hold. Dropping it (e.g. an old version
    # just rolled back to, then replaced) made those requests fail with HTTP 500 (tools/load_test.py).
    history = read_history(settings.index_dir, limit=1)
    if history and history[-1].get("previous"):
        keep.add(str(history[-1]["previous"]))
    client = make_client(settings)
    failed: dict[str, str] = {}
    for version_id in complete:
        if version_id not in keep:
            if error := drop_collection(client, version_id):
                failed[version_id] = error
            shutil.rmtree(root / version_id, ignore_errors=True)
            removed.append(version_id)
    for name in list_collections(client):
        version_id = name[len(COLLECTION_PREFIX) :]
        orphan = name.startswith(COLLECTION_PREFIX) and version_id not in keep and version_id not in failed
        if orphan and (error := drop_collection(client, version_id)):
            failed[version_id] = error
    problems.extend(
        f"no se pudo borrar de Chroma la colección de la versión {v} ({error}); se reintentará en la "
        "próxima carga"
        for v, error in failed.items()
    )
    if removed:
        log.info("garbage-collected %s", ", ".join(removed))
    return removed
