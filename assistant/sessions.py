"""Conversation state behind a small interface: in-memory and SQLite (a shared backend can follow)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass
class Turn:
    question: str
    query: str  # the retrieval query actually used (follow-ups resolved)
    answer: str
    abstained: bool
    citations: list[dict[str, Any]] = field(default_factory=list)
    at: float = field(default_factory=time.time)


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
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS session_turns (session TEXT NOT NULL, at REAL NOT NULL, turn TEXT NOT NULL)"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS session_turns_s ON session_turns(session, at)")
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
        return int(self._db.execute("SELECT COUNT(DISTINCT session) FROM session_turns").fetchone()[0])

    def count(self) -> int:
        with self._lock:
            return self.count_locked()


def make_session_store(settings: Any) -> SessionStore:
    if settings.session_backend == "memory":
        return MemorySessionStore(
            settings.session_max_turns, settings.session_ttl_seconds, settings.session_max_count
        )
    return SQLiteSessionStore(
        settings.state_db,
        settings.session_max_turns,
        settings.session_ttl_seconds,
        settings.session_max_count,
    )
