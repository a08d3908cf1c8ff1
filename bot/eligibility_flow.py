"""Guided eligibility check in Telegram: ``/elegibilidad`` runs the channel-free check of
:mod:`bot.eligibility_dialogue` as a PTB ConversationHandler.

Answers live only in ``context.user_data[ELIGIBILITY_KEY]`` (memory, never persisted) for at most 30
minutes since the last answer (``purge_expired`` drops forgotten ones); they are never logged (only
counts are). ``forget_facts`` is for /nueva. The check runs in private chats only: the questions are
personal, and a group would see the answers.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from assistant.eligibility import FACTS, EligibilityService
from bot import eligibility_dialogue as check
from bot.eligibility_dialogue import (
    CB_ANSWER,
    CB_CANCEL,
    CB_NEW,
    CB_RESULT,
    CB_START,
    ELIGIBILITY_KEY,
    MAX_AGE_SECONDS,
    START_ACTION,
    TELEGRAM_WORDS,
    EligibilityDialogue,
    Step,
    compact_sources,
    format_quick_answer,
    format_result,
)
from bot.formatting import keyboard, send_html, send_reply
from bot.render import Reply, e

__all__ = [
    "CB_CANCEL",
    "CB_NEW",
    "CB_RESULT",
    "CB_START",
    "ELIGIBILITY_KEY",
    "MAX_AGE_SECONDS",
    "build_eligibility_handler",
    "compact_sources",
    "eligibility_reply",
    "forget_facts",
    "format_quick_answer",
    "format_result",
    "offer_guided_check_markup",
    "purge_expired",
    "seed_facts",
]

log = logging.getLogger(__name__)

ASKING = 1
_Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]

MSG_CANCELLED = check.text(check.CANCELLED, TELEGRAM_WORDS)
MSG_EXPIRED = check.text(check.EXPIRED, TELEGRAM_WORDS)
MSG_ENDED = check.text(check.ENDED, TELEGRAM_WORDS)
MSG_STALE_BUTTON = check.STALE_BUTTON
MSG_USE_BUTTONS = check.text(check.USE_BUTTONS, TELEGRAM_WORDS)
MSG_EDITED = (
    "Vi que corrigió un mensaje, pero ya había tomado su respuesta. Si quiere cambiar algo, "
    "escriba /elegibilidad para empezar de nuevo."
)
MSG_NO_RULES = check.NO_RULES
MSG_PRIVATE_ONLY = (
    "Para revisar si califica le haré preguntas personales; mejor escríbame en privado y use /elegibilidad."
)
MSG_INTRO = check.text(check.INTRO, TELEGRAM_WORDS)


def _session(context: ContextTypes.DEFAULT_TYPE) -> dict[str, Any] | None:
    return check.current(context.user_data)


def forget_facts(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Drop every eligibility answer of this user (for /nueva)."""
    check.forget(context.user_data)


def seed_facts(context: ContextTypes.DEFAULT_TYPE, facts: dict[str, Any]) -> dict[str, Any]:
    """Keep facts found in a free-text question so the offered guided check starts from them."""
    return check.seed(context.user_data, facts)


def purge_expired(user_data: Mapping[Any, dict[Any, Any]]) -> int:
    """Drop every user's answers older than MAX_AGE_SECONDS (also of users who never came back)."""
    return check.purge_expired(user_data)


def offer_guided_check_markup() -> InlineKeyboardMarkup:
    """A button that starts the guided check (attach it to answers that look like "¿califico?")."""
    markup = keyboard(Reply("", (START_ACTION,)))
    assert markup is not None
    return markup


def eligibility_reply(
    service: EligibilityService, text: str, context: ContextTypes.DEFAULT_TYPE
) -> tuple[str, InlineKeyboardMarkup]:
    """HTML answer + start button for a free-text eligibility question; seeds the facts it mentions."""
    reply = check.quick_answer(service, text, context.user_data, time.monotonic)
    return reply.text, offer_guided_check_markup()


# --- Handlers -------------------------------------------------------------------------------------


