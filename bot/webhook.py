"""Webhook mode: a small Starlette app, served by uvicorn, that receives Telegram's POSTs.

Every POST must carry the secret token given to setWebhook in ``X-Telegram-Bot-Api-Secret-Token``
(compared in constant time; otherwise 403). Accepted updates go to the Application's update queue, so they
are processed exactly like polled ones (same per-chat ordering and concurrency). setWebhook is called at
start-up and deleteWebhook at shutdown.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

from assistant.settings import Settings

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]
MAX_BODY_BYTES = 1024 * 1024  # an update is a few KB; anything bigger is not from Telegram
HEALTH_PATH = "/healthz"
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what Telegram accepts as secret_token


class WebhookConfigError(ValueError):
    """Webhook settings Telegram would refuse; the message is for the operator (Spanish)."""


def webhook_secret(settings: Settings) -> str:
    """The configured secret token, or a random one for this run (we call setWebhook ourselves)."""
    configured = settings.telegram_webhook_secret.get_secret_value()
    if not configured:
        return secrets.token_urlsafe(32)
    if not _SECRET.match(configured):
        raise WebhookConfigError(
            "CAMPO_TELEGRAM_WEBHOOK_SECRET solo puede tener letras, números, _ y - (de 1 a 256 caracteres)."
        )
    return configured


def webhook_path(url: str) -> str:
    """The path Telegram will POST to (the reverse proxy forwards it unchanged)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise WebhookConfigError(
            "CAMPO_TELEGRAM_WEBHOOK_URL debe ser una dirección completa, por ejemplo "
            "https://campo.example.org/telegram"
        )
    path = parts.path or "/"
    if path == HEALTH_PATH:
        raise WebhookConfigError(f"CAMPO_TELEGRAM_WEBHOOK_URL no puede terminar en {HEALTH_PATH}.")
    return path


def create_webhook_app(
    application: Application[Any, Any, Any, Any, Any, Any],
    *,
    url: str,
    secret: str,
    drop_pending_updates: bool = False,
) -> Starlette:
    """ASGI app: POST <path of url> for Telegram, GET /healthz for the proxy; runs the Application."""
    path = webhook_path(url)
    expected = secret.encode()

    async def receive(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            log.warning("webhook request refused: missing or wrong secret token")
            return PlainTextResponse("Forbidden", status_code=403)
        if int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:
            return PlainTextResponse("Payload Too Large", status_code=413)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return PlainTextResponse("Payload Too Large", status_code=413)
        try:
            data = json.loads(body)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an update")
            update = Update.de_json(data, application.bot)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            log.warning("webhook request refused: not a valid update (%s)", type(exc).__name__)
            return PlainTextResponse("Bad Request", status_code=400)
        await application.update_queue.put(update)
        return Response(status_code=200)

    async def health(request: Request) -> Response:
        return PlainTextResponse(
            "ok" if application.running else "starting", 200 if application.running else 503
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with application:
            await application.start()
            await application.bot.set_webhook(
                url=url,
                secret_token=secret,
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=drop_pending_updates,
            )
            log.info("webhook set for %s", urlsplit(url).netloc)
            try:
                yield
            finally:
                try:
                    await application.bot.delete_webhook()
                    log.info("webhook deleted")
                except TelegramError as exc:
                    log.warning("could not delete the webhook: %s", exc)
                await application.stop()

    return Starlette(
        routes=[
            Route(path, receive, methods=["POST"]),
            Route(HEALTH_PATH, health, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def serve_webhook(
    application: Application[Any, Any, Any, Any, Any, Any], settings: Settings, secret: str
) -> None:
    """Blocking: uvicorn on CAMPO_TELEGRAM_WEBHOOK_LISTEN:PORT until SIGINT/SIGTERM."""
    import uvicorn

    app = create_webhook_app(application, url=settings.telegram_webhook_url, secret=secret)
    uvicorn.run(
        app,
        host=settings.telegram_webhook_listen,
        port=settings.telegram_webhook_port,
        lifespan="on",
        log_config=None,  # uvicorn's records go through the root handlers (and their redaction filter)
        log_level="warning",
        access_log=False,  # client addresses are not needed, and the path may be a secret
    )
