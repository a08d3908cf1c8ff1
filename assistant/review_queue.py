"""The review queue: questions the assistant could not answer well, waiting for the program's staff.

An item is one question (personal data redacted) with the reason it needs a person (``abstained``,
``downvoted``, ``low_confidence``), the channel, the answer given and its citations. Near-duplicate
questions join one item and raise its ``count``, so staff see first what is asked most. Staff answer an
item (it becomes a reviewed answer, published as a new index version) or dismiss it; every action is
written to an audit log. Chats that asked to be told when the answer arrives are kept with the item
(their consent) until the channel has sent it.

Two stores with one interface, picked by :func:`make_review_queue` from ``CAMPO_STATE_BACKEND``: SQLite
(``state.sqlite3``: every change is one transaction) and Redis (every change is one ``MULTI``/``EXEC``,
under a short Redis lock). A crash mid-write leaves the queue as it was before the change, never half of it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import statistics
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.redact import redact
from assistant.settings import Settings
from assistant.storage import open_sqlite, redis_client
from assistant.text import analyze

REASONS = ("abstained", "downvoted", "low_confidence")
STATUSES = ("pending", "answered", "dismissed")
MAX_QUESTION = 1000
MAX_ANSWER = 4000
MAX_SCAN = 5000  # pending items compared with a new question (the most recent ones)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _terms(text: str) -> set[str]:
    return set(analyze(text))


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


class ReviewQueue:
    """The queue's logic over a backend's four primitives: a cross-process lock, read one, read all,
    and an atomic write of changed items plus audit records."""

    def __init__(self, *, group_threshold: float = 0.9) -> None:
        self.group_threshold = group_threshold

    # --- backend primitives ---------------------------------------------------------------
    def _locked(self) -> contextlib.AbstractContextManager[None]:
        raise NotImplementedError

    def _load(self, item_id: str) -> dict[str, Any] | None:
        raise NotImplementedError

    def _load_all(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def _write(self, items: Sequence[dict[str, Any]], audit: Sequence[dict[str, Any]]) -> None:
        raise NotImplementedError

    def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        """The most recent audit records, newest first."""
        raise NotImplementedError

    # --- producers' side ------------------------------------------------------------------
    def submit(
        self,
        question: str,
        reason: str,
        channel: str,
        *,
        answer: str = "",
        citations: Sequence[dict[str, Any]] = (),
        vector: np.ndarray | None = None,
    ) -> str:
        """Add a question to the queue (or to the pending item it nearly duplicates); returns the item id."""
        if reason not in REASONS:
            raise ValueError(f"unknown reason {reason!r}")
        text = redact(question).strip()[:MAX_QUESTION]
        terms = _terms(text)
        vec = None if vector is None else [round(float(x), 5) for x in vector]
        with self._locked():
            item = self._nearest_pending(text, terms, vec)
            now = _now()
            if item is None:
                item = {
                    "id": uuid.uuid4().hex[:12],
                    "status": "pending",
                    "question": text,
                    "reason": reason,
                    "reasons": {},
                    "channel": channel,
                    "channels": {},
                    "created_at": now,
                    "count": 0,
                    "answer": redact(answer)[:MAX_ANSWER],
                    "citations": [_citation(c) for c in citations][:5],
                    "vector": vec,
                    "terms": sorted(terms),
                    "subscribers": [],
                    "review": None,
                }
            item["count"] += 1
            item["updated_at"] = now
            item["reasons"][reason] = item["reasons"].get(reason, 0) + 1
            item["channels"][channel] = item["channels"].get(channel, 0) + 1
            self._write([item], [])
        return str(item["id"])

    def _nearest_pending(
        self, text: str, terms: set[str], vector: list[float] | None
    ) -> dict[str, Any] | None:
        best, best_score = None, 0.0
        pending = [i for i in self._load_all() if i["status"] == "pending"]
        pending.sort(key=lambda i: i.get("updated_at", ""), reverse=True)
        for item in pending[:MAX_SCAN]:
            if item["question"].casefold() == text.casefold():
                return item
            score = _jaccard(terms, set(item.get("terms") or ()))
            if vector is not None and item.get("vector") is not None and len(item["vector"]) == len(vector):
                score = max(score, float(np.dot(vector, item["vector"])))
            if score > best_score:
                best, best_score = item, score
        return best if best_score >= self.group_threshold else None

    def subscribe(self, item_id: str, channel: str, chat: str) -> bool:
        """Remember that ``chat`` on ``channel`` asked to be told when this item is answered (its consent)."""
        with self._locked():
            item = self._load(item_id)
            if item is None or item["status"] == "dismissed":
                return False
            if not any(s["channel"] == channel and s["chat"] == chat for s in item["subscribers"]):
                item["subscribers"].append({"channel": channel, "chat": chat, "at": _now(), "sent": False})
                self._write([item], [])
        return True

    # --- staff's side ---------------------------------------------------------------------
    def get(self, item_id: str) -> dict[str, Any] | None:
        return self._load(item_id)

    def items(
        self, status: str = "pending", *, order: str = "newest", offset: int = 0, limit: int = 50
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of items of a status, newest or most asked first, and how many there are in all."""
        rows = [i for i in self._load_all() if i["status"] == status]
        if order == "count":
            rows.sort(key=lambda i: (i["count"], i.get("updated_at", "")), reverse=True)
        else:
            rows.sort(key=lambda i: i.get("updated_at", ""), reverse=True)
        return rows[offset : offset + limit], len(rows)

    def answer(self, item_id: str, actor: str, review: dict[str, Any]) -> dict[str, Any] | None:
        """Mark an item answered with the reviewed entry (and its publishing job); audited."""
        return self._close(item_id, "answered", actor, "answer", review)

    def dismiss(self, item_id: str, actor: str, note: str = "") -> dict[str, Any] | None:
        """Dismiss an item (spam, insults, outside the programs); its subscribers are not told; audited."""
        return self._close(item_id, "dismissed", actor, "dismiss", {"note": note[:300]})

    def _close(
        self, item_id: str, status: str, actor: str, action: str, review: dict[str, Any]
    ) -> dict[str, Any] | None:
        with self._locked():
            item = self._load(item_id)
            if item is None:
                return None
            item["status"] = status
            item["review"] = dict(review, at=_now(), by=actor)
            item["updated_at"] = _now()
            record = {"at": _now(), "actor": actor, "action": action, "item": item_id, "detail": review}
            self._write([item], [record])
        return item

    def audit(self, actor: str, action: str, item: str = "", detail: Any = None) -> None:
        with self._locked():
            self._write(
                [], [{"at": _now(), "actor": actor, "action": action, "item": item, "detail": detail}]
            )

    # --- telling the producers --------------------------------------------------------------
    def due_notifications(self, channel: str, published: Callable[[str], bool]) -> list[tuple[str, str, str]]:
        """(item id, chat, reviewed entry id) to tell on ``channel``: answered items whose entry the active
        index version serves (``published(entry_id)``) and whose subscriber has not been told yet."""
        due = []
        for item in self._load_all():
            review = item.get("review") or {}
            if item["status"] != "answered" or not published(str(review.get("entry_id", ""))):
                continue
            for s in item["subscribers"]:
                if s["channel"] == channel and not s["sent"]:
                    due.append((item["id"], s["chat"], str(review["entry_id"])))
        return due

    def mark_notified(self, item_id: str, channel: str, chat: str) -> None:
        with self._locked():
            item = self._load(item_id)
            if item is None:
                return
            for s in item["subscribers"]:
                if s["channel"] == channel and s["chat"] == chat:
                    s["sent"] = True
            self._write([item], [])

    # --- figures ----------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Queue length (items and the questions they group), items answered and dismissed, and the
        median time from an item's first question to its answer (seconds)."""
        items = self._load_all()
        pending = [i for i in items if i["status"] == "pending"]
        answered = [i for i in items if i["status"] == "answered"]
        waits = [
            (_parse(i["review"]["at"]) - _parse(i["created_at"])).total_seconds()
            for i in answered
            if i.get("review")
        ]
        return {
            "pending": len(pending),
            "pending_questions": sum(i["count"] for i in pending),
            "answered": len(answered),
            "dismissed": sum(1 for i in items if i["status"] == "dismissed"),
            "median_seconds_to_answer": statistics.median(waits) if waits else None,
        }


