"""Producers' votes and unanswered questions, stored for staff (personal data redacted)."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any

from assistant.redact import redact
from assistant.settings import Settings

COLUMNS = ["at", "chat", "kind", "vote", "question", "answer", "index_version"]


class FeedbackStore:
    def __init__(self, path: Path, salt: str = "campo") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS feedback (at TEXT, chat TEXT, kind TEXT, vote INTEGER, question TEXT,"
            " answer TEXT, index_version TEXT)"
        )
        self._salt = salt
        self._lock = threading.Lock()

    def chat_hash(self, chat_id: int | str) -> str:
        return hashlib.sha256(f"{self._salt}:{chat_id}".encode()).hexdigest()[:16]

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
        row = (
            dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            self.chat_hash(chat_id),
            kind,
            vote,
            redact(question)[:2000],
            redact(answer)[:4000],
            index_version or "",
        )
        with self._lock:
            self._db.execute("INSERT INTO feedback VALUES (?,?,?,?,?,?,?)", row)

    def rows(self) -> list[dict[str, Any]]:
        with self._lock:
            cursor = self._db.execute(f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY at")
            return [dict(zip(COLUMNS, r, strict=True)) for r in cursor.fetchall()]


def export_feedback(settings: Settings, output: str) -> int:
    """Write every record as CSV to ``output`` ('-' = stdout); returns the number of rows."""
    rows = FeedbackStore(settings.state_db).rows()
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
