"""The guided eligibility check, channel-free: a state machine over one user's answers, and the texts.

It asks the engine's next question until every component is decided, then lists them with ✅ / 🟡 / ❓ /
❌, a one-line reason and its source. A channel keeps the user's answers in a mutable mapping (``data``,
key :data:`ELIGIBILITY_KEY`) — Telegram in PTB's ``user_data`` (memory), WhatsApp in the state backend
with a 30-minute expiry — and turns each :class:`Step`'s replies into messages. Answers are never logged
(only counts are) and are dropped :data:`MAX_AGE_SECONDS` after the last one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

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
from bot.render import Action, Reply, e

log = logging.getLogger(__name__)

ELIGIBILITY_KEY = "eligibility"
MAX_AGE_SECONDS = 30 * 60
MAX_MESSAGE = 4096
PHONE_MESSAGE = 1600  # result messages are split near this size: about two phone screens each

CB_START = "elg:start"  # offered under a free-text answer: keeps facts already seeded from that question
CB_NEW = "elg:new"  # "empezar de nuevo": fresh
CB_CANCEL = "elg:cancel"
CB_RESULT = "elg:result"
CB_ANSWER = "elg:a:"  # elg:a:<fact index>:<option index>

FACT_KEYS = list(FACTS)
ICONS = {"elegible": "✅", "posiblemente_elegible": "🟡", "falta_informacion": "❓", "no_elegible": "❌"}
ORDER = {"elegible": 0, "posiblemente_elegible": 1, "falta_informacion": 2, "no_elegible": 3}
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


@dataclass(frozen=True)
class Words:
    """How a channel names the check's commands inside the texts."""

    check: str  # starts the check: "/elegibilidad" or «califico»
    cancel: str  # "/cancelar" or «cancelar»
    pick: str  # where the options are: "con los botones de la pregunta"


TELEGRAM_WORDS = Words("/elegibilidad", "/cancelar", "con los botones de la pregunta")

CANCELLED = "Listo, cancelé la revisión y borré sus respuestas. Escriba {check} para empezar otra vez."
EXPIRED = (
    "La revisión anterior venció (pasaron más de 30 minutos) y borré sus respuestas. Empecemos de nuevo."
)
ENDED = (
    "La revisión de elegibilidad anterior venció y borré sus respuestas; escriba {check} para "
    "empezar otra vez."
)
STALE_BUTTON = "Esa pregunta ya no está activa."
USE_BUTTONS = "Por favor, elija una de las opciones {pick} (o escriba {cancel} para salir)."
NO_RULES = (
    "Todavía no tengo cargadas reglas para revisar si califica. Pregunte en la ventanilla de su estado."
)
INTRO = (
    "Vamos a revisar a qué apoyos podría entrar, según las reglas de cada programa. "
    "Le haré unas preguntas cortas; puede cancelar cuando quiera con {cancel}."
)
NO_DOCUMENTS = "el documento no detalla los requisitos; pregunte en la ventanilla"


def text(template: str, words: Words) -> str:
    return template.format(check=words.check, cancel=words.cancel, pick=words.pick)


# --- Answers kept for one user --------------------------------------------------------------------

Clock = Callable[[], float]


def current(data: MutableMapping[Any, Any] | None, clock: Clock = time.monotonic) -> dict[str, Any] | None:
    """The user's check if younger than MAX_AGE_SECONDS; older answers are dropped."""
    if data is None:
        return None
    state = data.get(ELIGIBILITY_KEY)
    if not isinstance(state, dict):
        return None
    if clock() - state.get("updated", 0.0) > MAX_AGE_SECONDS:
        data.pop(ELIGIBILITY_KEY, None)
        return None
    return state


def fresh(
    data: MutableMapping[Any, Any] | None, facts: dict[str, Any] | None = None, clock: Clock = time.monotonic
) -> dict[str, Any]:
    state: dict[str, Any] = {"facts": dict(facts or {}), "asking": None, "updated": clock()}
    if data is not None:
        data[ELIGIBILITY_KEY] = state
    return state


