"""Bounded loopback load tests: HTTP /v1/ask (optionally during re-ingestion and rollback), and the bot.

HTTP mode starts ``uvicorn assistant.api.app:app_from_env`` in a child process over a copy of the
corpus in a temporary data dir, ingests it (``campo ingest``), then keeps ``--concurrency`` clients
asking questions for ``--duration`` seconds. It reports throughput, latency percentiles, errors, the
index versions answers came from, and the server's RSS before, during (sampled every second) and after.
With ``--reingest`` an admin keeps editing a document, re-ingesting (admin job) and rolling back
while the load runs; every answer must come from a complete version (one in ``/v1/index``), and its
text must be the one of that version.

Bot mode runs the real python-telegram-bot Application against the fake Bot API server
(tests/fakes/telegram_server.py): ``--chats`` chats ask a question at once, then a follow-up at once;
each follow-up must be answered from its own chat's context.

    .venv/bin/python tools/load_test.py                              # e5, 32 clients, 60 s
    .venv/bin/python tools/load_test.py --embeddings fake --duration 10 --reingest
    .venv/bin/python tools/load_test.py --mode bot --chats 200
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `tests.*` importable
    sys.path.insert(0, str(ROOT))

# The edit an admin keeps making during --reingest (a closing date of the sample corpus).
EDITS = {
    "lineamientos-propesca-2014.md": (
        "al 31 de marzo de 2014 (fechas ilustrativas)",
        "al {day} de abril de 2014 (fechas ilustrativas)",  # a new date each round: a new version each time
    ),
}


# --- Measuring ----------------------------------------------------------------------------------


@dataclass
class LoadResult:
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    exceptions: Counter[str] = field(default_factory=Counter)
    versions: Counter[str] = field(default_factory=Counter)
    inconsistent: list[str] = field(default_factory=list)  # answers whose text is not their version's
    rss_mb: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, MB)
    listed: set[str] = field(default_factory=set)  # versions /v1/index listed during the run

    @property
    def requests(self) -> int:
        return sum(self.statuses.values()) + sum(self.exceptions.values())

    @property
    def errors(self) -> int:
        return sum(n for s, n in self.statuses.items() if s != 200) + sum(self.exceptions.values())

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies)
        out: dict[str, Any] = {
            "requests": self.requests,
            "errors": self.errors,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "exceptions": dict(self.exceptions),
            "seconds": round(self.seconds, 1),
            "throughput_rps": round(len(lat) / self.seconds, 1) if self.seconds else 0.0,
            "latency_ms": percentiles(lat),
            "versions": dict(self.versions),
            "inconsistent": self.inconsistent[:10],
        }
        if self.rss_mb:
            values = [mb for _, mb in self.rss_mb]
            out["rss_mb"] = {
                "first": values[0],
                "last": values[-1],
                "min": min(values),
                "max": max(values),
                "slope_mb_per_min_second_half": round(slope(self.rss_mb[len(self.rss_mb) // 2 :]) * 60, 2),
                "samples": len(values),
                "every_5_s": values[::5],
            }
        return out


def percentiles(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {}
    lat = sorted(latencies)

    def pick(q: float) -> float:
        return round(1000 * lat[min(len(lat) - 1, int(q * len(lat)))], 1)

    return {
        "p50": pick(0.50),
        "p95": pick(0.95),
        "p99": pick(0.99),
        "max": round(1000 * lat[-1], 1),
        "mean": round(1000 * statistics.fmean(lat), 1),
    }


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope (units per second) of (t, value) points; 0 with fewer than 3 points."""
    if len(points) < 3:
        return 0.0
    ts = [t for t, _ in points]
    vs = [v for _, v in points]
    mt, mv = statistics.fmean(ts), statistics.fmean(vs)
    den = sum((t - mt) ** 2 for t in ts)
    return sum((t - mt) * (v - mv) for t, v in points) / den if den else 0.0


def rss_mb(pid: int) -> float:
    """Resident memory of a process (Linux /proc), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


class RssSampler:
    """Samples a process's RSS every ``interval`` seconds in a thread."""

    def __init__(self, pid: int, interval: float = 1.0) -> None:
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._start = time.monotonic()

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError):
                self.samples.append((round(time.monotonic() - self._start, 1), rss_mb(self.pid)))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# --- HTTP load ----------------------------------------------------------------------------------------

Check = Callable[[dict[str, Any]], str | None]  # an answer -> why it is wrong, or None


