"""Conversation state: bounded turns, bounded age, bounded count, survives a restart (SQLite)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from assistant.sessions import MemorySessionStore, SessionStore, SQLiteSessionStore, Turn


def turn(i: int, at: float | None = None) -> Turn:
    return Turn(question=f"q{i}", query=f"q{i}", answer=f"a{i}", abstained=False, at=at or time.time())


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> SessionStore:
    if request.param == "memory":
        return MemorySessionStore(max_turns=3, ttl_seconds=60, max_sessions=10)
    return SQLiteSessionStore(tmp_path / "s.sqlite3", max_turns=3, ttl_seconds=60, max_sessions=10)


def test_keeps_only_the_last_turns(store: SessionStore) -> None:
    for i in range(5):
        store.append("chat", turn(i))
    assert [t.question for t in store.history("chat")] == ["q2", "q3", "q4"]
    assert store.history("other") == []


def test_old_turns_are_forgotten(store: SessionStore) -> None:
    store.append("chat", turn(1, at=time.time() - 120))
    store.append("chat", turn(2))
    assert [t.question for t in store.history("chat")] == ["q2"]


def test_forget(store: SessionStore) -> None:
    store.append("chat", turn(1))
    store.forget("chat")
    assert store.history("chat") == []


def test_sqlite_survives_a_restart(tmp_path: Path) -> None:
    SQLiteSessionStore(tmp_path / "s.sqlite3").append("chat", turn(1))
    assert [t.question for t in SQLiteSessionStore(tmp_path / "s.sqlite3").history("chat")] == ["q1"]


def test_memory_store_bounds_the_number_of_sessions() -> None:
    store = MemorySessionStore(max_turns=2, ttl_seconds=60, max_sessions=10)
    for i in range(25):
        store.append(f"chat-{i}", turn(i))
    assert store.count() == 10
    assert store.history("chat-0") == [] and store.history("chat-24")
