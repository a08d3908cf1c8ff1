"""Conversation state behind a small interface: in-memory, SQLite (one machine) and Redis (several).

Stores are built by :func:`make_session_store` from the settings."""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from assistant.settings import Settings
from assistant.storage import Outage, open_sqlite, outage, redis_client


@dataclass
class Turn:
    question: str
    query: str  # the retrieval query actually used (follow-ups resolved)
    answer: str
    abstained: bool
    citations: list[dict[str, Any]] = field(default_factory=list)
    at: float = field(default_factory=time.time)
    clarify: list[str] = field(default_factory=list)  # the programs this turn asked the producer to pick


class SessionStore(Protocol):
    def history(self, session_id: str) -> list[Turn]: ...
    def append(self, session_id: str, turn: Turn) -> None: ...
    def forget(self, session_id: str) -> None: ...
    def count(self) -> int: ...


class MemorySessionStore:
    """Bounded turns per session, bounded age, bounded number of sessions (LRU)."""

    def __init__(self, max_turns: int = 6, ttl_seconds: float = 1800, max_sessions: int = 100_000) -> None:
        self.max_turns, self.ttl, self.max_sessions = max_turns, ttl_seconds, max_sessions
        self._data: OrderedDict[str, list[Turn]] = OrderedDict()
        self._lock = threading.Lock()

    def history(self, session_id: str) -> list[Turn]:
        now = time.time()
        with self._lock:
            turns = [t for t in self._data.get(session_id, []) if now - t.at <= self.ttl]
            if session_id in self._data:
                self._data[session_id] = turns
            return list(turns)

    def append(self, session_id: str, turn: Turn) -> None:
        with self._lock:
            turns = self._data.pop(session_id, [])
            turns.append(turn)
            self._data[session_id] = turns[-self.max_turns :]
            while len(self._data) > self.max_sessions:
                self._data.popitem(last=False)

    def forget(self, session_id: str) -> None:
        with self._lock:
            self._data.pop(session_id, None)

    def count(self) -> int:
        return len(self._data)


class SQLiteSessionStore:
    """Sessions that survive restarts (single machine). Old and excess sessions are pruned on write."""

    def __init__(
        self, path: Path, max_turns: int = 6, ttl_seconds: float = 1800, max_sessions: int = 100_000
    ) -> None:
        self.max_turns, self.ttl, self.max_sessions = max_turns, ttl_seconds, max_sessions
        self._db = open_sqlite(
            path,
            "CREATE TABLE IF NOT EXISTS session_turns (session TEXT NOT NULL, at REAL NOT NULL, turn TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS session_turns_s ON session_turns(session, at)",
        )
        self._lock = threading.Lock()
        self._writes = 0

    def history(self, session_id: str) -> list[Turn]:
        cutoff = time.time() - self.ttl
        with self._lock:
            rows = self._db.execute(
                "SELECT turn FROM session_turns WHERE session=? AND at>=? ORDER BY at DESC LIMIT ?",
                (session_id, cutoff, self.max_turns),
            ).fetchall()
        return [Turn(**json.loads(r[0])) for r in reversed(rows)]

    def append(self, session_id: str, turn: Turn) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "INSERT INTO session_turns VALUES (?,?,?)",
                (session_id, turn.at, json.dumps(asdict(turn), ensure_ascii=False)),
            )
            self._db.execute(
                "DELETE FROM session_turns WHERE session=? AND rowid NOT IN "
                "(SELECT rowid FROM session_turns WHERE session=? ORDER BY at DESC LIMIT ?)",
                (session_id, session_id, self.max_turns),
            )
            self._db.execute("COMMIT")
            self._writes += 1
            if self._writes % 200 == 0:
                self._prune()

    def _prune(self) -> None:
        self._db.execute("DELETE FROM session_turns WHERE at < ?", (time.time() - self.ttl,))
        excess = self.count_locked() - self.max_sessions
        if excess > 0:
            self._db.execute(
                "DELETE FROM session_turns WHERE session IN (SELECT session FROM session_turns "
                "GROUP BY session ORDER BY MAX(at) LIMIT ?)",
                (excess,),
            )

    def forget(self, session_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM session_turns WHERE session=?", (session_id,))

    def count_locked(self) -> int:
        """Conversations with a turn younger than the TTL."""
        cutoff = time.time() - self.ttl
        row = self._db.execute(
            "SELECT COUNT(DISTINCT session) FROM session_turns WHERE at >= ?", (cutoff,)
        ).fetchone()
        return int(row[0])

    def count(self) -> int:
        with self._lock:
            return self.count_locked()


# Appends a turn, keeps the last ``max_turns``, (re)sets the conversation's expiry and keeps the index of
# conversations (a sorted set by last activity, server time) within ``max_sessions``; all in one step.
_APPEND = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local ttl_ms = tonumber(ARGV[3])
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('PEXPIRE', KEYS[1], ttl_ms)
redis.call('ZADD', KEYS[2], now_ms, ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now_ms - ttl_ms)
local excess = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[4])
if excess > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[2], excess)
  for i = 1, #oldest, 2 do
    redis.call('DEL', ARGV[6] .. oldest[i])
  end
