"""What every Telegram handler shares, typed: PTB's ``bot_data`` as :class:`BotData`, and the context type
:data:`CampoContext` the handlers receive."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from telegram.ext import CallbackContext, ContextTypes, ExtBot

from assistant.core import Assistant
from assistant.eligibility import EligibilityService
from assistant.settings import Settings
from assistant.state import FeedbackRecorder, RateLimit
from bot.dialogue import Dialogue


class BotData(dict[str, Any]):
    """PTB's ``bot_data`` with a typed attribute for each entry. It stays a dict (PTB builds it empty and
    may persist it), filled once by :func:`bot.app.build_application`."""

    @property
    def assistant(self) -> Assistant:
        return cast(Assistant, self["assistant"])

    @property
    def settings(self) -> Settings:
        return cast(Settings, self["settings"])

    @property
    def feedback(self) -> FeedbackRecorder:
        return cast(FeedbackRecorder, self["feedback"])

    @property
    def rate_limiter(self) -> RateLimit:
        return cast(RateLimit, self["rate_limiter"])

    @property
    def eligibility(self) -> Callable[[], EligibilityService]:
        """Returns the current eligibility rules (those of the active index version by default)."""
        return cast(Callable[[], EligibilityService], self["eligibility"])

    @property
    def dialogue(self) -> Dialogue:
        """The channel-free conversation logic over these entries."""
        return Dialogue(self.assistant, self.settings, self.feedback, self.rate_limiter, self.eligibility)

    @property
    def purged_at(self) -> float | None:
        """When expired eligibility answers were last dropped (monotonic clock)."""
        return cast(float | None, self.get("purged_at"))

    @purged_at.setter
    def purged_at(self, value: float) -> None:
        self["purged_at"] = value


CampoContext = CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]
CONTEXT_TYPES = ContextTypes(bot_data=BotData)
