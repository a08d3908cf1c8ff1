"""Record a realistic producer conversation with the real bot and write it to docs/transcript.md.

The real python-telegram-bot Application (bot.app.build_application) talks HTTP to the fake Bot API
server of the tests, over an index built from the sample corpus in corpus/ with the default (e5)
embeddings, in a temporary data folder (ingestion takes about 40 s on 2 cores).

    .venv/bin/python tools/transcript.py                 # writes docs/transcript.md
    .venv/bin/python tools/transcript.py --output -      # prints it
    .venv/bin/python tools/transcript.py --data-dir D    # reuse (or keep) the index in D
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import html
import os
import platform
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assistant.core import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from bot.app import build_application  # noqa: E402
from tests.fakes.producers import FISHERMAN  # noqa: E402
from tests.fakes.telegram_server import FakeTelegram  # noqa: E402

COMMAND = ".venv/bin/python tools/transcript.py"
CHAT = 5215550001  # a private chat; its id never appears in the transcript

# What the producer types, as producers type: no accents, abbreviations, typos.
SCRIPT: list[tuple[str, str]] = [
    ("say", "/start"),
    ("say", "q papeles necesito pa propesca"),
    ("say", "y hasta cuando hay ventanilla"),
    ("say", "/fuente"),
    ("press", "👎"),
    ("say", "cuanto cuesta el boleto de camion a monterrey"),  # off-topic: must abstain
    ("say", "y sembrando vida cuanto paga al mes"),  # a program the rules do not cover: named
    ("say", "cuanto nos toca poner a nosotros"),  # no program named: "¿de cuál?"
    ("press", "Desarrollo Integral de Cadenas de Valor"),
    ("say", "oiga y si tengo 3 hectareas de maiz puedo pedir apoyo?"),
    (  # a long message: the situation first, the question last
        "say",
        "buenas tardes, le escribo xq mi casa esta en las orillas de la ciudad y el patio es chiquito, "
        "como de 4 x 4 metros, pero quiero meterme a lo del huerto de traspatio, cuanto espacio piden",
    ),
    ("say", "oiga q es la OSNE, ahi me mandaron a registrarme"),  # "¿qué es X?": the glossary's entry
    ("say", "/elegibilidad"),
    ("check", ""),  # answer the guided check to the result
    ("say", "/nueva"),
]

# The guided check, answered by a 47-year-old fisherman: button labels, or what he types.
CHECK_ANSWERS = FISHERMAN


@dataclass
class Entry:
    who: str  # "user" | "bot" | "note"
    text: str
    buttons: list[str] = field(default_factory=list)
    raw_length: int = 0


class Recorder:
    """Drives the fake Bot API like a producer's phone and records what the bot sends back."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.entries: list[Entry] = []
        self._seen_calls = 0
        self.last_keyboard: dict[str, str] = {}
        self.last_picks: dict[str, str] = {}

    async def settle(self, quiet: float = 1.2, limit: float = 60.0) -> None:
        """Wait until the bot has answered (something was sent and nothing new for ``quiet`` seconds)."""
        started = time.monotonic()
        last_change, count = time.monotonic(), self._replies()
        while time.monotonic() - started < limit:
            await asyncio.sleep(0.05)
            if self._replies() != count:
                last_change, count = time.monotonic(), self._replies()
            elif time.monotonic() - last_change > quiet and self._has_reply():
                break
        else:
            raise RuntimeError(f"the bot did not answer within {limit} s")
        self._collect()

    def _replies(self) -> int:
        return sum(m != "getUpdates" for m, _ in self.fake.calls)

    def _has_reply(self) -> bool:
        return any(
            m in ("sendMessage", "answerCallbackQuery", "editMessageText")
            for m, _ in self.fake.calls[self._seen_calls :]
        )

    def _collect(self) -> None:
        for method, params in self.fake.calls[self._seen_calls :]:
            if method == "sendMessage":
                keyboard = (params.get("reply_markup") or {}).get("inline_keyboard", [])
                labels = {b["text"]: b["callback_data"] for row in keyboard for b in row}
                if labels:
                    self.last_keyboard = labels
                if any(data.startswith("pick:") for data in labels.values()):
                    self.last_picks = labels  # "¿de cuál programa?" (another reply may follow it)
                text = str(params["text"])
                self.entries.append(Entry("bot", text, list(labels), len(text)))
            elif method == "answerCallbackQuery" and params.get("text"):
                self.entries.append(Entry("note", f"aviso emergente: «{params['text']}»"))
            elif method == "editMessageText":
                edited = _plain(str(params["text"])).replace("\n", " ")
                self.entries.append(Entry("note", f"la pregunta se edita a: {edited}"))
        self._seen_calls = len(self.fake.calls)

    async def say(self, text: str) -> None:
        self.entries.append(Entry("user", text))
        self.fake.push_message(text, chat_id=CHAT)
        await self.settle()

    async def press(self, label: str) -> None:
        data = self.last_keyboard.get(label) or self.last_picks.get(label)
        if data is None:  # the last reply offered no such button (an abstention has no 👍/👎)
            self.entries.append(
                Entry("note", f"el productor querría tocar {label}, pero el bot no lo ofreció")
            )
            return
        self.entries.append(Entry("user", f"[toca el botón {label}]"))
        self.fake.push_callback(data, chat_id=CHAT)
        await self.settle()

    async def guided_check(self) -> None:
        from assistant.eligibility import FACTS

        for _ in range(len(FACTS) + 2):
            last = next(e for e in reversed(self.entries) if e.who == "bot")
            if "Resultado de la revisión" in "\n".join(e.text for e in self.entries[-4:] if e.who == "bot"):
                return
            fact = next(
                (k for k, spec in FACTS.items() if html.escape(spec.question, False) in last.text), None
            )
            if fact is None:
                raise RuntimeError(f"not a question of the check: {last.text[:200]}")
            answer = CHECK_ANSWERS.get(fact, "No sé")
            if answer in self.last_keyboard:
                await self.press(answer)
            else:
                await self.say(answer)
        raise RuntimeError("the guided check did not end")


