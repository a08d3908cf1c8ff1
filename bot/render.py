"""Channel-free messages: what the assistant says, before a channel turns it into its own format.

A :class:`Reply` is a text in *markup* — the text escaped as HTML (``&``, ``<``, ``>``) with only ``<b>``
and ``<i>`` for emphasis, on one line each — and the actions offered under it. Telegram sends the markup as
its HTML parse mode unchanged; WhatsApp turns it into ``*bold*`` / ``_italic_`` with the user's text
escaped (:func:`bot.whatsapp.format.to_whatsapp`). Nothing here imports a channel.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from assistant.legal import LIST_MARKER
from assistant.models import Answer, Citation

MESSAGE_LIMIT = 4096  # Telegram's and WhatsApp's longest text message

# Action ids: the same on every channel (Telegram callback data, WhatsApp reply ids).
SOURCE = "src"
VOTE_UP = "fb:+1"
VOTE_DOWN = "fb:-1"
NOTIFY_PREFIX = "notify:"  # + the review item's id: "tell me when staff answer"
PICK_PREFIX = "pick:"  # + the index of a program the answer asked the producer to choose ("¿de cuál?")
PICK_GONE = "Esa pregunta ya quedó atrás. Escríbame de nuevo su pregunta con el nombre del programa."
NOTIFY_TITLE = "🔔 Avísame cuando tengan la respuesta"
NOTIFY_OK = "Listo. Cuando el personal del programa responda su pregunta, se lo envío por aquí."
NOTIFY_GONE = "Esa pregunta ya no está en revisión. Si quiere, escríbamela de nuevo."

EXAMPLES = [
    "¿Qué requisitos piden en Cadenas de Valor?",
    "¿Cuántas hectáreas puedo tener para pedir apoyo?",
    "¿Hasta cuándo hay ventanilla de PROPESCA?",
]
NON_TEXT = (
    "Por ahora solo entiendo mensajes de texto. Escríbame su pregunta sobre las reglas de los programas "
    "(por ejemplo: «¿qué papeles necesito?») y con gusto le respondo."
)
RATE_LIMITED = "Recibí muchas preguntas seguidas. Espere un minuto y vuelva a escribirme, por favor."
NO_SOURCE = "Todavía no tengo una respuesta con fuente en esta conversación."
STARTED_OVER = "Listo, empecemos de nuevo. ¿Qué quiere saber?"
THANKS = "¡Gracias por su opinión!"
VOICE_OFF = "Todavía no puedo escuchar notas de voz. ¿Me escribe su pregunta, por favor?"
VOICE_UNCLEAR = "No entendí la nota de voz. ¿Me escribe su pregunta, por favor?"
APOLOGY = "Perdón, algo falló de mi lado. Intente de nuevo en un momento."
DISCLAIMER = "Las respuestas salen de las reglas de los programas; no son una resolución oficial."
PRIVACY = "🔒 Nunca me envíe su CURP, RFC, teléfono ni otros datos personales."


@dataclass(frozen=True)
class Action:
    """Something the user can tap: ``id`` comes back to the bot; ``short`` is the title where a channel
    allows only a few characters (WhatsApp buttons: 20)."""

    id: str
    title: str
    short: str = ""
    description: str = ""


@dataclass(frozen=True)
class Reply:
    """One message: markup text, the answers it offers (``actions``, in one row when ``inline``) and the
    secondary controls under them (``extras``: "ver resultado", "cancelar")."""

    text: str
    actions: tuple[Action, ...] = ()
    extras: tuple[Action, ...] = ()
    inline: bool = True
    heading: str = field(default="", compare=False)  # a short title for list messages ("Opciones")


def e(text: str) -> str:
    """User or document text, escaped for the markup."""
    return html.escape(text, quote=False)


def source_line(c: Citation) -> str:
    """'📄 Reglas de Operación 2014, Cadenas de Valor, Art. 12, p. 7'."""
    article = c.section.split(" > ")[-1] if c.section else ""
    article = re.sub(r"^Art[íi]culo\s+", "Art. ", article)
    parts = [c.title, article, f"p. {c.page}" if c.page else ""]
    return "📄 " + ", ".join(p for p in parts if p)


def answer_markup(answer: Answer) -> str:
    """The answer for a phone: list items as bullets, a note when it was cut, the source line."""
    lines = []
    for raw in answer.text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        if LIST_MARKER.match(line):
            line = "• " + LIST_MARKER.sub("", line)
        lines.append(e(line))
    body = "\n".join(lines)
    if answer.citations and not answer.abstained and (body.endswith("…") or "\n…\n" in body):
        body += "\n<i>(Recorté la respuesta: toque «📄 Ver fuente» para leer el artículo completo.)</i>"
    if answer.citations and not answer.abstained:
        body += "\n\n<i>" + e(source_line(answer.citations[0])) + "</i>"
    return body


def answer_actions(show_feedback: bool = True) -> tuple[Action, ...]:
    """📄 Ver fuente, 👍, 👎 under an answer."""
    actions = [Action(SOURCE, "📄 Ver fuente")]
    if show_feedback:
        actions += [Action(VOTE_UP, "👍"), Action(VOTE_DOWN, "👎")]
    return tuple(actions)


def answer_reply(answer: Answer, review_item: str | None = None) -> Reply:
    """An answer with its buttons; an abstention has none (nothing to show, nothing to vote on), except
    "🔔 tell me" when its question went to the staff's review queue (``review_item``)."""
    if answer.abstained:
        notify = (
            (Action(NOTIFY_PREFIX + review_item, NOTIFY_TITLE, short="🔔 Avísame"),) if review_item else ()
        )
        if answer.clarify:  # "¿de cuál programa me pregunta?": one button per program
            picks = tuple(
                Action(f"{PICK_PREFIX}{i}", name, description=name if len(name) > 24 else "")
                for i, name in enumerate(answer.clarify)
            )
            return Reply(answer_markup(answer), picks, notify, inline=False, heading="Programas")
        return Reply(answer_markup(answer), notify)
    return Reply(answer_markup(answer), answer_actions())


def reviewed_notice_markup(text: str) -> str:
    """The message sent to a chat that asked to be told: the reviewed answer, escaped."""
    return "<b>🔔 Ya tenemos respuesta a su pregunta.</b>\n\n" + e(text)


def source_markup(citation: dict[str, object]) -> str:
    """The full source passage of an answer (a citation as stored with the conversation's turn)."""
    head = e(source_line(Citation.model_validate(citation)))
    body = str(citation.get("text") or citation.get("snippet") or "")
    return f"<b>{head}</b>\n\n{e(body)}"


def welcome_markup(topics: list[str], check_hint: str) -> str:
    """Greeting, what the bot knows, examples, the eligibility check, disclaimer, privacy reminder."""
    known = "\n".join(f"• {e(t)}" for t in topics[:10]) or "• (todavía no hay reglas cargadas)"
    return (
        "¡Hola! Soy <b>Campo</b>. Respondo preguntas con estas reglas y guías de programas:\n"
        f"{known}\n\n"
        "Pruebe, por ejemplo:\n" + "\n".join(f"• {e(q)}" for q in EXAMPLES) + "\n\n"
        f"{check_hint}\n\n"
        f"<i>{DISCLAIMER}</i>\n{PRIVACY}"
    )


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
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
