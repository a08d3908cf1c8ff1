"""Cross-validate the answer model's inputs: the passage probabilities as such, or as capped logits.

    .venv/bin/python tools/answer_model_cv.py [--data-dir D]     # D: as for tools/train_ranker.py

The rows are the answer model's training rows (tools/train_ranker.py): the tune questions, informal
and formal, and the tune out-of-scope questions, each ranked by a passage model fitted without its
own group. For each variant, a logistic regression is fitted on four of five folds and scored on the
fifth (the same folds); printed: AUC, and at two floors the share of informal questions answered from
the right article, answered from another, and of out-of-scope questions answered. The table in
docs/benchmarks.md § Domain questions, fifth session comes from this script.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import train_ranker as tr  # noqa: E402

from assistant.core import evidence_score  # noqa: E402
from assistant.decision import runner_up  # noqa: E402
from assistant.ranking import RankerModels, answer_features  # noqa: E402

FLOORS = (0.6, 0.7)


def _rows(root: Path, xquad: Path) -> list[dict[str, Any]]:
    sets = tr.training_sets(root, xquad)
    xq, dom, xq_items, dom_items = sets.xq, sets.dom, sets.xq_items, sets.dom_items
    answer_items = dom_items + sets.oos_items
    xs, ys, groups, ws = tr.weighted_examples(((xq, xq_items), (dom, dom_items)), "passage")
    version = dom.versions.current()
    rows = []
    for k in range(tr.FOLDS):
        dom.models = RankerModels(passage=tr.passage_model_without_fold(xs, ys, groups, ws, k))
        for item in (it for it in answer_items if tr._fold(it["group"]) == k):
            query, retrieval, hits = dom._find(version, item["q"], None, None)
            if not hits:
                continue
            other = runner_up(version, hits)
            features = answer_features(query, hits[0], other, evidence_score(retrieval, dom.tuning))[0]
            rows.append(
                {
                    "group": item["group"],
                    "form": item["form"],
                    "right": int(item["document"] is not None and tr._is_gold(version, item, hits[0])),
                    "first": hits[0].rank_score,
                    "other": other.rank_score if other is not None else 0.0,
                    "rest": features[2:],  # the answer features after the two passage columns
                }
            )
    return rows


def _logit(p: float, cap: float) -> float:
    p = min(max(p, 1e-12), 1 - 1e-12)
    return max(-cap, min(cap, math.log(p / (1 - p))))


def _variant(rows: list[dict[str, Any]], name: str) -> np.ndarray:
    def two(r: dict[str, Any]) -> list[float]:
        if name == "probabilities":
            return [r["first"], r["other"]]
        cap = 12.0 if name == "logits ±12" else 6.0
        return [_logit(r["first"], cap), _logit(r["other"], cap) if r["other"] > 0 else -cap]

    return np.array([[*two(r), *r["rest"]] for r in rows], dtype=np.float64)


def _cross_validated(x: np.ndarray, y: np.ndarray, folds: np.ndarray) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression

    p = np.zeros(len(y))
    for k in range(tr.FOLDS):
        fit = folds != k
        mean, scale = x[fit].mean(axis=0), x[fit].std(axis=0)
        scale[scale < 1e-9] = 1.0
        model = LogisticRegression(C=tr.C, max_iter=3000).fit((x[fit] - mean) / scale, y[fit])
        p[~fit] = model.predict_proba((x[~fit] - mean) / scale)[:, 1]
    return p


def main() -> int:
    from sklearn.metrics import roc_auc_score

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    tr.add_data_arguments(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = _rows(Path(args.data_dir or tmp), Path(args.xquad))
    y = np.array([r["right"] for r in rows])
    folds = np.array([tr._fold(r["group"]) for r in rows])
    form = np.array([r["form"] for r in rows])
    informal, outside = form == "informal", form == "out of scope"
    print(f"{len(rows)} questions ({int(informal.sum())} informal, {int(outside.sum())} out of scope)")
    print(
        "| answer features | AUC | "
        + " | ".join(f"at {f}: right / wrong / out of scope answered" for f in FLOORS)
        + " |"
    )
    for name in ("probabilities", "logits ±12", "logits ±6"):
        p = _cross_validated(_variant(rows, name), y, folds)
        cells = []
        for floor in FLOORS:
            answered = p >= floor
            cells.append(
                f"{np.mean(answered[informal] & (y[informal] == 1)):.3f} / "
                f"{np.mean(answered[informal] & (y[informal] == 0)):.3f} / {np.mean(answered[outside]):.3f}"
            )
        print(f"| {name} | {roc_auc_score(y, p):.3f} | " + " | ".join(cells) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
