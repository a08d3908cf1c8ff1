"""Single-question latency of the core (retrieval + extractive answer), warm, on an existing index.

Usage: .venv/bin/python tools/bench_core.py [--questions tests/data/sample_questions.yaml] [--rounds 5]
Reads the index of CAMPO_DATA_DIR (run `campo ingest` first). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import yaml

from assistant.core import Assistant
from assistant.sessions import MemorySessionStore
from assistant.settings import get_settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", default="tests/data/sample_questions.yaml")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    settings = get_settings()
    assistant = Assistant(settings, sessions=MemorySessionStore())
    questions = [q["q"] for q in yaml.safe_load(Path(args.questions).read_text("utf-8"))]
    for q in questions[:5]:
        assistant.ask(q)  # warm-up: model, index, caches
    timings: dict[str, list[float]] = {
        "ask (retrieval + answer)": [],
        "retrieval only": [],
        "embed query": [],
    }
    version = assistant.versions.current()
    for _ in range(args.rounds):
        for q in questions:
            t0 = time.perf_counter()
            assistant.ask(q)
            t1 = time.perf_counter()
            assistant.retriever.retrieve(version, q, k=settings.retrieval_k)
            t2 = time.perf_counter()
            assistant.embeddings.embed_query_vector(q)
            t3 = time.perf_counter()
            timings["ask (retrieval + answer)"].append((t1 - t0) * 1000)
            timings["retrieval only"].append((t2 - t1) * 1000)
            timings["embed query"].append((t3 - t2) * 1000)
    print(
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"index {version.version_id}: {len(version.chunks)} chunks, {len(version.sentences)} sentences; "
        f"{len(questions)} questions × {args.rounds} rounds\n"
    )
    print("| step | p50 ms | p95 ms | mean ms |\n| --- | ---: | ---: | ---: |")
    for name, values in timings.items():
        print(
            f"| {name} | {statistics.median(values):.1f} | {np.percentile(values, 95):.1f} | "
            f"{statistics.fmean(values):.1f} |"
        )


if __name__ == "__main__":
    main()