end
return 1
"""


class RedisSessionStore:
    """Conversations shared by every worker and machine: a Redis list per conversation with a TTL.

    ``<prefix>session:<id>`` holds the last ``max_turns`` turns as JSON and expires ``ttl_seconds`` after
    the last turn; ``<prefix>sessions`` (sorted by last activity) bounds how many conversations exist.
    Needs one Redis server (or a primary with Sentinel); not Redis Cluster (the script touches several keys).
    """

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = "campo:",
        max_turns: int = 6,
        ttl_seconds: float = 1800,
        max_sessions: int = 100_000,
        outage: Outage | None = None,
    ) -> None:
        self.max_turns, self.ttl, self.max_sessions = max_turns, ttl_seconds, max_sessions
        self._outage = outage or Outage("sessions")
        self._redis = client
        self._prefix = prefix
        self._index = f"{prefix}sessions"
        self._append = client.register_script(_APPEND)

    def key(self, session_id: str) -> str:
        return f"{self._prefix}session:{session_id}"

    def history(self, session_id: str) -> list[Turn]:
        cutoff = time.time() - self.ttl
        try:
            raw = self._redis.lrange(self.key(session_id), -self.max_turns, -1)
        except self._outage.errors as exc:
            self._outage.report(exc, "answering without the conversation's previous turns")
            return []
        turns = [Turn(**json.loads(r)) for r in raw]
        return [t for t in turns if t.at >= cutoff]

    def append(self, session_id: str, turn: Turn) -> None:
        try:
            self._append_turn(session_id, turn)
        except self._outage.errors as exc:
            self._outage.report(exc, "turn not remembered")

    def _append_turn(self, session_id: str, turn: Turn) -> None:
        self._append(
            keys=[self.key(session_id), self._index],
            args=[
                json.dumps(asdict(turn), ensure_ascii=False),
                self.max_turns,
                max(1, int(self.ttl * 1000)),
                self.max_sessions,
                session_id,
                f"{self._prefix}session:",
            ],
        )

    def forget(self, session_id: str) -> None:
        pipe = self._redis.pipeline(transaction=True)
        pipe.delete(self.key(session_id))
        pipe.zrem(self._index, session_id)
        try:
            pipe.execute()
        except self._outage.errors as exc:
            self._outage.report(exc, "conversation not forgotten (it expires by itself)")

    def count(self) -> int:
        seconds, micros = self._redis.time()
        now_ms = seconds * 1000 + micros // 1000
        return int(self._redis.zcount(self._index, now_ms - int(self.ttl * 1000), "+inf"))


def make_session_store(settings: Settings) -> SessionStore:
    """The conversation store the settings ask for: in this process, SQLite or Redis."""
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
