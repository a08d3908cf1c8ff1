"""Short-lived keys shared by every process: "handle this id once" and small state with an expiry.

A messaging webhook is delivered at least once (Meta redelivers until it hears 200, and with several
workers two deliveries of one message can arrive at two processes): :meth:`EphemeralStore.claim` is an
atomic set-if-absent, so exactly one process wins. ``get``/``put``/``delete`` keep a small JSON document
per key (a guided check's answers) that expires by itself.

Two stores with one interface, picked by :func:`make_ephemeral_store` from ``CAMPO_STATE_BACKEND``: SQLite
(``state.sqlite3``, one machine) and Redis (``SET NX PX``, several machines). If Redis cannot be reached,
``claim`` answers True (better a rare duplicate answer than none) and ``get`` finds nothing.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Protocol

from assistant.settings import Settings
from assistant.storage import Outage, open_sqlite, outage, redis_client


class EphemeralStore(Protocol):
    def claim(self, key: str, ttl_seconds: float) -> bool:
        """True for the first caller of ``key`` within ``ttl_seconds`` (in any process), False after."""
        ...

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, value: str, ttl_seconds: float) -> None: ...

    def delete(self, key: str) -> None: ...


class SQLiteEphemeralStore:
    """Keys in one table of ``state.sqlite3``; expired rows are ignored on read and pruned on write."""

    def __init__(self, path: Path, *, scope: str) -> None:
        self.scope = scope
        self._db = open_sqlite(
            path,
            "CREATE TABLE IF NOT EXISTS ephemeral (scope TEXT NOT NULL, key TEXT NOT NULL, value TEXT,"
            " expires REAL NOT NULL, PRIMARY KEY (scope, key)) WITHOUT ROWID",
        )
        self._lock = threading.Lock()
        self._writes = 0

    def claim(self, key: str, ttl_seconds: float) -> bool:
        now = time.time()
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(
                    "DELETE FROM ephemeral WHERE scope=? AND key=? AND expires<?", (self.scope, key, now)
                )
                inserted = db.execute(
                    "INSERT OR IGNORE INTO ephemeral VALUES (?,?,NULL,?)",
                    (self.scope, key, now + ttl_seconds),
                ).rowcount
                self._prune(now)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return bool(inserted)

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM ephemeral WHERE scope=? AND key=? AND expires>=?",
                (self.scope, key, time.time()),
            ).fetchone()
        return None if row is None else row[0]

    def put(self, key: str, value: str, ttl_seconds: float) -> None:
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO ephemeral VALUES (?,?,?,?)",
                (self.scope, key, value, now + ttl_seconds),
            )
            self._prune(now)

    def delete(self, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM ephemeral WHERE scope=? AND key=?", (self.scope, key))

    def _prune(self, now: float) -> None:
        self._writes += 1
        if self._writes % 500 == 0:
            self._db.execute("DELETE FROM ephemeral WHERE expires<?", (now,))


class RedisEphemeralStore:
    """Keys ``<prefix>eph:<scope>:<key>`` with a Redis TTL."""

    def __init__(
        self, client: Any, *, scope: str, prefix: str = "campo:", outage: Outage | None = None
    ) -> None:
        self._redis = client
        self._prefix = f"{prefix}eph:{scope}:"
        self._outage = outage or Outage(f"ephemeral keys ({scope})")

    def key(self, key: str) -> str:
        return self._prefix + key

    def claim(self, key: str, ttl_seconds: float) -> bool:
        try:
            return bool(self._redis.set(self.key(key), "1", nx=True, px=max(1, int(ttl_seconds * 1000))))
        except self._outage.errors as exc:
            self._outage.report(exc, "duplicates are not detected")
            return True

    def get(self, key: str) -> str | None:
        try:
            value = self._redis.get(self.key(key))
        except self._outage.errors as exc:
            self._outage.report(exc, "state not read")
            return None
        return None if value is None else str(value)

    def put(self, key: str, value: str, ttl_seconds: float) -> None:
        try:
            self._redis.set(self.key(key), value, px=max(1, int(ttl_seconds * 1000)))
        except self._outage.errors as exc:
            self._outage.report(exc, "state not kept")

    def delete(self, key: str) -> None:
        try:
            self._redis.delete(self.key(key))
        except self._outage.errors as exc:
            self._outage.report(exc, "state not deleted (it expires by itself)")


def make_ephemeral_store(settings: Settings, scope: str) -> EphemeralStore:
    """The configured backend's store for ``scope`` (keys of different scopes never collide)."""
    if settings.state_backend == "redis":
        return RedisEphemeralStore(
            redis_client(settings), scope=scope, prefix=settings.redis_prefix, outage=outage(scope)
        )
    return SQLiteEphemeralStore(settings.state_db, scope=scope)
