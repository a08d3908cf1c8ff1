"""Telling the producer: "🔔 Avísame" under a Telegram abstention stores the chat's consent; when staff's
answer is published, the bot's job queue sends it to that chat (escaped) and to no chat that didn't ask."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from assistant.embeddings import HashingEmbeddings
from assistant.reviewed import ReviewedCitation, ReviewedEntry
from ingestion.pipeline import ingest
from ingestion.reviewed_source import add_reviewed_entry
from tests.test_bot import _harness

OFF_TOPIC = "¿Hay seguro contra granizo para mis magueyes?"


async def test_only_chats_that_asked_get_the_reviewed_answer(tmp_path: Path) -> None:
    async with _harness(tmp_path, review_notify_seconds=0.2) as bot:
        asked = await bot.say(OFF_TOPIC, chat_id=111)
        button = asked["reply_markup"]["inline_keyboard"][0][0]
        assert button["text"] == "🔔 Avísame cuando tengan la respuesta"
        await bot.say(OFF_TOPIC.lower(), chat_id=222)  # same question, no consent
        queue = bot.assistant.review.queue
        items, total = queue.items()
        assert total == 1 and items[0]["count"] == 2 and items[0]["channel"] == "telegram"

        before = len(bot.fake.sent)
        bot.fake.push_callback(button["callback_data"], chat_id=111)
        ok = (await bot.fake.wait_sent(before + 1))[-1]
        assert "Cuando el personal del programa responda" in ok["text"]

        settings = bot.assistant.settings
        entry = ReviewedEntry(
            id=f"r{items[0]['id']}",
            question=items[0]["question"],
            answer="No cubre seguros; el apoyo es de 8,000 pesos si cumple (edad > 18) & se capacita.",
            citations=[ReviewedCitation(document_id="pesca-prueba-2014", section="Artículo 6")],
            reviewer="staff",
            date=dt.date.today(),
        )
        add_reviewed_entry(settings, entry)
        await asyncio.to_thread(ingest, settings, embeddings=HashingEmbeddings())
        queue.answer(items[0]["id"], "staff", {"entry_id": entry.id})

        before = len(bot.fake.sent)
        notice = (await bot.fake.wait_sent(before + 1))[-1]
        assert str(notice["chat_id"]) == "111" and notice["parse_mode"] == "HTML"
        assert "Ya tenemos respuesta" in notice["text"]
        assert "(edad &gt; 18) &amp; se capacita" in notice["text"]  # staff text escaped
        await asyncio.sleep(0.8)  # several job rounds: nothing more, and nothing to chat 222
        assert [m for m in bot.fake.sent[before:] if "Ya tenemos respuesta" in m["text"]] == [notice]
        assert bot.fake.rejected == []

        again = await bot.say(OFF_TOPIC, chat_id=333)
        assert again["text"].startswith("Respuesta revisada por el personal del programa")