async def ask_load(
    base_url: str,
    questions: list[str],
    *,
    concurrency: int,
    duration: float,
    result: LoadResult | None = None,
    check: Check | None = None,
    headers: dict[str, str] | None = None,
    until: asyncio.Event | None = None,
) -> LoadResult:
    """``concurrency`` clients POST /v1/ask in a loop for ``duration`` s (or until ``until`` is set)."""
    import httpx

    result = result or LoadResult()
    deadline = time.monotonic() + duration
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def client_loop(worker: int, client: httpx.AsyncClient) -> None:
        n = worker
        while time.monotonic() < deadline and not (until and until.is_set()):
            question = questions[n % len(questions)]
            n += concurrency
            body: dict[str, Any] = {"question": question}
            if worker % 4 == 0:  # a quarter of the clients keep a conversation
                body["session_id"] = f"carga-{worker}"
            started = time.perf_counter()
            try:
                r = await client.post("/v1/ask", json=body, headers=headers)
            except Exception as exc:  # transport errors count as errors
                result.exceptions[type(exc).__name__] += 1
                continue
            result.latencies.append(time.perf_counter() - started)
            result.statuses[r.status_code] += 1
            if r.status_code == 200:
                answer = r.json()
                result.versions[answer.get("index_version") or "?"] += 1
                if check and (problem := check(answer)):
                    result.inconsistent.append(problem)

    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:
        await asyncio.gather(*(client_loop(w, client) for w in range(concurrency)))
    result.seconds += time.monotonic() - started
    return result


async def churn_index(
    base_url: str,
    token: str,
    edit: Callable[[int], None],
    *,
    rounds: int,
    pause: float = 0.5,
    direct_ingest: Callable[[], Awaitable[Any]] | None = None,
    settled: Callable[[], Awaitable[None]] | None = None,
) -> list[dict[str, Any]]:
    """An admin at work: edit → re-ingest (admin job) → rollback, ``rounds`` times; optionally a direct
    `campo ingest`-style call too. ``settled`` (optional) is awaited after each switch, before the pause
    (tests wait there until the server answers from the new active version). Returns what happened."""
    import httpx

    auth = {"Authorization": f"Bearer {token}"}
    events: list[dict[str, Any]] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=300) as admin:
        for n in range(rounds):
            edit(n)
            r = await admin.post("/v1/admin/ingest", headers=auth)
            r.raise_for_status()
            job = r.json()
            while job["status"] not in ("succeeded", "failed"):
                await asyncio.sleep(0.1)
                job = (await admin.get(f"/v1/admin/jobs/{job['job_id']}", headers=auth)).json()
            events.append(
                {"event": "ingest", "status": job["status"], "version": (job["report"] or {}).get("version")}
            )
            if settled is not None:
                await settled()
            await asyncio.sleep(pause)
            r = await admin.post("/v1/admin/rollback", headers=auth, json={})
            events.append(
                {"event": "rollback", "status": r.status_code, "version": r.json().get("active_version")}
            )
            if settled is not None:
                await settled()
            await asyncio.sleep(pause)
            if direct_ingest is not None:
                report = await direct_ingest()
                events.append({"event": "direct-ingest", "version": getattr(report, "version", None)})
                if settled is not None:
                    await settled()
                await asyncio.sleep(pause)
    return events


async def index_versions(base_url: str, headers: dict[str, str] | None = None) -> set[str]:
    """Every version /v1/index lists: kept complete versions and the history of switches."""
    import httpx

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        info = (await client.get("/v1/index", headers=headers)).json()
    found = {v["version"] if isinstance(v, dict) else str(v) for v in info["versions"]}
    found |= {e["version"] for e in info["history"]}
    return found