def _parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def _citation(c: dict[str, Any]) -> dict[str, Any]:
    return {k: c.get(k) for k in ("document_id", "title", "section", "page") if c.get(k) is not None}


def public_item(item: dict[str, Any]) -> dict[str, Any]:
    """An item as staff see it: no vectors, no chat ids (only how many asked to be told)."""
    hidden = {"vector", "terms", "subscribers"}
    out = {k: v for k, v in item.items() if k not in hidden}
    out["subscribers"] = len(item.get("subscribers") or [])
    return out


class SQLiteReviewQueue(ReviewQueue):
    """Items and audit records in ``state.sqlite3``; each change is one ``BEGIN IMMEDIATE`` transaction."""

    def __init__(self, path: Path, **knobs: Any) -> None:
        super().__init__(**knobs)
        self._db = open_sqlite(
            path,
            "CREATE TABLE IF NOT EXISTS review_items (id TEXT PRIMARY KEY, status TEXT NOT NULL, doc TEXT)",
            "CREATE TABLE IF NOT EXISTS review_audit (at TEXT, actor TEXT, action TEXT, item TEXT, detail TEXT)",
        )
        self._lock = threading.RLock()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _load(self, item_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT doc FROM review_items WHERE id=?", (item_id,)).fetchone()
        return None if row is None else json.loads(row[0])  # type: ignore[no-any-return]

    def _load_all(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT doc FROM review_items").fetchall()
        return [json.loads(r[0]) for r in rows]

    def _write(self, items: Sequence[dict[str, Any]], audit: Sequence[dict[str, Any]]) -> None:
        for item in items:
            self._db.execute(
                "INSERT OR REPLACE INTO review_items VALUES (?,?,?)",
                (item["id"], item["status"], json.dumps(item, ensure_ascii=False)),
            )
        for a in audit:
            self._db.execute(
                "INSERT INTO review_audit VALUES (?,?,?,?,?)",
                (a["at"], a["actor"], a["action"], a["item"], json.dumps(a["detail"], ensure_ascii=False)),
            )

    def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT at, actor, action, item, detail FROM review_audit ORDER BY rowid DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            {"at": r[0], "actor": r[1], "action": r[2], "item": r[3], "detail": json.loads(r[4])}
            for r in rows
        ]


class RedisReviewQueue(ReviewQueue):
    """Items in the hash ``<prefix>review:items``, audit records in the list ``<prefix>review:audit``.

    Changes are made under the lock ``<prefix>review:lock`` (expires by itself if its holder dies) and
    written in one ``MULTI``/``EXEC``. Unlike conversations, the queue is not optional: if Redis cannot
    be reached the error reaches the caller (the review routes fail; a channel logs it and still answers)."""

    def __init__(self, client: Any, *, prefix: str = "campo:", **knobs: Any) -> None:
        super().__init__(**knobs)
        self._redis = client
        self.items_key = f"{prefix}review:items"
        self.audit_key = f"{prefix}review:audit"
        self.lock_key = f"{prefix}review:lock"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        lock = self._redis.lock(self.lock_key, timeout=10, blocking_timeout=10)
        if not lock.acquire():
            raise TimeoutError("review queue lock not acquired")
        try:
            yield
        finally:
            with contextlib.suppress(Exception):  # expired while we worked: nothing left to release
                lock.release()

    def _load(self, item_id: str) -> dict[str, Any] | None:
        raw = self._redis.hget(self.items_key, item_id)
        return None if raw is None else json.loads(raw)  # type: ignore[no-any-return]

    def _load_all(self) -> list[dict[str, Any]]:
        return [json.loads(v) for v in self._redis.hvals(self.items_key)]

    def _write(self, items: Sequence[dict[str, Any]], audit: Sequence[dict[str, Any]]) -> None:
        pipe = self._redis.pipeline(transaction=True)
        for item in items:
            pipe.hset(self.items_key, item["id"], json.dumps(item, ensure_ascii=False))
        for a in audit:
            pipe.rpush(self.audit_key, json.dumps(a, ensure_ascii=False))
        pipe.execute()

    def audit_log(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._redis.lrange(self.audit_key, -limit, -1)
        return [json.loads(r) for r in reversed(rows)]


def make_review_queue(settings: Settings) -> ReviewQueue:
    """The review queue of the configured state backend."""
    knobs = {"group_threshold": settings.review_group_threshold}
    if settings.state_backend == "redis":
        return RedisReviewQueue(redis_client(settings), prefix=settings.redis_prefix, **knobs)
    return SQLiteReviewQueue(settings.state_db, **knobs)
