"""The real python-telegram-bot Application against a local fake Bot API server."""

from __future__ import annotations

import asyncio
import csv
import threading
from collections.abc import AsyncIterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from assistant.core import Assistant
from assistant.embeddings import HashingEmbeddings
from assistant.feedback import FeedbackStore, export_feedback
from assistant.models import Answer
from assistant.sessions import MemorySessionStore
from bot.app import build_application, run_bot
from bot.formatting import split_message
from tests.conftest import build_test_index, make_settings
from tests.fakes.telegram_server import FakeTelegram, html_error


class Harness:
    def __init__(self, fake: FakeTelegram, assistant: Assistant, store: FeedbackStore) -> None:
        self.fake, self.assistant, self.store = fake, assistant, store

    async def say(self, text: str, **kwargs: Any) -> dict[str, Any]:
        before = len(self.fake.sent)
        self.fake.push_message(text, **kwargs)
        return (await self.fake.wait_sent(before + 1))[-1]


async def _harness(tmp_path: Path, **overrides: Any) -> AsyncIterator[Harness]:
    fake = await FakeTelegram().start()
    settings = make_settings(
        tmp_path,
        telegram_bot_token=fake.token,
        telegram_api_url=fake.base_url,
        **overrides,
    )
    build_test_index(settings)
    assistant = Assistant(settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())
    store = FeedbackStore(settings.state_db)
    app = build_application(settings, assistant, feedback_store=store)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            yield Harness(fake, assistant, store)
        finally:
            await app.updater.stop()
            await app.stop()
    await fake.stop()


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Harness]:
    async for h in _harness(tmp_path):
        yield h


async def test_start_explains_what_the_bot_knows(bot: Harness) -> None:
    sent = await bot.say("/start")
    assert sent["parse_mode"] == "HTML"
    assert "Campo" in sent["text"]
    assert "• Lineamientos de pesca de prueba 2014" in sent["text"]  # what the index holds
    assert "no son una resolución oficial" in sent["text"]
    assert "CURP" in sent["text"]


