"""Webhook mode: the real PTB Application behind bot/webhook.py, served by uvicorn on a loopback port,
with the fake Bot API server playing Telegram (setWebhook, then POSTs with the secret token)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from assistant.core import Assistant
from assistant.embeddings import HashingEmbeddings
from assistant.feedback import FeedbackStore
from assistant.sessions import MemorySessionStore
from bot import app as bot_app
from bot.app import build_application, run_bot
from bot.webhook import SECRET_HEADER, create_webhook_app, webhook_secret
from tests.conftest import build_test_index, make_settings
from tests.fakes.telegram_server import FakeTelegram

SECRET = "campo-Webhook_secret-123"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Running:
    fake: FakeTelegram
    url: str
    client: httpx.AsyncClient


def update_json(update_id: int, text: str, chat_id: int = 111) -> dict[str, Any]:
    """A private-chat text message exactly as Telegram POSTs it."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": 10 + update_id,
            "date": 1_700_000_000,
            "chat": {"id": chat_id, "type": "private", "first_name": "Productor"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Productor", "language_code": "es"},
            "text": text,
        },
    }


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    fake = await FakeTelegram().start()
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    settings = make_settings(
        tmp_path,
        telegram_bot_token=fake.token,
        telegram_api_url=fake.base_url,
        telegram_webhook_url=url,
        telegram_webhook_secret=SECRET,
    )
    build_test_index(settings)
    assistant = Assistant(settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())
    application = build_application(settings, assistant, feedback_store=FeedbackStore(settings.state_db))
    web = create_webhook_app(application, url=url, secret=webhook_secret(settings))
    server = uvicorn.Server(
        uvicorn.Config(web, host="127.0.0.1", port=port, lifespan="on", log_config=None, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    assert server.started, "the webhook server did not start"
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            yield Running(fake, url, client)
    finally:
        server.should_exit = True
        await task
        await fake.stop()


async def test_set_webhook_at_start_with_url_secret_and_update_types(running: Running) -> None:
    hook = running.fake.webhook
    assert hook is not None
    assert hook["url"] == running.url
    assert hook["secret_token"] == SECRET
    assert hook["allowed_updates"] == ["message", "edited_message", "callback_query"]
    assert running.fake.rejected == []


async def test_update_with_the_secret_is_answered_through_the_bot_api(running: Running) -> None:
    response = await running.client.post(
        running.url, json=update_json(1, "monto del apoyo por pescador"), headers={SECRET_HEADER: SECRET}
    )
    assert response.status_code == 200
    (sent,) = await running.fake.wait_sent(1)
    assert sent["chat_id"] in (111, "111")
    assert "8,000 pesos" in sent["text"]
    assert "📄 Lineamientos de Pesca 2014, Art. 6" in sent["text"]


async def test_missing_or_wrong_secret_is_refused_and_nothing_is_sent(running: Running) -> None:
    for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET + "x"}, {SECRET_HEADER: ""}):
        response = await running.client.post(
            running.url, json=update_json(7, "monto del apoyo por pescador"), headers=headers
        )
        assert response.status_code == 403, headers
    # Junk with the right secret is a 400, not a crash; GET on the hook does not exist.
    junk = await running.client.post(running.url, content=b"{not json", headers={SECRET_HEADER: SECRET})
    assert junk.status_code == 400
    not_update = await running.client.post(running.url, json={"hola": 1}, headers={SECRET_HEADER: SECRET})
    assert not_update.status_code == 400
    assert (await running.client.get(running.url)).status_code == 405
    await asyncio.sleep(0.5)
    assert running.fake.sent == []
    health = await running.client.get(running.url.rsplit("/telegram", 1)[0] + "/healthz")
    assert health.status_code == 200 and health.text == "ok"