@contextlib.contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """A real uvicorn serving ``app`` on a free loopback port in this process; yields its base URL."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 300) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise RuntimeError("server not ready")


def run_http(args: argparse.Namespace) -> dict[str, Any]:
    import yaml

    load_at_start = [round(x, 2) for x in os.getloadavg()]
    work = Path(args.data_dir or tempfile.mkdtemp(prefix="campo-load-"))
    corpus = work / "corpus"
    if not corpus.exists():
        shutil.copytree(args.corpus, corpus)
    token = secrets.token_urlsafe(32)
    env = {
        **os.environ,
        "CAMPO_DATA_DIR": str(work / "data"),
        "CAMPO_CORPUS_DIR": str(corpus),
        "CAMPO_EMBEDDINGS": args.embeddings,
        "CAMPO_ADMIN_TOKEN": token,
        "CAMPO_RATE_LIMIT_PER_MINUTE": "0"
        if not args.keep_rate_limit
        else os.environ.get("CAMPO_RATE_LIMIT_PER_MINUTE", "120"),
        "CAMPO_LOG_LEVEL": "WARNING",
        "ANONYMIZED_TELEMETRY": "False",
        "PYTHONPATH": str(ROOT),
    }
    if args.embeddings == "fake":
        env["CAMPO_ABSTAIN_THRESHOLD"] = "0.005"
    started = time.monotonic()
    ingest = subprocess.run(
        [sys.executable, "-m", "campo.cli", "ingest", "--quiet"], env=env, capture_output=True, text=True
    )
    ingest_seconds = round(time.monotonic() - started, 1)
    if ingest.returncode not in (0, 2):
        raise RuntimeError(ingest.stdout + ingest.stderr)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "assistant.api.app:app_from_env", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
        ],
        env=env,
        cwd=ROOT,
    )  # fmt: skip
    try:
        _wait_ready(base, server)
        questions = [q["q"] for q in yaml.safe_load(Path(args.questions).read_text("utf-8"))]
        rss_idle = rss_mb(server.pid)
        asyncio.run(ask_load(base, questions, concurrency=args.concurrency, duration=args.warmup))
        rss_warm = rss_mb(server.pid)
        result = LoadResult()
        events: list[dict[str, Any]] = []
        with RssSampler(server.pid) as sampler:
            if args.reingest:
                result, events = asyncio.run(_load_with_churn(args, base, token, corpus, questions))
            else:
                asyncio.run(
                    ask_load(
                        base, questions, concurrency=args.concurrency, duration=args.duration, result=result
                    )
                )
        result.rss_mb = sampler.samples
        rss_after = rss_mb(server.pid)
        listed = result.listed | asyncio.run(index_versions(base)) if args.reingest else set()
    finally:
        server.terminate()
        server.wait(timeout=30)
    summary = result.summary()
    summary.update(
        mode="http",
        concurrency=args.concurrency,
        embeddings=args.embeddings,
        ingest_seconds=ingest_seconds,
        rss_idle_mb=rss_idle,
        rss_after_warmup_mb=rss_warm,
        rss_after_mb=rss_after,
        loadavg_at_start=load_at_start,
        machine=machine(),
    )
    if args.reingest:
        summary["admin_events"] = events
        summary["versions_not_listed"] = sorted(set(result.versions) - listed)
    if not args.data_dir:
        shutil.rmtree(work, ignore_errors=True)
    return summary


async def _load_with_churn(
    args: argparse.Namespace, base: str, token: str, corpus: Path, questions: list[str]
) -> tuple[LoadResult, list[dict[str, Any]]]:
    name, (old, new) = next(iter(EDITS.items()))
    path = corpus / name
    original = path.read_text("utf-8")

    def edit(n: int) -> None:
        path.write_text(original.replace(old, new.format(day=2 + n)), "utf-8")

    result = LoadResult()
    done = asyncio.Event()
    started = time.monotonic()
    load = asyncio.create_task(
        ask_load(base, questions, concurrency=args.concurrency, duration=10**9, result=result, until=done)
    )

    async def watch_listed() -> None:  # /v1/index keeps 50 switches: note what it lists as we go
        while not done.is_set():
            result.listed |= await index_versions(base)
            await asyncio.sleep(0.25)

    watcher = asyncio.create_task(watch_listed())
    events = await churn_index(base, token, edit, rounds=args.rounds)
    await asyncio.sleep(max(0.0, args.duration - (time.monotonic() - started)))  # at least --duration
    done.set()
    await load
    await watcher
    path.write_text(original, "utf-8")
    return result, events


# --- Bot: many chats at once ------------------------------------------------------------------------

# (first question, follow-up, text the follow-up answer must contain, text it must not contain), over the
# records of tests/conftest.py. Without its chat's context "¿y los requisitos?" is answered from the
# fishing rules; with the window-dates chat's context, from the operating rules.
CONVERSATIONS = [
    (
        "monto del apoyo por pescador",
        "¿y los requisitos?",
        "Lineamientos de Pesca 2014",
        "Reglas de Operación",
    ),
    (
        "cuando abren las ventanillas",
        "¿y los requisitos?",
        "Reglas de Operación 2014",
        "Lineamientos de Pesca",
    ),
]


@dataclass
class BotResult:
    chats: int = 0
    answered: int = 0
    mixed: list[str] = field(default_factory=list)  # chats whose follow-up used another chat's context
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    rejected: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "mode": "bot",
            "chats": self.chats,
            "messages_answered": self.answered,
            "mixed_sessions": len(self.mixed),
            "mixed_examples": self.mixed[:5],
            "rejected_by_fake_telegram": self.rejected,
            "seconds": round(self.seconds, 1),
            "reply_latency_ms": percentiles(self.latencies),
        }


async def bot_chats(settings: Any, assistant: Any, chats: int, timeout: float = 300) -> BotResult:
    """Every chat asks at once, then every chat follows up at once; check each follow-up's context."""
    from bot.app import build_application
    from tests.fakes.telegram_server import FakeTelegram

    fake = await FakeTelegram().start()
    settings = settings.model_copy(update={"telegram_api_url": fake.base_url})
    from pydantic import SecretStr

    settings = settings.model_copy(update={"telegram_bot_token": SecretStr(fake.token)})
    app = build_application(settings, assistant)
    result = BotResult(chats=chats)
    started = time.monotonic()
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            ids = [100_000 + n for n in range(chats)]
            for step in (0, 1):
                pushed: dict[int, float] = {}
                before = len(fake.sent)
                for n, chat in enumerate(ids):
                    fake.push_message(CONVERSATIONS[n % len(CONVERSATIONS)][step], chat_id=chat)
                    pushed[chat] = time.monotonic()
                seen, deadline = before, time.monotonic() + timeout
                while seen < before + chats:  # note each reply when it arrives
                    if time.monotonic() > deadline:
                        raise AssertionError(f"{before + chats - seen} chats got no answer")
                    now = time.monotonic()
                    for message in fake.sent[seen:]:
                        result.latencies.append(now - pushed.get(int(message["chat_id"]), started))
                    seen = len(fake.sent)
                    await asyncio.sleep(0.01)
                sent = fake.sent
                for message in sent[before:]:
                    chat = int(message["chat_id"])
                    if step == 1:
                        _, _, must, must_not = CONVERSATIONS[ids.index(chat) % len(CONVERSATIONS)]
                        if must not in message["text"] or must_not in message["text"]:
                            result.mixed.append(f"chat {chat}: {message['text'][:120]!r}")
                result.answered += len(sent) - before
        finally:
            await app.updater.stop()
            await app.stop()
    await fake.stop()
    result.rejected = len(fake.rejected)
    result.seconds = time.monotonic() - started
    return result