def forget(data: MutableMapping[Any, Any] | None) -> None:
    """Drop every eligibility answer of this user."""
    if data is not None:
        data.pop(ELIGIBILITY_KEY, None)


def seed(
    data: MutableMapping[Any, Any] | None, facts: dict[str, Any], clock: Clock = time.monotonic
) -> dict[str, Any]:
    """Keep facts found in a free-text question so the offered guided check starts from them.

    Added to the answers of a check still in progress (a new statement wins), so a question typed in the
    middle of the check does not lose them. Returns every fact now known."""
    state = current(data, clock)
    if state is None:
        state = fresh(data, facts, clock)
    else:
        state["facts"].update(facts)
        state["updated"] = clock()
    state["seeded"] = True
    return dict(state["facts"])


def purge_expired(user_data: Mapping[Any, dict[Any, Any]], clock: Clock = time.monotonic) -> int:
    """Drop every user's answers older than MAX_AGE_SECONDS (also of users who never came back)."""
    now = clock()
    dropped = 0
    for data in list(user_data.values()):
        state = data.get(ELIGIBILITY_KEY)
        if isinstance(state, dict) and now - state.get("updated", 0.0) > MAX_AGE_SECONDS:
            data.pop(ELIGIBILITY_KEY, None)
            dropped += 1
    return dropped


# --- Texts -----------------------------------------------------------------------------------------


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _component_block(result: ComponentResult) -> str:
    header = f"{ICONS[result.status]} <b>{e(_cut(result.name, 200))}</b>"
    if not result.summary.text.lower().startswith(result.status_label.lower()):
        header += f" — {e(result.status_label)}"
    lines = [header, e(_cut(result.summary.text, 600)), f"📄 {e(_cut(result.summary.citation.label, 200))}"]
    if result.status in ("elegible", "posiblemente_elegible"):
        docs = [d.text for d in result.required_documents]
        if docs:
            lines.append("📎 Documentos:")
            room = 2500
            for doc in docs:  # one per line: a list a producer can take to the ventanilla
                item = f"• {e(_cut(doc, 300))}"
                if len(item) > room:
                    lines.append("• …")
                    break
                lines.append(item)
                room -= len(item)
            lines.append(
                f"    📄 {e(_cut(compact_sources([d.citation.label for d in result.required_documents]), 300))}"
            )
        else:
            lines.append(f"📎 Documentos: {e(NO_DOCUMENTS)}")
        lines.append(f"💰 Apoyo: {e(_cut(result.support.text, 500))}")
        lines.append(f"    📄 {e(result.support.citation.label)}")
    return "\n".join(lines)


