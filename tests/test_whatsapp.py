"""The WhatsApp channel end to end: the real app of `campo serve` (uvicorn, real HTTP) receives Meta's
signed notifications, and the channel's real Graph API client talks HTTP to a fake Cloud API that rejects
what Meta rejects (tests/fakes/graph_server.py)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import uvicorn

from assistant.api.app import create_app
from assistant.core import Assistant
from assistant.eligibility import FACTS, EligibilityService, load_rules_dir
from assistant.embeddings import HashingEmbeddings
from assistant.feedback import FeedbackStore
from assistant.models import Answer
from assistant.sessions import MemorySessionStore
from bot.whatsapp.app import mount_whatsapp
from bot.whatsapp.channel import WhatsAppChannel
from tests.conftest import ask_which_program_first, build_test_index, make_settings
from tests.fakes import graph_server as meta
from tests.fakes.graph_server import FakeGraph
from tests.fakes.producers import FISHERMAN
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[1]
VERIFY = "verify-me-please-1234"
ANA = "5215551110001"
BETO = "5215552220002"


@dataclass
class Running:
    fake: FakeGraph
    url: str
    channel: WhatsAppChannel
    assistant: Assistant
    store: FeedbackStore
    client: httpx.AsyncClient

    async def send(self, payload: dict[str, Any]) -> httpx.Response:
        response = await self.fake.notify(self.url, payload)
        assert response.status_code == 200, response.text
        await self.channel.idle()
        return response

    async def say(self, phone: str, text: str) -> list[dict[str, Any]]:
        """The messages ``phone`` receives after writing ``text``."""
        before = len(self.fake.sent)
        await self.send(meta.text(phone, text))
        return [m for m in self.fake.sent[before:] if m["to"] == phone]

    async def tap(self, phone: str, reply_id: str, *, row: bool = False) -> list[dict[str, Any]]:
        before = len(self.fake.sent)
        await self.send(meta.tap(phone, reply_id, row=row))
        return [m for m in self.fake.sent[before:] if m["to"] == phone]


def body(message: dict[str, Any]) -> str:
    return str(
        message["text"]["body"] if message["type"] == "text" else message["interactive"]["body"]["text"]
    )


def choices(message: dict[str, Any]) -> dict[str, str]:
    """title (and, for cut list rows, the full label in the description) -> id."""
    if message["type"] != "interactive":
        return {}
    interactive = message["interactive"]
    if interactive["type"] == "button":
        return {b["reply"]["title"]: b["reply"]["id"] for b in interactive["action"]["buttons"]}
    out = {}
    for section in interactive["action"]["sections"]:
        for row in section["rows"]:
            out[row["title"]] = row["id"]
            if row.get("description"):
                out[row["description"]] = row["id"]
    return out


@asynccontextmanager
async def running(
    tmp_path: Path, *, eligibility: EligibilityService | None = None, **overrides: Any
) -> AsyncIterator[Running]:
    fake = await FakeGraph().start()
    port = free_port()
    values: dict[str, Any] = {
        "whatsapp_token": fake.token,
        "whatsapp_phone_id": meta.PHONE_ID,
        "whatsapp_app_secret": fake.app_secret,
        "whatsapp_verify_token": VERIFY,
        "whatsapp_api_url": fake.base_url,
        **overrides,
    }
    settings = make_settings(tmp_path, **values)
    build_test_index(settings)
    assistant = Assistant(settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())
    store = FeedbackStore(settings.state_db, salt="test-key")
    app = create_app(settings, assistant)
    channel = mount_whatsapp(
        app,
        settings,
        assistant,
        feedback_store=store,
        eligibility=(lambda: eligibility) if eligibility else None,
    )
    assert channel is not None
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="on", log_config=None, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    assert server.started, "the app did not start"
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            yield Running(
                fake, f"http://127.0.0.1:{port}/v1/whatsapp/webhook", channel, assistant, store, client
            )
    finally:
        server.should_exit = True
        await task
        await fake.stop()
    assert fake.rejected == [], fake.rejected  # every message within the Cloud API's limits
    assert fake.unauthorized == 0


@pytest.fixture
async def wa(tmp_path: Path) -> AsyncIterator[Running]:
    async with running(tmp_path) as r:
        yield r


@pytest.fixture(scope="module")
def service() -> EligibilityService:
    rules, errors = load_rules_dir(ROOT / "corpus" / "eligibility")
    assert errors == []
    return EligibilityService(rules)


# --- Meta's contract ---------------------------------------------------------------------------------


async def test_verification_handshake_answers_the_challenge_only_with_the_right_token(wa: Running) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    ok = await wa.client.get(wa.url, params=params)
    assert ok.status_code == 200 and ok.text == "1158201444"
    wrong = await wa.client.get(wa.url, params={**params, "hub.verify_token": "not-it"})
    assert wrong.status_code == 403 and "1158201444" not in wrong.text
    unsubscribed = await wa.client.get(wa.url, params={**params, "hub.mode": "unsubscribe"})
    assert unsubscribed.status_code == 403


async def test_unsigned_and_wrongly_signed_posts_are_refused_and_nothing_is_answered(wa: Running) -> None:
    payload = meta.text(ANA, "monto del apoyo por pescador", wamid="wamid.forged")
    unsigned = await wa.fake.notify(wa.url, payload, signed=False)
    assert unsigned.status_code == 401
    wrong = await wa.fake.notify(wa.url, payload, signature=wa.fake.sign(b"other body"))
    assert wrong.status_code == 403
    other_secret = await wa.fake.notify(wa.url, payload, signature="sha256=" + "0" * 64)
    assert other_secret.status_code == 403
    await wa.channel.idle()
    await asyncio.sleep(0.2)
    assert wa.fake.sent == []
    # Nothing was processed — not even remembered as seen: the genuine delivery is answered.
    await wa.send(payload)
    assert "8,000 pesos" in body(wa.fake.sent[-1])


async def test_status_updates_are_acknowledged_quietly(wa: Running) -> None:
    for state in ("sent", "delivered", "read"):
        await wa.send(meta.status(ANA, state))
    assert wa.fake.sent == []


async def test_a_redelivered_message_is_answered_once(wa: Running) -> None:
    payload = meta.text(ANA, "monto del apoyo por pescador", wamid="wamid.twice")
    first, second = await asyncio.gather(wa.fake.notify(wa.url, payload), wa.fake.notify(wa.url, payload))
    assert first.status_code == second.status_code == 200
    await wa.channel.idle()
    await wa.send(payload)  # and again later, as Meta retries
    assert len(wa.fake.sent) == 1 and "8,000 pesos" in body(wa.fake.sent[0])


async def test_a_wrong_access_token_is_refused_by_the_graph_api_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    async with running(tmp_path, whatsapp_token="EAAG-wrong-token") as wa:
        await wa.send(meta.text(ANA, "monto del apoyo por pescador"))
        assert wa.fake.sent == [] and wa.fake.unauthorized >= 1
        wa.fake.unauthorized = 0
    assert "graph API error 401 (code 190)" in caplog.text
    assert ANA not in caplog.text and ANA[-10:] not in caplog.text


async def test_nothing_is_sent_outside_the_24_hour_window(
    wa: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    wa.fake.window_closed.add(ANA)
    await wa.send(meta.text(ANA, "monto del apoyo por pescador"))
    assert wa.fake.sent == [] and "outside the 24-hour window" in caplog.text
    wa.fake.window_closed.clear()
    # Named program: after a question about fishers, a bare "¿y la ventanilla?" is PROPESCA's (whose
    # test document has no window article).
    (answer,) = await wa.say(ANA, "hasta cuando hay ventanilla de cadenas de valor")
    assert "31 de marzo" in body(answer)


async def test_a_message_delivered_to_two_workers_is_answered_once(wa: Running) -> None:
    """Two `campo serve` workers (two apps, two channels, one state backend) get the same notification."""
    other_app = create_app(wa.channel.settings, wa.assistant)
    other = mount_whatsapp(other_app, wa.channel.settings, wa.assistant, feedback_store=wa.store)
    assert other is not None
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            other_app, host="127.0.0.1", port=port, lifespan="on", log_config=None, log_level="warning"
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        payload = meta.text(ANA, "monto del apoyo por pescador", wamid="wamid.both")
        other_url = f"http://127.0.0.1:{port}/v1/whatsapp/webhook"
        responses = await asyncio.gather(
            *(wa.fake.notify(url, payload) for url in (wa.url, other_url, wa.url, other_url))
        )
        assert [r.status_code for r in responses] == [200] * 4
        await asyncio.gather(wa.channel.idle(), other.idle())
    finally:
        server.should_exit = True
        await task
    assert len(wa.fake.sent) == 1 and "8,000 pesos" in body(wa.fake.sent[0])


# --- Conversation --------------------------------------------------------------------------------------


async def test_question_gets_a_cited_answer_with_buttons_and_a_follow_up(wa: Running) -> None:
    await wa.send(meta.text(ANA, "monto del apoyo por pescador", wamid="wamid.question1"))
    (answer,) = wa.fake.sent
    assert wa.fake.read == ["wamid.question1"]  # blue ticks and "escribiendo…" while it is composed
    assert answer["type"] == "interactive" and answer["interactive"]["type"] == "button"
    assert "8,000 pesos" in body(answer)
    assert "_📄 Lineamientos de Pesca 2014, Art. 6_" in body(answer)  # WhatsApp italics, no HTML
    assert "<i>" not in body(answer)
    assert choices(answer) == {"📄 Ver fuente": "src", "👍": "fb:+1", "👎": "fb:-1"}
    (follow,) = await wa.say(ANA, "¿y los requisitos?")
    assert "• Permiso de pesca vigente" in body(follow)


async def test_source_and_vote_buttons(wa: Running) -> None:
    await wa.say(ANA, "monto del apoyo por pescador")
    (source,) = await wa.tap(ANA, "src")
    assert source["type"] == "text"
    assert body(source).startswith("*📄 Lineamientos de Pesca 2014, Art. 6*")
    assert "capacitación de tres a cinco días" in body(source)
    (thanks,) = await wa.tap(ANA, "fb:-1")
    assert "Gracias" in body(thanks)
    rows = wa.store.rows()
    assert rows[-1]["kind"] == "vote" and rows[-1]["vote"] == -1 and "pescador" in rows[-1]["question"]
    assert ANA not in str(rows) and ANA[-10:] not in str(rows)  # the phone number is pseudonymised
    (typed,) = await wa.say(ANA, "Fuente")  # the word works like the button
    assert "capacitación" in body(typed)


async def test_abstention_has_no_buttons_and_is_stored_without_the_phone(
    wa: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    (sent,) = await wa.say(ANA, "receta de tamales oaxaqueños, mi curp es GOMJ850101HDFRRN09")
    assert sent["type"] == "text" and "No lo encontré" in body(sent)
    row = wa.store.rows()[-1]
    assert row["kind"] == "abstained" and "[CURP]" in row["question"]
    assert ANA not in str(row)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert ANA not in logged and ANA[-10:] not in logged


async def test_image_and_voice_note_without_asr_get_a_friendly_reply(wa: Running) -> None:
    before = len(wa.fake.sent)
    await wa.send(meta.message(ANA, "image", {"id": "img-1", "mime_type": "image/jpeg"}))
    (reply,) = wa.fake.sent[before:]
    assert "solo entiendo mensajes de texto" in body(reply)
    await wa.send(meta.message(ANA, "audio", {"id": "aud-1", "mime_type": "audio/ogg", "voice": True}))
    assert "escribe su pregunta" in body(wa.fake.sent[-1])
    await wa.send(meta.message(ANA, "reaction", {"message_id": "wamid.out1", "emoji": "👍"}))
    assert len(wa.fake.sent) == before + 2  # a reaction needs no answer


async def test_words_instead_of_commands(wa: Running) -> None:
    welcome = await wa.say(ANA, "Menú")
    assert "Campo" in body(welcome[0]) and "*Campo*" in body(welcome[0])
    assert "Lineamientos de pesca de prueba 2014" in body(welcome[0])
    menu = welcome[-1]
    assert menu["interactive"]["type"] == "list"
    assert set(choices(menu).values()) == {"menu:check", "menu:programs", "menu:new", "menu:help"}
    help_text = body((await wa.say(ANA, "ayuda"))[0])
    assert "*califico*" in help_text and "*nueva*" in help_text
    await wa.say(ANA, "monto del apoyo por pescador")
    assert "Listo" in body((await wa.say(ANA, "nueva"))[0])
    assert "Todavía no tengo" in body((await wa.say(ANA, "fuente"))[0])


async def test_choosing_a_program_from_a_list(wa: Running) -> None:
    (menu,) = await wa.say(ANA, "programas")
    assert menu["interactive"]["type"] == "list"
    rows = choices(menu)
    assert set(rows.values()) == {"prog:cadenas-valor", "prog:propesca", "prog:pae", "prog:*"}
    assert "Lineamientos de pesca de prueba 2014" in rows  # the whole name under a cut title
    (chosen,) = await wa.tap(ANA, "prog:pae", row=True)
    assert "solo con las reglas" in body(chosen)
    (answer,) = await wa.say(ANA, "quienes pueden participar")
    assert "jornaleros agrícolas de 20 a 69" in body(answer)
    (fishing,) = await wa.say(ANA, "monto del apoyo por pescador")
    assert "8,000 pesos" not in body(fishing)  # the fishing rules are not the chosen program's
    await wa.tap(ANA, "prog:*", row=True)
    (unfiltered,) = await wa.say(ANA, "monto del apoyo por pescador")
    assert "8,000 pesos" in body(unfiltered)


async def test_two_people_at_once_keep_their_own_conversations(
    wa: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = wa.assistant.ask

    def beto_answered() -> bool:
        return sum(m["to"] == BETO for m in wa.fake.sent) >= 2

    def slow_for_fishers(question: str, **kwargs: Any) -> Answer:
        if "pescador" in question:  # a slow retrieval (in its worker thread) that lasts until Beto has
            deadline = time.monotonic() + 15  # both answers: it never ends first if he has to wait
            while not beto_answered() and time.monotonic() < deadline:
                time.sleep(0.02)
        return original(question, **kwargs)

    monkeypatch.setattr(wa.assistant, "ask", slow_for_fishers)
    for phone, text in [
        (ANA, "monto del apoyo por pescador"),
        (ANA, "¿y los requisitos?"),
        (BETO, "hasta cuando hay ventanilla"),
        (BETO, "¿y los requisitos?"),
    ]:
        response = await wa.fake.notify(wa.url, meta.text(phone, text))
        assert response.status_code == 200
    await wa.channel.idle()
    sent = wa.fake.sent
    assert [m["to"] for m in sent[:2]] == [BETO, BETO]  # Beto was not kept waiting behind Ana
    ana, beto = wa.fake.texts_to(ANA), wa.fake.texts_to(BETO)
    assert "8,000 pesos" in ana[0] and "Permiso de pesca vigente" in ana[1]
    assert "31 de marzo" in beto[0] and "pesca" not in beto[1].lower()


class _ASR(BaseHTTPRequestHandler):
    received: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        data = self.rfile.read(int(self.headers.get("content-length", 0)))
        _ASR.received.append(data)
        payload = b'{"text": "monto del apoyo por pescador"}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


async def test_voice_note_is_downloaded_from_the_graph_api_and_transcribed(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ASR)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        async with running(tmp_path, asr_base_url=f"http://127.0.0.1:{server.server_port}/v1") as wa:
            wa.fake.media["voice-9"] = b"OggS fake opus audio"
            await wa.send(
                meta.message(ANA, "audio", {"id": "voice-9", "mime_type": "audio/ogg", "voice": True})
            )
            heard, answer = wa.fake.texts_to(ANA)
            assert heard == "Entendí: «monto del apoyo por pescador»"
            assert "8,000 pesos" in answer
            assert wa.fake.downloads == ["voice-9"]
            assert any(b"OggS fake opus audio" in r for r in _ASR.received)
    finally:
        server.shutdown()


# --- The guided eligibility check ------------------------------------------------------------------

# The fisherman of the transcripts, who here gives his years as a bare number.
PESCADOR = {**FISHERMAN, "anios_actividad": "13"}


def asked(message: dict[str, Any]) -> str:
    found = [k for k, spec in FACTS.items() if spec.question in body(message)]
    assert found, body(message)
    return found[0]


async def test_guided_check_with_lists_and_buttons_to_a_verdict(
    tmp_path: Path, service: EligibilityService
) -> None:
    async with running(tmp_path, eligibility=service) as wa:
        sent = await wa.say(ANA, "califico")
        assert "revisar a qué apoyos" in body(sent[0]) and "«cancelar»" in body(sent[0])
        question = sent[-1]
        seen_list = seen_buttons = False
        for _ in range(40):
            text = body(question)
            if "Resultado de la revisión" in text:
                break
            assert text.startswith("*Pregunta ")
            fact = asked(question)
            answer = PESCADOR[fact]
            options = choices(question)
            if question["type"] == "interactive" and answer in options:
                is_list = question["interactive"]["type"] == "list"
                seen_list |= is_list
                seen_buttons |= not is_list
                replies = await wa.tap(ANA, options[answer], row=is_list)
            else:
                replies = await wa.say(ANA, answer)
            question = replies[-1]
            if "Resultado de la revisión" not in body(question) and len(replies) > 1:
                question = next(
                    m for m in replies if "Resultado de la revisión" in body(m) or "Pregunta" in body(m)
                )
        result = "\n".join(wa.fake.texts_to(ANA)[-4:])
        assert "Resultado de la revisión" in result
        assert "✅" in result and "PROPESCA" in result.upper()
        assert seen_list and seen_buttons  # choices as a list, sí / no as reply buttons
        again = wa.fake.sent[-1]
        assert "elg:new" in choices(again).values()


async def test_eligibility_question_offers_the_seeded_check_and_answers_survive_workers(
    tmp_path: Path, service: EligibilityService
) -> None:
    async with running(tmp_path, eligibility=service) as wa:
        core, quick = await wa.say(ANA, "¿puedo pedir apoyo si tengo 3 hectareas?")
        assert "📄" in body(core)
        assert "Con lo que me dice (superficie: 3 ha)" in body(quick)
        assert choices(quick) == {"✅ Revisar": "elg:start"}  # the title cut to WhatsApp's 20 characters
        intro, question = await wa.tap(ANA, "elg:start")
        assert "revisar a qué apoyos" in body(intro)
        assert body(question).startswith("*Pregunta 2.*")  # the 3 hectáreas are already known
        # Another worker (another channel over the same state backend) continues the same check.
        other = mount_whatsapp(
            create_app(wa.channel.settings, wa.assistant),
            wa.channel.settings,
            wa.assistant,
            eligibility=lambda: service,
        )
        assert other is not None
        data = await other._load(other.person(ANA))
        assert data["eligibility"]["facts"] == {"hectareas": 3.0}
        await other.client.aclose()
        (stale,) = await wa.tap(ANA, "elg:a:0:9")
        assert "ya no está activa" in body(stale)
        (cancelled,) = await wa.say(ANA, "cancelar")
        assert "cancelé la revisión" in body(cancelled) and "«califico»" in body(cancelled)
        assert await wa.channel._load(wa.channel.person(ANA)) == {}


async def test_which_program_choices_answer_the_first_question(
    wa: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same "¿de cuál programa?" on WhatsApp: the programs as choices, a tap answers from its rules."""
    names = ask_which_program_first(wa.assistant, monkeypatch)
    (sent,) = await wa.say(ANA, "que requisitos piden")
    assert "¿De cuál me pregunta?" in body(sent)
    assert sent["interactive"]["type"] == "list"  # whole names, not buttons cut at 20 characters
    picks = choices(sent)
    assert {"pick:0", "pick:1"} <= set(picks.values()) and picks[names[0]] == "pick:0"
    (answer,) = await wa.tap(ANA, picks[names[0]], row=sent["interactive"]["type"] == "list")
    assert "Permiso de pesca vigente" in body(answer)
