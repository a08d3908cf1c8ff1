"""The bot never blocks its event loop: a store that hangs for one chat (SQLite waiting on a locked file, a
slow disk, Redis timing out) delays that chat only. The real python-telegram-bot Application polls the fake
Bot API server."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from assistant.core import Assistant
from assistant.embeddings import HashingEmbeddings
from assistant.feedback import FeedbackStore
from assistant.sessions import MemorySessionStore
from bot.app import build_application
from tests.conftest import build_test_index, make_settings
from tests.fakes.telegram_server import FakeTelegram

SLOW_CHAT, FAST_CHAT = 201, 202
STALL_SECONDS = 2.0


class StallingRateLimit:
    """A rate-limit store that hangs for one user until released (at most ``STALL_SECONDS``), as a busy
    SQLite file would (``BEGIN IMMEDIATE`` waits up to its busy timeout)."""

    rate = 20

    def __init__(self, slow_key: str) -> None:
        self.slow_key = slow_key
        self.entered = threading.Event()  # the slow check has started
        self.release = threading.Event()
        self.finished = threading.Event()  # the slow check has returned

    def check(self, key: str) -> float:
        if key == self.slow_key:
            self.entered.set()
            self.release.wait(timeout=STALL_SECONDS)
            self.finished.set()
        return 0.0


def _chats_answered(fake: FakeTelegram) -> list[int]:
    return [int(m["chat_id"]) for m in fake.sent]


async def test_a_stalled_rate_limit_store_delays_only_its_own_chat(tmp_path: Path) -> None:
    fake = await FakeTelegram().start()
    settings = make_settings(tmp_path, telegram_bot_token=fake.token, telegram_api_url=fake.base_url)
    build_test_index(settings)
    assistant = Assistant(settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())
    limiter = StallingRateLimit(str(SLOW_CHAT))
    app = build_application(
        settings, assistant, feedback_store=FeedbackStore(settings.state_db), rate_limiter=limiter
    )
    try:
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0.0, timeout=1)
            try:
                fake.push_message("monto del apoyo por pescador", chat_id=SLOW_CHAT)
                assert await asyncio.to_thread(limiter.entered.wait, 15), "the slow chat never asked"

                fake.push_message("monto del apoyo por pescador", chat_id=FAST_CHAT)
                answered = await fake.wait_sent(1)
                # The other chat got its whole answer while the slow store was still hanging.
                assert _chats_answered(fake) == [FAST_CHAT]
                assert "8,000 pesos" in answered[0]["text"]
                assert not limiter.finished.is_set()

                limiter.release.set()
                await fake.wait_sent(2)
                assert _chats_answered(fake) == [FAST_CHAT, SLOW_CHAT]  # the stalled chat is answered too
                assert "8,000 pesos" in fake.sent[1]["text"]
            finally:
                limiter.release.set()
                await app.updater.stop()
                await app.stop()
    finally:
        await fake.stop()
