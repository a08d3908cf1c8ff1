"""Telegram's side of :mod:`bot.render`: the markup is Telegram HTML as it is; actions become inline
keyboards; :func:`send_html` is the one way the bot sends a text (split into messages Telegram accepts)."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters, Update
from telegram.constants import ParseMode

from bot.render import MESSAGE_LIMIT, Reply, answer_markup, source_line, split_message

TELEGRAM_LIMIT = MESSAGE_LIMIT
answer_html = answer_markup  # the markup is Telegram HTML

__all__ = [
    "TELEGRAM_LIMIT",
    "answer_html",
    "keyboard",
    "send_html",
    "send_reply",
    "source_line",
    "split_message",
]


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """Inline buttons: the answers in one row (``inline``) or one per row, then the extras in a row."""
    if not reply.actions and not reply.extras:
        return None
    buttons = [InlineKeyboardButton(a.title, callback_data=a.id) for a in reply.actions]
    rows = [buttons] if reply.inline else [[b] for b in buttons]
    if reply.extras:
        rows.append([InlineKeyboardButton(a.title, callback_data=a.id) for a in reply.extras])
    return InlineKeyboardMarkup([r for r in rows if r])


async def send_reply(update: Update, reply: Reply, reply_to: int | None = None) -> None:
    """A channel-free :class:`~bot.render.Reply` as Telegram messages."""
    await send_html(update, reply.text, markup=keyboard(reply), reply_to=reply_to)


async def send_html(
    update: Update, text: str, markup: InlineKeyboardMarkup | None = None, reply_to: int | None = None
) -> None:
    """Send Telegram HTML to the update's chat, split at :data:`TELEGRAM_LIMIT`; the buttons go under the
    last part and the reply (if any) on the first."""
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
