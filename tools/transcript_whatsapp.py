"""Record a realistic producer conversation on WhatsApp and write it to docs/transcript-whatsapp.md.

The app `campo serve` runs (campo.server.create_server_app: the HTTP API with the WhatsApp webhook) is
served by uvicorn on a local port. The fake Cloud API of the tests (tests/fakes/graph_server.py) plays
Meta: it POSTs signed notifications to the webhook, receives the channel's messages over HTTP and rejects
what Meta rejects. A small local server plays the speech-to-text endpoint for the voice note. The index is
built from corpus/ with the default (e5) embeddings in a temporary data folder.

    .venv/bin/python tools/transcript_whatsapp.py                 # writes docs/transcript-whatsapp.md
    .venv/bin/python tools/transcript_whatsapp.py --output -      # prints it
    .venv/bin/python tools/transcript_whatsapp.py --data-dir D    # reuse (or keep) the index in D
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import platform
import secrets
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import uvicorn  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from assistant.core import Assistant  # noqa: E402
from assistant.eligibility import FACTS  # noqa: E402
from assistant.redact import install_log_redaction  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from campo.server import create_server_app  # noqa: E402
from tests.fakes import graph_server as meta  # noqa: E402
from tests.fakes.graph_server import FakeGraph  # noqa: E402
from tests.fakes.producers import FISHERMAN  # noqa: E402

COMMAND = ".venv/bin/python tools/transcript_whatsapp.py"
# The producer's number: new on every run (a reused --data-dir keeps 30 minutes of state per number); it
# appears nowhere in the transcript.
PHONE = "52155" + "".join(secrets.choice("0123456789") for _ in range(8))
SPOKEN = "oiga y si tengo 3 hectareas de maiz puedo pedir apoyo"  # what the voice note says

# What the producer does, as producers write: no accents, abbreviations.
SCRIPT: list[tuple[str, str]] = [
    ("say", "hola"),
    ("say", "q papeles necesito pa propesca"),
    ("say", "y hasta cuando hay ventanilla"),
    ("tap", "📄 Ver fuente"),
    ("tap", "👎"),
    ("say", "cuanto cuesta el boleto de camion a monterrey"),  # off-topic: must abstain
    ("voice", SPOKEN),
    ("tap", "✅ Revisar"),
    ("check", ""),  # answer the guided check to the result
    ("image", ""),
    ("say", "nueva"),
    ("say", "programas"),
    ("tap", "PROPESCA"),
    ("say", "de cuanto es el apoyo"),
]

# The guided check, answered by a 47-year-old fisherman: a button or row, or what he types.
CHECK_ANSWERS = FISHERMAN


@dataclass
class Entry:
    who: str  # "user" | "bot" | "note"
    text: str
    options: list[str] = field(default_factory=list)
    kind: str = "text"  # text | button | list
    length: int = 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _ASR(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        payload = json.dumps({"text": SPOKEN}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


class _Capture(logging.Handler):
    """Every log record of the run, formatted (as the service's log handlers would see it)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class Recorder:
    """Plays the producer's phone: Meta's notifications in, the channel's messages out."""

    def __init__(self, fake: FakeGraph, url: str, channel: Any) -> None:
        self.fake, self.url, self.channel = fake, url, channel
        self.entries: list[Entry] = []
        self._seen = 0
        self.options: dict[str, tuple[str, bool]] = {}  # label -> (id, is a list row)

    async def _post(self, payload: dict[str, Any]) -> None:
        response = await self.fake.notify(self.url, payload)
        if response.status_code != 200:
            raise RuntimeError(f"webhook answered {response.status_code}")
        await self.settle()

    async def settle(self) -> None:
        """Wait until the channel has handled everything, then collect what it sent."""
        await self.channel.idle(timeout=120)
        if len(self.fake.sent) == self._seen:
            raise RuntimeError(f"no answer (after: {self.entries[-1].text[:80]!r})")
        for message in self.fake.sent[self._seen :]:
            self.entries.append(self._entry(message))
        self._seen = len(self.fake.sent)

    def _entry(self, message: dict[str, Any]) -> Entry:
        if message["type"] == "text":
            text = message["text"]["body"]
            return Entry("bot", text, length=len(text))
        interactive = message["interactive"]
        text = interactive["body"]["text"]
        labels: list[str] = []
        if interactive["type"] == "button":
            for b in interactive["action"]["buttons"]:
                labels.append(b["reply"]["title"])
                self.options[b["reply"]["title"]] = (b["reply"]["id"], False)
        else:
            for section in interactive["action"]["sections"]:
                for row in section["rows"]:
                    label = row["title"] + (f" ({row['description']})" if row.get("description") else "")
                    labels.append(label)
                    for key in (row["title"], row.get("description", "")):
                        if key:
                            self.options[key] = (row["id"], True)
        return Entry("bot", text, labels, interactive["type"], len(text))

    async def say(self, text: str) -> None:
        self.entries.append(Entry("user", text))
        await self._post(meta.text(PHONE, text))

    async def tap(self, label: str) -> None:
        if label not in self.options:  # the last reply offered no such button (an abstention has none)
            self.entries.append(
                Entry("note", f"el productor querría tocar {label}, pero Campo no lo ofreció")
            )
            return
        reply_id, row = self.options[label]
        self.entries.append(
            Entry("user", f"[elige «{label}» en la lista]" if row else f"[toca el botón {label}]")
        )
        await self._post(meta.tap(PHONE, reply_id, label, row=row))

    async def voice(self, spoken: str) -> None:
        self.fake.media["nota-1"] = b"OggS (nota de voz)"
        self.entries.append(Entry("user", f"[nota de voz: «{spoken}»]"))
        await self._post(
            meta.message(PHONE, "audio", {"id": "nota-1", "mime_type": "audio/ogg", "voice": True})
        )

    async def image(self) -> None:
        self.entries.append(Entry("user", "[manda una foto de su parcela]"))
        await self._post(meta.message(PHONE, "image", {"id": "foto-1", "mime_type": "image/jpeg"}))

    async def guided_check(self) -> None:
        for _ in range(len(FACTS) + 2):
            bot = [e for e in self.entries if e.who == "bot"]
            if any("Resultado de la revisión" in e.text for e in bot[-4:]):
                return
            fact = next((k for k, spec in FACTS.items() if spec.question in bot[-1].text), None)
            if fact is None:
                raise RuntimeError(f"not a question of the check: {bot[-1].text[:200]}")
            answer = CHECK_ANSWERS.get(fact, "No sé")
            if answer in self.options and bot[-1].options:
                await self.tap(answer)
            else:
                await self.say(answer)
        raise RuntimeError("the guided check did not end")


def render(entries: list[Entry], info: dict[str, Any]) -> str:
    lines = [
        "# A producer's conversation on WhatsApp (generated)",
        "",
        f"Generated by `{COMMAND}` on {info['date']} ({info['machine']}); do not edit by hand.",
        "",
        "The app `campo serve` runs (`campo.server.create_server_app`) receives Meta's signed webhook",
        "notifications from the fake Cloud API of the tests (`tests/fakes/graph_server.py`), which also",
        "receives the channel's messages over HTTP and rejects what Meta rejects; a local server plays the",
        f"speech-to-text endpoint. Index built from `corpus/` with the `{info['embeddings']}` embeddings (version",
        f"`{info['version']}`, {info['ingestion']}). The bot's messages are shown as WhatsApp receives them,",
        "in WhatsApp's own formatting (`*bold*`, `_italics_`); reply buttons are in brackets, list rows after",
        "▾. Character counts are those of the text sent (limits: 4,096 for a text, 1,024 for the body of a",
        "message with buttons or a list). Nothing here is curated.",
        "",
    ]
    for entry in entries:
        if entry.who == "user":
            lines += [f"**Productor:** {entry.text}", ""]
            continue
        if entry.who == "note":
            lines += [f"_({entry.text})_", ""]
            continue
        lines += ["**Campo:**", "", "```text", *entry.text.split("\n")]
        if entry.kind == "button":
            lines += ["", " ".join(f"[{o}]" for o in entry.options)]
        elif entry.kind == "list":
            lines += ["", "▾ " + " · ".join(entry.options)]
        lines += ["```", f"<sub>{entry.length} caracteres</sub>", ""]
    bot = [e for e in entries if e.who == "bot"]
    lines += [
        "## Numbers",
        "",
        f"- Producer turns: {sum(e.who == 'user' for e in entries)}; messages from Campo: {len(bot)}"
        f" ({sum(e.kind == 'button' for e in bot)} with reply buttons, {sum(e.kind == 'list' for e in bot)} lists).",
        f"- Longest message: {max((e.length for e in bot), default=0)} characters.",
        f"- Messages the fake Cloud API rejected (limits, token): {info['rejected']}.",
        f"- The producer's phone number in log records: {info['phone_in_logs']}; in the state files"
        f" (`state.sqlite3`: feedback, once-only claims, the check's answers): {info['phone_in_state']}.",
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
    fake = await FakeGraph().start()
    asr = ThreadingHTTPServer(("127.0.0.1", 0), _ASR)
    threading.Thread(target=asr.serve_forever, daemon=True).start()
    port = _free_port()
    configured = settings.model_copy(
        update={
            "whatsapp_token": SecretStr(fake.token),
            "whatsapp_phone_id": meta.PHONE_ID,
            "whatsapp_app_secret": SecretStr(fake.app_secret),
            "whatsapp_verify_token": SecretStr("transcript-verify-token"),
            "whatsapp_api_url": fake.base_url,
            "asr_base_url": f"http://127.0.0.1:{asr.server_port}/v1",
        }
    )
    install_log_redaction()  # as `campo serve` does
    assistant = Assistant(configured)
    app = create_server_app(configured, assistant)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    recorder = Recorder(fake, f"http://127.0.0.1:{port}/v1/whatsapp/webhook", app.state.whatsapp)
    logged = _Capture()
    logging.getLogger().addHandler(logged)
    logging.getLogger().setLevel(logging.DEBUG)
    try:
        for action, value in SCRIPT:
            if action == "say":
                await recorder.say(value)
            elif action == "tap":
                await recorder.tap(value)
            elif action == "voice":
                await recorder.voice(value)
            elif action == "image":
                await recorder.image()
            else:
                await recorder.guided_check()
    finally:
        server.should_exit = True
        await task
        asr.shutdown()
        await fake.stop()
        logging.getLogger().removeHandler(logged)
    stored = b"".join(p.read_bytes() for p in settings.data_dir.glob("state.sqlite3*"))
    info = {
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "embeddings": settings.embeddings,
        "version": assistant.versions.current().version_id,
        "ingestion": f"ingested in {seconds} s" if ingest_first else "index reused from --data-dir",
        "rejected": len(fake.rejected) + fake.unauthorized,
        "phone_in_logs": sum(PHONE in m or PHONE[-10:] in m for m in logged.messages),
        "phone_in_state": stored.count(PHONE.encode()) + stored.count(PHONE[-10:].encode()),
    }
    return recorder.entries, info


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--output", default=str(ROOT / "docs" / "transcript-whatsapp.md"), help="'-' = stdout"
    )
    parser.add_argument("--data-dir", default=None, help="index folder to reuse or keep (default: temporary)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="campo-transcript-") as tmp:
        data_dir = Path(args.data_dir) if args.data_dir else Path(tmp) / "data"
        settings = Settings(
            data_dir=data_dir,
            corpus_dir=ROOT / "corpus",
            session_backend="memory",
            llm_provider="none",
        )
        ingest_first = not (data_dir / "index" / "ACTIVE").exists()
        entries, info = asyncio.run(record(settings, ingest_first))
    text = render(entries, info)
    if args.output == "-":
        print(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
