"""Connections to the shared-state backends: Redis clients (one per URL and process), WAL SQLite
connections, the outage policy of Redis-backed stores, and the pseudonym key.

The only module that imports ``redis``. The stores (:mod:`assistant.sessions`, :mod:`assistant.ratelimit`,
:mod:`assistant.feedback`) receive a client or a connection from here and never open one themselves;
:mod:`assistant.state` picks them from the settings.
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from assistant.settings import Settings

log = logging.getLogger(__name__)

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


class Outage:
    """What a Redis-backed store does when Redis cannot be reached: the request goes on without shared
    state (no follow-up memory, no rate limit, feedback only in the log) instead of failing, and a warning
    is logged at most every ``every`` seconds per store. ``errors`` are the exceptions meaning "unreachable"
    (empty = nothing is caught)."""

    def __init__(self, what: str, errors: tuple[type[BaseException], ...] = (), every: float = 30.0) -> None:
        self.what, self.errors, self.every = what, errors, every
        self._last = -every
        self._lock = threading.Lock()

    def report(self, exc: BaseException, consequence: str) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last < self.every:
                return
            self._last = now
        log.warning("redis unreachable for %s (%s): %s", self.what, type(exc).__name__, consequence)


def redis_client(settings: Settings) -> Any:
    """One ``redis.Redis`` (with its connection pool) per URL and process; safe across ``fork``."""
    try:
        import redis
    except ImportError as exc:  # pragma: no cover - redis is a main dependency
        raise RuntimeError("CAMPO_STATE_BACKEND=redis needs the 'redis' package: pip install redis") from exc
    url = settings.redis_url.get_secret_value()
    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            client = redis.Redis.from_url(
                url,
                decode_responses=True,
                socket_timeout=2,  # a LAN round trip is ~0.1 ms: waiting longer only delays the outage path
                socket_connect_timeout=1,
                health_check_interval=30,
            )
            _clients[url] = client
        return client


def open_sqlite(path: Path, *schema: str, synchronous: str = "FULL") -> sqlite3.Connection:
    """A WAL connection to a state database that several processes open at once (API workers, bot).

    Switching a new file to WAL does not wait on SQLite's busy timeout, so workers starting together can
    see "database is locked" here: the set-up is retried for a few seconds.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10)
    deadline = time.monotonic() + 10
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            for statement in schema:
                db.execute(statement)
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                db.close()
                raise
            time.sleep(0.01 + random.random() * 0.05)
    db.execute(f"PRAGMA synchronous={synchronous}")
    return db


def outage(what: str) -> Outage:
    """The :class:`Outage` policy for a Redis store: connection errors and timeouts mean unreachable."""
    import redis

    return Outage(what, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError))


def ratelimit_db(settings: Settings) -> Path:
    """Rate-limit buckets get their own SQLite file: frequent tiny writes never wait behind sessions."""
    return settings.data_dir / "ratelimits.sqlite3"


def pseudonym_key(settings: Settings) -> str:
    """CAMPO_PSEUDONYM_SECRET, or a random key created once (mode 0600) in the data dir."""
    configured = settings.pseudonym_secret.get_secret_value()
    if configured:
        return configured
    path = settings.data_dir / "pseudonym.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # another process may be writing it right now
            key = path.read_text("ascii").strip()
            if key:
                return key
            time.sleep(0.02)
        raise RuntimeError(f"{path} is empty") from None
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
