"""Telegram handlers: small top-level functions that turn updates into core calls and answers into messages."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import logging
import time

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction, ChatType

from assistant.eligibility import looks_like_eligibility_question
from assistant.errors import CampoError
from assistant.models import Citation
from bot.context import CampoContext
from bot.eligibility_flow import eligibility_reply, forget_facts, purge_expired
from bot.formatting import answer_html, send_html, source_line

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


async def start(update: Update, context: CampoContext) -> None:
    """Greeting, what the bot knows, examples, disclaimer and a privacy reminder."""
    topics = await asyncio.to_thread(context.bot_data.assistant.topics)
    known = "\n".join(f"• {html.escape(t)}" for t in topics[:10]) or "• (todavía no hay reglas cargadas)"
    text = (
        "¡Hola! Soy <b>Campo</b>. Respondo preguntas con estas reglas y guías de programas:\n"
        f"{known}\n\n"
        "Pruebe, por ejemplo:\n" + "\n".join(f"• {html.escape(q)}" for q in EXAMPLES) + "\n\n"
        "Para saber a qué apoyos podría entrar, escriba /elegibilidad y le hago unas preguntas.\n\n"
        "<i>Las respuestas salen de las reglas de los programas; no son una resolución oficial.</i>\n"
        "🔒 Nunca me envíe su CURP, RFC, teléfono ni otros datos personales."
    )
    await send_html(update, text)


async def help_command(update: Update, context: CampoContext) -> None:
    """/ayuda."""
    await send_html(update, HELP)


async def programs(update: Update, context: CampoContext) -> None:
    """/programas: documents in the index with program and fiscal year."""
    try:
        docs, _ = await asyncio.to_thread(context.bot_data.assistant.documents_with_version)
    except CampoError as exc:
        await send_html(update, html.escape(exc.user_message))
        return
    lines = [
        f"• {html.escape(d.title)} — {html.escape(d.program_name or d.program)}, {d.fiscal_year or 's/f'}"
        for d in docs
    ]
    await send_html(update, "<b>Reglas que conozco:</b>\n" + "\n".join(lines))


async def new_conversation(update: Update, context: CampoContext) -> None:
    """/nueva: forget the conversation and the eligibility answers."""
    await asyncio.to_thread(context.bot_data.assistant.forget, session_id(update))
    forget_facts(context)  # type: ignore[arg-type]  # the flow only touches user_data
    context.chat_data.clear() if context.chat_data is not None else None
    await send_html(update, "Listo, empecemos de nuevo. ¿Qué quiere saber?")


async def source(update: Update, context: CampoContext) -> None:
    """/fuente and the 📄 button: the full source passage of the last answer."""
    turn = await asyncio.to_thread(context.bot_data.assistant.last_turn, session_id(update))
    if update.callback_query:
        await update.callback_query.answer()
    if turn is None or not turn.citations:
        await send_html(update, "Todavía no tengo una respuesta con fuente en esta conversación.")
        return
    c = turn.citations[0]
    head = html.escape(source_line(Citation.model_validate(c)), quote=False)
    await send_html(
        update, f"<b>{head}</b>\n\n{html.escape(c.get('text') or c.get('snippet') or '', quote=False)}"
    )


async def feedback(update: Update, context: CampoContext) -> None:
    """👍 / 👎 under an answer."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    vote = 1 if query.data.endswith("+1") else -1
    data = context.bot_data
    chat_id = update.effective_chat.id if update.effective_chat else 0

    def record() -> None:
        turn = data.assistant.last_turn(session_id(update))
        if turn is not None:
            data.feedback.record(chat_id, "vote", turn.question, turn.answer, vote=vote)

    await asyncio.to_thread(record)
    await query.answer("¡Gracias por su opinión!")


async def question(update: Update, context: CampoContext) -> None:
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


