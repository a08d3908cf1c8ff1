"""Sweep the extractive answerer's sentence-scoring weights on XQuAD-es dev (articles 0–23 only).

    .venv/bin/python tools/tune_answerer.py [--data-dir /tmp/campo-tune] [--max-chars 300]

Builds the dev index once (the embedding cache in --data-dir makes re-runs fast), then, for each weight
setting, asks every dev question and reports the share of short answers that contain a gold answer.
The held-out split (articles 24–47) is never loaded.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
from pathlib import Path

from assistant.answering import ExtractiveAnswerer
from assistant.settings import Settings
from assistant.versions import read_active
from campo.evaluation import DEV_ARTICLES, answer_metrics, build_assistant, load_xquad, xquad_records

XQUAD = Path(__file__).resolve().parents[2] / "shared" / "data" / "xquad-es"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/campo-tune"))
    parser.add_argument("--xquad", type=Path, default=None)
    parser.add_argument("--max-chars", type=int, default=300)
    args = parser.parse_args()
    path = args.xquad or XQUAD / "xquad.es.json"
    settings = Settings(data_dir=args.data_dir)
    from assistant.embeddings import make_embeddings

    emb = make_embeddings(settings)
    records, questions = xquad_records(load_xquad(path, DEV_ARTICLES))
    if read_active(settings.index_dir) is None:
        build_assistant(settings, records, emb)
    from assistant.core import Assistant
    from assistant.sessions import MemorySessionStore

    assistant = Assistant(settings, embeddings=emb, sessions=MemorySessionStore())
    results = []
    grid = itertools.product((0.5, 0.7, 0.9), (0.3, 0.5), (0.0, 0.05), (0.1, 0.2, 0.3))
    for dense, lexical, first, answer_type in grid:
        tuning = dataclasses.replace(
            assistant.tuning,
            sentence_dense=dense,
            sentence_overlap=lexical,
            sentence_first_chunk=first,
            sentence_answer_type=answer_type,
        )
        assistant.answerer = ExtractiveAnswerer(tuning)
        score = answer_metrics(assistant, questions, args.max_chars)["answer_contains_gold"]
        row = {"dense": dense, "lexical": lexical, "first_chunk_bonus": first, "answer_type": answer_type}
        results.append({**row, "answer_contains_gold": score})
        print(json.dumps(results[-1]), flush=True)
    best = max(results, key=lambda r: r["answer_contains_gold"])
    print("best:", json.dumps(best))


if __name__ == "__main__":
    main()
