"""One contract for the review queue on SQLite and on a real Redis: grouping, consent, closing, audit,
figures, and no half-written change when a write fails mid-way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant.review_queue import ReviewQueue, SQLiteReviewQueue, make_review_queue, public_item
from assistant.settings import Settings
from tests.servers import backend_overrides

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "redis"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", corpus_dir=tmp_path / "corpus", **backend_overrides(request))


def _vec(*values: float) -> np.ndarray:
    v = np.array(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_near_duplicates_group_with_a_count_and_survive_a_restart(settings: Settings) -> None:
    queue = make_review_queue(settings)
    a = queue.submit("¿Hay seguro contra granizo?", "abstained", "telegram", vector=_vec(1, 0, 0))
    b = queue.submit("hay seguro contra granizo", "downvoted", "http", vector=_vec(1, 0.01, 0))
    c = queue.submit("¿Cuándo pagan?", "abstained", "whatsapp", vector=_vec(0, 1, 0))
    assert a == b != c
    again = make_review_queue(settings)  # another process, or after a restart
    items, total = again.items(order="count")
    assert total == 2 and items[0]["id"] == a and items[0]["count"] == 2
    assert items[0]["reasons"] == {"abstained": 1, "downvoted": 1}
    assert items[0]["channels"] == {"telegram": 1, "http": 1}
    shown = public_item(items[0])
    assert "vector" not in shown and shown["subscribers"] == 0


def test_personal_data_is_redacted_before_storing(settings: Settings) -> None:
    queue = make_review_queue(settings)
    item = queue.get(queue.submit("mi tel es 55 1234 5678, ¿me llaman?", "abstained", "cli"))
    assert item is not None and "5678" not in item["question"] and "[TELÉFONO]" in item["question"]


def test_consent_answer_dismiss_audit_and_figures(settings: Settings) -> None:
    queue = make_review_queue(settings)
    first = queue.submit("pregunta uno sobre granizo", "abstained", "telegram")
    second = queue.submit("otra cosa distinta por completo", "abstained", "telegram")
    assert queue.subscribe(first, "telegram", "111") and queue.subscribe(first, "telegram", "111")
    assert queue.get(first)["subscribers"] == [  # type: ignore[index]
        {"channel": "telegram", "chat": "111", "at": queue.get(first)["subscribers"][0]["at"], "sent": False}  # type: ignore[index]
    ]
    queue.answer(first, "lucia", {"entry_id": f"r{first}"})
    queue.dismiss(second, "pedro", "spam")
    assert not queue.subscribe(second, "telegram", "222")  # dismissed: no consent to keep
    assert queue.due_notifications("telegram", lambda entry: False) == []  # not published yet
    assert queue.due_notifications("telegram", lambda entry: True) == [(first, "111", f"r{first}")]
    assert queue.due_notifications("whatsapp", lambda entry: True) == []
    queue.mark_notified(first, "telegram", "111")
    assert queue.due_notifications("telegram", lambda entry: True) == []
    log = queue.audit_log()
    assert [(r["action"], r["actor"]) for r in log] == [("dismiss", "pedro"), ("answer", "lucia")]
    stats = queue.stats()
    assert stats["pending"] == 0 and stats["answered"] == 1 and stats["dismissed"] == 1
    assert stats["median_seconds_to_answer"] is not None


def test_a_failed_write_leaves_the_queue_as_it_was(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = make_review_queue(settings)
    item_id = queue.submit("pregunta sobre granizo", "abstained", "http")
    write = type(queue)._write

    def half_then_crash(self: ReviewQueue, items: Any, audit: Any) -> None:
        if isinstance(self, SQLiteReviewQueue):
            write(self, items, [])  # the item row is written inside the transaction…
        raise OSError("disk full")  # …and the process fails before the audit record

    monkeypatch.setattr(type(queue), "_write", half_then_crash)
    with pytest.raises(OSError):
        queue.answer(item_id, "lucia", {"entry_id": "r1"})
    monkeypatch.undo()
    fresh = make_review_queue(settings)
    assert fresh.get(item_id)["status"] == "pending"  # type: ignore[index]
    assert fresh.audit_log() == []
    assert fresh.submit("pregunta sobre granizo", "abstained", "http") == item_id  # the lock was released
