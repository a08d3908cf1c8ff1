"""`Assistant.ask` latency and CPU per question, warm, on an existing index — this checkout against
another commit in the same run.

    CAMPO_DATA_DIR=… .venv/bin/python tools/bench_ask.py [--compare 0333319] [--rounds 3] [--set fresh]

Questions: the informal questions of tests/data/domain/ (both splits; timing is not tuned), or with
``--set fresh`` those of tests/data/domain_fresh/ (half of them long messages). With
``--compare REF`` the same measurement runs on a temporary git worktree of REF (same index, same
process settings); each round runs in its own process, the two codes taking turns round by round, and
both rows are printed. Prints a Markdown table and JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def measure(rounds: int, folder: str = "domain") -> dict[str, Any]:
    from assistant.core import Assistant
    from assistant.sessions import MemorySessionStore
    from assistant.settings import Settings

    sys.path.insert(0, str(ROOT))  # the questions loader of this checkout
    from campo.domain_eval import load_domain

    inside, _ = load_domain(ROOT / "tests" / "data" / folder)
    questions = [q["q"] for q in inside]
    assistant = Assistant(Settings(), sessions=MemorySessionStore())
    for q in questions[:10]:
        assistant.ask(q, max_chars=450)  # warm-up: model, index, caches
    wall: list[float] = []
    cpu_started = time.process_time()
    for _ in range(rounds):
        for q in questions:
            t0 = time.perf_counter()
            assistant.ask(q, max_chars=450)
            wall.append((time.perf_counter() - t0) * 1000)
    cpu = (time.process_time() - cpu_started) * 1000
    return summary(len(questions), rounds, wall, cpu)


def summary(questions: int, rounds: int, wall: list[float], cpu_ms: float) -> dict[str, Any]:
    import numpy as np

    return {
        "questions": questions,
        "rounds": rounds,
        "p50_ms": round(statistics.median(wall), 2),
        "p95_ms": round(float(np.percentile(wall, 95)), 2),
        "cpu_ms_per_question": round(cpu_ms / len(wall), 2),
        "wall_ms": [round(w, 3) for w in wall],
        "cpu_ms": round(cpu_ms, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", default="", help="a git ref to measure too (e.g. the previous release)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--set", choices=["main", "fresh"], default="main", help="which questions")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.rounds, "domain_fresh" if args.set == "fresh" else "domain")))
        return 0
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs = [("this checkout", ROOT)]
        if args.compare:
            tree = Path(tmp) / "ref"
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "add", "-q", str(tree), args.compare], check=True
            )
            runs.append((args.compare, tree))
        try:
            # One round at a time, the codes taking turns: the machine's speed drifts over minutes (on a
            # shared host, 5 ms of p50 between two back-to-back runs of the same code), and measuring
            # one code after the other charged that drift to whichever ran second.
            parts: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in runs}
            for _ in range(args.rounds):
                for name, code in runs:
                    env = dict(os.environ, PYTHONPATH=str(code))
                    out = subprocess.run(
                        [
                            sys.executable,
                            str(ROOT / "tools" / "bench_ask.py"),
                            "--child",
                            "--rounds",
                            "1",
                            "--set",
                            args.set,
                        ],
                        check=True,
                        capture_output=True,
                        text=True,
                        env=env,
                        cwd=code,
                    )
                    parts[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
            for name, got in parts.items():
                wall = [w for part in got for w in part["wall_ms"]]
                rows[name] = summary(got[0]["questions"], len(got), wall, sum(p["cpu_ms"] for p in got))
        finally:
            if args.compare:
                subprocess.run(
                    ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(Path(tmp) / "ref")]
                )
    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}\n")
    print(
        "| code | questions × rounds | p50 ms | p95 ms | CPU ms / question |\n| --- | ---: | ---: | ---: | ---: |"
    )
    for name, r in rows.items():
        print(
            f"| {name} | {r['questions']} × {r['rounds']} | {r['p50_ms']} | {r['p95_ms']} | "
            f"{r['cpu_ms_per_question']} |"
        )
    print(json.dumps({name: {k: v for k, v in r.items() if k != "wall_ms"} for name, r in rows.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
