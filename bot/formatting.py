"""Answers as Telegram HTML for phones: escaped text, bullets, a compact source line, ≤ 4,096 chars;
and :func:`send_html`, the one way the bot sends a text (split into messages Telegram accepts)."""

from __future__ import annotations

import html
import re
from typing import Any

from telegram import InlineKeyboardMarkup, ReplyParameters, Update
from telegram.constants import ParseMode

from assistant.legal import LIST_MARKER
from assistant.models import Answer, Citation

TELEGRAM_LIMIT = 4096


def source_line(c: Citation) -> str:
    """'📄 Reglas de Operación 2014, Cadenas de Valor, Art. 12, p. 7'."""
    article = c.section.split(" > ")[-1] if c.section else ""
    article = re.sub(r"^Art[íi]culo\s+", "Art. ", article)
    parts = [c.title, article, f"p. {c.page}" if c.page else ""]
    return "📄 " + ", ".join(p for p in parts if p)


def answer_html(answer: Answer) -> str:
    lines = []
    for raw in answer.text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        if LIST_MARKER.match(line):
            line = "• " + LIST_MARKER.sub("", line)
        lines.append(html.escape(line, quote=False))
    body = "\n".join(lines)
    if answer.citations and not answer.abstained and body.endswith("…"):
        body += "\n<i>(Recorté la respuesta: toque «📄 Ver fuente» para leer el artículo completo.)</i>"
    if answer.citations and not answer.abstained:
        body += "\n\n<i>" + html.escape(source_line(answer.citations[0]), quote=False) + "</i>"
    return body


def split_message(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Split on paragraph boundaries, then lines, then hard cuts; never inside an HTML tag or entity."""
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for block in re.split(r"(\n\n|\n)", text):
        if len(current) + len(block) <= limit:
            current += block
            continue
        if current.strip():
            parts.append(current.strip("\n"))
        current = block if block.strip() else ""
        while len(current) > limit:
            cut = _safe_cut(current, limit)
            parts.append(current[:cut])
            current = current[cut:]
    if current.strip():
        parts.append(current.strip("\n"))
    return parts


def _safe_cut(text: str, limit: int) -> int:
    cut = text.rfind(" ", 0, limit)
    cut = cut if cut > limit // 2 else limit
    amp = text.rfind("&", 0, cut)
    if amp != -1 and ";" not in text[amp:cut]:
        cut = amp
    lt = text.rfind("<", 0, cut)
    if lt != -1 and ">" not in text[lt:cut]:
        cut = lt
    return cut


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
