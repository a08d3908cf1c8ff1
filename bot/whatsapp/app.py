"""Wiring of the WhatsApp channel: from settings to a channel and its webhook routes on an app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from assistant.core import Assistant
from assistant.eligibility import EligibilityService
from assistant.settings import Settings
from assistant.state import (
    EphemeralStore,
    FeedbackRecorder,
    RateLimit,
    make_ephemeral_store,
    make_feedback_store,
    make_rate_limiter,
)
from bot.asr import transcribe
from bot.dialogue import Dialogue
from bot.whatsapp.channel import Transcriber, WhatsAppChannel
from bot.whatsapp.client import GraphClient
from bot.whatsapp.webhook import whatsapp_router

log = logging.getLogger(__name__)

REQUIRED = {
    "CAMPO_WHATSAPP_TOKEN": "whatsapp_token",
    "CAMPO_WHATSAPP_PHONE_ID": "whatsapp_phone_id",
    "CAMPO_WHATSAPP_APP_SECRET": "whatsapp_app_secret",
    "CAMPO_WHATSAPP_VERIFY_TOKEN": "whatsapp_verify_token",
}


def missing_settings(settings: Settings) -> list[str]:
    """The channel's settings still empty (all empty = the channel is simply off)."""
    out = []
    for variable, name in REQUIRED.items():
        value: Any = getattr(settings, name)
        if not (value.get_secret_value() if hasattr(value, "get_secret_value") else value):
            out.append(variable)
    return out


def build_channel(
    settings: Settings,
    assistant: Assistant,
    *,
    feedback_store: FeedbackRecorder | None = None,
    rate_limiter: RateLimit | None = None,
    eligibility: Callable[[], EligibilityService] | None = None,
    store: EphemeralStore | None = None,
    transcriber: Transcriber | None = transcribe,
) -> WhatsAppChannel:
    """The channel over the configured state backend (or the given parts); rate limits as on Telegram."""
    dialogue = Dialogue(
        assistant,
        settings,
        feedback_store or make_feedback_store(settings),
        rate_limiter or make_rate_limiter(settings, "bot"),
        eligibility or assistant.eligibility,
        channel="whatsapp",
        notify=False,  # no "🔔 tell me": outside the 24-hour window only templates may be sent (docs/review.md)
    )
    return WhatsAppChannel(
        settings,
        dialogue,
        GraphClient(settings),
        store or make_ephemeral_store(settings, "whatsapp"),
        transcriber,
    )


def mount_whatsapp(
    app: FastAPI, settings: Settings, assistant: Assistant, **parts: Any
) -> WhatsAppChannel | None:
    """Add GET/POST /v1/whatsapp/webhook to ``app`` when the four settings are set (the channel is also
    ``app.state.whatsapp``); it finishes its messages and closes its connections when the app shuts down."""
    missing = missing_settings(settings)
    if len(missing) == len(REQUIRED):
        return None
    if missing:
        log.warning("WhatsApp channel off: %s not set", ", ".join(missing))
        return None
    channel = build_channel(settings, assistant, **parts)
    app.state.whatsapp = channel
    app.include_router(whatsapp_router(settings, channel))
    previous = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(target: Any) -> AsyncIterator[Any]:
        async with previous(target) as state:
            try:
                yield state
            finally:
                await channel.aclose()

    app.router.lifespan_context = lifespan
    log.info("WhatsApp channel on at /v1/whatsapp/webhook")
    return channel