class _Flow:
    """The conversation's callbacks: Telegram's side of :class:`~bot.eligibility_dialogue.EligibilityDialogue`
    (private chats only, button acknowledgements, answered questions shown in place)."""

    def __init__(
        self,
        get_service: Callable[[], EligibilityService],
        on_reset: _Callback | None = None,
        on_other_text: _Callback | None = None,
    ) -> None:
        self.check = EligibilityDialogue(get_service, TELEGRAM_WORDS, time.monotonic)
        self.on_reset = on_reset
        self.on_other_text = on_other_text

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        """/elegibilidad or a start button: (re)start the guided check."""
        query = update.callback_query
        if query is not None:
            await query.answer()
        chat = update.effective_chat
        if chat is None or chat.type != ChatType.PRIVATE:
            await send_html(update, MSG_PRIVATE_ONLY)
            return ConversationHandler.END
        keep = query is not None and query.data == CB_START
        return await self._send(update, self.check.start(_data(context), keep_seeded=keep))

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        """A closed answer (choice, sí/no, No sé)."""
        query = update.callback_query
        assert query is not None and query.data is not None
        if _session(context) is None:
            await query.answer()
            return await self._send(update, self.check.expired(_data(context)))
        chosen = self.check.choice(_data(context), query.data)
        if chosen is None:
            await query.answer(MSG_STALE_BUTTON)
            return ASKING
        await query.answer()
        key, value, label = chosen
        await _mark_answered(query, FACTS[key].question, label)
        return await self._send(update, self.check.record(_data(context), key, value))

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        """A typed answer: numbers for number questions; option names are accepted too."""
        message = update.effective_message
        assert message is not None and message.text is not None
        state = _session(context)
        if state is None:
            if self.on_other_text is None:
                return await self._send(update, self.check.expired(_data(context)))
            # Long after the check was abandoned, a text is more likely a new question than an answer.
            await send_html(update, MSG_ENDED)
            await self.on_other_text(update, context)
            return ConversationHandler.END
        return await self._send(update, self.check.typed(_data(context), state, message.text))

    async def show_result(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        """ "Ver resultado": the result with the answers given so far."""
        if update.callback_query is not None:
            await update.callback_query.answer()
        return await self._send(update, self.check.result(_data(context)))

    async def cancel(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        """/cancelar or ❌ Cancelar: stop and forget the answers."""
        if update.callback_query is not None:
            await update.callback_query.answer()
        return await self._send(update, self.check.cancel(_data(context)))

    async def reset(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        """/nueva during the check: forget the answers, end the check and run the bot's /nueva."""
        forget_facts(context)
        if self.on_reset is not None:
            await self.on_reset(update, context)
        return ConversationHandler.END

    async def on_edited(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        """An edited message during the check: the answer was already taken; say how to change it."""
        await send_html(update, MSG_EDITED)
        return ASKING

    async def _send(self, update: Update, step: Step) -> int:
        for reply in step.replies:
            await send_reply(update, reply)
        return ASKING if step.asking else ConversationHandler.END


def _data(context: ContextTypes.DEFAULT_TYPE) -> dict[Any, Any]:
    data = context.user_data
    return data if data is not None else {}


async def _mark_answered(query: CallbackQuery, question: str, label: str) -> None:
    """Replace the question's buttons with the chosen answer, so old buttons cannot be pressed again."""
    try:
        await query.edit_message_text(f"{e(question)}\n➡️ <b>{e(label)}</b>", parse_mode=ParseMode.HTML)
    except TelegramError as exc:  # message too old or unchanged: the answer is recorded anyway
        log.debug("could not edit the answered question: %s", exc)


def build_eligibility_handler(
    get_service: Callable[[], EligibilityService],
    *,
    on_reset: _Callback | None = None,
    on_other_text: _Callback | None = None,
) -> ConversationHandler[Any]:
    """The /elegibilidad conversation; register it before the bot's free-text and /nueva handlers.

    ``on_reset`` is the bot's /nueva: during the check /nueva forgets the answers, ends the check and then
    calls it (outside the check, the bot's own /nueva handler runs and must call ``forget_facts``).
    ``on_other_text`` is the bot's question handler: a text that arrives after the answers expired ends
    the check and goes there (without it, the check starts over). Needs the updates of one chat processed
    in order (``bot.ordering.PerChatUpdateProcessor``)."""
    flow = _Flow(get_service, on_reset, on_other_text)
    start_handlers: list[BaseHandler[Update, Any, object]] = [
        CommandHandler("elegibilidad", flow.start),
        CallbackQueryHandler(flow.start, pattern=f"^({CB_START}|{CB_NEW})$"),
    ]
    # Buttons of an older question still get an answer after the conversation ended.
    stale_buttons: list[BaseHandler[Update, Any, object]] = [
        CallbackQueryHandler(flow.cancel, pattern=f"^{CB_CANCEL}$"),
        CallbackQueryHandler(flow.show_result, pattern=f"^{CB_RESULT}$"),
    ]
    # Only short, new texts are answers; a long message falls through to the bot's normal question
    # handler. An edited message is not an answer to the question asked now.
    short_text = filters.TEXT & ~filters.COMMAND & filters.Regex(r"^.{1,60}$")
    with warnings.catch_warnings():
        # per_message=False is intended (answers may be typed); PTB warns about CallbackQueryHandler then.
        warnings.filterwarnings("ignore", message=r".*per_message.*", category=PTBUserWarning)
        return ConversationHandler(
            entry_points=[*start_handlers, *stale_buttons],
            states={
                ASKING: [
                    CallbackQueryHandler(flow.on_button, pattern=f"^{CB_ANSWER}"),
                    CallbackQueryHandler(flow.show_result, pattern=f"^{CB_RESULT}$"),
                    MessageHandler(filters.UpdateType.MESSAGE & short_text, flow.on_text),
                    MessageHandler(filters.UpdateType.EDITED_MESSAGE & short_text, flow.on_edited),
                ]
            },
            fallbacks=[
                CommandHandler("cancelar", flow.cancel),
                CommandHandler("nueva", flow.reset),
                CallbackQueryHandler(flow.cancel, pattern=f"^{CB_CANCEL}$"),
                *start_handlers,
            ],
            allow_reentry=True,
            name="elegibilidad",
        )
