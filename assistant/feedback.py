"""Producers' votes and unanswered questions, stored for staff (personal data redacted before storing).

Two stores with one interface: SQLite (``state.sqlite3``, one machine) and a Redis stream (several
machines). :func:`make_feedback_store` picks one from the settings; ``campo feedback
export`` reads whichever is configured.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import json
import logging
import sys
import threading
from pathlib import Path
from typing import Any, Protocol

from assistant.redact import redact
from assistant.settings import Settings
from assistant.storage import Outage, open_sqlite, outage, pseudonym_key, redis_client

log = logging.getLogger(__name__)

COLUMNS = ["at", "chat", "kind", "vote", "question", "answer", "index_version"]


class FeedbackRecorder(Protocol):
    def chat_hash(self, chat_id: int | str) -> str: ...

    def record(
        self,
        chat_id: int | str,
        kind: str,
        question: str,
        answer: str,
        *,
        vote: int = 0,
        index_version: str | None = None,
    ) -> None:
        """kind: 'vote' (vote = +1/-1) or 'abstained'."""
        ...

    def rows(self) -> list[dict[str, Any]]:
        """Every record, oldest first, as dicts with :data:`COLUMNS`."""
        ...


def chat_hash(salt: str, chat_id: int | str) -> str:
    """A pseudonym for a chat id: HMAC-SHA256 with a secret key (Telegram ids are short numbers, so an
    unkeyed hash could be reversed by trying them all)."""
    return hmac.new(salt.encode(), str(chat_id).encode(), hashlib.sha256).hexdigest()[:16]


def feedback_row(
    salt: str,
    chat_id: int | str,
    kind: str,
    question: str,
    answer: str,
    vote: int,
    index_version: str | None,
) -> dict[str, Any]:
    """One record as stored: chat id hashed, question and answer redacted and bounded."""
    return {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "chat": chat_hash(salt, chat_id),
        "kind": kind,
        "vote": int(vote),
        "question": redact(question)[:2000],
        "answer": redact(answer)[:4000],
        "index_version": index_version or "",
    }


class _PseudonymizingStore:
    """What both stores share: chat ids become keyed pseudonyms, texts are redacted, then ``_store``."""

    _salt: str

    def chat_hash(self, chat_id: int | str) -> str:
        return chat_hash(self._salt, chat_id)

    def record(
        self,
        chat_id: int | str,
        kind: str,
        question: str,
        answer: str,
        *,
        vote: int = 0,
        index_version: str | None = None,
    ) -> None:
        """kind: 'vote' (vote = +1/-1) or 'abstained'."""
        self._store(feedback_row(self._salt, chat_id, kind, question, answer, vote, index_version))

    def _store(self, row: dict[str, Any]) -> None:
        raise NotImplementedError


class FeedbackStore(_PseudonymizingStore):
    """Feedback in SQLite (``state.sqlite3``): every process on one machine writes to the same table."""

    def __init__(self, path: Path, salt: str = "campo") -> None:
        self._db = open_sqlite(
            path,
            "CREATE TABLE IF NOT EXISTS feedback (at TEXT, chat TEXT, kind TEXT, vote INTEGER, question TEXT,"
            " answer TEXT, index_version TEXT)",
        )
        self._salt = salt
        self._lock = threading.Lock()

    def _store(self, row: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("INSERT INTO feedback VALUES (?,?,?,?,?,?,?)", [row[c] for c in COLUMNS])

    def rows(self) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self._db.execute(f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY at, rowid")
            return [dict(zip(COLUMNS, r, strict=True)) for r in cursor.fetchall()]


class RedisFeedbackStore(_PseudonymizingStore):
    """Feedback in a Redis stream (``<prefix>feedback``): records from every machine, in arrival order.

    The stream is not trimmed: export it (``campo feedback export``) and back Redis up like any database.
    If Redis cannot be reached, the (already redacted) record is written to the error log instead.
    """

    def __init__(
        self, client: Any, *, prefix: str = "campo:", salt: str = "campo", outage: Outage | None = None
    ) -> None:
        self._outage = outage or Outage("feedback")
        self._redis = client
        self.key = f"{prefix}feedback"
        self._salt = salt

    def _store(self, row: dict[str, Any]) -> None:
        try:
            self._redis.xadd(self.key, {c: str(row[c]) for c in COLUMNS})
        except self._outage.errors as exc:  # the user still gets the answer; staff find the record here
            self._outage.report(exc, "feedback records go to the log")
            log.error("feedback not stored: %s", json.dumps(row, ensure_ascii=False))

    def rows(self, batch: int = 1000) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        start = "-"
        while True:
            entries = self._redis.xrange(self.key, min=start, max="+", count=batch)
            for _, fields in entries:
                row: dict[str, Any] = {c: fields.get(c, "") for c in COLUMNS}
                row["vote"] = int(row["vote"] or 0)
                out.append(row)
            if len(entries) < batch:
                return out
            start = "(" + entries[-1][0]  # exclusive: continue after the last id read


def make_feedback_store(settings: Settings) -> FeedbackRecorder:
    """The feedback store of the configured state backend (SQLite or a Redis stream)."""
    if settings.state_backend == "redis":
        return RedisFeedbackStore(
            redis_client(settings),
            prefix=settings.redis_prefix,
            salt=pseudonym_key(settings),
            outage=outage("feedback"),
        )
    return FeedbackStore(settings.state_db, salt=pseudonym_key(settings))


def export_feedback(settings: Settings, output: str) -> int:
    """Write every record of the configured store as CSV to ``output`` ('-' = stdout); returns the count."""
    rows = make_feedback_store(settings).rows()
    if output == "-":
        writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    else:
        with open(output, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    return len(rows)
