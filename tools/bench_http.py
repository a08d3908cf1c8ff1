"""`POST /v1/ask` over real HTTP: latency p50/p95/p99 and throughput at several concurrencies, hybrid
retrieval against the BM25-only path (``CAMPO_RETRIEVAL_MODE=bm25``), in one run.

Two `campo serve` processes (one per retrieval mode) are started on free loopback ports over the same
index; httpx clients send the sample questions (``tests/data/sample_questions.yaml``) with keep-alive
connections. Each (concurrency, mode) cell gets at most ``--requests`` answers and ``--duration`` seconds,
split into ``--rounds`` short rounds that alternate the modes (hybrid, bm25, bm25, hybrid, …) so that a
change in the machine's background load hits both alike; latencies are pooled over the rounds. The
rate limiter runs, with a limit too high to trip.

Without ``--data-dir`` the sample corpus is ingested (e5, ~40 s cold) into a temporary folder; with a
``--data-dir`` that already holds an index, that index is used as is. The servers inherit the
environment: ``OMP_NUM_THREADS=1`` caps the e5 engine's OpenMP threads (recorded in the JSON).

Usage: .venv/bin/python tools/bench_http.py [--data-dir data] [--requests 400] [--duration 20]
       [--concurrency 1 8] [--rounds 4] [--output docs/results/http.json]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
MODES = ("hybrid", "bm25")
REPORT_KEYS = ("benchmark", "machine", "index", "parameters", "results", "ratios", "errors", "duration_s")


def machine_info() -> dict[str, Any]:
    """CPU count and model, memory, Python and the load average (other processes share the machine)."""
    model = ""
    mem_gb = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 1024**2, 1)
                break
    except OSError:
        pass
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model or platform.processor(),
        "memory_gb": mem_gb,
        "machine": platform.machine(),
        "python": platform.python_version(),
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load_questions(path: Path) -> list[str]:
    return [str(item["q"]) for item in yaml.safe_load(path.read_text("utf-8"))]


def server_env(data_dir: Path, corpus_dir: Path, extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of `campo ingest` / `campo serve`: the caller's, made safe for a benchmark."""
    env = dict(os.environ)
    env.update(
        {
            "ANONYMIZED_TELEMETRY": "False",
            "HF_HUB_OFFLINE": "1",
            "CAMPO_DATA_DIR": str(data_dir),
            "CAMPO_CORPUS_DIR": str(corpus_dir),
            # The limiter stays on (its per-request cost is part of the path) but cannot trip.
            "CAMPO_RATE_LIMIT_PER_MINUTE": "100000000",
            "CAMPO_API_KEYS": "",
            "CAMPO_ADMIN_TOKEN": "",
            "CAMPO_LLM_PROVIDER": "none",
        }
    )
    env.update(extra)
    return env


def ensure_index(env: Mapping[str, str], log: Callable[[str], None]) -> float | None:
    """Ingest the corpus with `campo ingest` when the data dir has no index; seconds taken, or None."""
    from assistant.settings import Settings
    from assistant.versions import read_active

    if read_active(Settings(data_dir=Path(env["CAMPO_DATA_DIR"])).index_dir) is not None:
        return None
    log(f"no index in {env['CAMPO_DATA_DIR']}: ingesting {env['CAMPO_CORPUS_DIR']}…")
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "campo.cli", "ingest", "--quiet"],
        env=dict(env),
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