def _rejected_line(result: ComponentResult) -> str:
    """One line per program the answers rule out: name, the reason, its source."""
    return (
        f"❌ <b>{e(_cut(result.name, 200))}</b>: {e(_cut(result.summary.text, 250))} "
        f"(📄 {e(_cut(result.summary.citation.label, 200))})"
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
    current_message = ""
    for block in blocks:
        block = block if len(block) <= limit else block[:limit]  # blocks are bounded; this is a safety net
        candidate = f"{current_message}\n\n{block}" if current_message else block
        if len(candidate) <= min(soft, limit) or not current_message:
            current_message = candidate
        else:
            messages.append(current_message)
            current_message = block
    if current_message:
        messages.append(current_message)
    return messages


def format_result(result: EligibilityResult) -> list[str]:
    """The result as markup messages (each at most 4096 characters)."""
    ordered = sorted(result.results, key=lambda r: ORDER[r.status])
    blocks = ["<b>Resultado de la revisión</b>\nSegún sus respuestas, programa por programa:"]
    blocks += [_component_block(r) for r in ordered if r.status != "no_elegible"]
    rejected = [_rejected_line(r) for r in ordered if r.status == "no_elegible"]
    if rejected:
        rejected[0] = "<b>No aplica, según sus respuestas:</b>\n" + rejected[0]
    blocks += rejected
    blocks.append(f"<i>{e(result.disclaimer)}</i>")
    return _pack(blocks)


def format_quick_answer(result: EligibilityResult) -> str:
    """A short answer to a free-text eligibility question, from the facts it mentions."""
    lines = []
    facts = describe_facts(result.facts)
    if facts:
        lines.append(f"Con lo que me dice ({e(', '.join(facts))}), según las reglas:")
    else:
        lines.append("Para saber si califica necesito algunos datos suyos.")
    decided = [r for r in result.results if r.status in ("elegible", "posiblemente_elegible")]
    for r in sorted(decided, key=lambda r: ORDER[r.status]):
        lines.append(
            f"{ICONS[r.status]} <b>{e(r.name)}</b>: {e(_cut(r.summary.text, 300))} (📄 {e(r.summary.citation.label)})"
        )
    rejected = [r for r in result.results if r.status == "no_elegible"]
    if rejected:  # names only: the guided check gives each reason with its source
        names = "; ".join(e(_cut(r.name, 120)) for r in rejected)
        lines.append(f"❌ Por lo que me dice, no aplica a: {names}.")
    pending = len(result.results) - len(decided) - len(rejected)
    if pending:
        lines.append(f"❓ Para {pending} programa(s) me faltan datos.")
    lines.append("Toque el botón y le hago las preguntas necesarias, una por una.")
    lines.append(f"<i>{e(result.disclaimer)}</i>")
    return _cut("\n".join(lines), MAX_MESSAGE)


START_ACTION = Action(CB_START, "✅ Revisar si califico", short="✅ Revisar")
RESULT_ACTION = Action(CB_RESULT, "📋 Ver resultado")
CANCEL_ACTION = Action(CB_CANCEL, "❌ Cancelar")
AGAIN_ACTION = Action(CB_NEW, "🔄 Empezar de nuevo")


def quick_answer(
    service: EligibilityService, question: str, data: MutableMapping[Any, Any] | None, clock: Clock
) -> Reply:
    """Answer + start button for a free-text eligibility question; seeds the facts it mentions."""
    known = seed(data, extract_facts(question), clock)
    try:
        result = service.evaluate(known)
    except InvalidFacts:  # answers from an older rules vocabulary: keep only what this text says
        forget(data)
        known = seed(data, extract_facts(question), clock)
        result = service.evaluate(known)
    return Reply(format_quick_answer(result), (START_ACTION,))


def number_hint(fact: str) -> str:
    unit = FACTS[fact].unit
    unit_text = f" ({unit})" if unit else ""
    return e(f"Escriba sólo la cantidad{unit_text}, por ejemplo: {_EXAMPLES.get(fact, '3')}.")


def question_reply(question: Question, number: int) -> Reply:
    """The question, its closed answers (in one row for sí/no) and "ver resultado" / "cancelar"."""
    body = f"<b>Pregunta {number}.</b> {e(question.text)}"
    if question.kind == "number":
        body += f"\n<i>{number_hint(question.fact)}</i>"
    index = FACT_KEYS.index(question.fact)
    options = tuple(
        Action(f"{CB_ANSWER}{index}:{i}", option.label) for i, option in enumerate(question.options)
    )
    return Reply(
        body, options, (RESULT_ACTION, CANCEL_ACTION), inline=question.kind == "yes_no", heading="Opciones"
    )


# --- The state machine -----------------------------------------------------------------------------


@dataclass
class Step:
    """What to send, and whether a question now waits for its answer."""

    replies: list[Reply]
    asking: bool


class EligibilityDialogue:
    """The check's moves over one user's ``data``; ``get_service`` is called on every step (rules can be
    reloaded with a new index version)."""

    def __init__(self, get_service: Callable[[], EligibilityService], words: Words, clock: Clock) -> None:
        self.get_service, self.words, self.clock = get_service, words, clock

    def say(self, template: str) -> Reply:
        return Reply(text(template, self.words))

    def start(self, data: MutableMapping[Any, Any], *, keep_seeded: bool) -> Step:
        """(Re)start; ``keep_seeded``: begin from the facts of the question that offered the check."""
        if not self.get_service().rules:
            return Step([self.say(NO_RULES)], False)
        seeded: dict[str, Any] = {}
        state = current(data, self.clock)
        if keep_seeded and state and state.get("seeded"):
            seeded = state["facts"]
        state = fresh(data, seeded, self.clock)
        step = self.next(data, state)
        return Step([self.say(INTRO), *step.replies], step.asking)

    def choice(self, data: MutableMapping[Any, Any], action_id: str) -> tuple[str, Any, str] | None:
        """(fact, value, label) of a tapped answer to the question asked now; None if stale."""
        state = current(data, self.clock)
        try:
            fact_index, option_index = (int(x) for x in action_id.removeprefix(CB_ANSWER).split(":"))
            key = FACT_KEYS[fact_index]
        except (ValueError, IndexError):
            return None
        if state is None or key != state.get("asking"):
            return None
        answers = FACTS[key].answers()
        if not 0 <= option_index < len(answers):
            return None
        value, label = answers[option_index]
        return key, value, label

    def record(self, data: MutableMapping[Any, Any], key: str, value: Any) -> Step:
        state = current(data, self.clock) or fresh(data, None, self.clock)
        state["facts"][key] = value
        state["updated"] = self.clock()
        return self.next(data, state)

    def typed(self, data: MutableMapping[Any, Any], state: dict[str, Any], answer: str) -> Step:
        """A typed answer: numbers for number questions; option names are accepted too."""
        key = state.get("asking")
        if key not in FACTS:
            return self.next(data, state)
        spec = FACTS[key]
        try:
            value = spec.normalize(answer)
        except ValueError as exc:
            if spec.kind == "number":
                return Step([Reply(f"No pude usar esa respuesta: {e(str(exc))}. {number_hint(key)}")], True)
            return Step([self.say(USE_BUTTONS)], True)
        return self.record(data, key, value)

    def result(self, data: MutableMapping[Any, Any]) -> Step:
        """ "Ver resultado": the result with the answers given so far."""
        state = current(data, self.clock)
        if state is None:
            return self.expired(data)
        return self.finish(data, self.get_service().evaluate(state["facts"]))

    def cancel(self, data: MutableMapping[Any, Any]) -> Step:
        forget(data)
        return Step([self.say(CANCELLED)], False)

    def expired(self, data: MutableMapping[Any, Any]) -> Step:
        step = self.next(data, fresh(data, None, self.clock))
        return Step([self.say(EXPIRED), *step.replies], step.asking)

    def next(self, data: MutableMapping[Any, Any], state: dict[str, Any]) -> Step:
        """The next question, or the result when every component is decided."""
        try:
            result = self.get_service().evaluate(state["facts"])
        except InvalidFacts:
            state["facts"] = {}  # seeded facts from an older vocabulary: start clean
            result = self.get_service().evaluate({})
        question = result.next_question
        if question is None:
            return self.finish(data, result)
        state["asking"] = question.fact
        return Step([question_reply(question, len(state["facts"]) + 1)], True)

    def finish(self, data: MutableMapping[Any, Any], result: EligibilityResult) -> Step:
        state = current(data, self.clock)
        if state is not None:
            state["asking"] = None
        counts = {s: sum(r.status == s for r in result.results) for s in ORDER}
        log.info("eligibility check shown: %d answers, statuses %s", len(result.facts), counts)
        messages = format_result(result)
        replies = [Reply(m) for m in messages[:-1]] + [Reply(messages[-1], (AGAIN_ACTION,))]
        return Step(replies, False)
