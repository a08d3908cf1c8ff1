"""Shared state — conversations, rate limits, feedback — behind one setting, ``CAMPO_STATE_BACKEND``.

* ``sqlite`` (default): files under ``CAMPO_DATA_DIR`` (``state.sqlite3``, ``ratelimits.sqlite3``). Every
  process on the machine sees the same state, so any number of API workers and the bot agree.
* ``redis``: one Redis server at ``CAMPO_REDIS_URL``, for several machines. Keys start with
  ``CAMPO_REDIS_PREFIX``; conversations and rate-limit buckets expire by themselves (Redis TTL).

The only module that imports ``redis``; the stores receive a client (or a SQLite connection from
:func:`open_sqlite`) and never open one themselves.
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
from typing import TYPE_CHECKING, Any, Literal

from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.feedback import FeedbackRecorder
    from assistant.ratelimit import RateLimit
    from assistant.sessions import SessionStore

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


def make_session_store(settings: Settings) -> SessionStore:
    from assistant.sessions import MemorySessionStore, RedisSessionStore, SQLiteSessionStore

    if settings.session_backend == "memory":
        return MemorySessionStore(
            settings.session_max_turns, settings.session_ttl_seconds, settings.session_max_count
        )
    if settings.state_backend == "redis":
        return RedisSessionStore(
            redis_client(settings),
            prefix=settings.redis_prefix,
            max_turns=settings.session_max_turns,
            ttl_seconds=settings.session_ttl_seconds,
            max_sessions=settings.session_max_count,
            outage=outage("sessions"),
        )
    return SQLiteSessionStore(
        settings.state_db,
        settings.session_max_turns,
        settings.session_ttl_seconds,
        settings.session_max_count,
    )


def make_rate_limiter(settings: Settings, scope: Literal["api", "bot"]) -> RateLimit:
    """Token buckets shared by every process: ``api`` per client (API key or IP), ``bot`` per user."""
    from assistant.ratelimit import RedisRateLimiter, SQLiteRateLimiter

    per_minute = settings.rate_limit_per_minute if scope == "api" else settings.bot_rate_limit_per_minute
    if settings.state_backend == "redis":
        return RedisRateLimiter(
            redis_client(settings),
            per_minute,
            scope=scope,
            prefix=settings.redis_prefix,
            outage=outage(f"rate limits ({scope})"),
        )
    return SQLiteRateLimiter(ratelimit_db(settings), per_minute, scope=scope)


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


def make_feedback_store(settings: Settings) -> FeedbackRecorder:
    from assistant.feedback import FeedbackStore, RedisFeedbackStore

    if settings.state_backend == "redis":
        return RedisFeedbackStore(
            redis_client(settings),
            prefix=settings.redis_prefix,
            salt=pseudonym_key(settings),
            outage=outage("feedback"),
        )
    return FeedbackStore(settings.state_db, salt=pseudonym_key(settings))