@contextmanager
def serve(env: Mapping[str, str], port: int, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`campo serve` on a loopback port, its output in ``log_path``; stopped on exit."""
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "campo.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=dict(env),
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_ready(
    url: str, proc: subprocess.Popen[bytes], log_path: Path, timeout: float = 180
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}):\n{_tail(log_path)}")
        try:
            r = httpx.get(f"{url}/readyz", timeout=2)
            if r.status_code == 200:
                return r.json()  # type: ignore[no-any-return]
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server at {url} not ready after {timeout:.0f} s:\n{_tail(log_path)}")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text("utf-8", "replace").splitlines()[-lines:])
    except OSError:
        return ""


async def load(
    url: str,
    questions: Sequence[str],
    concurrency: int,
    max_requests: int,
    max_seconds: float,
    *,
    offset: int = 0,
) -> dict[str, Any]:
    """``concurrency`` workers send the questions in turn (from ``offset`` rounds of questions on) until
    ``max_requests`` answers or ``max_seconds``; the raw latencies, errors and wall time."""
    latencies: list[float] = []
    errors: list[str] = []
    abstained = 0
    issued = 0
    first = offset * max_requests
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        started = time.perf_counter()
        deadline = started + max_seconds

        async def worker() -> None:
            nonlocal issued, abstained
            while issued < max_requests and time.perf_counter() < deadline:
                question = questions[(first + issued) % len(questions)]
                issued += 1
                t0 = time.perf_counter()
                try:
                    r = await client.post("/v1/ask", json={"question": question})
                    body = r.json()
                    ok = r.status_code == 200 and isinstance(body.get("answer"), str)
                except (httpx.HTTPError, ValueError) as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                if not ok:
                    errors.append(f"HTTP {r.status_code}: {r.text[:200]}")
                    continue
                latencies.append((time.perf_counter() - t0) * 1000)
                abstained += bool(body["abstained"])

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return {"latencies_ms": latencies, "errors": errors, "abstained": abstained, "wall_s": wall}


def summarize(mode: str, concurrency: int, parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Pool the rounds of one cell: percentiles over every request, throughput over the summed time."""
    latencies = [x for part in parts for x in part["latencies_ms"]]
    errors = [e for part in parts for e in part["errors"]]
    wall = sum(part["wall_s"] for part in parts)
    ms = np.array(latencies) if latencies else np.zeros(1)
    return {
        "mode": mode,
        "concurrency": concurrency,
        "requests": len(latencies),
        "errors": len(errors),
        "error_samples": errors[:5],
        "abstained": sum(part["abstained"] for part in parts),
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p95_ms": round(float(np.percentile(ms, 95)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "mean_ms": round(float(ms.mean()), 2),
        "max_ms": round(float(ms.max()), 2),
        "wall_s": round(wall, 2),
        "throughput_rps": round(len(latencies) / wall, 2) if wall > 0 else 0.0,
    }


def run_benchmark(
    *,
    data_dir: Path,
    questions: Sequence[str],
    corpus_dir: Path = ROOT / "corpus",
    env: Mapping[str, str] | None = None,
    concurrencies: Sequence[int] = (1, 8),
    max_requests: int = 400,
    max_seconds: float = 20.0,
    warmup: int = 20,
    rounds: int = 4,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Ensure the index, start one server per retrieval mode, measure every (concurrency, mode) cell."""
    started = time.perf_counter()
    machine = machine_info()
    base = server_env(data_dir, corpus_dir, env or {})
    ingest_s = ensure_index(base, log)
    startup = time.perf_counter()
    urls: dict[str, str] = {}
    ready: dict[str, dict[str, Any]] = {}
    with ExitStack() as stack:
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="campo-http-logs-")))
        procs = {}
        for mode in MODES:  # both start at once: their start-up (model, index) overlaps
            port = free_port()
            mode_env = dict(base, CAMPO_RETRIEVAL_MODE=mode)
            procs[mode] = stack.enter_context(serve(mode_env, port, logs / f"{mode}.log"))
            urls[mode] = f"http://127.0.0.1:{port}"
        for mode in MODES:
            ready[mode] = wait_ready(urls[mode], procs[mode], logs / f"{mode}.log")
        startup_s = time.perf_counter() - startup
        log(f"servers ready in {startup_s:.1f} s: {urls}")
        documents = httpx.get(f"{urls['hybrid']}/v1/documents", timeout=30).json()["documents"]
        for mode in MODES:
            asyncio.run(load(urls[mode], questions[:warmup], 1, warmup, 60.0))
        results = []
        for concurrency in concurrencies:
            parts: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
            for i in range(rounds):  # alternate modes (and which goes first) so drift hits both alike
                for mode in MODES if i % 2 == 0 else MODES[::-1]:
                    budget = max_requests // rounds + (i < max_requests % rounds)
                    parts[mode].append(
                        asyncio.run(
                            load(urls[mode], questions, concurrency, budget, max_seconds / rounds, offset=i)
                        )
                    )
            for mode in MODES:
                cell = summarize(mode, concurrency, parts[mode])
                log(
                    f"{mode:>6} c={concurrency}: {cell['requests']} requests, p50 {cell['p50_ms']} ms, "
                    f"{cell['throughput_rps']} req/s, {cell['errors']} errors"
                )
                results.append(cell)
    machine["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    by = {(r["mode"], r["concurrency"]): r for r in results}
    ratios = [
        {
            "concurrency": c,
            "p50_hybrid_over_bm25": _ratio(by[("hybrid", c)]["p50_ms"], by[("bm25", c)]["p50_ms"]),
            "p95_hybrid_over_bm25": _ratio(by[("hybrid", c)]["p95_ms"], by[("bm25", c)]["p95_ms"]),
            "throughput_bm25_over_hybrid": _ratio(
                by[("bm25", c)]["throughput_rps"], by[("hybrid", c)]["throughput_rps"]
            ),
        }
        for c in concurrencies
    ]
    return {
        "benchmark": "http POST /v1/ask",
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "index": {
            "data_dir": str(data_dir),
            "version": ready["hybrid"]["index_version"],
            "embedding_model": ready["hybrid"]["model"],
            "documents": len(documents),
            "chunks": sum(int(d.get("chunks", 0)) for d in documents),
            "ingest_s": None if ingest_s is None else round(ingest_s, 1),
            "server_startup_s": round(startup_s, 1),
        },
        "parameters": {
            "questions": len(questions),
            "warmup": warmup,
            "max_requests": max_requests,
            "max_seconds": max_seconds,
            "rounds": rounds,
            "concurrency": list(concurrencies),
            "modes": list(MODES),
            "omp_num_threads": base.get("OMP_NUM_THREADS"),  # the e5 engine's OpenMP threads (unset = all)
        },
        "results": results,
        "ratios": ratios,
        "errors": sum(r["errors"] for r in results),
        "duration_s": round(time.perf_counter() - started, 1),
    }


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def format_table(report: dict[str, Any]) -> str:
    m, ix = report["machine"], report["index"]
    lines = [
        f"Machine: {m['cpu_count']} × {m['cpu_model']}, Python {m['python']}, load average "
        f"{m['load_avg_start'][0]} → {m['load_avg_end'][0]}; index {ix['version']}: {ix['documents']} "
        f"documents, {ix['chunks']} chunks, {ix['embedding_model']}",
        "",
        "| retrieval | concurrency | requests | errors | p50 ms | p95 ms | p99 ms | req/s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in report["results"]:
        lines.append(
            f"| {r['mode']} | {r['concurrency']} | {r['requests']} | {r['errors']} | {r['p50_ms']:.1f} | "
            f"{r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {r['throughput_rps']:.1f} |"
        )
    lines.append("")
    for q in report["ratios"]:
        lines.append(
            f"c={q['concurrency']}: hybrid/bm25 p50 ×{q['p50_hybrid_over_bm25']}, "
            f"p95 ×{q['p95_hybrid_over_bm25']}; bm25/hybrid throughput ×{q['throughput_bm25_over_hybrid']}"
        )
    return "\n".join(lines)


def write_report(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", "utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data-dir", type=Path, help="data dir with an index (default: a temporary one)")
    parser.add_argument("--corpus-dir", type=Path, default=ROOT / "corpus", help="ingested if no index")
    parser.add_argument("--embeddings", default="e5", help="CAMPO_EMBEDDINGS of ingestion and servers")
    parser.add_argument("--questions", type=Path, default=ROOT / "tests" / "data" / "sample_questions.yaml")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--requests", type=int, default=400, help="at most this many per cell")
    parser.add_argument("--duration", type=float, default=20.0, help="at most this many seconds per cell")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured requests per server first")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per concurrency")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "results" / "http.json")
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= 5000 or not 0 < args.duration <= 60 or min(args.concurrency) < 1:
        parser.error("--requests must be 1..5000, --duration 0..60 s and --concurrency ≥ 1")
    if not 1 <= args.rounds <= args.requests:
        parser.error("--rounds must be between 1 and --requests")
    questions = load_questions(args.questions)
    env = {"CAMPO_EMBEDDINGS": args.embeddings}
    log = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    with ExitStack() as stack:
        data_dir = args.data_dir or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="campo-http-"))
        )
        report = run_benchmark(
            data_dir=data_dir.resolve(),
            corpus_dir=args.corpus_dir.resolve(),
            questions=questions,
            env=env,
            concurrencies=args.concurrency,
            max_requests=args.requests,
            max_seconds=args.duration,
            warmup=args.warmup,
            rounds=args.rounds,
            log=log,
        )
    python = os.path.relpath(sys.executable) if sys.executable.startswith(os.getcwd()) else sys.executable
    words = [python, *sys.argv] if argv is None else [python, __file__, *argv]
    if "OMP_NUM_THREADS" in os.environ:
        words.insert(0, f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")
    report["command"] = shlex.join(words)
    write_report(report, args.output)
    print(format_table(report))
    print(f"\nJSON: {args.output}")
    if report["errors"]:
        samples = [e for r in report["results"] for e in r["error_samples"]][:5]
        print(f"{report['errors']} requests failed, e.g. {samples}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
