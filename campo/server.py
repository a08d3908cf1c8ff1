"""The app `campo serve` runs: the HTTP API, plus the WhatsApp webhook when the channel is configured.

Composition root: the HTTP adapter (``assistant.api``) and the channels (``bot``) never import each other;
they meet here."""

from __future__ import annotations

from fastapi import FastAPI

from assistant.api.app import create_app
from assistant.core import Assistant
from assistant.settings import Settings, get_settings
from bot.whatsapp.app import mount_whatsapp


def create_server_app(settings: Settings, assistant: Assistant | None = None) -> FastAPI:
    app = create_app(settings, assistant)
    mount_whatsapp(app, settings, app.state.assistant)
    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` (several workers): settings from the environment."""
    return create_server_app(get_settings())
