"""The conversation every channel has, once: rate limit, the core's answer with its buttons, the
eligibility offer for "¿califico?" questions, the source of the last answer, votes, forgetting.

Blocking (the core reads disks and databases): adapters call these methods in a worker thread and turn
the :class:`~bot.render.Reply` objects into their own messages. Chat and user keys are whatever identifies
the person on the channel; the feedback store turns them into keyed pseudonyms before storing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, MutableMapping
from typing import Any

from assistant.core import Assistant
from assistant.eligibility import EligibilityService, looks_like_eligibility_question
from assistant.errors import CampoError
from assistant.models import Filters
from assistant.settings import Settings
from assistant.state import FeedbackRecorder, RateLimit
from bot import eligibility_dialogue as check
from bot.render import (
    NO_SOURCE,
    NOTIFY_GONE,
    NOTIFY_OK,
    PICK_GONE,
    RATE_LIMITED,
    Action,
    Reply,
    answer_reply,
    e,
    reviewed_notice_markup,
    source_markup,
)

log = logging.getLogger(__name__)

PROGRAM_PREFIX = "prog:"


class Dialogue:
    """Channel-free conversation logic over the core and the shared state."""

    def __init__(
        self,
        assistant: Assistant,
        settings: Settings,
        feedback: FeedbackRecorder,
        rate_limiter: RateLimit,
        eligibility: Callable[[], EligibilityService],
        channel: str = "telegram",
        notify: bool = True,
    ) -> None:
        self.assistant, self.settings = assistant, settings
        self.channel, self.notify = channel, notify  # notify: offer "🔔 tell me" on abstentions
        self.feedback, self.rate_limiter, self.eligibility = feedback, rate_limiter, eligibility

    def limited(self, user: str) -> Reply | None:
        """The "wait a minute" reply when this user asked too much, else None (a token is taken)."""
        return Reply(RATE_LIMITED) if self.rate_limiter.check(user) else None

    def answer(
        self,
        question: str,
        *,
        session: str,
        chat: int | str,
        eligibility_data: MutableMapping[Any, Any] | None = None,
        clock: check.Clock | None = None,
        filters: Filters | None = None,
    ) -> list[Reply]:
        """The core's answer (with 📄 👍 👎 unless it abstained). A "¿califico?" question also gets the
        rules engine's quick answer with a button that starts the guided check from the facts it mentions
        (only where ``eligibility_data`` is given: private conversations)."""
        try:
            answer = self.assistant.ask(
                question, session_id=session, max_chars=self.settings.bot_answer_max_chars, filters=filters
            )
        except CampoError as exc:
            return [Reply(e(exc.user_message))]
        if answer.abstained:
            self.feedback.record(chat, "abstained", question, answer.text, index_version=answer.index_version)
        review_item = self.assistant.review.observe(question, answer, self.channel)
        offer = None
        if eligibility_data is not None and clock is not None:
            offer = self.eligibility_offer(question, eligibility_data, clock)
        replies = []
        # "Not in the rules" next to an eligibility answer only confuses; "¿de cuál programa?" does not.
        if not (answer.abstained and not answer.clarify and offer):
            replies.append(answer_reply(answer, review_item if self.notify else None))
        if offer:
            replies.append(offer)
        return replies

    def eligibility_offer(
        self, question: str, data: MutableMapping[Any, Any], clock: check.Clock
    ) -> Reply | None:
        if not looks_like_eligibility_question(question):
            return None
        try:
            service = self.eligibility()
        except CampoError:
            return None
        if not service.rules:
            return None
        return check.quick_answer(service, question, data, clock)

    def pick(self, session: str, choice: str, chat: int | str) -> list[Reply]:
        """A program tapped under "¿de cuál programa me pregunta?": answered as if the producer had
        written its name (the core then asks the first question again within that program's rules)."""
        turn = self.assistant.last_turn(session)
        index = int(choice) if choice.isdigit() else -1
        if turn is None or not 0 <= index < len(turn.clarify):
            return [Reply(PICK_GONE)]
        return self.answer(turn.clarify[index], session=session, chat=chat)

    def source(self, session: str) -> Reply:
        """The full source passage of the last answer."""
        turn = self.assistant.last_turn(session)
        if turn is None or not turn.citations:
            return Reply(NO_SOURCE)
        return Reply(source_markup(turn.citations[0]))

    def vote(self, session: str, chat: int | str, vote: int) -> None:
        """👍 (+1) / 👎 (-1) on the last answer, stored for staff."""
        turn = self.assistant.last_turn(session)
        if turn is not None:
            self.feedback.record(chat, "vote", turn.question, turn.answer, vote=vote)
            if vote < 0:
                self.assistant.review.downvoted(turn.question, turn.answer, self.channel, turn.citations)

    def subscribe(self, item_id: str, chat: int | str) -> Reply:
        """ "🔔 Avísame": store this chat's consent to be sent the staff's answer to the item."""
        ok = self.assistant.review.queue.subscribe(item_id, self.channel, str(chat))
        return Reply(NOTIFY_OK if ok else NOTIFY_GONE)

    def due_notifications(self) -> list[tuple[str, str, Reply]]:
        """(item id, chat, message) for every chat that asked to be told and whose answer is now served."""
        review = self.assistant.review
        out = []
        for item_id, chat, entry_id in review.queue.due_notifications(self.channel, review.published):
            text = review.entry_text(entry_id)
            if text:
                out.append((item_id, chat, Reply(reviewed_notice_markup(text))))
        return out

    def notified(self, item_id: str, chat: str) -> None:
        self.assistant.review.queue.mark_notified(item_id, self.channel, chat)

    def programs(self) -> Reply:
        """The documents the index holds, with program and fiscal year."""
        try:
            docs, _ = self.assistant.documents_with_version()
        except CampoError as exc:
            return Reply(e(exc.user_message))
        lines = [f"• {e(d.title)} — {e(d.program_name or d.program)}, {d.fiscal_year or 's/f'}" for d in docs]
        return Reply("<b>Reglas que conozco:</b>\n" + "\n".join(lines))

    def program_menu(self) -> Reply:
        """The programs (components) of the index as choices ``prog:<component>`` (at most 9, and "all"),
        to have the next questions answered from that program's rules only."""
        try:
            docs, _ = self.assistant.documents_with_version()
        except CampoError as exc:
            return Reply(e(exc.user_message))
        names: dict[str, str] = {}
        for d in docs:
            if d.component and d.program != "general" and d.component not in names:
                names[d.component] = d.component_name or d.title
        actions = [
            Action(f"{PROGRAM_PREFIX}{code}", name, description=name if len(name) > 24 else "")
            for code, name in list(names.items())[:9]
        ]
        actions.append(Action(f"{PROGRAM_PREFIX}*", "Todos los programas"))
        return Reply(
            "¿Sobre qué programa quiere preguntar? Elija uno y le respondo solo con sus reglas.",
            tuple(actions),
            inline=False,
            heading="Programas",
        )

    def program_name(self, component: str) -> str:
        try:
            docs, _ = self.assistant.documents_with_version()
        except CampoError:
            return component
        return next((d.component_name or d.title for d in docs if d.component == component), component)

    def forget(self, session: str) -> None:
        self.assistant.forget(session)
