"""How query latency and memory grow with the index: 1k, 10k, 100k chunks, embedded vs server Chroma.

Synthetic data: chunk texts are random Spanish sentences drawn from the sample corpus's vocabulary and
vectors are random unit vectors seeded by the text (so no model runs); the query vector is precomputed,
so the figures are retrieval + answer composition without the ~10 ms e5 query embedding.

Usage: .venv/bin/python tools/bench_scale.py [--sizes 1000 10000 100000] [--server] [--plot docs/img/latency_vs_size.png]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assistant.core import Assistant
from assistant.embeddings import CampoEmbeddings
from assistant.sessions import MemorySessionStore
from assistant.settings import Settings
from ingestion.pipeline import build_records_version

ROOT = Path(__file__).resolve().parents[1]


class RandomEmbeddings(CampoEmbeddings):
    """Unit vectors seeded by the text: stable, model-free, 384 dims like e5."""

    dim = 384
    model_id = "random-384"

    def _embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            out[i] = np.random.default_rng(seed).standard_normal(self.dim)
        return out


def vocabulary() -> list[str]:
    words: set[str] = set()
    for path in (ROOT / "corpus").glob("*.md"):
        words.update(re.findall(r"[a-záéíóúñ]{4,}", path.read_text("utf-8").lower()))
    return sorted(words)


def records(n: int, vocab: list[str]) -> list[dict[str, object]]:
    rng = random.Random(n)
    out = []
    for i in range(n):
        sentences = [" ".join(rng.choices(vocab, k=14)).capitalize() + "." for _ in range(2)]
        out.append(
            {
                "document_id": f"doc-{i // 50:05d}",
                "title": f"Documento sintético {i // 50}",
                "program": rng.choice(["pidr", "pesca", "cdi", "stps"]),
                "fiscal_year": rng.choice([2014, 2015, 2016]),
                "section": f"Artículo {i % 50 + 1}",
                "text": " ".join(sentences),
            }
        )
    return out


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def start_server(path: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    chroma = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).read()
            return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("chroma server did not start")


def measure(size: int, chroma_url: str, tmp: Path, vocab: list[str], queries: int) -> dict[str, float]:
    settings = Settings(
        data_dir=tmp / f"data-{size}-{bool(chroma_url)}",
        embeddings="fake",
        chroma_url=chroma_url,
        session_backend="memory",
    )
    emb = RandomEmbeddings()
    recs = records(size, vocab)
    started = time.perf_counter()
    build_records_version(settings, recs, emb)  # type: ignore[arg-type]
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    assistant = Assistant(settings, embeddings=emb, sessions=MemorySessionStore())
    version = assistant.versions.current()
    load_s = time.perf_counter() - started
    rng = random.Random(7)
    texts = [" ".join(rng.choices(vocab, k=6)) for _ in range(queries)]
    vectors = [emb.embed_query_vector(t) for t in texts]
    for t, v in zip(texts[:5], vectors[:5], strict=True):
        assistant.retriever.retrieve(version, t, k=5, query_vector=v)
    timings = []
    for t, v in zip(texts, vectors, strict=True):
        t0 = time.perf_counter()
        assistant.retriever.retrieve(version, t, k=5, query_vector=v)
        timings.append((time.perf_counter() - t0) * 1000)
    return {
        "size": size,
        "p50": float(np.percentile(timings, 50)),
        "p95": float(np.percentile(timings, 95)),
        "build_s": build_s,
        "load_s": load_s,
        "rss_mb": rss_mb(),
        "chunks_per_s": size / build_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--server", action="store_true", help="also measure against a `chroma run` server")
    parser.add_argument("--plot", default="")
    parser.add_argument("--output", default="", help="write the figures as JSON here")
    args = parser.parse_args()
    vocab = vocabulary()
    results: dict[str, list[dict[str, float]]] = {"embedded": []}
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for size in args.sizes:
            results["embedded"].append(measure(size, "", tmp, vocab, args.queries))
            print(results["embedded"][-1], flush=True)
        if args.server:
            proc, url = start_server(tmp / "server")
            try:
                results["server"] = []
                for size in args.sizes:
                    results["server"].append(measure(size, url, tmp, vocab, args.queries))
                    print("server", results["server"][-1], flush=True)
            finally:
                proc.terminate()
    print("\n| Chroma | chunks | p50 ms | p95 ms | build s (chunks/s) | load s | max RSS MB |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for mode, rows in results.items():
        for r in rows:
            print(
                f"| {mode} | {int(r['size']):,} | {r['p50']:.1f} | {r['p95']:.1f} | "
                f"{r['build_s']:.0f} ({r['chunks_per_s']:.0f}) | {r['load_s']:.1f} | {r['rss_mb']:.0f} |"
            )
    if args.output:
        import json
        import os
        import platform

        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "command": " ".join(["tools/bench_scale.py", *sys.argv[1:]]),
            "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine()},
            "load_average": os.getloadavg(),
            "note": "synthetic chunks and random vectors; retrieval + fusion, no query embedding",
            "results": results,
        }
        Path(args.output).write_text(json.dumps(payload, indent=1), "utf-8")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        for mode, rows in results.items():
            ax.plot([r["size"] for r in rows], [r["p50"] for r in rows], marker="o", label=f"{mode} p50")
            ax.plot(
                [r["size"] for r in rows], [r["p95"] for r in rows], marker="x", ls="--", label=f"{mode} p95"
            )
        ax.set_xscale("log")
        ax.set_xlabel("chunks in the index (synthetic)")
        ax.set_ylabel("retrieval latency, ms")
        ax.legend()
        ax.grid(True, alpha=0.3)
        Path(args.plot).parent.mkdir(parents=True, exist_ok=True)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
