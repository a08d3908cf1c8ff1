"""The real python-telegram-bot Application against a local fake Bot API server."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import Application

from assistant.core import Assistant
from assistant.eligibility import EligibilityService
from assistant.embeddings import HashingEmbeddings
from assistant.feedback import FeedbackStore, export_feedback
from assistant.models import Answer
from assistant.sessions import MemorySessionStore
from bot.app import build_application, run_bot
from bot.formatting import split_message
from tests.conftest import ask_which_program_first, build_test_index, make_settings
from tests.fakes.telegram_server import FakeTelegram, html_error


class Harness:
    def __init__(
        self,
        fake: FakeTelegram,
        assistant: Assistant,
        store: FeedbackStore,
        app: Application[Any, Any, Any, Any, Any, Any],
    ) -> None:
        self.fake, self.assistant, self.store, self.app = fake, assistant, store, app

    @staticmethod
    def assistant_session(chat_id: int) -> str:
        """The session id the bot uses for a private chat."""
        return "tg-" + hashlib.sha256(f"{chat_id}:".encode()).hexdigest()[:20]

    async def say(self, text: str, **kwargs: Any) -> dict[str, Any]:
        before = len(self.fake.sent)
        self.fake.push_message(text, **kwargs)
        return (await self.fake.wait_sent(before + 1))[-1]


@asynccontextmanager
async def _harness(
    tmp_path: Path, *, eligibility: EligibilityService | None = None, **overrides: Any
) -> AsyncIterator[Harness]:
    """The real Application polling the fake Bot API, over the test index (and, if given, these rules)."""
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
    app = build_application(
        settings, assistant, feedback_store=store, eligibility=(lambda: eligibility) if eligibility else None
    )
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            yield Harness(fake, assistant, store, app)
        finally:
            await app.updater.stop()
            await app.stop()
    await fake.stop()


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Harness]:
    async with _harness(tmp_path) as h:
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
    buttons = [b for row in sent["reply_markup"]["inline_keyboard"] for b in row]  # only "🔔 tell me"
    assert [b["text"] for b in buttons] == ["🔔 Avísame cuando tengan la respuesta"]
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
    edited_id = bot.fake.push_message("hasta cuando hay ventanilla", edited=True)
    sent = (await bot.fake.wait_sent(len(bot.fake.sent) + 1))[-1]
    assert "31 de marzo" in sent["text"]
    # answered as a reply to the edited message, so it is not read as the answer to the old text
    edited_message = next(u for u in bot.fake.pushed if u["update_id"] == edited_id)["edited_message"]
    assert sent["reply_parameters"]["message_id"] == edited_message["message_id"]
    plain = await bot.say("monto del apoyo por pescador")
    assert "reply_parameters" not in plain


async def test_two_chats_interleaved_are_concurrent_and_keep_their_own_conversations(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = bot.assistant.ask

    def slow_for_fishers(question: str, **kwargs: Any) -> Answer:
        if "pescador" in question:
            time.sleep(1.0)  # in the worker thread, like a slow retrieval
        return original(question, **kwargs)

    monkeypatch.setattr(bot.assistant, "ask", slow_for_fishers)
    bot.fake.push_message("monto del apoyo por pescador", chat_id=111)  # slow
    bot.fake.push_message("¿y los requisitos?", chat_id=111)  # a follow-up of the slow one
    bot.fake.push_message("hasta cuando hay ventanilla", chat_id=222)
    bot.fake.push_message("¿y los requisitos?", chat_id=222)
    sent = await bot.fake.wait_sent(4)
    by_chat = {c: [m["text"] for m in sent if str(m["chat_id"]) == str(c)] for c in (111, 222)}
    # Chat 222 was not kept waiting behind chat 111's slow question.
    assert [str(m["chat_id"]) for m in sent[:2]] == ["222", "222"]
    # Each chat in order, and each follow-up read with its own chat's previous question.
    assert "8,000 pesos" in by_chat[111][0] and "Permiso de pesca vigente" in by_chat[111][1]
    assert "31 de marzo" in by_chat[222][0]
    assert "pesca" not in by_chat[222][1].lower()
    turns = bot.assistant.sessions.history(bot.assistant_session(222))
    assert [t.question for t in turns] == ["hasta cuando hay ventanilla", "¿y los requisitos?"]


async def test_rate_limit_per_user(tmp_path: Path) -> None:
    async with _harness(tmp_path, bot_rate_limit_per_minute=2) as h:
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
        async with _harness(tmp_path, asr_base_url=f"http://127.0.0.1:{server.server_port}/v1") as h:
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


def test_a_cut_answer_points_to_the_full_source() -> None:
    from assistant.models import Citation
    from bot.formatting import answer_html

    citation = Citation(
        document_id="d", title="Lineamientos 2014", section="Capítulo II > Artículo 7", snippet="x"
    )
    cut = Answer(
        text="Requisitos:\n1. CURP;\n2. INE;\n…", abstained=False, confidence=1, citations=[citation]
    )
    whole = Answer(text="Requisitos:\n1. CURP;\n2. INE.", abstained=False, confidence=1, citations=[citation])
    assert "toque «📄 Ver fuente»" in answer_html(cut)
    assert "• CURP;" in answer_html(cut) and answer_html(cut).endswith("<i>📄 Lineamientos 2014, Art. 7</i>")
    assert "Ver fuente" not in answer_html(whole)
    assert html_error(answer_html(cut)) is None
    # Items left out in the middle (the list's start, '…', its best item) are a cut too.
    middle = Answer(
        text="Requisitos:\nI. CURP;\n…\nVII. Permiso de pesca.",
        abstained=False,
        confidence=1,
        citations=[citation],
    )
    assert "toque «📄 Ver fuente»" in answer_html(middle)


async def test_which_program_buttons_answer_the_first_question(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A question that names no program, when several programs' rules compete, gets their names as
    buttons; tapping one answers the first question from that program's rules."""
    names = ask_which_program_first(bot.assistant, monkeypatch)
    sent = await bot.say("que requisitos piden")
    assert "¿De cuál me pregunta?" in sent["text"] and names[0] in sent["text"]
    buttons = {b["text"]: b["callback_data"] for row in sent["reply_markup"]["inline_keyboard"] for b in row}
    assert {names[0]: "pick:0", names[1]: "pick:1"}.items() <= buttons.items()
    before = len(bot.fake.sent)
    bot.fake.push_callback("pick:0")
    answer = (await bot.fake.wait_sent(before + 1))[-1]
    assert "Permiso de pesca vigente" in answer["text"]
    before = len(bot.fake.sent)
    bot.fake.push_callback("pick:1")  # that question was answered: nothing left to pick
    stale = (await bot.fake.wait_sent(before + 1))[-1]
    assert "ya quedó atrás" in stale["text"]