async def test_question_gets_a_cited_answer_with_buttons_and_a_follow_up(bot: Harness) -> None:
    sent = await bot.say("monto del apoyo por pescador")
    assert "8,000 pesos" in sent["text"]
    assert "📄 Lineamientos de Pesca 2014, Art. 6" in sent["text"]
    buttons = [b["callback_data"] for row in sent["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons == ["src", "fb:+1", "fb:-1"]
    assert ("sendChatAction", {"chat_id": "111", "action": "typing"}) in [
        (m, {k: str(v) for k, v in p.items()}) for m, p in bot.fake.calls if m == "sendChatAction"
    ]
    follow = await bot.say("¿y los requisitos?")
    assert "Permiso de pesca vigente" in follow["text"]
    assert "• Permiso de pesca vigente" in follow["text"]  # fracciones as bullets


async def test_source_button_and_feedback_are_stored(bot: Harness, tmp_path: Path) -> None:
    await bot.say("monto del apoyo por pescador")
    before = len(bot.fake.sent)
    bot.fake.push_callback("src")
    source = (await bot.fake.wait_sent(before + 1))[-1]
    assert "capacitación de tres a cinco días" in source["text"]
    bot.fake.push_callback("fb:-1")
    for _ in range(100):
        if bot.store.rows():
            break
        await asyncio.sleep(0.05)
    rows = bot.store.rows()
    assert rows[0]["vote"] == -1 and "pescador" in rows[0]["question"]
    assert rows[0]["chat"] != "111"  # hashed


async def test_abstention_is_stored_for_staff_with_personal_data_redacted(
    bot: Harness, tmp_path: Path
) -> None:
    sent = await bot.say("receta de tamales oaxaqueños, mi curp es GOMJ850101HDFRRN09")
    assert "No lo encontré" in sent["text"]
    assert "reply_markup" not in sent or not sent["reply_markup"]
    rows = bot.store.rows()
    assert rows[-1]["kind"] == "abstained" and "[CURP]" in rows[-1]["question"]
    assert "GOMJ850101HDFRRN09" not in rows[-1]["question"]
    settings = bot.assistant.settings
    out = tmp_path / "feedback.csv"
    assert export_feedback(settings, str(out)) >= 1
    exported = list(csv.DictReader(out.open(encoding="utf-8")))
    assert exported[-1]["kind"] == "abstained" and "GOMJ850101HDFRRN09" not in out.read_text("utf-8")


async def test_hostile_characters_and_long_answers_are_accepted_by_telegram(bot: Harness) -> None:
    hostile = Answer(
        text="Según <b>x</b> & y: use *negritas* y _guiones_ <script>", abstained=False, confidence=1
    )
    from bot.formatting import answer_html

    html_text = answer_html(hostile)
    assert html_error(html_text) is None
    long = "\n\n".join(f"Párrafo {i}: " + "requisitos & montos < límites " * 20 for i in range(30))
    parts = split_message(long)
    assert len(parts) > 1 and all(len(p) <= 4096 for p in parts)
    # The real bot path: /ayuda and /programas pass the fake's HTML validator.
    assert (await bot.say("/ayuda"))["text"].startswith("Escríbame")
    assert "Reglas de Operación de prueba 2014" in (await bot.say("/programas"))["text"]
    assert bot.fake.rejected == []


async def test_photo_and_voice_without_asr(bot: Harness) -> None:
    sent = await bot.say(
        None, extra={"photo": [{"file_id": "p1", "file_unique_id": "p1", "width": 1, "height": 1}]}
    )
    assert "solo entiendo mensajes de texto" in sent["text"]
    sent = await bot.say(None, extra={"voice": {"file_id": "v1", "file_unique_id": "v1", "duration": 2}})
    assert "escribe su pregunta" in sent["text"]


async def test_group_answers_only_when_mentioned(bot: Harness) -> None:
    bot.fake.push_message("monto del apoyo por pescador", chat_id=-500, user_id=7, chat_type="group")
    await asyncio.sleep(0.5)
    assert bot.fake.sent == []
    sent = await bot.say(
        "@campo_bot monto del apoyo por pescador", chat_id=-500, user_id=7, chat_type="group"
    )
    assert "8,000 pesos" in sent["text"]


async def test_new_forgets_and_edited_message_is_answered(bot: Harness) -> None:
    await bot.say("monto del apoyo por pescador")
    assert "Listo" in (await bot.say("/nueva"))["text"]
    assert "Todavía no tengo" in (await bot.say("/fuente"))["text"]
    sent = await bot.say("hasta cuando hay ventanilla", edited=True)
    assert "31 de marzo" in sent["text"]


async def test_rate_limit_per_user(tmp_path: Path) -> None:
    async for h in _harness(tmp_path, bot_rate_limit_per_minute=2):
        await h.say("monto del apoyo por pescador")
        await h.say("hasta cuando hay ventanilla")
        sent = await h.say("requisitos")
        assert "Espere un minuto" in sent["text"]
        other = await h.say("monto del apoyo por pescador", chat_id=222)
        assert "8,000 pesos" in other["text"]


async def test_error_handler_apologises_and_the_bot_keeps_working(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = bot.assistant.ask
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> Answer:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom with CURP GOMJ850101HDFRRN09")
        return original(*args, **kwargs)

    monkeypatch.setattr(bot.assistant, "ask", flaky)
    assert "Perdón" in (await bot.say("monto del apoyo por pescador"))["text"]
    assert "8,000 pesos" in (await bot.say("monto del apoyo por pescador"))["text"]


class _ASR(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = b'{"text": "monto del apoyo por pescador"}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


async def test_voice_note_is_transcribed_with_an_asr_endpoint(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ASR)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        async for h in _harness(tmp_path, asr_base_url=f"http://127.0.0.1:{server.server_port}/v1"):
            h.fake.files["v9"] = b"OggS fake audio"
            h.fake.push_message(
                None, extra={"voice": {"file_id": "v9", "file_unique_id": "v9", "duration": 2}}
            )
            sent = await h.fake.wait_sent(2)
            assert "Entendí: «monto del apoyo por pescador»" in sent[0]["text"]
            assert "8,000 pesos" in sent[1]["text"]
    finally:
        server.shutdown()


def test_run_bot_without_token_exits_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_bot(make_settings(tmp_path)) == 2
    assert "TELEGRAM_BOT_TOKEN" in capsys.readouterr().err
