"""Telegram handlers: small top-level functions that turn updates into core calls and answers into messages."""

from __future__ import annotations

import asyncio
import hashlib
import html
import logging
import time
from collections.abc import Callable
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters, Update
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.ext import ContextTypes

from assistant.core import Assistant
from assistant.eligibility import EligibilityService, looks_like_eligibility_question
from assistant.errors import CampoError
from assistant.feedback import FeedbackStore
from assistant.models import Citation
from assistant.ratelimit import RateLimiter
from assistant.settings import Settings
from bot.eligibility_flow import eligibility_reply, forget_facts, purge_expired
from bot.formatting import answer_html, source_line, split_message

log = logging.getLogger(__name__)

EXAMPLES = [
    "¿Qué papeles necesito para Cadenas de Valor?",
    "¿Cuántas hectáreas puedo tener para pedir apoyo?",
    "¿Hasta cuándo hay ventanilla de PROPESCA?",
]
HELP = (
    "Escríbame su pregunta sobre los programas como se la haría a un técnico, por ejemplo:\n"
    + "\n".join(f"• {html.escape(q)}" for q in EXAMPLES)
    + "\n\nComandos:\n/elegibilidad — revisar paso a paso a qué apoyos podría entrar\n"
    "/programas — qué reglas conozco\n/nueva — empezar otra conversación (y borrar sus respuestas)\n"
    "/fuente — ver el texto completo de donde salió la última respuesta\n/ayuda — este mensaje"
)
PURGE_EVERY_SECONDS = 60.0
NON_TEXT = (
    "Por ahora solo entiendo mensajes de texto. Escríbame su pregunta sobre las reglas de los programas "
    "(por ejemplo: «¿qué papeles necesito?») y con gusto le respondo."
)


def _core(context: ContextTypes.DEFAULT_TYPE) -> Assistant:
    return context.application.bot_data["assistant"]  # type: ignore[no-any-return]


def _settings(context: ContextTypes.DEFAULT_TYPE) -> Settings:
    return context.application.bot_data["settings"]  # type: ignore[no-any-return]


def session_id(update: Update) -> str:
    """One conversation per private chat, and per person inside a group."""
    chat = update.effective_chat
    user = update.effective_user
    key = f"{chat.id if chat else 0}:{user.id if user and chat and chat.type != ChatType.PRIVATE else ''}"
    return "tg-" + hashlib.sha256(key.encode()).hexdigest()[:20]


def _buttons(show_feedback: bool = True) -> InlineKeyboardMarkup:
    row = [InlineKeyboardButton("📄 Ver fuente", callback_data="src")]
    if show_feedback:
        row += [
            InlineKeyboardButton("👍", callback_data="fb:+1"),
            InlineKeyboardButton("👎", callback_data="fb:-1"),
        ]
    return InlineKeyboardMarkup([row])


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Greeting, what the bot knows, examples, disclaimer and a privacy reminder."""
    topics = _core(context).topics()
    known = "\n".join(f"• {html.escape(t)}" for t in topics[:10]) or "• (todavía no hay reglas cargadas)"
    text = (
        "¡Hola! Soy <b>Campo</b>. Respondo preguntas con estas reglas y guías de programas:\n"
        f"{known}\n\n"
        "Pruebe, por ejemplo:\n" + "\n".join(f"• {html.escape(q)}" for q in EXAMPLES) + "\n\n"
        "Para saber a qué apoyos podría entrar, escriba /elegibilidad y le hago unas preguntas.\n\n"
        "<i>Las respuestas salen de las reglas de los programas; no son una resolución oficial.</i>\n"
        "🔒 Nunca me envíe su CURP, RFC, teléfono ni otros datos personales."
    )
    await _send(update, text)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ayuda."""
    await _send(update, HELP)


