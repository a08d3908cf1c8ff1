"""Updates of different chats run concurrently; updates of one chat run one after another, in order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """PTB update processor: a lock per chat, so a follow-up ("¿y los requisitos?") is answered after the
    question it follows and the /elegibilidad conversation sees its answers one at a time (PTB's
    ConversationHandler needs that), while other chats are not kept waiting.

    Locks exist only while a chat has updates in flight, so memory does not grow with the number of chats.
    """

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._pending: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        key = chat.id
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._pending[key] = self._pending.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._pending[key] -= 1
            if not self._pending[key]:
                del self._pending[key], self._locks[key]

    @property
    def active_chats(self) -> int:
        """Chats with updates being processed or waiting (for tests and metrics)."""
        return len(self._locks)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free."""
