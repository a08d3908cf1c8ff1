"""Guided eligibility check in Telegram: ``/elegibilidad`` asks the engine's next question until every
component is decided, then lists them with ✅ / 🟡 / ❓ / ❌, a one-line reason and its source.

Answers live only in ``context.user_data[ELIGIBILITY_KEY]`` (memory, never persisted) for at most 30
minutes since the last answer (``purge_expired`` drops forgotten ones); they are never logged (only
counts are). ``forget_facts`` is for /nueva. The check runs in private chats only: the questions are
personal, and a group would see the answers.
"""

from __future__ import annotations

import html
import logging
import time
import warnings
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
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

from assistant.eligibility import (
    FACTS,
    ComponentResult,
    EligibilityResult,
    EligibilityService,
    InvalidFacts,
    Question,
    describe_facts,
    extract_facts,
)
from bot.formatting import send_html

log = logging.getLogger(__name__)

ELIGIBILITY_KEY = "eligibility"
MAX_AGE_SECONDS = 30 * 60
MAX_MESSAGE = 4096
PHONE_MESSAGE = 1600  # result messages are split near this size: about two phone screens each
ASKING = 1

CB_START = "elg:start"  # offered under a free-text answer: keeps facts already seeded from that question
CB_NEW = "elg:new"  # "empezar de nuevo": fresh
CB_CANCEL = "elg:cancel"
CB_RESULT = "elg:result"
_CB_ANSWER = "elg:a:"  # elg:a:<fact index>:<option index>

_FACT_KEYS = list(FACTS)
_Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]
_ICONS = {"elegible": "✅", "posiblemente_elegible": "🟡", "falta_informacion": "❓", "no_elegible": "❌"}
_ORDER = {"elegible": 0, "posiblemente_elegible": 1, "falta_informacion": 2, "no_elegible": 3}
_EXAMPLES = {  # a plausible number for each question answered by typing
    "edad": "35",
    "numero_integrantes": "8",
    "hectareas": "3",
    "unidades_animal": "5",
    "anios_actividad": "5",
    "habitantes_localidad": "2500",
    "metros_traspatio": "30",
    "anios_constitucion": "2",
}

MSG_CANCELLED = (
    "Listo, cancelé la revisión y borré sus respuestas. Escriba /elegibilidad para empezar otra vez."
)
MSG_EXPIRED = (
    "La revisión anterior venció (pasaron más de 30 minutos) y borré sus respuestas. Empecemos de nuevo."
)
MSG_ENDED = (
    "La revisión de elegibilidad anterior venció y borré sus respuestas; escriba /elegibilidad para "
    "empezar otra vez."
)
MSG_STALE_BUTTON = "Esa pregunta ya no está activa."
MSG_USE_BUTTONS = (
    "Por favor, elija una de las opciones con los botones de la pregunta (o escriba /cancelar para salir)."
)
MSG_EDITED = (
    "Vi que corrigió un mensaje, pero ya había tomado su respuesta. Si quiere cambiar algo, "
    "escriba /elegibilidad para empezar de nuevo."
)
MSG_NO_RULES = (
    "Todavía no tengo cargadas reglas para revisar si califica. Pregunte en la ventanilla de su estado."
)
MSG_PRIVATE_ONLY = (
    "Para revisar si califica le haré preguntas personales; mejor escríbame en privado y use /elegibilidad."
)
MSG_INTRO = (
    "Vamos a revisar a qué apoyos podría entrar, según las reglas de cada programa. "
    "Le haré unas preguntas cortas; puede cancelar cuando quiera con /cancelar."
)
NO_DOCUMENTS = "el documento no detalla los requisitos; pregunte en la ventanilla"


# --- Session (user_data) ----------------------------------------------------------------------


