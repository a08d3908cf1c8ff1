"""Checks made before the app reads a request body: the admin token, and the body size limit.

FastAPI resolves a route's body before its dependencies run, so without this an unauthenticated
client could make the server parse (and spool) a 25 MB multipart upload before hearing "401"; and a
chunked body (no Content-Length) was read into memory whole, whatever ``CAMPO_MAX_REQUEST_BYTES`` said.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.api.deps import admin_token_ok
from assistant.api.errors import error_response
from assistant.settings import Settings

ADMIN_PREFIX = "/v1/admin"
ADMIN_PREFIXES = (ADMIN_PREFIX, "/v1/review")  # the staff's review routes need the admin token too
TOO_LARGE = "La solicitud es demasiado grande."


class _BodyTooLarge(HTTPException):
    """Raised from ``receive``; an HTTPException so FastAPI re-raises it instead of answering 400."""

    def __init__(self) -> None:
        super().__init__(413, TOO_LARGE)


class RequestGuard:
    """Pure ASGI middleware: 401 for admin paths without the token, 413 for bodies over the limit."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        path: str = scope.get("path", "")
        admin_path = any(path == p or path.startswith(p + "/") for p in ADMIN_PREFIXES)
        if (
            admin_path
            and self.settings.admin_token.get_secret_value()
            and not admin_token_ok(self.settings, headers.get(b"authorization", b"").decode("latin-1"))
        ):
            response = error_response(
                401,
                "unauthorized",
                "Token de administración inválido.",
                headers={"WWW-Authenticate": "Bearer"},
            )
            await response(scope, receive, send)
            return
        limit = self.settings.max_request_bytes
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await error_response(413, "request_too_large", TOO_LARGE)(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if started:
                raise
            await error_response(413, "request_too_large", TOO_LARGE)(scope, receive, send)
