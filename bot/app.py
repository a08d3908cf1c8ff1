"""Builds and runs the Telegram Application (the only module that sets up telegram's networking)."""

from __future__ import annotations

import logging
import sys

from telegram import Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from assistant.core import Assistant
from assistant.feedback import FeedbackStore
from assistant.ratelimit import RateLimiter
from assistant.redact import RedactingFilter
from assistant.settings import Settings
from bot import handlers

log = logging.getLogger(__name__)


def build_application(
    settings: Settings, assistant: Assistant, *, feedback_store: FeedbackStore | None = None
) -> Application:  # type: ignore[type-arg]
    """The PTB Application with every handler registered; token and Bot API URL from settings."""
    token = settings.telegram_bot_token.get_secret_value()
    base = settings.telegram_api_url.rstrip("/")
    file_base = base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base + "/file"
    app = (
        Application.builder()
        .token(token)
        .base_url(base)
        .base_file_url(file_base)
        .request(HTTPXRequest(connect_timeout=10, read_timeout=20, write_timeout=20, connection_pool_size=16))
        .get_updates_request(HTTPXRequest(connect_timeout=10, read_timeout=40))
        .rate_limiter(AIORateLimiter(max_retries=3))
        .concurrent_updates(True)
        .build()
    )
    app.bot_data.update(
        assistant=assistant,
        settings=settings,
        feedback=feedback_store or FeedbackStore(settings.state_db),
        rate_limiter=RateLimiter(settings.bot_rate_limit_per_minute),
    )
    app.add_handler(CommandHandler("start", handlers.start))
    app.add_handler(CommandHandler("ayuda", handlers.help_command))
    app.add_handler(CommandHandler("help", handlers.help_command))
    app.add_handler(CommandHandler("programas", handlers.programs))
    app.add_handler(CommandHandler("nueva", handlers.new_conversation))
    app.add_handler(CommandHandler("fuente", handlers.source))
    app.add_handler(CallbackQueryHandler(handlers.source, pattern=r"^src$"))
    app.add_handler(CallbackQueryHandler(handlers.feedback, pattern=r"^fb:[+-]1$"))
    app.add_handler(MessageHandler(filters.VOICE, handlers.voice))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, handlers.question))
    app.add_handler(
        MessageHandler(
            filters.PHOTO
            | filters.Sticker.ALL
            | filters.Document.ALL
            | filters.LOCATION
            | filters.VIDEO
            | filters.AUDIO
            | filters.CONTACT,
            handlers.non_text,
        )
    )
    app.add_error_handler(handlers.on_error)
    return app


def run_bot(settings: Settings) -> int:
    """`campo bot`: long polling, or a webhook when CAMPO_TELEGRAM_WEBHOOK_URL is set."""
    if not settings.telegram_bot_token.get_secret_value():
        print("Falta TELEGRAM_BOT_TOKEN: cree el bot con @BotFather y defina el token.", file=sys.stderr)
        return 2
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactingFilter())
    logging.getLogger("httpx").setLevel(logging.WARNING)
    app = build_application(settings, Assistant(settings))
    if settings.telegram_webhook_url:
        app.run_webhook(
            listen=settings.telegram_webhook_listen,
            port=settings.telegram_webhook_port,
            webhook_url=settings.telegram_webhook_url,
            secret_token=settings.telegram_webhook_secret.get_secret_value() or None,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0