async def answer_text(update: Update, context: CampoContext, text: str) -> None:
    """The core's answer; a "¿califico?" question also gets the rules engine's quick answer and a button
    that starts the guided check with the facts the question mentions (private chats only).

    Every call that may wait on a disk, a database or Redis runs in a worker thread: a slow store stalls
    one chat, never the event loop that serves the others."""
    user = update.effective_user
    data = context.bot_data
    if await asyncio.to_thread(data.rate_limiter.check, str(user.id if user else 0)):
        await send_html(
            update, "Recibí muchas preguntas seguidas. Espere un minuto y vuelva a escribirme, por favor."
        )
        return
    if update.effective_chat:
        await context.bot.send_chat_action(update.effective_chat.id, ChatAction.TYPING)
    try:
        answer = await asyncio.to_thread(
            data.assistant.ask,
            text,
            session_id=session_id(update),
            max_chars=data.settings.bot_answer_max_chars,
        )
    except CampoError as exc:
        await send_html(update, html.escape(exc.user_message))
        return
    if answer.abstained:
        chat_id = update.effective_chat.id if update.effective_chat else 0
        await asyncio.to_thread(
            data.feedback.record, chat_id, "abstained", text, answer.text, index_version=answer.index_version
        )
    offer = await _eligibility_offer(update, context, text)
    # An edited question is answered as a reply to it, so the answer is not taken for the old one's.
    reply_to = update.edited_message.message_id if update.edited_message else None
    if not (answer.abstained and offer):  # "not in the rules" next to an eligibility answer only confuses
        await send_html(
            update, answer_html(answer), markup=None if answer.abstained else _buttons(), reply_to=reply_to
        )
        reply_to = None
    if offer:
        await send_html(update, offer[0], markup=offer[1], reply_to=reply_to)


async def _eligibility_offer(
    update: Update, context: CampoContext, text: str
) -> tuple[str, InlineKeyboardMarkup] | None:
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE or not looks_like_eligibility_question(text):
        return None
    try:
        service = await asyncio.to_thread(context.bot_data.eligibility)
    except CampoError:
        return None
    if not service.rules:
        return None
    return eligibility_reply(service, text, context)  # type: ignore[arg-type]  # the flow only touches user_data


async def before_every_update(update: object, context: CampoContext) -> None:
    """Runs before every update. Loads the eligibility rules of the active index version in a worker
    thread, so the guided check (which asks for them synchronously) finds them ready; and, at most once a
    minute, drops eligibility answers older than 30 min."""
    data = context.bot_data
    if isinstance(update, Update) and update.effective_message is not None:
        with contextlib.suppress(CampoError):  # no index yet: the handlers say so
            await asyncio.to_thread(data.eligibility)
    now = time.monotonic()
    last = data.purged_at
    if last is not None and now - last < PURGE_EVERY_SECONDS:
        return
    data.purged_at = now
    dropped = purge_expired(context.application.user_data)
    if dropped:
        log.info("dropped expired eligibility answers of %d users", dropped)


async def non_text(update: Update, context: CampoContext) -> None:
    """Photos, stickers, documents, locations…"""
    chat = update.effective_chat
    if chat and chat.type != ChatType.PRIVATE:
        return
    await send_html(update, NON_TEXT)


async def voice(update: Update, context: CampoContext) -> None:
    """Voice notes: transcribed when an ASR endpoint is configured, otherwise ask to type."""
    settings = context.bot_data.settings
    message = update.effective_message
    if message is None or message.voice is None:
        return
    if not settings.asr_base_url:
        await send_html(update, "Todavía no puedo escuchar notas de voz. ¿Me escribe su pregunta, por favor?")
        return
    from bot.asr import transcribe

    telegram_file = await message.voice.get_file()
    audio = bytes(await telegram_file.download_as_bytearray())
    text = await transcribe(settings, audio)
    if not text:
        await send_html(update, "No entendí la nota de voz. ¿Me escribe su pregunta, por favor?")
        return
    await send_html(update, f"Entendí: «{html.escape(text)}»")
    await answer_text(update, context, text)


async def on_error(update: object, context: CampoContext) -> None:
    """Application-wide: log the traceback (redacted by the log filter), apologise, keep running."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat:
        try:
            await context.bot.send_message(
                update.effective_chat.id, "Perdón, algo falló de mi lado. Intente de nuevo en un momento."
            )
        except Exception:
            log.warning("could not send the apology")
