"""The WhatsApp adapter: each incoming message → the channel-free dialogue → Cloud API messages.

* Each message id is claimed once in the state backend before anything is done (Meta redelivers, and
  two deliveries may reach two workers): a message is never answered twice.
* One person's messages run one after another (a follow-up after its question); different people in
  parallel. The core runs in worker threads.
* There are no slash commands: the words *menú*, *ayuda*, *nueva*, *fuente*, *programas*, *califico* and,
  during the check, *cancelar* and *resultado*; buttons and list rows come back as their action ids.
* Phone numbers are personal data: logs and stored records only see a keyed pseudonym (HMAC with the
  pseudonym key); conversations are keyed by it too.
* A guided check's answers and a chosen program live in the state backend for 30 minutes since the last
  answer (every worker sees them), never in logs.
* Every message sent answers one the person just sent, so it is inside WhatsApp's 24-hour
  customer-service window; the channel sends nothing on its own (docs/whatsapp.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from assistant.models import Filters
from assistant.normalize import fold
from assistant.settings import Settings
from assistant.state import EphemeralStore, pseudonym_key
from bot import eligibility_dialogue as check
from bot import render
from bot.dialogue import PROGRAM_PREFIX, Dialogue
from bot.eligibility_dialogue import (
    CB_ANSWER,
    CB_CANCEL,
    CB_NEW,
    CB_RESULT,
    CB_START,
    ELIGIBILITY_KEY,
    EligibilityDialogue,
    Step,
    Words,
)
from bot.render import Action, Reply, e
from bot.whatsapp.client import GraphClient, GraphError
from bot.whatsapp.format import payloads
from bot.whatsapp.webhook import Incoming

log = logging.getLogger(__name__)

WORDS = Words("«califico»", "«cancelar»", "de la pregunta")
SEEN_SECONDS = 7 * 24 * 3600  # Meta retries a notification for up to 7 days
STATE_SECONDS = check.MAX_AGE_SECONDS
MAX_ANSWER_TEXT = 60  # during the check, a longer text is a new question, not an answer
OUTSIDE_WINDOW = 131047  # Graph error: more than 24 hours since the person's last message

MENU_WORDS = {"menu", "hola", "inicio", "start", "buenas", "buenos dias", "buenas tardes", "buenas noches"}
HELP_WORDS = {"ayuda", "help"}
NEW_WORDS = {"nueva", "nuevo", "nueva conversacion", "borrar"}
SOURCE_WORDS = {"fuente", "ver fuente"}
PROGRAM_WORDS = {"programas", "programa", "reglas"}
CHECK_WORDS = {"califico", "elegibilidad", "revisar", "revisar si califico"}
CANCEL_WORDS = {"cancelar", "salir"}
RESULT_WORDS = {"resultado", "ver resultado"}

MENU = Reply(
    "¿Qué quiere hacer? También puede escribirme su pregunta.",
    (
        Action("menu:check", "✅ Revisar si califico"),
        Action("menu:programs", "📚 Programas"),
        Action("menu:new", "🔄 Nueva conversación"),
        Action("menu:help", "❓ Ayuda"),
    ),
    inline=False,
    heading="Menú",
)
CHECK_HINT = "Para saber a qué apoyos podría entrar, escriba <b>califico</b> y le hago unas preguntas."
HELP = (
    "Escríbame su pregunta sobre los programas como se la haría a un técnico, por ejemplo:\n"
    + "\n".join(f"• {e(q)}" for q in render.EXAMPLES)
    + "\n\nPalabras que entiendo:\n"
    "<b>califico</b> — revisar paso a paso a qué apoyos podría entrar\n"
    "<b>programas</b> — qué reglas conozco (y preguntar solo de una)\n"
    "<b>fuente</b> — el texto completo de donde salió la última respuesta\n"
    "<b>nueva</b> — empezar otra conversación (y borrar sus respuestas)\n"
    "<b>menú</b> — las opciones\n<b>ayuda</b> — este mensaje"
)
PROGRAM_SET = "Listo: le respondo solo con las reglas de «{name}». Para preguntar de todos, escriba «nueva»."
PROGRAM_ALL = "Listo: le respondo con las reglas de todos los programas."
UNKNOWN_ACTION = "Esa opción ya no está activa. Escriba «menú» para ver las opciones."

Transcriber = Callable[[Settings, bytes], Awaitable[str]]


@dataclass(frozen=True)
class Person:
    """Who wrote: the phone (only to reply) and its pseudonym (everything else)."""

    phone: str
    pseudonym: str

    @property
    def session(self) -> str:
        return "wa-" + self.pseudonym

    def __repr__(self) -> str:  # never the phone number, not even in a traceback
        return f"Person({self.pseudonym})"


def words(text: str) -> str:
    """'¡Menú!' -> 'menu': how typed commands are recognised."""
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s]", " ", fold(text))).strip()


class WhatsAppChannel:
    """Handles messages in the background; :meth:`idle` waits until every submitted one is done."""

    def __init__(
        self,
        settings: Settings,
        dialogue: Dialogue,
        client: GraphClient,
        store: EphemeralStore,
        transcribe: Transcriber | None = None,
    ) -> None:
        self.settings, self.dialogue, self.client, self.store = settings, dialogue, client, store
        self.check = EligibilityDialogue(dialogue.eligibility, WORDS, time.time)
        self._transcribe = transcribe
        self._key = pseudonym_key(settings).encode()
        self._tasks: set[asyncio.Task[None]] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self._pending: dict[str, int] = {}

    def person(self, phone: str) -> Person:
        digest = hmac.new(self._key, f"wa:{phone}".encode(), hashlib.sha256).hexdigest()
        return Person(phone, digest[:20])

    # --- background processing ------------------------------------------------------------------

    def submit(self, messages: list[Incoming]) -> None:
        """Handle ``messages`` after the webhook has answered (in order per person)."""
        for message in messages:
            task = asyncio.get_running_loop().create_task(self._run(message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def idle(self, timeout: float = 30.0) -> None:
        """Wait until every submitted message has been handled."""
        deadline = time.monotonic() + timeout
        while self._tasks:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self._tasks)} WhatsApp messages still being handled")
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.client.aclose()

    async def _run(self, message: Incoming) -> None:
        person = self.person(message.sender)
        first = await asyncio.to_thread(self.store.claim, f"msg:{message.message_id}", SEEN_SECONDS)
        if not first:
            log.info("whatsapp: message of %s already handled; redelivery ignored", person.pseudonym)
            return
        key = person.pseudonym
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._pending[key] = self._pending.get(key, 0) + 1
        try:
            async with lock:
                await self._handle_safely(message, person)
        finally:
            self._pending[key] -= 1
            if not self._pending[key]:
                del self._pending[key], self._locks[key]

    async def _handle_safely(self, message: Incoming, person: Person) -> None:
        try:
            await self.handle(message, person)
        except GraphError as exc:
            if exc.code == OUTSIDE_WINDOW:
                log.warning("whatsapp: outside the 24-hour window of %s; not sent", person.pseudonym)
            else:
                log.error("whatsapp: message to %s refused: %s", person.pseudonym, exc)
        except Exception:
            log.exception("whatsapp: error while handling a message of %s", person.pseudonym)
            try:
                await self.send(person, [Reply(render.APOLOGY)])
            except Exception:
                log.warning("whatsapp: could not send the apology")

    async def _typing(self, message_id: str) -> None:
        """Blue ticks and "escribiendo…" while the answer is composed; the answer matters more."""
        try:
            await self.client.typing(message_id)
        except GraphError as exc:
            log.debug("whatsapp: typing indicator not shown: %s", exc)

    async def send(self, person: Person, replies: list[Reply]) -> None:
        for reply in replies:
            for payload in payloads(reply):
                await self.client.send(person.phone, payload)

    # --- dispatch ---------------------------------------------------------------------------------

    async def handle(self, message: Incoming, person: Person) -> None:
        """One message: a typed text, a tapped button or row, a voice note, or something else."""
        if message.kind in ("text", "interactive", "audio"):
            await self._typing(message.message_id)
        if message.kind == "text":
            await self.on_text(person, message.text)
        elif message.kind == "interactive":
            await self.on_action(person, message.action)
        elif message.kind == "audio":
            await self.on_voice(person, message.media_id)
        elif message.kind in ("image", "video", "document", "sticker", "location", "contacts"):
            await self.send(person, [Reply(render.NON_TEXT)])
        else:  # reactions, unsupported, system notices: nothing to answer
            log.debug("whatsapp: %s message ignored", message.kind)

    async def on_text(self, person: Person, text: str) -> None:
        word = words(text)
        if word in MENU_WORDS:
            topics = await asyncio.to_thread(self.dialogue.assistant.topics)
            await self.send(person, [Reply(render.welcome_markup(topics, CHECK_HINT)), MENU])
        elif word in HELP_WORDS:
            await self.send(person, [Reply(HELP), MENU])
        elif word in NEW_WORDS:
            await self.start_over(person)
        elif word in SOURCE_WORDS:
            await self.send(person, [await asyncio.to_thread(self.dialogue.source, person.session)])
        elif word in PROGRAM_WORDS:
            await self.send(person, [await asyncio.to_thread(self.dialogue.program_menu)])
        elif word in CHECK_WORDS:
            await self.eligibility(person, lambda data: self.check.start(data, keep_seeded=False))
        elif word in CANCEL_WORDS:
            await self.eligibility(person, self.check.cancel)
        else:
            data = await self._load(person)
            state = check.current(data, time.time)
            if state and state.get("asking") and word in RESULT_WORDS:
                await self.eligibility(person, self.check.result, data)
            elif state and state.get("asking") and len(text.strip()) <= MAX_ANSWER_TEXT:
                await self.eligibility(person, lambda d: self.check.typed(d, state, text), data)
            else:
                await self.question(person, text, data)

    async def on_action(self, person: Person, action: str) -> None:
        if action == render.SOURCE:
            await self.send(person, [await asyncio.to_thread(self.dialogue.source, person.session)])
        elif action in (render.VOTE_UP, render.VOTE_DOWN):
            vote = 1 if action == render.VOTE_UP else -1
            await asyncio.to_thread(self.dialogue.vote, person.session, f"wa:{person.phone}", vote)
            await self.send(person, [Reply(render.THANKS)])
        elif action in (CB_START, CB_NEW, "menu:check"):
            await self.eligibility(
                person, lambda data: self.check.start(data, keep_seeded=action == CB_START)
            )
        elif action.startswith(CB_ANSWER):
            await self.eligibility(person, lambda data: self._choice(data, action))
        elif action == CB_RESULT:
            await self.eligibility(person, self.check.result)
        elif action == CB_CANCEL:
            await self.eligibility(person, self.check.cancel)
        elif action.startswith(render.PICK_PREFIX):
            replies = await asyncio.to_thread(
                self.dialogue.pick,
                person.session,
                action.removeprefix(render.PICK_PREFIX),
                f"wa:{person.phone}",
            )
            await self.send(person, replies)
        elif action.startswith(PROGRAM_PREFIX):
            await self.choose_program(person, action.removeprefix(PROGRAM_PREFIX))
        elif action == "menu:programs":
            await self.send(person, [await asyncio.to_thread(self.dialogue.program_menu)])
        elif action == "menu:new":
            await self.start_over(person)
        elif action == "menu:help":
            await self.send(person, [Reply(HELP)])
        else:
            await self.send(person, [Reply(UNKNOWN_ACTION)])

    def _choice(self, data: dict[str, Any], action: str) -> Step:
        if check.current(data, time.time) is None:
            return self.check.expired(data)
        chosen = self.check.choice(data, action)
        if chosen is None:
            return Step([Reply(check.STALE_BUTTON)], True)
        key, value, _ = chosen
        return self.check.record(data, key, value)

    # --- conversation ---------------------------------------------------------------------------

    async def question(self, person: Person, text: str, data: dict[str, Any] | None = None) -> None:
        """A free-text question → the core (with the chosen program, if any)."""
        limited = await asyncio.to_thread(self.dialogue.limited, f"wa:{person.pseudonym}")
        if limited:
            await self.send(person, [limited])
            return
        if data is None:
            data = await self._load(person)
        program = await asyncio.to_thread(self.store.get, f"prog:{person.session}")
        before = json.dumps(data, sort_keys=True, default=str)
        replies = await asyncio.to_thread(
            self.dialogue.answer,
            text,
            session=person.session,
            chat=f"wa:{person.phone}",
            eligibility_data=data,
            clock=time.time,
            filters=Filters(component=program) if program else None,
        )
        if json.dumps(data, sort_keys=True, default=str) != before:  # facts seeded for the offered check
            await self._save(person, data)
        await self.send(person, replies)

    async def eligibility(
        self,
        person: Person,
        move: Callable[[dict[str, Any]], Step],
        data: dict[str, Any] | None = None,
    ) -> None:
        """One move of the guided check over the person's answers, kept in the state backend."""
        if data is None:
            data = await self._load(person)
        step = await asyncio.to_thread(move, data)
        await self._save(person, data)
        await self.send(person, step.replies)

    async def start_over(self, person: Person) -> None:
        """«nueva»: forget the conversation, the check's answers and the chosen program."""
        await asyncio.to_thread(self.dialogue.forget, person.session)
        await asyncio.to_thread(self.store.delete, f"elg:{person.session}")
        await asyncio.to_thread(self.store.delete, f"prog:{person.session}")
        await self.send(person, [Reply(render.STARTED_OVER)])

    async def choose_program(self, person: Person, code: str) -> None:
        key = f"prog:{person.session}"
        if code == "*":
            await asyncio.to_thread(self.store.delete, key)
            await self.send(person, [Reply(PROGRAM_ALL)])
            return
        await asyncio.to_thread(self.store.put, key, code, self.settings.session_ttl_seconds)
        name = await asyncio.to_thread(self.dialogue.program_name, code)
        await self.send(person, [Reply(e(PROGRAM_SET.format(name=name)))])

    async def on_voice(self, person: Person, media_id: str) -> None:
        """Voice notes: downloaded from the Graph API and transcribed when an ASR endpoint is configured."""
        if not self.settings.asr_base_url or self._transcribe is None:
            await self.send(person, [Reply(render.VOICE_OFF)])
            return
        try:
            audio = await self.client.download(media_id)
        except GraphError as exc:
            log.warning("whatsapp: voice note not downloaded: %s", exc)
            audio = b""
        text = await self._transcribe(self.settings, audio) if audio else ""
        if not text:
            await self.send(person, [Reply(render.VOICE_UNCLEAR)])
            return
        await self.send(person, [Reply(f"Entendí: «{e(text)}»")])
        await self.on_text(person, text)

    async def _load(self, person: Person) -> dict[str, Any]:
        raw = await asyncio.to_thread(self.store.get, f"elg:{person.session}")
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {}
        return data if isinstance(data, dict) else {}

    async def _save(self, person: Person, data: dict[str, Any]) -> None:
        key = f"elg:{person.session}"
        if ELIGIBILITY_KEY in data:
            await asyncio.to_thread(self.store.put, key, json.dumps(data), STATE_SECONDS)
        else:
            await asyncio.to_thread(self.store.delete, key)
