"""Every channel feeds the review queue: WhatsApp (abstentions and 👎, no «🔔» outside Telegram) and the
console chat (abstentions, and /mal on an answer)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from assistant.core import Assistant
from assistant.feedback import FeedbackStore
from assistant.ratelimit import make_rate_limiter
from bot.dialogue import Dialogue
from bot.render import NOTIFY_PREFIX
from campo import cli

OFF_TOPIC = "¿Hay seguro contra granizo para mis magueyes?"


def _dialogue(assistant: Assistant, channel: str, notify: bool) -> Dialogue:
    settings = assistant.settings
    return Dialogue(
        assistant,
        settings,
        FeedbackStore(settings.state_db),
        make_rate_limiter(settings, "bot"),
        assistant.eligibility,
        channel=channel,
        notify=notify,
    )


def test_whatsapp_abstentions_and_downvotes_reach_the_queue_without_a_notify_button(
    assistant: Assistant,
) -> None:
    dialogue = _dialogue(assistant, "whatsapp", notify=False)
    [reply] = dialogue.answer(OFF_TOPIC, session="wa-1", chat="5215512345678")
    assert "No lo encontré" in reply.text and reply.actions == ()
    dialogue.answer("monto del apoyo por pescador", session="wa-1", chat="5215512345678")
    dialogue.vote("wa-1", "5215512345678", -1)
    items, _ = assistant.review.queue.items()
    assert sorted((i["reason"], i["channel"]) for i in items) == [
        ("abstained", "whatsapp"),
        ("downvoted", "whatsapp"),
    ]


def test_telegram_offers_the_notify_button_on_abstentions_only(assistant: Assistant) -> None:
    dialogue = _dialogue(assistant, "telegram", notify=True)
    [reply] = dialogue.answer(OFF_TOPIC, session="tg-1", chat=111)
    [action] = reply.actions
    assert action.id.startswith(NOTIFY_PREFIX) and action.title == "🔔 Avísame cuando tengan la respuesta"
    assert dialogue.subscribe(action.id.removeprefix(NOTIFY_PREFIX), 111).text.startswith("Listo")
    assert dialogue.subscribe("ffffffffffff", 111).text.startswith("Esa pregunta ya no está")
    [answered] = dialogue.answer("monto del apoyo por pescador", session="tg-1", chat=111)
    assert not any(a.id.startswith(NOTIFY_PREFIX) for a in answered.actions)


@pytest.fixture
def console(monkeypatch: pytest.MonkeyPatch, assistant: Assistant) -> Iterator[list[str]]:
    lines: list[str] = []
    monkeypatch.setattr(cli, "_make_assistant", lambda settings: assistant)
    monkeypatch.setattr("builtins.input", lambda prompt="": lines.pop(0))
    yield lines


def test_console_chat_queues_abstentions_and_answers_marked_mal(
    console: list[str], assistant: Assistant, capsys: pytest.CaptureFixture[str]
) -> None:
    console.extend([OFF_TOPIC, "monto del apoyo por pescador", "/mal", "/salir"])
    assert cli.cmd_chat(assistant.settings, argparse.Namespace()) == 0
    assert "pasa a revisión del personal" in capsys.readouterr().out
    items, _ = assistant.review.queue.items()
    assert sorted((i["reason"], i["channel"]) for i in items) == [("abstained", "cli"), ("downvoted", "cli")]
    downvoted = next(i for i in items if i["reason"] == "downvoted")
    assert "pescador" in downvoted["question"] and "8,000" in downvoted["answer"]