def _session(context: ContextTypes.DEFAULT_TYPE) -> dict[str, Any] | None:
    """The user's eligibility state if younger than MAX_AGE_SECONDS; older state is dropped."""
    data = context.user_data
    if data is None:
        return None
    state = data.get(ELIGIBILITY_KEY)
    if not isinstance(state, dict):
        return None
    if time.monotonic() - state.get("updated", 0.0) > MAX_AGE_SECONDS:
        data.pop(ELIGIBILITY_KEY, None)
        return None
    return state


def _new_session(context: ContextTypes.DEFAULT_TYPE, facts: dict[str, Any] | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {"facts": dict(facts or {}), "asking": None, "updated": time.monotonic()}
    if context.user_data is not None:
        context.user_data[ELIGIBILITY_KEY] = state
    return state


def forget_facts(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Drop every eligibility answer of this user (for /nueva)."""
    if context.user_data is not None:
        context.user_data.pop(ELIGIBILITY_KEY, None)


def seed_facts(context: ContextTypes.DEFAULT_TYPE, facts: dict[str, Any]) -> dict[str, Any]:
    """Keep facts found in a free-text question so the offered guided check starts from them.

    Added to the answers of a check still in progress (a new statement wins), so a question typed in the
    middle of the check does not lose them. Returns every fact now known."""
    state = _session(context)
    if state is None:
        state = _new_session(context, facts)
    else:
        state["facts"].update(facts)
        state["updated"] = time.monotonic()
    state["seeded"] = True
    return dict(state["facts"])


def purge_expired(user_data: Mapping[Any, dict[Any, Any]]) -> int:
    """Drop every user's answers older than MAX_AGE_SECONDS (also of users who never came back)."""
    now = time.monotonic()
    dropped = 0
    for data in list(user_data.values()):
        state = data.get(ELIGIBILITY_KEY)
        if isinstance(state, dict) and now - state.get("updated", 0.0) > MAX_AGE_SECONDS:
            data.pop(ELIGIBILITY_KEY, None)
            dropped += 1
    return dropped


# --- Formatting -----------------------------------------------------------------------------------


def _e(text: str) -> str:
    return html.escape(text, quote=False)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _component_block(result: ComponentResult) -> str:
    header = f"{_ICONS[result.status]} <b>{_e(_cut(result.name, 200))}</b>"
    if not result.summary.text.lower().startswith(result.status_label.lower()):
        header += f" — {_e(result.status_label)}"
    lines = [header, _e(_cut(result.summary.text, 600)), f"📄 {_e(_cut(result.summary.citation.label, 200))}"]
    if result.status in ("elegible", "posiblemente_elegible"):
        docs = [d.text for d in result.required_documents]
        if docs:
            lines.append("📎 Documentos:")
            room = 2500
            for doc in docs:  # one per line: a list a producer can take to the ventanilla
                item = f"• {_e(_cut(doc, 300))}"
                if len(item) > room:
                    lines.append("• …")
                    break
                lines.append(item)
                room -= len(item)
            lines.append(
                f"    📄 {_e(_cut(compact_sources([d.citation.label for d in result.required_documents]), 300))}"
            )
        else:
            lines.append(f"📎 Documentos: {_e(NO_DOCUMENTS)}")
        lines.append(f"💰 Apoyo: {_e(_cut(result.support.text, 500))}")
        lines.append(f"    📄 {_e(result.support.citation.label)}")
    return "\n".join(lines)


def _rejected_line(result: ComponentResult) -> str:
    """One line per program the answers rule out: name, the reason, its source."""
    return (
        f"❌ <b>{_e(_cut(result.name, 200))}</b>: {_e(_cut(result.summary.text, 250))} "
        f"(📄 {_e(_cut(result.summary.citation.label, 200))})"
    )


def compact_sources(labels: list[str]) -> str:
    """'Reglas 2016, PAE, Art. 7' + 'Reglas 2016, PAE, Art. 8' -> 'Reglas 2016, PAE, Arts. 7 y 8'."""
    by_title: dict[str, list[str]] = {}
    for label in labels:
        title, _, number = label.rpartition(", Art. ")
        numbers = by_title.setdefault(title or label, [])
        if number and number not in numbers:
            numbers.append(number)
    parts = []
    for title, numbers in by_title.items():
        numbers.sort(key=lambda n: int(n) if n.isdigit() else 0)
        if len(numbers) == 1:
            parts.append(f"{title}, Art. {numbers[0]}")
        elif numbers:
            parts.append(f"{title}, Arts. {', '.join(numbers[:-1])} y {numbers[-1]}")
        else:
            parts.append(title)
    return "; ".join(parts)


def _pack(blocks: list[str], limit: int = MAX_MESSAGE, soft: int = PHONE_MESSAGE) -> list[str]:
    """Join blocks with blank lines into messages of about ``soft`` characters (a block longer than that
    goes alone), never more than ``limit``."""
    messages: list[str] = []
    current = ""
    for block in blocks:
        block = block if len(block) <= limit else block[:limit]  # blocks are bounded; this is a safety net
        candidate = f"{current}\n\n{block}" if current else block
        if len(candidate) <= min(soft, limit) or not current:
            current = candidate
        else:
            messages.append(current)
            current = block
    if current:
        messages.append(current)
    return messages


def format_result(result: EligibilityResult) -> list[str]:
    """The result as Telegram HTML messages (each at most 4096 characters)."""
    ordered = sorted(result.results, key=lambda r: _ORDER[r.status])
    blocks = ["<b>Resultado de la revisión</b>\nSegún sus respuestas, programa por programa:"]
    blocks += [_component_block(r) for r in ordered if r.status != "no_elegible"]
    rejected = [_rejected_line(r) for r in ordered if r.status == "no_elegible"]
    if rejected:
        rejected[0] = "<b>No aplica, según sus respuestas:</b>\n" + rejected[0]
    blocks += rejected
    blocks.append(f"<i>{_e(result.disclaimer)}</i>")
    return _pack(blocks)


def format_quick_answer(result: EligibilityResult) -> str:
    """A short answer to a free-text eligibility question, from the facts it mentions."""
    lines = []
    facts = describe_facts(result.facts)
    if facts:
        lines.append(f"Con lo que me dice ({_e(', '.join(facts))}), según las reglas:")
    else:
        lines.append("Para saber si califica necesito algunos datos suyos.")
    decided = [r for r in result.results if r.status in ("elegible", "posiblemente_elegible")]
    for r in sorted(decided, key=lambda r: _ORDER[r.status]):
        lines.append(
            f"{_ICONS[r.status]} <b>{_e(r.name)}</b>: {_e(_cut(r.summary.text, 300))} (📄 {_e(r.summary.citation.label)})"
        )
    rejected = [r for r in result.results if r.status == "no_elegible"]
    if rejected:  # names only: the guided check gives each reason with its source
        names = "; ".join(_e(_cut(r.name, 120)) for r in rejected)
        lines.append(f"❌ Por lo que me dice, no aplica a: {names}.")
    pending = len(result.results) - len(decided) - len(rejected)
    if pending:
        lines.append(f"❓ Para {pending} programa(s) me faltan datos.")
    lines.append("Toque el botón y le hago las preguntas necesarias, una por una.")
    lines.append(f"<i>{_e(result.disclaimer)}</i>")
    return _cut("\n".join(lines), MAX_MESSAGE)


def offer_guided_check_markup() -> InlineKeyboardMarkup:
    """A button that starts the guided check (attach it to answers that look like "¿califico?")."""
    return InlineKeyboardMarkup([[InlineKeyboardButton("✅ Revisar si califico", callback_data=CB_START)]])


def eligibility_reply(
    service: EligibilityService, text: str, context: ContextTypes.DEFAULT_TYPE
) -> tuple[str, InlineKeyboardMarkup]:
    """HTML answer + start button for a free-text eligibility question; seeds the facts it mentions."""
    known = seed_facts(context, extract_facts(text))
    try:
        result = service.evaluate(known)
    except InvalidFacts:  # answers from an older rules vocabulary: keep only what this text says
        forget_facts(context)
        known = seed_facts(context, extract_facts(text))
        result = service.evaluate(known)
    return format_quick_answer(result), offer_guided_check_markup()


def _question_markup(question: Question) -> InlineKeyboardMarkup:
    index = _FACT_KEYS.index(question.fact)
    buttons = [
        InlineKeyboardButton(option.label, callback_data=f"{_CB_ANSWER}{index}:{i}")
        for i, option in enumerate(question.options)
    ]
    rows = [buttons] if question.kind == "yes_no" else [[b] for b in buttons]
    rows.append(
        [
            InlineKeyboardButton("📋 Ver resultado", callback_data=CB_RESULT),
            InlineKeyboardButton("❌ Cancelar", callback_data=CB_CANCEL),
        ]
    )
    return InlineKeyboardMarkup(rows)


def _question_text(question: Question, number: int) -> str:
    text = f"<b>Pregunta {number}.</b> {_e(question.text)}"
    if question.kind == "number":
        text += f"\n<i>{_number_hint(question.fact)}</i>"
    return text


# --- Handlers -------------------------------------------------------------------------------------


class _Flow:
    """The conversation's callbacks; ``get_service`` is called on every step (rules can be reloaded)."""

    def __init__(
        self,
        get_service: Callable[[], EligibilityService],
        on_reset: _Callback | None = None,
        on_other_text: _Callback | None = None,
    ) -> None:
        self.get_service = get_service
        self.on_reset = on_reset
        self.on_other_text = on_other_text

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        """/elegibilidad or a start button: (re)start the guided check."""
        query = update.callback_query
        seeded: dict[str, Any] = {}
        if query is not None:
            await query.answer()
        chat = update.effective_chat
        if chat is None or chat.type != ChatType.PRIVATE:
            await self._send(update, context, MSG_PRIVATE_ONLY)
            return ConversationHandler.END
        if not self.get_service().rules:
            await self._send(update, context, MSG_NO_RULES)
            return ConversationHandler.END
        if query is not None:
            state = _session(context)
            if query.data == CB_START and state and state.get("seeded"):
                seeded = state["facts"]
        state = _new_session(context, seeded)
        await self._send(update, context, MSG_INTRO)
        return await self._ask_next(update, context, state)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        """A closed answer (choice, sí/no, No sé)."""
        query = update.callback_query
        assert query is not None and query.data is not None
        state = _session(context)
        if state is None:
            await query.answer()
            return await self._expired(update, context)
        try:
            fact_index, option_index = (int(x) for x in query.data.removeprefix(_CB_ANSWER).split(":"))
            key = _FACT_KEYS[fact_index]
        except (ValueError, IndexError):
            key, option_index = "", -1
        if key != state.get("asking"):
            await query.answer(MSG_STALE_BUTTON)
            return ASKING
        answers = FACTS[key].answers()
        if not 0 <= option_index < len(answers):
            await query.answer(MSG_STALE_BUTTON)
            return ASKING
        await query.answer()
        value, label = answers[option_index]
        await _mark_answered(query, FACTS[key].question, label)
        return await self._record(update, context, state, key, value)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        """A typed answer: numbers for number questions; option names are accepted too."""
        message = update.effective_message
        assert message is not None and message.text is not None
        state = _session(context)
        if state is None:
            if self.on_other_text is None:
                return await self._expired(update, context)
            # Long after the check was abandoned, a text is more likely a new question than an answer.
            await self._send(update, context, MSG_ENDED)
            await self.on_other_text(update, context)
            return ConversationHandler.END
        key = state.get("asking")
        if key not in FACTS:
            return await self._ask_next(update, context, state)
        spec = FACTS[key]
        try:
            value = spec.normalize(message.text)
        except ValueError as exc:
            if spec.kind == "number":
                await self._send(
                    update, context, f"No pude usar esa respuesta: {_e(str(exc))}. {_number_hint(key)}"
                )
            else:
                await self._send(update, context, MSG_USE_BUTTONS)
            return ASKING
        return await self._record(update, context, state, key, value)

    async def show_result(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        """ "Ver resultado": the result with the answers given so far."""
        query = update.callback_query
        if query is not None:
            await query.answer()
        state = _session(context)
        if state is None:
            return await self._expired(update, context)
        result = self.get_service().evaluate(state["facts"])
        return await self._finish(update, context, result)

    async def cancel(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        """/cancelar or ❌ Cancelar: stop and forget the answers."""
        if update.callback_query is not None:
            await update.callback_query.answer()
        forget_facts(context)
        await self._send(update, context, MSG_CANCELLED)
        return ConversationHandler.END

    async def reset(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        """/nueva during the check: forget the answers, end the check and run the bot's /nueva."""
        forget_facts(context)
        if self.on_reset is not None:
            await self.on_reset(update, context)
        return ConversationHandler.END

    async def on_edited(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        """An edited message during the check: the answer was already taken; say how to change it."""
        await self._send(update, context, MSG_EDITED)
        return ASKING

    async def _record(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, state: dict[str, Any], key: str, value: Any
    ) -> int:
        state["facts"][key] = value
        state["updated"] = time.monotonic()
        return await self._ask_next(update, context, state)

    async def _ask_next(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, state: dict[str, Any]
    ) -> int:
        try:
            result = self.get_service().evaluate(state["facts"])
        except InvalidFacts:
            state["facts"] = {}  # seeded facts from an older vocabulary: start clean
            result = self.get_service().evaluate({})
        question = result.next_question
        if question is None:
            return await self._finish(update, context, result)
        state["asking"] = question.fact
        text = _question_text(question, len(state["facts"]) + 1)
        await self._send(update, context, text, _question_markup(question))
        return ASKING

    async def _finish(
        self, update: Update, context: ContextTypes.DEFAULT_TYPE, result: EligibilityResult
    ) -> int:
        state = _session(context)
        if state is not None:
            state["asking"] = None
        counts = {s: sum(r.status == s for r in result.results) for s in _ORDER}
        log.info("eligibility check shown: %d answers, statuses %s", len(result.facts), counts)
        messages = format_result(result)
        again = InlineKeyboardMarkup([[InlineKeyboardButton("🔄 Empezar de nuevo", callback_data=CB_NEW)]])
        for i, text in enumerate(messages):
            await self._send(update, context, text, again if i == len(messages) - 1 else None)
        return ConversationHandler.END

    async def _expired(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        await self._send(update, context, MSG_EXPIRED)
        return await self._ask_next(update, context, _new_session(context))

    async def _send(
        self,
        update: Update,
        context: ContextTypes.DEFAULT_TYPE,
        text: str,
        markup: InlineKeyboardMarkup | None = None,
    ) -> None:
        await send_html(update, text, markup)


def _number_hint(fact: str) -> str:
    unit = FACTS[fact].unit
    unit_text = f" ({unit})" if unit else ""
    return _e(f"Escriba sólo la cantidad{unit_text}, por ejemplo: {_EXAMPLES.get(fact, '3')}.")


async def _mark_answered(query: CallbackQuery, question: str, label: str) -> None:
    """Replace the question's buttons with the chosen answer, so old buttons cannot be pressed again."""
    try:
        await query.edit_message_text(f"{_e(question)}\n➡️ <b>{_e(label)}</b>", parse_mode=ParseMode.HTML)
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
                    CallbackQueryHandler(flow.on_button, pattern=f"^{_CB_ANSWER}"),
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
