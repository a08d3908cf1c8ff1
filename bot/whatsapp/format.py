"""Channel-free replies as WhatsApp Cloud API message payloads, within the limits Meta enforces.

* Text: at most 4,096 characters per message (longer replies are split like on Telegram); emphasis is
  WhatsApp's own (``*bold*``, ``_italic_``). WhatsApp has no escape character, so the marker characters in
  document or user text are replaced by look-alikes (``*`` → ``∗``, ``_`` → ``＿``, ``~`` → ``∼``,
  ````` → ``ˋ``): nobody's text can turn the rest of a message bold.
* Reply buttons: at most 3, titles at most 20 characters; list messages: at most 10 rows, row titles at
  most 24 (the whole label goes to the row's description, at most 72), a button label of at most 20.
  Interactive bodies are at most 1,024 characters: a longer text goes first as a plain message.
"""

from __future__ import annotations

import html
import re
from typing import Any

from bot.eligibility_dialogue import CB_CANCEL
from bot.render import Action, Reply, split_message

TEXT_LIMIT = 4096
BODY_LIMIT = 1024
MAX_BUTTONS = 3
BUTTON_TITLE = 20
MAX_ROWS = 10
ROW_TITLE = 24
ROW_DESCRIPTION = 72
LIST_BUTTON = 20
CHOOSE = "Elija una opción:"
TYPE_TO_LEAVE = "Para salir, escriba «cancelar»."

_LOOKALIKES = str.maketrans({"*": "∗", "_": "＿", "~": "∼", "`": "ˋ"})
_TOKEN = re.compile(r"(</?[bi]>)")
_MARK = {"b": "*", "i": "_"}


def escape(text: str) -> str:
    """Plain text that WhatsApp shows as it is (no marker character left)."""
    return text.translate(_LOOKALIKES)


def _wrap(text: str, marker: str) -> str:
    """Emphasis on each line (WhatsApp's markers do not span lines), spaces kept outside the markers."""
    out = []
    for line in text.split("\n"):
        core = line.strip()
        if not core:
            out.append(line)
            continue
        lead = line[: len(line) - len(line.lstrip())]
        trail = line[len(line.rstrip()) :]
        out.append(f"{lead}{marker}{core}{marker}{trail}")
    return "\n".join(out)


def to_whatsapp(markup: str) -> str:
    """Markup (escaped text with ``<b>``/``<i>``) as WhatsApp text."""
    out: list[str] = []
    style = ""
    for token in _TOKEN.split(markup):
        if not token:
            continue
        tag = _TOKEN.fullmatch(token)
        if tag:
            name = token.strip("</>")
            style = "" if token.startswith("</") else name
            continue
        text = escape(html.unescape(token))
        out.append(_wrap(text, _MARK[style]) if style else text)
    return "".join(out)


def _title(action: Action, limit: int) -> str:
    title = action.title if len(action.title) <= limit else (action.short or action.title)
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "…"


def text_payload(body: str) -> dict[str, Any]:
    return {"type": "text", "text": {"preview_url": False, "body": body}}


def buttons_payload(body: str, actions: list[Action]) -> dict[str, Any]:
    return {
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": body},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": a.id, "title": _title(a, BUTTON_TITLE)}}
                    for a in actions[:MAX_BUTTONS]
                ]
            },
        },
    }


def list_payload(body: str, actions: list[Action], heading: str) -> dict[str, Any]:
    rows = []
    for a in actions[:MAX_ROWS]:
        row = {"id": a.id, "title": _title(a, ROW_TITLE)}
        description = a.description or (a.title if len(a.title) > ROW_TITLE else "")
        if description:
            row["description"] = (
                description[: ROW_DESCRIPTION - 1] + "…"
                if len(description) > ROW_DESCRIPTION
                else description
            )
        rows.append(row)
    label = (heading or "Opciones")[:LIST_BUTTON]
    return {
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": body},
            "action": {"button": label, "sections": [{"title": label[:ROW_TITLE], "rows": rows}]},
        },
    }


def payloads(reply: Reply) -> list[dict[str, Any]]:
    """The messages (without recipient) that show ``reply`` on WhatsApp."""
    text = to_whatsapp(reply.text)
    actions = list(reply.actions)
    if not actions and not reply.extras:
        return [text_payload(part) for part in split_message(text, TEXT_LIMIT)]
    everything = actions + list(reply.extras)
    # Choices that are not a quick sí/no (``inline`` False) go to a list when a button would cut their
    # names ("Lineamientos de pes…"): a list row shows the whole name under its title.
    legible = reply.inline or all(len(a.title) <= BUTTON_TITLE or a.short for a in everything)
    if len(everything) <= MAX_BUTTONS and legible:
        chosen, kind = everything, "button"
    elif reply.inline and len(actions) <= MAX_BUTTONS:
        chosen, kind = actions, "button"  # sí / no as buttons; the extras are typed words
    else:
        chosen, kind = everything[:MAX_ROWS], "list"
    if len(chosen) < len(everything) and any(a.id == CB_CANCEL for a in everything if a not in chosen):
        text += "\n" + TYPE_TO_LEAVE
    out: list[dict[str, Any]] = []
    body = text
    if len(text) > BODY_LIMIT:
        out = [text_payload(part) for part in split_message(text, TEXT_LIMIT)]
        body = CHOOSE
    if kind == "button":
        out.append(buttons_payload(body, chosen))
    else:
        out.append(list_payload(body, chosen, reply.heading))
    return out
