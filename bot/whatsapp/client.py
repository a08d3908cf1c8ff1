"""The WhatsApp Cloud API over HTTP: the only module of the channel that talks to Meta.

A small ``httpx`` client for the few documented endpoints the channel needs, at
``CAMPO_WHATSAPP_API_URL`` (Graph API base including the version):

* ``POST {base}/{phone_id}/messages`` — send a text or an interactive message, or mark a received message
  as read with a typing indicator;
* ``GET {base}/{media_id}`` — a media's temporary URL, then ``GET <url>`` with the same token — download.

Every request carries ``Authorization: Bearer <CAMPO_WHATSAPP_TOKEN>``.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from assistant.settings import Settings

log = logging.getLogger(__name__)

MAX_MEDIA_BYTES = 16 * 1024 * 1024  # WhatsApp's own limit for audio


class GraphError(RuntimeError):
    """Meta refused a request (or could not be reached: status 0); ``code`` is Graph's error code
    (131047: outside the 24-hour window)."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(f"graph API error {status} (code {code}): {message}")
        self.status, self.code = status, code


class GraphClient:
    """Sends messages from one business phone number; one connection pool per process."""

    def __init__(self, settings: Settings, *, timeout: float = 20.0) -> None:
        self.base = settings.whatsapp_api_url.rstrip("/")
        self.phone_id = settings.whatsapp_phone_id
        token = settings.whatsapp_token.get_secret_value()
        self._http = httpx.AsyncClient(
            timeout=timeout,
            headers={"Authorization": f"Bearer {token}"},
            limits=httpx.Limits(max_connections=16),
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, to: str, message: dict[str, Any]) -> str:
        """Send one message (a payload of :mod:`bot.whatsapp.format`) to ``to``; returns its id."""
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, **message}
        data = self._json(await self._post(body))
        messages = data.get("messages") or [{}]
        return str(messages[0].get("id", ""))

    async def typing(self, message_id: str) -> None:
        """Mark a received message as read and show "escribiendo…" until the reply (at most 25 s)."""
        body = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": message_id,
            "typing_indicator": {"type": "text"},
        }
        self._json(await self._post(body))

    async def media_url(self, media_id: str) -> str:
        try:
            response = await self._http.get(f"{self.base}/{media_id}")
        except httpx.HTTPError as exc:
            raise GraphError(0, 0, f"network error: {type(exc).__name__}") from exc
        return str(self._json(response)["url"])

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        try:
            return await self._http.post(f"{self.base}/{self.phone_id}/messages", json=body)
        except httpx.HTTPError as exc:  # Meta unreachable: reported like a refusal
            raise GraphError(0, 0, f"network error: {type(exc).__name__}") from exc

    async def download(self, media_id: str) -> bytes:
        """The media's bytes (a voice note), at most :data:`MAX_MEDIA_BYTES`."""
        url = await self.media_url(media_id)
        try:
            async with self._http.stream("GET", url) as response:
                if response.status_code != 200:
                    raise GraphError(response.status_code, 0, "media download failed")
                data = b""
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > MAX_MEDIA_BYTES:
                        raise GraphError(413, 0, "media too large")
                return data
        except httpx.HTTPError as exc:
            raise GraphError(0, 0, f"network error: {type(exc).__name__}") from exc

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.status_code >= 400 or not isinstance(data, dict):
            error = data.get("error", {}) if isinstance(data, dict) else {}
            raise GraphError(response.status_code, int(error.get("code") or 0), str(error.get("message", "")))
        return data
