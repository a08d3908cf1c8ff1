"""Cross-validated tune figures: each tune article answered by models that never saw it.

    .venv/bin/python tools/domain_cv.py [--data-dir D] [--floors 0.65/0.55,0.7/0.6]

The shipped models (tools/train_ranker.py) are fitted on the tune questions, so `campo eval domain
--split tune` answers questions the models have seen: its figures flatter. The test split is the honest
figure, but it must not be tuned on. This script gives a third figure to choose with: the tune articles
are cut into the five folds of train_ranker (by document and article), and each fold's questions are
answered by passage, sentence and answer models fitted on XQuAD-es dev and the other four folds, then
judged as `campo eval domain` judges them (sentences scored as the product scores them: the hand
weights unless ``Tuning.learned_sentences``). ``--floors`` re-runs the judging at other
answer_floor/pair_answer_floor pairs with the same models.

Out-of-fold rows: the sentence and answer models learn from each tune question as ranked by a passage
model fitted without that question's own fold (as train_ranker does for the answer model); those passage
models saw the evaluated fold, a small leak on the input side only. The lexicon and the anticipated
questions were written with the tune questions in view; this script cannot undo that.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import train_ranker as tr  # noqa: E402

from assistant.answering import ExtractiveAnswerer  # noqa: E402
from assistant.core import Assistant  # noqa: E402
from assistant.ranking import (  # noqa: E402
    ANSWER_FEATURES,
    PASSAGE_FEATURES,
    SENTENCE_FEATURES,
    LinearModel,
    RankerModels,
)
from campo.domain_eval import run_domain  # noqa: E402

SHARES = ("answer_contains_span", "wrong_confident", "abstained_in_scope", "article_R@1")
PAIRS = ("informal_formal_agreement", "formal_contains_span")


def _fit_rows(
    rows: list[tuple[str, np.ndarray, np.ndarray]],
    names: tuple[str, ...],
    ws: dict[str, float],
    c: float = tr.C,
) -> LinearModel:
    x = np.vstack([r[1] for r in rows])
    y = np.concatenate([r[2] for r in rows])
    w = np.concatenate([np.full(len(r[2]), ws.get(r[0], 1.0)) for r in rows])
    return LinearModel.from_json(tr._fit(x, y, names, w, c))


def _sentence_rows(
    xq: Assistant,
    xq_items: list[dict[str, Any]],
    dom: Assistant,
    dom_items: list[dict[str, Any]],
    passage: list[LinearModel],
    full: LinearModel,
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """XQuAD rows ranked by the full passage model; each domain fold's rows by the model without it."""
    xq.models = RankerModels(passage=full)
    xs, ys, groups = tr._examples(xq, xq_items, "sentence")
    rows = list(zip(groups, xs, ys, strict=True))
    for k in range(tr.FOLDS):
        dom.models = RankerModels(passage=passage[k])
        xs, ys, groups = tr._examples(dom, [i for i in dom_items if tr._fold(i["group"]) == k], "sentence")
        rows += zip(groups, xs, ys, strict=True)
    return rows


def _add(total: dict[str, Any], r: dict[str, Any]) -> None:
    n, pairs, oos = r["in_scope"], r["pairs"], r["out_of_scope"]
    total["in_scope"] += n
    total["pairs"] += pairs
    total["out_of_scope"] += oos
    for key in SHARES:
        total[key] += round(r[key] * n)
    for key in PAIRS:
        total[key] += round(r[key] * pairs)
    total["out_of_scope_abstained"] += round(r["out_of_scope_abstained"] * oos)
    for kind, cell in r["by_kind"].items():
        ok, of = (int(v) for v in cell.split("/"))
        total["ok"][kind] += ok
        total["of"][kind] += of


def _report(total: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: total[k] for k in ("in_scope", "out_of_scope", "pairs")}
    for key in SHARES:
        out[key] = round(total[key] / max(1, total["in_scope"]), 4)
    out["out_of_scope_abstained"] = round(total["out_of_scope_abstained"] / max(1, total["out_of_scope"]), 4)
    for key in PAIRS:
        out[key] = round(total[key] / max(1, total["pairs"]), 4)
    out["by_kind"] = {k: f"{total['ok'][k]}/{total['of'][k]}" for k in sorted(total["of"])}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    tr.add_data_arguments(parser)
    parser.add_argument(
        "--floors", default="", help="more answer_floor/pair_answer_floor pairs, comma-separated"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sets = tr.training_sets(Path(args.data_dir or tmp), Path(args.xquad))
        xq, dom, xq_items, dom_items, oos_items = (
            sets.xq,
            sets.dom,
            sets.xq_items,
            sets.dom_items,
            sets.oos_items,
        )
        oos_fold = {q["q"]: tr._fold(q["group"]) for q in oos_items}

        xs, ys, groups, ws = tr.weighted_examples(((xq, xq_items), (dom, dom_items)), "passage")
        weight = dict(zip(groups, ws, strict=True))
        passage = [tr.passage_model_without_fold(xs, ys, groups, ws, k) for k in range(tr.FOLDS)]
        full = _fit_rows(list(zip(groups, xs, ys, strict=True)), PASSAGE_FEATURES, weight)
        sentence_rows = _sentence_rows(xq, xq_items, dom, dom_items, passage, full)
        answer_rows = tr.out_of_fold_answer_rows(dom, dom_items + oos_items, passage)
        print(
            f"{len(xs)} passage, {len(sentence_rows)} sentence, {len(answer_rows)} answer examples",
            flush=True,
        )

        def in_fold(k: int, item: dict[str, Any]) -> bool:
            return (tr._fold(tr.domain_group(item)) if item.get("document") else oos_fold[item["q"]]) == k

        models = []
        for k in range(tr.FOLDS):
            kept = [r for r in sentence_rows if not (r[0].startswith("domain:") and tr._fold(r[0]) == k)]
            sentence = _fit_rows(kept, SENTENCE_FEATURES, weight)
            answer = _fit_rows(
                [r for r in answer_rows if tr._fold(r[0]) != k], ANSWER_FEATURES, {}, tr.ANSWER_C
            )
            models.append((passage[k], sentence, answer))

        floors = [(dom.tuning.answer_floor, dom.tuning.pair_answer_floor)]
        for pair in filter(None, args.floors.split(",")):
            high, low = (float(v) for v in pair.split("/"))
            floors.append((high, low))
        tuning = dom.tuning
        for answer_floor, pair_floor in floors:
            dom.tuning = dataclasses.replace(tuning, answer_floor=answer_floor, pair_answer_floor=pair_floor)
            total: dict[str, Any] = Counter()
            total["ok"], total["of"] = Counter(), Counter()
            for k, (p, s, answer) in enumerate(models):
                dom.models = RankerModels(passage=p, sentence=s, answer=answer)
                dom.answerer = ExtractiveAnswerer(dom.tuning, s if dom.tuning.learned_sentences else None)
                _add(total, run_domain(dom, split="tune", select=functools.partial(in_fold, k)))
            print(f"answer_floor {answer_floor} / pair_answer_floor {pair_floor}:", flush=True)
            for key, value in _report(total).items():
                print(f"  {key}: {value}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
