"""Concurrency: /v1/ask under load while an admin re-ingests and rolls back, and many bot chats at once.

Short versions of ``tools/load_test.py`` (the figures in docs/reliability.md come from the tool).
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.api.app import create_app
from assistant.core import Assistant
from assistant.embeddings import HashingEmbeddings
from assistant.sessions import MemorySessionStore
from ingestion.pipeline import ingest
from tests.conftest import build_test_index, make_settings
from tests.test_api import TOKEN, app_settings
from tests.test_ingestion import DOC_B
from tools.load_test import (
    LoadResult,
    ask_load,
    bot_chats,
    churn_index,
    index_versions,
    serve_in_thread,
)

pytestmark = pytest.mark.timeout(300)

QUESTION = "hasta cuando cierra la ventanilla"
DATE = re.compile(r"\b(\d{1,2}) de (marzo|abril)\b")


async def test_answers_come_from_complete_versions_while_reingesting_and_rolling_back(
    tmp_path: Path,
) -> None:
    # keep_versions=2: old versions are garbage-collected during the churn, as on a long-lived server.
    settings = app_settings(tmp_path, rate_limit_per_minute=0, keep_versions=2)
    assistant = Assistant(settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())
    # The default check interval (0.5 s): after a switch, requests keep using the version they hold for a
    # moment; that version must not disappear under them.
    app = create_app(settings, assistant, embeddings=HashingEmbeddings())
    path = settings.corpus_dir / "pesca-b.md"
    dates: dict[str, str] = {}  # version -> the closing date its text says

    def edit(n: int) -> None:
        path.write_text(DOC_B.replace("31 de marzo", f"{n + 1} de abril"), "utf-8")

    async def direct_ingest() -> Any:  # `campo ingest` while HTTP jobs and the load go on
        path.write_text(DOC_B.replace("31 de marzo", "30 de abril"), "utf-8")
        return await asyncio.to_thread(ingest, settings, embeddings=HashingEmbeddings())

    def consistent(answer: dict[str, Any]) -> str | None:
        """The text must be the one of the version the answer names (never a mix of two versions)."""
        found = DATE.search(answer["answer"])
        if not found:
            return f"no date in {answer['answer'][:80]!r}"
        seen = dates.setdefault(answer["index_version"], found.group(0))
        return None if seen == found.group(0) else f"{answer['index_version']}: {seen} and {found.group(0)}"

    result = LoadResult()  # the load's answers and the ones asked while waiting for a switch

    with serve_in_thread(app) as base:

        async def served_from_active_version() -> None:
            """After a switch, wait (with a deadline) until an answer comes from the new active version:
            what the product guarantees is that switches reach requests within the check interval, not
            that a short-lived version meets a request of the load by chance."""
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                active = (await client.get("/v1/index")).json()["active_version"]
                deadline = time.monotonic() + 30
                while True:
                    r = await client.post("/v1/ask", json={"question": QUESTION})
                    result.statuses[r.status_code] += 1
                    assert r.status_code == 200, r.text
                    answer = r.json()
                    result.versions[answer["index_version"]] += 1
                    if problem := consistent(answer):
                        result.inconsistent.append(problem)
                    if answer["index_version"] == active:
                        return
                    assert time.monotonic() < deadline, f"no answer from the active version {active}"
                    await asyncio.sleep(0.05)

        done = asyncio.Event()
        load = asyncio.create_task(
            ask_load(
                base, [QUESTION], concurrency=8, duration=120, result=result, check=consistent, until=done
            )
        )
        await served_from_active_version()
        events = await churn_index(
            base,
            TOKEN,
            edit,
            rounds=3,
            pause=0.3,
            direct_ingest=direct_ingest,
            settled=served_from_active_version,
        )
        await asyncio.sleep(0.5)
        done.set()
        await load
        listed = await index_versions(base)

    summary = result.summary()
    assert result.errors == 0, summary
    assert result.inconsistent == [], result.inconsistent[:5]
    assert result.requests >= 50
    assert set(result.versions) <= listed  # every answer names a complete, listed version
    assert len(result.versions) >= 3  # answers really came from several versions during the churn
    assert [e["event"] for e in events] == ["ingest", "rollback", "direct-ingest"] * 3
    assert all(e.get("status") in ("succeeded", 200, None) for e in events), events
    assert {d for d in dates.values()} >= {"31 de marzo", "1 de abril"}


@pytest.mark.parametrize("chats", [40])
async def test_many_bot_chats_at_once_keep_their_own_follow_up_context(tmp_path: Path, chats: int) -> None:
    settings = make_settings(tmp_path, bot_rate_limit_per_minute=0)
    build_test_index(settings)
    assistant = Assistant(settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())
    result = await bot_chats(settings, assistant, chats, timeout=120)
    assert result.answered == 2 * chats
    assert result.mixed == [], result.mixed[:5]
    assert result.rejected == 0
