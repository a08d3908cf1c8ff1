"""Telegram handlers: small top-level functions that turn updates into core calls and answers into messages."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import logging
import time

from telegram import Update
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import TelegramError

from assistant.errors import CampoError
from bot import render
from bot.context import CampoContext
from bot.eligibility_flow import forget_facts, purge_expired
from bot.formatting import send_html, send_reply
from bot.render import EXAMPLES, NON_TEXT

log = logging.getLogger(__name__)

__all__ = ["EXAMPLES", "HELP", "NON_TEXT"]

HELP = (
    "Escríbame su pregunta sobre los programas como se la haría a un técnico, por ejemplo:\n"
    + "\n".join(f"• {html.escape(q)}" for q in EXAMPLES)
    + "\n\nComandos:\n/elegibilidad — revisar paso a paso a qué apoyos podría entrar\n"
    "/programas — qué reglas conozco\n/nueva — empezar otra conversación (y borrar sus respuestas)\n"
    "/fuente — ver el texto completo de donde salió la última respuesta\n/ayuda — este mensaje"
)
PURGE_EVERY_SECONDS = 60.0
CHECK_HINT = "Para saber a qué apoyos podría entrar, escriba /elegibilidad y le hago unas preguntas."


def session_id(update: Update) -> str:
    """One conversation per private chat, and per person inside a group."""
    chat = update.effective_chat
    user = update.effective_user
    key = f"{chat.id if chat else 0}:{user.id if user and chat and chat.type != ChatType.PRIVATE else ''}"
    return "tg-" + hashlib.sha256(key.encode()).hexdigest()[:20]


async def start(update: Update, context: CampoContext) -> None:
    """Greeting, what the bot knows, examples, disclaimer and a privacy reminder."""
    topics = await asyncio.to_thread(context.bot_data.assistant.topics)
    await send_html(update, render.welcome_markup(topics, CHECK_HINT))


async def help_command(update: Update, context: CampoContext) -> None:
    """/ayuda."""
    await send_html(update, HELP)


async def programs(update: Update, context: CampoContext) -> None:
    """/programas: documents in the index with program and fiscal year."""
    await send_reply(update, await asyncio.to_thread(context.bot_data.dialogue.programs))


async def new_conversation(update: Update, context: CampoContext) -> None:
    """/nueva: forget the conversation and the eligibility answers."""
    await asyncio.to_thread(context.bot_data.dialogue.forget, session_id(update))
    forget_facts(context)  # type: ignore[arg-type]  # the flow only touches user_data
    context.chat_data.clear() if context.chat_data is not None else None
    await send_html(update, render.STARTED_OVER)


async def source(update: Update, context: CampoContext) -> None:
    """/fuente and the 📄 button: the full source passage of the last answer."""
    reply = await asyncio.to_thread(context.bot_data.dialogue.source, session_id(update))
    if update.callback_query:
        await update.callback_query.answer()
    await send_reply(update, reply)


async def feedback(update: Update, context: CampoContext) -> None:
    """👍 / 👎 under an answer."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    vote = 1 if query.data.endswith("+1") else -1
    chat_id = update.effective_chat.id if update.effective_chat else 0
    await asyncio.to_thread(context.bot_data.dialogue.vote, session_id(update), chat_id, vote)
    await query.answer(render.THANKS)


async def notify_me(update: Update, context: CampoContext) -> None:
    """🔔 under an abstention: store the chat's consent to be sent the staff's answer."""
    query = update.callback_query
    if query is None or query.data is None or update.effective_chat is None:
        return
    item_id = query.data.removeprefix(render.NOTIFY_PREFIX)
    reply = await asyncio.to_thread(context.bot_data.dialogue.subscribe, item_id, update.effective_chat.id)
    await query.answer()
    await send_reply(update, reply)


async def pick(update: Update, context: CampoContext) -> None:
    """A program tapped under "¿de cuál programa me pregunta?": answered as if its name were typed."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    await query.answer()
    chat = update.effective_chat
    if chat:
        await context.bot.send_chat_action(chat.id, ChatAction.TYPING)
    replies = await asyncio.to_thread(
        context.bot_data.dialogue.pick,
        session_id(update),
        query.data.removeprefix(render.PICK_PREFIX),
        chat.id if chat else 0,
    )
    for reply in replies:
        await send_reply(update, reply)


async def send_reviewed_answers(context: CampoContext) -> None:
    """Job queue, every CAMPO_REVIEW_NOTIFY_SECONDS: send each published reviewed answer to the chats that
    asked for it (and only to them); a chat is marked told once Telegram accepted the message."""
    dialogue = context.bot_data.dialogue
    for item_id, chat, reply in await asyncio.to_thread(dialogue.due_notifications):
        try:
            for part in render.split_message(reply.text):
                await context.bot.send_message(int(chat), part, parse_mode=ParseMode.HTML)
        except TelegramError as exc:  # blocked the bot, chat gone: try again next round, log it
            log.warning("reviewed answer not sent to a chat: %s", type(exc).__name__)
            continue
        await asyncio.to_thread(dialogue.notified, item_id, chat)


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
    dialogue = context.bot_data.dialogue
    limited = await asyncio.to_thread(dialogue.limited, str(user.id if user else 0))
    if limited:
        await send_reply(update, limited)
        return
    chat = update.effective_chat
    if chat:
        await context.bot.send_chat_action(chat.id, ChatAction.TYPING)
    private = chat is not None and chat.type == ChatType.PRIVATE
    replies = await asyncio.to_thread(
        dialogue.answer,
        text,
        session=session_id(update),
        chat=chat.id if chat else 0,
        eligibility_data=context.user_data if private else None,
        clock=time.monotonic,
    )
    # An edited question is answered as a reply to it, so the answer is not taken for the old one's.
    reply_to = update.edited_message.message_id if update.edited_message else None
    for reply in replies:
        await send_reply(update, reply, reply_to=reply_to)
        reply_to = None


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
        await send_html(update, render.VOICE_OFF)
        return
    from bot.asr import transcribe

    telegram_file = await message.voice.get_file()
    audio = bytes(await telegram_file.download_as_bytearray())
    text = await transcribe(settings, audio)
    if not text:
        await send_html(update, render.VOICE_UNCLEAR)
        return
    await send_html(update, f"Entendí: «{html.escape(text)}»")
    await answer_text(update, context, text)


async def on_error(update: object, context: CampoContext) -> None:
    """Application-wide: log the traceback (redacted by the log filter), apologise, keep running."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat:
        try:
            await context.bot.send_message(update.effective_chat.id, render.APOLOGY)
        except Exception:
            log.warning("could not send the apology")