async def programs(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/programas: documents in the index with program and fiscal year."""
    try:
        docs = await asyncio.to_thread(_core(context).documents)
    except CampoError as exc:
        await _send(update, html.escape(exc.user_message))
        return
    lines = [
        f"• {html.escape(d.title)} — {html.escape(d.program_name or d.program)}, {d.fiscal_year or 's/f'}"
        for d in docs
    ]
    await _send(update, "<b>Reglas que conozco:</b>\n" + "\n".join(lines))


async def new_conversation(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/nueva: forget the conversation and the eligibility answers."""
    _core(context).forget(session_id(update))
    forget_facts(context)
    context.chat_data.clear() if context.chat_data is not None else None
    await _send(update, "Listo, empecemos de nuevo. ¿Qué quiere saber?")


async def source(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/fuente and the 📄 button: the full source passage of the last answer."""
    turn = _core(context).last_turn(session_id(update))
    if update.callback_query:
        await update.callback_query.answer()
    if turn is None or not turn.citations:
        await _send(update, "Todavía no tengo una respuesta con fuente en esta conversación.")
        return
    c = turn.citations[0]
    head = html.escape(source_line(Citation.model_validate(c)), quote=False)
    await _send(
        update, f"<b>{head}</b>\n\n{html.escape(c.get('text') or c.get('snippet') or '', quote=False)}"
    )


async def feedback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """👍 / 👎 under an answer."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    vote = 1 if query.data.endswith("+1") else -1
    turn = _core(context).last_turn(session_id(update))
    store: FeedbackStore = context.application.bot_data["feedback"]
    chat_id = update.effective_chat.id if update.effective_chat else 0
    if turn is not None:
        store.record(chat_id, "vote", turn.question, turn.answer, vote=vote)
    await query.answer("¡Gracias por su opinión!")


async def question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Free text (or an edited message) → the core, with the chat's session."""
    message = update.effective_message
    if message is None or not message.text:
        return
    text = message.text
    chat = update.effective_chat
    if chat and chat.type != ChatType.PRIVATE:
        username = context.bot.username or ""
        mentioned = f"@{username}".lower() in text.lower()
        replied = bool(
            message.reply_to_message
            and message.reply_to_message.from_user
            and message.reply_to_message.from_user.id == context.bot.id
        )
        if not (mentioned or replied):
            return  # in groups, only when mentioned or replied to
        text = text.replace(f"@{username}", "").strip()
    await answer_text(update, context, text)


async def answer_text(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    """The core's answer; a "¿califico?" question also gets the rules engine's quick answer and a button
    that starts the guided check with the facts the question mentions (private chats only)."""
    user = update.effective_user
    limiter: RateLimiter = context.application.bot_data["rate_limiter"]
    if limiter.check(str(user.id if user else 0)):
        await _send(
            update, "Recibí muchas preguntas seguidas. Espere un minuto y vuelva a escribirme, por favor."
        )
        return
    if update.effective_chat:
        await context.bot.send_chat_action(update.effective_chat.id, ChatAction.TYPING)
    settings = _settings(context)
    try:
        answer = await asyncio.to_thread(
            _core(context).ask, text, session_id=session_id(update), max_chars=settings.bot_answer_max_chars
        )
    except CampoError as exc:
        await _send(update, html.escape(exc.user_message))
        return
    if answer.abstained:
        store: FeedbackStore = context.application.bot_data["feedback"]
        chat_id = update.effective_chat.id if update.effective_chat else 0
        store.record(chat_id, "abstained", text, answer.text, index_version=answer.index_version)
    offer = _eligibility_offer(update, context, text)
    # An edited question is answered as a reply to it, so the answer is not taken for the old one's.
    reply_to = update.edited_message.message_id if update.edited_message else None
    if not (answer.abstained and offer):  # "not in the rules" next to an eligibility answer only confuses
        await _send(
            update, answer_html(answer), markup=None if answer.abstained else _buttons(), reply_to=reply_to
        )
        reply_to = None
    if offer:
        await _send(update, offer[0], markup=offer[1], reply_to=reply_to)


def _eligibility_offer(
    update: Update, context: ContextTypes.DEFAULT_TYPE, text: str
) -> tuple[str, InlineKeyboardMarkup] | None:
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE or not looks_like_eligibility_question(text):
        return None
    get_service: Callable[[], EligibilityService] = context.application.bot_data["eligibility"]
    try:
        service = get_service()
    except CampoError:
        return None
    if not service.rules:
        return None
    return eligibility_reply(service, text, context)


async def purge_old_answers(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs before every update, acts at most once a minute: drops eligibility answers older than 30 min."""
    data = context.application.bot_data
    now = time.monotonic()
    last = data.get("purged_at")
    if last is not None and now - last < PURGE_EVERY_SECONDS:
        return
    data["purged_at"] = now
    dropped = purge_expired(context.application.user_data)
    if dropped:
        log.info("dropped expired eligibility answers of %d users", dropped)


async def non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Photos, stickers, documents, locations…"""
    chat = update.effective_chat
    if chat and chat.type != ChatType.PRIVATE:
        return
    await _send(update, NON_TEXT)


async def voice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Voice notes: transcribed when an ASR endpoint is configured, otherwise ask to type."""
    settings = _settings(context)
    message = update.effective_message
    if message is None or message.voice is None:
        return
    if not settings.asr_base_url:
        await _send(update, "Todavía no puedo escuchar notas de voz. ¿Me escribe su pregunta, por favor?")
        return
    from bot.asr import transcribe

    telegram_file = await message.voice.get_file()
    audio = bytes(await telegram_file.download_as_bytearray())
    text = await transcribe(settings, audio)
    if not text:
        await _send(update, "No entendí la nota de voz. ¿Me escribe su pregunta, por favor?")
        return
    await _send(update, f"Entendí: «{html.escape(text)}»")
    await answer_text(update, context, text)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Application-wide: log the traceback (redacted by the log filter), apologise, keep running."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat:
        try:
            await context.bot.send_message(
                update.effective_chat.id, "Perdón, algo falló de mi lado. Intente de nuevo en un momento."
            )
        except Exception:
            log.warning("could not send the apology")


async def _send(
    update: Update, text: str, markup: InlineKeyboardMarkup | None = None, reply_to: int | None = None
) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    parts = split_message(text)
    bot: Any = update.get_bot()
    for i, part in enumerate(parts):
        await bot.send_message(
            chat.id,
            part,
            parse_mode=ParseMode.HTML,
            reply_markup=markup if i == len(parts) - 1 else None,
            reply_parameters=(
                ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to and i == 0 else None
            ),
            disable_web_page_preview=True,
        )