def _plain(text: str) -> str:
    """Telegram HTML as Markdown: <b> bold, <i> italics, entities unescaped."""
    text = re.sub(r"</?b>", "**", text)
    text = re.sub(r"</?i>", "_", text)
    text = re.sub(r"</?[a-z-]+[^>]*>", "", text)
    return html.unescape(text)


def render(entries: list[Entry], meta: dict[str, Any]) -> str:
    lines = [
        "# A producer's conversation with the bot (generated)",
        "",
        f"Generated by `{COMMAND}` on {meta['date']} ({meta['machine']}); do not edit by hand.",
        "",
        "The real bot (`bot.app.build_application`) talks HTTP to the fake Bot API server of the tests",
        f"(`tests/fakes/telegram_server.py`), over an index built from `corpus/` with the `{meta['embeddings']}`",
        f"embeddings (index version `{meta['version']}`, {meta['ingestion']}). The producer's",
        "lines are typed the way producers type. The bot's messages are shown as sent, with Telegram's HTML",
        "rendered (**bold**, _italics_); the buttons under a message are in brackets. Character counts are",
        "those of the HTML sent (Telegram's limit is 4,096). Nothing here is curated: a wrong or awkward",
        "answer stays visible until the code that produced it is fixed and this file is regenerated.",
        "",
    ]
    for entry in entries:
        if entry.who == "user":
            lines += [f"**Productor:** {entry.text}", ""]
        elif entry.who == "note":
            lines += [f"> _({entry.text})_", ""]
        else:
            body = _plain(entry.text).split("\n")
            lines += ["**Campo:**", ""] + [f"> {line}" if line else ">" for line in body]
            if entry.buttons:
                lines += [">", "> " + " ".join(f"[{b}]" for b in entry.buttons)]
            lines += [f"<sub>{entry.raw_length} caracteres</sub>", ""]
    bot = [e for e in entries if e.who == "bot"]
    lines += [
        "## Numbers",
        "",
        f"- Producer turns: {sum(e.who == 'user' for e in entries)}; bot messages: {len(bot)}.",
        f"- Longest bot message: {max((e.raw_length for e in bot), default=0)} characters; "
        f"messages over 1,000 characters: {sum(e.raw_length > 1000 for e in bot)}.",
        f"- Messages the fake Bot API rejected (bad HTML, too long): {meta['rejected']}.",
        "",
    ]
    return "\n".join(lines)


async def record(settings: Settings, ingest_first: bool) -> tuple[list[Entry], dict[str, Any]]:
    from ingestion.pipeline import ingest

    seconds = 0.0
    if ingest_first:
        started = time.monotonic()
        report = ingest(settings, [ROOT / "corpus"])
        seconds = round(time.monotonic() - started, 1)
        print(report.format_text(), file=sys.stderr)
    fake = await FakeTelegram().start()
    assistant = Assistant(settings.model_copy(update={"telegram_api_url": fake.base_url}))
    app = build_application(
        settings.model_copy(
            update={"telegram_api_url": fake.base_url, "telegram_bot_token": _secret(fake.token)}
        ),
        assistant,
    )
    recorder = Recorder(fake)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            for action, value in SCRIPT:
                if action == "say":
                    await recorder.say(value)
                elif action == "press":
                    await recorder.press(value)
                else:
                    await recorder.guided_check()
        finally:
            await app.updater.stop()
            await app.stop()
    await fake.stop()
    meta = {
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "embeddings": settings.embeddings,
        "version": assistant.versions.current().version_id,
        "ingestion": f"ingested in {seconds} s" if ingest_first else "index reused from --data-dir",
        "rejected": len(fake.rejected),
    }
    return recorder.entries, meta


def _secret(value: str) -> Any:
    from pydantic import SecretStr

    return SecretStr(value)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--output", default=str(ROOT / "docs" / "transcript.md"), help="'-' = stdout")
    parser.add_argument("--data-dir", default=None, help="index folder to reuse or keep (default: temporary)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="campo-transcript-") as tmp:
        data_dir = Path(args.data_dir) if args.data_dir else Path(tmp) / "data"
        settings = Settings(
            data_dir=data_dir,
            corpus_dir=ROOT / "corpus",
            session_backend="memory",
            llm_provider="none",
            telegram_webhook_url="",
        )
        ingest_first = not (data_dir / "index" / "ACTIVE").exists()
        entries, meta = asyncio.run(record(settings, ingest_first))
    text = render(entries, meta)
    if args.output == "-":
        print(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
