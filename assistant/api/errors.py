"""Errors as JSON with one stable shape: {"error": {"code": "...", "message": "<Spanish>"}}."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.errors import (
    CampoError,
    EmptyQuestion,
    IndexNotReady,
    IngestionBusy,
    QuestionTooLong,
    VersionNotFound,
)

log = logging.getLogger(__name__)

_STATUS_MESSAGES = {
    404: "No existe ese recurso.",
    405: "Método no permitido en esta ruta.",
    413: "La solicitud es demasiado grande.",
}

_UNREADABLE_BODY = (
    "No se pudo leer el cuerpo de la solicitud: envíe JSON válido en UTF-8 (o un formulario multipart)."
)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _campo_status(exc: CampoError) -> int:
    if isinstance(exc, IndexNotReady):
        return 503
    if isinstance(exc, IngestionBusy):
        return 409
    if isinstance(exc, VersionNotFound):
        return 404
    if isinstance(exc, QuestionTooLong | EmptyQuestion):  # a question the schema accepts, e.g. "\x06"
        return 422
    return 400


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(CampoError)
    async def _campo_error(request: Request, exc: CampoError) -> JSONResponse:
        return error_response(_campo_status(exc), exc.code, exc.user_message)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        if first.get("type") == "json_invalid":
            return error_response(422, "invalid_request", _UNREADABLE_BODY)
        where = ".".join(str(x) for x in first.get("loc", ()) if x != "body")
        return error_response(
            422, "invalid_request", f"Solicitud inválida en «{where or 'cuerpo'}»: revise el formato."
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI could not parse the body (not UTF-8, broken multipart)
            return error_response(422, "invalid_request", _UNREADABLE_BODY)
        message = _STATUS_MESSAGES.get(exc.status_code, "No se pudo atender la solicitud.")
        code = "request_too_large" if exc.status_code == 413 else f"http_{exc.status_code}"
        return error_response(exc.status_code, code, message)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return error_response(
            500, "internal_error", "Ocurrió un error interno. Intente de nuevo en unos minutos."
        )
