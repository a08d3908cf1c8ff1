"""Meta's webhook contract for the WhatsApp Cloud API, as routes of ``campo serve``.

* ``GET /v1/whatsapp/webhook`` — the verification handshake: with ``hub.mode=subscribe`` and the
  configured ``hub.verify_token``, the body of the answer is ``hub.challenge``; anything else gets 403.
* ``POST /v1/whatsapp/webhook`` — notifications. The raw body must carry ``X-Hub-Signature-256:
  sha256=<HMAC-SHA256 of the body with the app secret>`` (compared in constant time): missing → 401,
  wrong → 403, and nothing is processed. A signed notification is answered 200 at once; its messages are
  handled in the background (:meth:`bot.whatsapp.channel.WhatsAppChannel.submit`), so Meta does not time
  out and redeliver while an answer is being composed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from assistant.settings import Settings

log = logging.getLogger(__name__)

PATH = "/v1/whatsapp/webhook"
SIGNATURE_HEADER = "X-Hub-Signature-256"


@dataclass(frozen=True)
class Incoming:
    """One message a person sent to the business number."""

    message_id: str
    sender: str  # the wa_id (a phone number): personal data, never logged
    kind: str  # text, interactive, audio, image, sticker, location, …
    text: str = ""
    action: str = ""  # the id of a tapped reply button or list row
    media_id: str = ""


class Submitter(Protocol):
    def submit(self, messages: list[Incoming]) -> None: ...


def signature(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(secret: str, body: bytes, header: str) -> bool:
    return bool(secret) and hmac.compare_digest(signature(secret, body).encode(), header.encode())


def parse(payload: Any, phone_id: str) -> tuple[list[Incoming], int]:
    """The messages addressed to ``phone_id`` and the number of status updates (sent, delivered, read)."""
    messages: list[Incoming] = []
    statuses = 0
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        return messages, statuses
    for entry in payload.get("entry") or []:
        for change in (entry or {}).get("changes") or []:
            value = (change or {}).get("value") or {}
            if change.get("field") != "messages" or not isinstance(value, dict):
                continue
            if str((value.get("metadata") or {}).get("phone_number_id", "")) != phone_id:
                continue
            statuses += len(value.get("statuses") or [])
            for raw in value.get("messages") or []:
                message = _message(raw)
                if message is not None:
                    messages.append(message)
    return messages, statuses


def _message(raw: Any) -> Incoming | None:
    if not isinstance(raw, dict) or not raw.get("id") or not raw.get("from"):
        return None
    kind = str(raw.get("type", "unknown"))
    text = action = media_id = ""
    if kind == "text":
        text = str((raw.get("text") or {}).get("body", ""))
    elif kind == "interactive":
        interactive = raw.get("interactive") or {}
        reply = interactive.get("button_reply") or interactive.get("list_reply") or {}
        action, text = str(reply.get("id", "")), str(reply.get("title", ""))
    elif kind == "button":  # a quick-reply button of a template message
        text = str((raw.get("button") or {}).get("text", ""))
        kind = "text"
    elif kind in ("audio", "image", "video", "document", "sticker"):
        media_id = str((raw.get(kind) or {}).get("id", ""))
    return Incoming(str(raw["id"]), str(raw["from"]), kind, text, action, media_id)


def whatsapp_router(settings: Settings, channel: Submitter) -> APIRouter:
    """The two routes, bound to the configured tokens and to the channel that handles messages."""
    router = APIRouter(tags=["whatsapp"])
    verify_token = settings.whatsapp_verify_token.get_secret_value()
    app_secret = settings.whatsapp_app_secret.get_secret_value()
    phone_id = settings.whatsapp_phone_id

    @router.get(PATH, include_in_schema=False)
    async def verify(request: Request) -> Response:
        params = request.query_params
        given = params.get("hub.verify_token", "")
        if params.get("hub.mode") == "subscribe" and hmac.compare_digest(
            given.encode(), verify_token.encode()
        ):
            return PlainTextResponse(params.get("hub.challenge", ""))
        log.warning("whatsapp webhook verification refused")
        return PlainTextResponse("Forbidden", status_code=403)

    @router.post(PATH, include_in_schema=False)
    async def receive(request: Request) -> Response:
        body = await request.body()
        header = request.headers.get(SIGNATURE_HEADER, "")
        if not header:
            log.warning("whatsapp webhook request refused: no signature")
            return PlainTextResponse("Unauthorized", status_code=401)
        if not signature_ok(app_secret, body, header):
            log.warning("whatsapp webhook request refused: wrong signature")
            return PlainTextResponse("Forbidden", status_code=403)
        try:
            payload = json.loads(body)
        except ValueError:
            return PlainTextResponse("Bad Request", status_code=400)
        messages, statuses = parse(payload, phone_id)
        if statuses:
            log.debug("whatsapp: %d status updates", statuses)
        if messages:
            channel.submit(messages)
        return PlainTextResponse("OK")

    return router
