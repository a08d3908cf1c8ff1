"""A fake WhatsApp Cloud API (Graph API) for tests: the channel's real HTTP client talks to it.

It implements what the channel uses — ``POST /{version}/{phone_id}/messages``, ``GET /{version}/{media_id}``
and the media download — records every message, and rejects what Meta rejects, with Graph's error shape:
a wrong bearer token (401, code 190), a text over 4,096 characters, an interactive body over 1,024, more
than 3 reply buttons or a button title over 20, more than 10 list rows, a row title over 24, a row
description over 72, a list button label over 20, a message without ``messaging_product``; and, for the
numbers in ``window_closed``, any free-form message (error 131047: outside the 24-hour window).

It also plays Meta's side of the webhook: :meth:`FakeGraph.notify` POSTs a notification signed with the
app secret (or unsigned, or wrongly signed) to the app under test.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import socket
import uuid
from typing import Any

import httpx
from aiohttp import web

VERSION = "v27.0"
PHONE_ID = "109876543210"


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "fake"}},
        status=status,
    )


def problems(message: dict[str, Any]) -> list[str]:
    """Why the Cloud API would refuse this message payload (empty = accepted)."""
    out = []
    if message.get("messaging_product") != "whatsapp":
        out.append("messaging_product must be whatsapp")
    if "status" in message:  # mark as read (and show a typing indicator)
        if message["status"] != "read" or not str(message.get("message_id", "")).startswith("wamid."):
            out.append("status must be read, with the id of a received message")
        if message.get("typing_indicator", {"type": "text"}) != {"type": "text"}:
            out.append("typing_indicator.type must be text")
        return out
    if not message.get("to"):
        out.append("missing to")
    kind = message.get("type", "text")
    if kind == "text":
        body = (message.get("text") or {}).get("body", "")
        if not body:
            out.append("empty text")
        if len(body) > 4096:
            out.append(f"text too long ({len(body)})")
    elif kind == "interactive":
        interactive = message.get("interactive") or {}
        body = (interactive.get("body") or {}).get("text", "")
        if not body or len(body) > 1024:
            out.append(f"interactive body must have 1-1024 characters ({len(body)})")
        action = interactive.get("action") or {}
        if interactive.get("type") == "button":
            buttons = action.get("buttons") or []
            if not 1 <= len(buttons) <= 3:
                out.append(f"{len(buttons)} buttons (1-3)")
            for b in buttons:
                title = (b.get("reply") or {}).get("title", "")
                if not 1 <= len(title) <= 20:
                    out.append(f"button title {title!r} over 20 characters")
            ids = [(b.get("reply") or {}).get("id") for b in buttons]
            if len(set(ids)) != len(ids):
                out.append("duplicate button ids")
        elif interactive.get("type") == "list":
            label = action.get("button", "")
            if not 1 <= len(label) <= 20:
                out.append(f"list button {label!r} over 20 characters")
            rows = [r for s in action.get("sections") or [] for r in s.get("rows") or []]
            if not 1 <= len(rows) <= 10:
                out.append(f"{len(rows)} rows (1-10)")
            for r in rows:
                if not 1 <= len(r.get("title", "")) <= 24:
                    out.append(f"row title {r.get('title')!r} over 24 characters")
                if len(r.get("description", "")) > 72:
                    out.append("row description over 72 characters")
            for s in action.get("sections") or []:
                if len(s.get("title", "")) > 24:
                    out.append("section title over 24 characters")
        else:
            out.append(f"unsupported interactive type {interactive.get('type')}")
    else:
        out.append(f"unsupported type {kind}")
    return out


class FakeGraph:
    """Start with ``await FakeGraph().start()``; read ``sent`` (accepted messages) and ``rejected``."""

    def __init__(self, token: str = "EAAG-fake-token", app_secret: str = "fake-app-secret") -> None:
        self.token, self.app_secret = token, app_secret
        self.sent: list[dict[str, Any]] = []
        self.rejected: list[tuple[dict[str, Any], list[str]]] = []
        self.unauthorized = 0
        self.media: dict[str, bytes] = {}
        self.downloads: list[str] = []
        self.read: list[str] = []  # received message ids marked as read with a typing indicator
        self.window_closed: set[str] = set()  # numbers whose last message is older than 24 hours
        self.port = 0
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{VERSION}"

    async def start(self) -> FakeGraph:
        app = web.Application()
        app.router.add_post(f"/{VERSION}/{{phone_id}}/messages", self._messages)
        app.router.add_get(f"/{VERSION}/{{media_id}}", self._media_info)
        app.router.add_get("/media-download/{media_id}", self._media_download)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def _authorized(self, request: web.Request) -> bool:
        ok = request.headers.get("Authorization", "") == f"Bearer {self.token}"
        self.unauthorized += not ok
        return ok

    async def _messages(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, 190, "Invalid OAuth access token.")
        if request.match_info["phone_id"] != PHONE_ID:
            return _error(400, 100, "Unsupported post request: unknown phone number id")
        message = await request.json()
        found = problems(message)
        if found:
            self.rejected.append((message, found))
            return _error(400, 131009, "Parameter value is not valid: " + "; ".join(found))
        if "status" in message:
            self.read.append(message["message_id"])
            return web.json_response({"success": True})
        if message["to"] in self.window_closed:
            return _error(400, 131047, "Re-engagement message: more than 24 hours have passed")
        self.sent.append(message)
        wamid = f"wamid.out{next(self._ids)}"
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": message["to"], "wa_id": message["to"]}],
                "messages": [{"id": wamid}],
            }
        )

    async def _media_info(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, 190, "Invalid OAuth access token.")
        media_id = request.match_info["media_id"]
        if media_id not in self.media:
            return _error(404, 100, "Unsupported get request")
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "url": f"http://127.0.0.1:{self.port}/media-download/{media_id}",
                "mime_type": "audio/ogg",
                "sha256": hashlib.sha256(self.media[media_id]).hexdigest(),
                "file_size": len(self.media[media_id]),
                "id": media_id,
            }
        )

    async def _media_download(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _error(401, 190, "Invalid OAuth access token.")
        media_id = request.match_info["media_id"]
        self.downloads.append(media_id)
        return web.Response(body=self.media[media_id], content_type="audio/ogg")

    # --- Meta's side of the webhook --------------------------------------------------------------

    def sign(self, body: bytes, secret: str | None = None) -> str:
        key = (secret or self.app_secret).encode()
        return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()

    async def notify(
        self, url: str, payload: dict[str, Any], *, signature: str | None = None, signed: bool = True
    ) -> httpx.Response:
        """POST a notification like Meta: the raw JSON body signed with the app secret."""
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if signed:
            headers["X-Hub-Signature-256"] = signature or self.sign(body)
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(url, content=body, headers=headers)

    def texts_to(self, phone: str) -> list[str]:
        """What ``phone`` reads: message texts and interactive bodies, in order."""
        out = []
        for m in self.sent:
            if m["to"] != phone:
                continue
            if m["type"] == "text":
                out.append(m["text"]["body"])
            else:
                out.append(m["interactive"]["body"]["text"])
        return out


# --- Notification payloads, as Meta sends them ------------------------------------------------------


def notification(value: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA-1",
                "changes": [
                    {
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "5215550000000",
                                "phone_number_id": PHONE_ID,
                            },
                            **value,
                        },
                        "field": "messages",
                    }
                ],
            }
        ],
    }


def message(phone: str, kind: str, content: dict[str, Any], *, wamid: str | None = None) -> dict[str, Any]:
    """A notification carrying one message from ``phone``."""
    return notification(
        {
            "contacts": [{"profile": {"name": "Productor"}, "wa_id": phone}],
            "messages": [
                {
                    "from": phone,
                    "id": wamid or f"wamid.in{uuid.uuid4().hex}",  # unique, like Meta's
                    "timestamp": "1764400000",
                    "type": kind,
                    kind: content,
                }
            ],
        }
    )


def text(phone: str, body: str, *, wamid: str | None = None) -> dict[str, Any]:
    return message(phone, "text", {"body": body}, wamid=wamid)


def tap(phone: str, reply_id: str, title: str = "", *, row: bool = False) -> dict[str, Any]:
    """A tapped reply button (or list row)."""
    kind = "list_reply" if row else "button_reply"
    return message(phone, "interactive", {"type": kind, kind: {"id": reply_id, "title": title or reply_id}})


def status(phone: str, state: str = "delivered") -> dict[str, Any]:
    return notification(
        {
            "statuses": [
                {
                    "id": "wamid.out1",
                    "status": state,
                    "timestamp": "1764400001",
                    "recipient_id": phone,
                    "conversation": {"id": "c1", "origin": {"type": "service"}},
                    "pricing": {"billable": True, "pricing_model": "CBP", "category": "service"},
                }
            ]
        }
    )