async def test_telegram_delivers_through_the_webhook_and_polling_is_refused(running: Running) -> None:
    # The fake now POSTs updates to the webhook (as Telegram does once setWebhook succeeded).
    update_id = running.fake.push_message("hasta cuando hay ventanilla", chat_id=222)
    assert (update_id, 200) in await running.fake.wait_deliveries(1)
    (sent,) = await running.fake.wait_sent(1)
    assert "31 de marzo" in sent["text"]
    # Callback queries arrive the same way: the 📄 button shows the full source.
    running.fake.push_callback("src", chat_id=222)
    source = (await running.fake.wait_sent(2))[-1]
    assert "Cada solicitud recibe un folio" in source["text"]
    assert [status for _, status in await running.fake.wait_deliveries(2)] == [200, 200]
    methods = [m for m, _ in running.fake.calls]
    assert "getUpdates" not in methods  # webhook mode never polls


async def test_delete_webhook_at_shutdown(tmp_path: Path) -> None:
    fake = await FakeTelegram().start()
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    settings = make_settings(tmp_path, telegram_bot_token=fake.token, telegram_api_url=fake.base_url)
    build_test_index(settings)
    assistant = Assistant(settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())
    web = create_webhook_app(build_application(settings, assistant), url=url, secret="generated_1")
    server = uvicorn.Server(
        uvicorn.Config(web, host="127.0.0.1", port=port, lifespan="on", log_config=None, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    info = await _bot_api(fake, "getWebhookInfo")
    assert info["url"] == url
    server.should_exit = True
    await task
    assert fake.webhook is None
    assert [m for m, _ in fake.calls if "Webhook" in m] == ["setWebhook", "getWebhookInfo", "deleteWebhook"]
    assert (await _bot_api(fake, "getWebhookInfo"))["url"] == ""
    await fake.stop()


async def _bot_api(fake: FakeTelegram, method: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{fake.base_url}{fake.token}/{method}")
    body: dict[str, Any] = response.json()
    assert body["ok"], body
    return body["result"]  # type: ignore[no-any-return]


def test_run_bot_picks_webhook_or_polling_from_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, Any]] = []
    monkeypatch.setattr(
        bot_app, "serve_webhook", lambda app, settings, secret: calls.append(("hook", secret))
    )
    monkeypatch.setattr(
        bot_app.Application, "run_polling", lambda self, **kw: calls.append(("poll", kw["allowed_updates"]))
    )
    base = {"telegram_bot_token": "123:abc"}
    settings = make_settings(tmp_path, **base)
    build_test_index(settings)
    assistant = Assistant(settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())

    assert run_bot(settings, assistant) == 0
    assert calls[-1] == ("poll", ["message", "edited_message", "callback_query"])

    hooked = make_settings(
        tmp_path, telegram_webhook_url="https://campo.example.org/tg", telegram_webhook_secret=SECRET, **base
    )
    assert run_bot(hooked, assistant) == 0
    assert calls[-1] == ("hook", SECRET)

    # No secret configured: a random one for this run (never empty, never the same twice).
    unset = make_settings(tmp_path, telegram_webhook_url="https://campo.example.org/tg", **base)
    assert run_bot(unset, assistant) == 0 and run_bot(unset, assistant) == 0
    first, second = calls[-2][1], calls[-1][1]
    assert len(first) >= 32 and first != second


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"telegram_webhook_secret": "con espacios y ñ"}, "CAMPO_TELEGRAM_WEBHOOK_SECRET"),
        ({"telegram_webhook_secret": "x" * 257}, "CAMPO_TELEGRAM_WEBHOOK_SECRET"),
        ({"telegram_webhook_url": "campo.example.org/tg"}, "CAMPO_TELEGRAM_WEBHOOK_URL"),
    ],
)
def test_run_bot_refuses_webhook_settings_telegram_would_reject(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], overrides: dict[str, str], message: str
) -> None:
    values = {"telegram_bot_token": "123:abc", "telegram_webhook_url": "https://campo.example.org/tg"}
    settings = make_settings(tmp_path, **(values | overrides))
    assert run_bot(settings) == 2  # before loading anything
    assert message in capsys.readouterr().err
