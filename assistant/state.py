"""Shared state — conversations, rate limits, feedback, short-lived keys — behind one setting, ``CAMPO_STATE_BACKEND``.

* ``sqlite`` (default): files under ``CAMPO_DATA_DIR`` (``state.sqlite3``, ``ratelimits.sqlite3``). Every
  process on the machine sees the same state, so any number of API workers and the bot agree.
* ``redis``: one Redis server at ``CAMPO_REDIS_URL``, for several machines. Keys start with
  ``CAMPO_REDIS_PREFIX``; conversations and rate-limit buckets expire by themselves (Redis TTL).

What adapters use. The layers below it import nothing from here: connections live in
:mod:`assistant.storage`, each store with its factory in :mod:`assistant.sessions`,
:mod:`assistant.ratelimit` and :mod:`assistant.feedback`.
"""

from __future__ import annotations

from assistant.ephemeral import EphemeralStore, make_ephemeral_store
from assistant.feedback import FeedbackRecorder, export_feedback, make_feedback_store
from assistant.ratelimit import RateLimit, make_rate_limiter
from assistant.sessions import SessionStore, make_session_store
from assistant.settings import Settings
from assistant.storage import Outage, open_sqlite, pseudonym_key, redis_client

__all__ = [
    "EphemeralStore",
    "FeedbackRecorder",
    "Outage",
    "RateLimit",
    "SessionStore",
    "export_feedback",
    "make_ephemeral_store",
    "make_feedback_store",
    "make_rate_limiter",
    "make_session_store",
    "open_sqlite",
    "pseudonym_key",
    "redis_client",
    "state_backend_status",
]


def state_backend_status(settings: Settings) -> str:
    """'sqlite', 'redis' or 'redis-unreachable'. A Redis outage degrades (no follow-ups, no rate limit,
    feedback to the log) but questions are still answered."""
    if settings.state_backend != "redis":
        return "sqlite"
    try:
        redis_client(settings).ping()
    except Exception:
        return "redis-unreachable"
    return "redis"
