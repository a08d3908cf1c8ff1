"""Ingestion throughput (cold, unchanged corpus, one changed document) and service start-up time.

    .venv/bin/python tools/bench_ingest.py [--corpus corpus] [--output docs/results/ingest.json]

Runs the real pipeline (`campo ingest`'s code) with the configured embedding backend (e5 by default) on a
copy of the corpus in a temporary folder, with an empty embedding cache:

1. cold: first ingestion, everything loaded, split and embedded;
2. unchanged: the same corpus again (nothing to embed; no new version);
3. one changed document: one Markdown document gets one more sentence (only its new texts are embedded);
4. start-up: `campo serve` on a free port until `/readyz` answers 200 (model and index loaded).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from assistant.settings import Settings
from ingestion.pipeline import ingest

ROOT = Path(__file__).resolve().parents[1]


def _run(settings: Settings, label: str) -> dict[str, Any]:
    started = time.perf_counter()
    report = ingest(settings)
    seconds = time.perf_counter() - started
    chunks = report.total_chunks or report.chunks_reused
    row = {
        "run": label,
        "seconds": round(seconds, 2),
        "texts_embedded": report.chunks_embedded,
        "chunks_in_index": report.total_chunks,
        "switched": report.switched,
        "failed": len(report.failed),
        "chunks_per_s": round(chunks / seconds, 1) if chunks and seconds else None,
    }
    print(json.dumps(row), flush=True)
    return row


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def startup_seconds(data_dir: Path, corpus: Path, timeout: float = 300.0) -> float:
    port = _free_port()
    env = dict(
        os.environ,
        CAMPO_DATA_DIR=str(data_dir),
        CAMPO_CORPUS_DIR=str(corpus),
        ANONYMIZED_TELEMETRY="False",
    )
    campo = str(Path(sys.executable).with_name("campo"))
    started = time.perf_counter()
    proc = subprocess.Popen(
        [campo, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while time.perf_counter() - started < timeout:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as response:
                    if response.status == 200:
                        return time.perf_counter() - started
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("campo serve did not become ready")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        corpus = tmp / "corpus"
        shutil.copytree(args.corpus, corpus)
        settings = Settings(data_dir=tmp / "data", corpus_dir=corpus, session_backend="memory")
        rows = [_run(settings, "cold")]
        rows.append(_run(settings, "unchanged"))
        changed = sorted(corpus.glob("*.md"))[0]
        changed.write_text(
            changed.read_text("utf-8") + "\n\nEste párrafo se agregó para medir una re-ingesta (muestra).\n",
            "utf-8",
        )
        rows.append(_run(settings, f"one changed document ({changed.name})"))
        startup = startup_seconds(tmp / "data", corpus)
        print(json.dumps({"startup_to_ready_s": round(startup, 2)}), flush=True)
    result = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()},
        "load_average": os.getloadavg(),
        "embeddings": settings.embeddings,
        "runs": rows,
        "startup_to_ready_s": round(startup, 2),
    }
    print("\n| run | seconds | texts embedded | chunks/s |\n| --- | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['run']} | {r['seconds']} | {r['texts_embedded']} | {r['chunks_per_s']} |")
    print(f"\n`campo serve` start-up to /readyz 200: {startup:.1f} s")
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(result, indent=1, ensure_ascii=False), "utf-8")


if __name__ == "__main__":
    main()
