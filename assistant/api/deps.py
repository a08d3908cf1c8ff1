"""Dependencies of the routers: the core, auth checks and the per-client rate limit."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from assistant.api.errors import ApiError
from assistant.core import Assistant
from assistant.settings import Settings


def get_assistant(request: Request) -> Assistant:
    return request.app.state.assistant  # type: ignore[no-any-return]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


AssistantDep = Annotated[Assistant, Depends(get_assistant)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def staff_access(request: Request, settings: SettingsDep) -> None:
    """API key (when configured) and rate limit for the query routes."""
    keys = [k.strip() for k in settings.api_keys.split(",") if k.strip()]
    given = request.headers.get("x-api-key", "")
    if keys and not any(hmac.compare_digest(given.encode(), k.encode()) for k in keys):
        raise ApiError(401, "unauthorized", "Falta una clave de API válida (encabezado X-API-Key).")
    client = given or (request.client.host if request.client else "unknown")
    wait = request.app.state.rate_limiter.check(client)
    if wait:
        raise ApiError(
            429,
            "rate_limited",
            "Demasiadas solicitudes. Espere un momento e intente de nuevo.",
            headers={"Retry-After": str(int(wait) + 1)},
        )


def admin_token_ok(settings: Settings, authorization: str) -> bool:
    """Whether an Authorization header carries the admin bearer token (constant-time comparison)."""
    expected = settings.admin_token.get_secret_value()
    token = authorization[7:] if authorization.lower().startswith("bearer ") else ""
    return bool(expected) and hmac.compare_digest(token.encode(), expected.encode())


def admin_access(request: Request, settings: SettingsDep) -> None:
    """Bearer token compared in constant time."""
    if not admin_token_ok(settings, request.headers.get("authorization", "")):
        raise ApiError(
            401,
            "unauthorized",
            "Token de administración inválido.",
            headers={"WWW-Authenticate": "Bearer"},
        )
