"""A fake Telegram Bot API server for tests: the real python-telegram-bot client talks HTTP to it.

It implements the methods the bot uses, records every call, and rejects what Telegram rejects
(messages over 4,096 characters, malformed HTML entities), so formatting bugs fail tests.

Like Telegram, it delivers updates either through getUpdates (long polling) or, after setWebhook, by
POSTing them to the webhook URL with the ``X-Telegram-Bot-Api-Secret-Token`` header; getUpdates is refused
with 409 while a webhook is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import socket
from html.parser import HTMLParser
from typing import Any

import aiohttp
from aiohttp import web

ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "blockquote",
    "span",
}
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);")


class _TelegramHTML(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.error: str | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag not in ALLOWED_TAGS:
            self.error = f'unsupported start tag "{tag}"'
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.error = f'unexpected end tag "{tag}"'
        else:
            self.stack.pop()


def html_error(text: str) -> str | None:
    """Why Telegram would refuse ``text`` in HTML parse mode, or None."""
    for amp in re.finditer(r"&", text):
        if not _ENTITY.match(text, amp.start()):
            return "unsupported entity or unescaped &"
    if re.search(r"<(?![a-zA-Z/])", text):
        return "unescaped <"
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.error:
        return parser.error
    if parser.stack:
        return f'unclosed tag "{parser.stack[-1]}"'
    return None


class FakeTelegram:
    """Start with ``await FakeTelegram().start()``; feed updates with ``push_*``; read ``sent``."""

    def __init__(self, token: str = "123456:TEST-token") -> None:
        self.token = token
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.sent: list[dict[str, Any]] = []
        self.rejected: list[tuple[str, str]] = []
        self.files: dict[str, bytes] = {}
        self.pushed: list[dict[str, Any]] = []  # every update fed to the bot
        self._updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.webhook: dict[str, Any] | None = None  # the last setWebhook parameters, None after deleteWebhook
        self.deliveries: list[tuple[int, int]] = []  # (update_id, HTTP status) of webhook POSTs
        self._client: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    async def start(self) -> FakeTelegram:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.*}", self._file)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client:
            await self._client.close()
        if self._runner:
            await self._runner.cleanup()

    def _enqueue(self, update: dict[str, Any]) -> None:
        self.pushed.append(update)
        if self.webhook is None:
            self._updates.put_nowait(update)
            return
        task = asyncio.get_running_loop().create_task(self._deliver(update, self.webhook))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, update: dict[str, Any], webhook: dict[str, Any]) -> None:
        if self._client is None:
            self._client = aiohttp.ClientSession()
        headers = {}
        if webhook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(webhook["secret_token"])
        async with self._client.post(webhook["url"], json=update, headers=headers) as response:
            self.deliveries.append((update["update_id"], response.status))

    async def wait_deliveries(self, count: int, timeout: float = 15.0) -> list[tuple[int, int]]:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.deliveries) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"expected {count} webhook deliveries, got {self.deliveries}")
            await asyncio.sleep(0.02)
        return self.deliveries

    # --- updates ------------------------------------------------------------------------
    def _user(self, user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": f"Productor{user_id}", "language_code": "es"}

    def _chat(self, chat_id: int, kind: str) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": chat_id, "type": kind}
        if kind == "private":
            chat["first_name"] = f"Productor{chat_id}"
        else:
            chat["title"] = "Grupo de productores"
        return chat

    def push_message(
        self,
        text: str | None = None,
        *,
        chat_id: int = 111,
        user_id: int | None = None,
        chat_type: str = "private",
        extra: dict[str, Any] | None = None,
        edited: bool = False,
        reply_to_bot: bool = False,
    ) -> int:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": 1_700_000_000,
            "chat": self._chat(chat_id, chat_type),
            "from": self._user(user_id or chat_id),
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                command = text.split()[0]
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        if reply_to_bot:
            message["reply_to_message"] = {
                "message_id": 1,
                "date": 1_700_000_000,
                "chat": message["chat"],
                "from": {"id": 999, "is_bot": True, "first_name": "Campo", "username": "campo_bot"},
                "text": "…",
            }
        if edited:
            message["edit_date"] = 1_700_000_100
        message.update(extra or {})
        update_id = next(self._update_ids)
        self._enqueue({"update_id": update_id, ("edited_message" if edited else "message"): message})
        return update_id

    def push_callback(self, data: str, *, chat_id: int = 111, message_id: int = 1) -> None:
        self._enqueue(
            {
                "update_id": next(self._update_ids),
                "callback_query": {
                    "id": str(next(self._message_ids)),
                    "from": self._user(chat_id),
                    "chat_instance": "ci",
                    "data": data,
                    "message": {
                        "message_id": message_id,
                        "date": 1_700_000_000,
                        "chat": self._chat(chat_id, "private"),
                        "text": "…",
                    },
                },
            }
        )

    async def wait_sent(self, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        """Wait until at least ``count`` messages were sent in total; return them all."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.sent) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"expected {count} messages, got {len(self.sent)}: {self.sent}")
            await asyncio.sleep(0.02)
        return self.sent

    # --- HTTP ---------------------------------------------------------------------------
    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return dict(await request.json())
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            if isinstance(value, str) and value[:1] in "[{":
                try:
                    params[key] = json.loads(value)
                    continue
                except json.JSONDecodeError:
                    pass
            params[key] = value
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        params = await self._params(request)
        self.calls.append((method, params))
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return web.json_response({"ok": True, "result": True})
        return await handler(params)  # type: ignore[no-any-return]

    def _bad(self, method: str, description: str) -> web.Response:
        self.rejected.append((method, description))
        return web.json_response(
            {"ok": False, "error_code": 400, "description": f"Bad Request: {description}"}, status=400
        )

    async def _m_getMe(self, params: dict[str, Any]) -> web.Response:
        return web.json_response(
            {
                "ok": True,
                "result": {
                    "id": 999,
                    "is_bot": True,
                    "first_name": "Campo",
                    "username": "campo_bot",
                    "can_join_groups": True,
                    "can_read_all_group_messages": False,
                    "supports_inline_queries": False,
                },
            }
        )

    async def _m_setWebhook(self, params: dict[str, Any]) -> web.Response:
        url = str(params.get("url") or "")
        if not url:  # Telegram: an empty url removes the webhook
            self.webhook = None
            return web.json_response({"ok": True, "result": True, "description": "Webhook was deleted"})
        if not url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            return self._bad("setWebhook", "bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            return self._bad("setWebhook", "secret token contains unallowed characters")
        if params.get("drop_pending_updates") in (True, "true", "True"):
            while not self._updates.empty():
                self._updates.get_nowait()
        self.webhook = params
        return web.json_response({"ok": True, "result": True, "description": "Webhook was set"})

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> web.Response:
        self.webhook = None
        if params.get("drop_pending_updates") in (True, "true", "True"):
            while not self._updates.empty():
                self._updates.get_nowait()
        return web.json_response({"ok": True, "result": True, "description": "Webhook was deleted"})

    async def _m_getWebhookInfo(self, params: dict[str, Any]) -> web.Response:
        info: dict[str, Any] = {
            "url": (self.webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": self._updates.qsize(),
        }
        if self.webhook and self.webhook.get("allowed_updates"):
            info["allowed_updates"] = self.webhook["allowed_updates"]
        return web.json_response({"ok": True, "result": info})

    async def _m_getUpdates(self, params: dict[str, Any]) -> web.Response:
        if self.webhook is not None:
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 409,
                    "description": "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                },
                status=409,
            )
        timeout = float(params.get("timeout") or 0)
        updates = []
        with contextlib.suppress(TimeoutError):
            updates.append(await asyncio.wait_for(self._updates.get(), timeout=max(timeout, 0.05)))
        while not self._updates.empty():
            updates.append(self._updates.get_nowait())
        return web.json_response({"ok": True, "result": updates})

    async def _m_sendMessage(self, params: dict[str, Any]) -> web.Response:
        text = str(params.get("text", ""))
        if not text.strip():
            return self._bad("sendMessage", "message text is empty")
        if len(text) > 4096:
            return self._bad("sendMessage", "message is too long")
        if params.get("parse_mode") == "HTML":
            error = html_error(text)
            if error:
                return self._bad("sendMessage", f"can't parse entities: {error}")
        self.sent.append(params)
        chat_id = int(params["chat_id"])
        return web.json_response(
            {
                "ok": True,
                "result": {
                    "message_id": next(self._message_ids),
                    "date": 1_700_000_000,
                    "chat": self._chat(chat_id, "private" if chat_id > 0 else "group"),
                    "text": text,
                },
            }
        )

    async def _m_getFile(self, params: dict[str, Any]) -> web.Response:
        file_id = str(params["file_id"])
        return web.json_response(
            {
                "ok": True,
                "result": {
                    "file_id": file_id,
                    "file_unique_id": file_id,
                    "file_size": len(self.files.get(file_id, b"")),
                    "file_path": f"voice/{file_id}.oga",
                },
            }
        )

    async def _file(self, request: web.Request) -> web.Response:
        file_id = request.match_info["path"].split("/")[-1].removesuffix(".oga")
        return web.Response(body=self.files.get(file_id, b""), content_type="audio/ogg")