def run_bot(args: argparse.Namespace) -> dict[str, Any]:
    from assistant.core import Assistant
    from assistant.embeddings import HashingEmbeddings, make_embeddings
    from assistant.sessions import MemorySessionStore
    from tests.conftest import build_test_index, make_settings

    with tempfile.TemporaryDirectory(prefix="campo-bot-load-") as tmp:
        overrides: dict[str, Any] = {"bot_rate_limit_per_minute": 0}
        if args.embeddings != "fake":
            overrides.update(embeddings=args.embeddings, abstain_threshold=0.86)
        settings = make_settings(Path(tmp), **overrides)
        embeddings = HashingEmbeddings() if args.embeddings == "fake" else make_embeddings(settings)
        build_test_index(settings, embeddings=embeddings)
        assistant = Assistant(settings, embeddings=embeddings, sessions=MemorySessionStore())
        summary = asyncio.run(bot_chats(settings, assistant, args.chats)).summary()
    summary.update(embeddings=args.embeddings, machine=machine())
    return summary


# --- Main -------------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "loadavg_1_5_15": [round(x, 2) for x in load],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mode", choices=["http", "bot"], default="http")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of measured load")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of unmeasured load first")
    parser.add_argument("--embeddings", default=os.environ.get("CAMPO_EMBEDDINGS", "e5"))
    parser.add_argument("--corpus", default=str(ROOT / "corpus"))
    parser.add_argument("--questions", default=str(ROOT / "tests" / "data" / "sample_questions.yaml"))
    parser.add_argument("--data-dir", help="reuse this work dir (corpus copy + index) instead of a temp one")
    parser.add_argument("--reingest", action="store_true", help="edit, re-ingest and roll back during load")
    parser.add_argument("--rounds", type=int, default=3, help="re-ingest + rollback rounds with --reingest")
    parser.add_argument("--keep-rate-limit", action="store_true", help="do not lift the per-client limit")
    parser.add_argument("--chats", type=int, default=200, help="bot mode: chats talking at once")
    parser.add_argument("--json", help="also write the summary to this file")
    args = parser.parse_args()
    summary = run_http(args) if args.mode == "http" else run_bot(args)
    text = json.dumps(summary, ensure_ascii=False, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text, "utf-8")
    failed = (
        summary.get("errors", 0) or summary.get("mixed_sessions", 0) or summary.get("versions_not_listed")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
