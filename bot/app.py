"""Builds and runs the Telegram Application (the only module that sets up telegram's networking)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest

from assistant.core import Assistant
from assistant.eligibility import EligibilityService
from assistant.redact import install_log_redaction
from assistant.settings import Settings
from assistant.state import FeedbackRecorder, RateLimit, make_feedback_store, make_rate_limiter
from bot import handlers
from bot.context import CONTEXT_TYPES
from bot.eligibility_flow import build_eligibility_handler
from bot.ordering import PerChatUpdateProcessor
from bot.webhook import ALLOWED_UPDATES, WebhookConfigError, serve_webhook, webhook_path, webhook_secret

log = logging.getLogger(__name__)


def build_application(
    settings: Settings,
    assistant: Assistant,
    *,
    feedback_store: FeedbackRecorder | None = None,
    eligibility: Callable[[], EligibilityService] | None = None,
    rate_limiter: RateLimit | None = None,
) -> Application:  # type: ignore[type-arg]
    """The PTB Application with every handler registered; token and Bot API URL from settings.

    ``eligibility`` returns the current rules (default: those of the assistant's active index version);
    ``feedback_store`` and ``rate_limiter`` default to the configured state backend's."""
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
        .concurrent_updates(PerChatUpdateProcessor())  # chats in parallel, one chat in order
        .context_types(CONTEXT_TYPES)  # bot_data is a typed BotData
        .build()
    )
    app.bot_data.update(
        assistant=assistant,
        settings=settings,
        feedback=feedback_store or make_feedback_store(settings),
        rate_limiter=rate_limiter or make_rate_limiter(settings, "bot"),
        eligibility=eligibility or assistant.eligibility,
    )
    app.add_handler(TypeHandler(object, handlers.before_every_update), group=-1)
    # First in its group: while it waits for an answer, short texts and /nueva go to the check. The flow
    # is typed for PTB's default context and hands ours through unchanged.
    app.add_handler(
        build_eligibility_handler(
            lambda: app.bot_data.eligibility(),
            on_reset=handlers.new_conversation,  # type: ignore[arg-type]
            on_other_text=handlers.question,  # type: ignore[arg-type]
        )
    )
    app.add_handler(CommandHandler("start", handlers.start))
    app.add_handler(CommandHandler("ayuda", handlers.help_command))
    app.add_handler(CommandHandler("help", handlers.help_command))
    app.add_handler(CommandHandler("programas", handlers.programs))
    app.add_handler(CommandHandler("nueva", handlers.new_conversation))
    app.add_handler(CommandHandler("fuente", handlers.source))
    app.add_handler(CallbackQueryHandler(handlers.source, pattern=r"^src$"))
    app.add_handler(CallbackQueryHandler(handlers.feedback, pattern=r"^fb:[+-]1$"))
    app.add_handler(CallbackQueryHandler(handlers.notify_me, pattern=r"^notify:[0-9a-f]{1,32}$"))
    app.add_handler(CallbackQueryHandler(handlers.pick, pattern=r"^pick:[0-9]$"))
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
    if app.job_queue is not None:  # python-telegram-bot[job-queue]
        interval = settings.review_notify_seconds
        app.job_queue.run_repeating(handlers.send_reviewed_answers, interval=interval, first=interval)
    return app


def run_bot(settings: Settings, assistant: Assistant | None = None) -> int:
    """`campo bot`: long polling, or a webhook when CAMPO_TELEGRAM_WEBHOOK_URL is set."""
    if not settings.telegram_bot_token.get_secret_value():
        print("Falta TELEGRAM_BOT_TOKEN: cree el bot con @BotFather y defina el token.", file=sys.stderr)
        return 2
    secret = ""
    if settings.telegram_webhook_url:
        try:
            webhook_path(settings.telegram_webhook_url)
            secret = webhook_secret(settings)
        except WebhookConfigError as exc:
            print(str(exc), file=sys.stderr)
            return 2
    install_log_redaction()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    app = build_application(settings, assistant or Assistant(settings))
    if settings.telegram_webhook_url:
        log.info(
            "starting in webhook mode on %s:%d",
            settings.telegram_webhook_listen,
            settings.telegram_webhook_port,
        )
        serve_webhook(app, settings, secret)
    else:
        log.info("starting in long-polling mode")
        app.run_polling(allowed_updates=ALLOWED_UPDATES)
    return 0
