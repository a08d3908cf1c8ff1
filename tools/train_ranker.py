"""Train the passage and sentence rankers (assistant/ranker.json) — one command.

Reproducible on a quiet machine: two runs on the same code and index wrote the same file from two
hash seeds (7 and 8, sixth session). Until then runs differed (passage CV top-1 0.9556–0.9567): the
BM25 typo fix took the first of two equally near vocabulary terms in an order that changed from process
to process (fixed in assistant/lexical.py). Runs made while another CPU-heavy job shared the machine
still differed slightly (largest weight difference 0.011, one sentence row of 10,456), and a later quiet
run differed in the last printed digits (answer model 0.0003); that cause was not found (the e5 query
vectors were identical under that load).

    .venv/bin/python tools/train_ranker.py [--xquad ../shared/data/xquad-es/xquad.es.json] [--check]

Training data: XQuAD-es development split (articles 0–23; the held-out split is never read) and the
*tune* part of the domain questions (tests/data/domain/, split by article). Each model is a logistic
regression over the interpretable features of ``assistant.ranking``; grouped 5-fold cross-validation
(groups = XQuAD article / domain document+article) reports how it generalises before the final fit.
The answer model (answer or abstain, for versions with anticipated questions) learns from the tune
questions in and out of scope, each seen through a passage model fitted without its own group.
``--check`` prints the cross-validation only and writes nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.core import Assistant, evidence_score  # noqa: E402
from assistant.decision import runner_up  # noqa: E402
from assistant.embeddings import make_embeddings  # noqa: E402
from assistant.ranking import (  # noqa: E402
    ANSWER_FEATURES,
    MODEL_PATH,
    PASSAGE_FEATURES,
    QUESTION_FEATURES,
    SENTENCE_FEATURES,
    LinearModel,
    RankerModels,
    answer_features,
    passage_features,
    sentence_features,
)
from assistant.sessions import MemorySessionStore  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.text import fold  # noqa: E402
from assistant.tuning import Tuning  # noqa: E402
from campo.domain_eval import article_matches, load_domain  # noqa: E402
from campo.evaluation import DEV_ARTICLES, load_xquad, xquad_records  # noqa: E402
from ingestion.pipeline import build_records_version, ingest  # noqa: E402


@dataclass
class TrainingSets:
    """The two indexes and the questions every training or cross-validation script starts from."""

    xq: Assistant  # XQuAD-es dev, one document per paragraph
    dom: Assistant  # the sample corpus
    xq_items: list[dict[str, Any]]
    dom_items: list[dict[str, Any]]  # tune questions, informal then formal ("form")
    oos_items: list[dict[str, Any]]  # tune out-of-scope questions (document None)
    embedding_model: str


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--xquad", default=str(ROOT.parent / "shared" / "data" / "xquad-es" / "xquad.es.json")
    )
    parser.add_argument("--data-dir", default="", help="reuse index folders here (default: a temporary one)")


def training_sets(root: Path, xquad: Path, say: Callable[[str], None] = lambda _: None) -> TrainingSets:
    """Index XQuAD-es dev (once) and the sample corpus (always: ingestion is incremental, and a reused
    folder must carry today's corpus and lexicon) under ``root``; group each question by its XQuAD
    article or its document and article (the cross-validation folds)."""
    base = Settings(environment="development", ranker="hand")
    emb = make_embeddings(base)
    xq_settings = base.model_copy(update={"data_dir": root / "xquad"})
    records, questions = xquad_records(load_xquad(xquad, DEV_ARTICLES))
    if not (root / "xquad" / "index" / "ACTIVE").exists():
        say(f"indexing {len(records)} XQuAD-es dev paragraphs…")
        build_records_version(xq_settings, records, emb)
    dom_settings = base.model_copy(update={"data_dir": root / "domain"})
    say("indexing the sample corpus…")
    ingest(dom_settings, embeddings=emb)
    inside, outside = load_domain()
    tune = [q for q in inside if q["split"] == "tune"]
    dom_items = [dict(q, group=domain_group(q), form="informal") for q in tune]
    dom_items += [dict(q, q=q["formal"], group=domain_group(q), form="formal") for q in tune if q["formal"]]
    oos_items = [
        dict(q, document=None, group=f"domain:oos|{i}", form="out of scope")
        for i, q in enumerate(outside)
        if q["split"] == "tune"
    ]
    xq_items = [
        {"q": q["q"], "document": q["doc"], "answer": q["answers"][0], "group": q["doc"][:8]}
        for q in questions
    ]
    return TrainingSets(
        Assistant(xq_settings, embeddings=emb, sessions=MemorySessionStore()),
        Assistant(dom_settings, embeddings=emb, sessions=MemorySessionStore()),
        xq_items,
        dom_items,
        oos_items,
        emb.model_id,
    )


def domain_group(item: dict[str, Any]) -> str:
    return f"domain:{item['document']}|{item['article']}"


C = 1.0  # inverse regularisation strength of the passage and sentence models
ANSWER_C = 0.3  # … and of the answer model (tools/domain_cv.py: 0.1–0.3 beat 1.0 out of fold)
FOLDS = 5


def _examples(
    assistant: Assistant, items: list[dict[str, Any]], stage: str
) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """Feature rows, labels and group of each question ('passage' or 'sentence' stage)."""
    version = assistant.versions.current()
    vf = assistant._features(version)
    xs, ys, groups = [], [], []
    for item in items:
        query, retrieval, hits = assistant._find(version, item["q"], assistant.tuning.rerank_k, None)
        if not hits:
            continue
        if stage == "passage":
            # The candidates in retrieval order, as the ranker sees them at answer time (Assistant._rank).
            candidates = vf.candidates(retrieval.hits, query)
            gold = [_is_gold(version, item, h) for h in candidates]
            if not any(gold):
                continue  # nothing to learn: the right passage is not among the candidates
            xs.append(passage_features(query, candidates, vf, version.sentences_of_chunk))
            ys.append(np.array(gold, dtype=np.int64))
            groups.append(item["group"])
            continue
        span = fold(item["answer"])
        rows: list[np.ndarray] = []
        labels: list[bool] = []
        considered = hits[: assistant.tuning.chunks_considered]
        for rank, hit in enumerate(considered):
            idx = version.sentences_of_chunk[hit.row]
            if not idx:
                continue
            assert query.vector is not None
            sims = version.sentence_vectors[idx] @ query.vector
            rows.append(sentence_features(query, idx, sims, hit.rank_score, rank == 0, vf, idx, sims))
            labels.extend(span in fold(version.sentences[i]["text"]) for i in idx)
        if rows and any(labels):
            xs.append(np.vstack(rows))
            ys.append(np.array(labels, dtype=np.int64))
            groups.append(item["group"])
    return xs, ys, groups


def weighted_examples(
    sets: tuple[tuple[Assistant, list[dict[str, Any]]], ...], stage: str
) -> tuple[list[np.ndarray], list[np.ndarray], list[str], list[float]]:
    """Examples of every (assistant, questions) set, and each question's weight: the XQuAD-es and the
    domain sets weigh the same in total (the domain questions are fewer but they are the product's
    users, and the only ones that exercise the intent and program features)."""
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    groups: list[str] = []
    for assistant, items in sets:
        a, b, c = _examples(assistant, items, stage)
        xs += a
        ys += b
        groups += c
    n_dom = sum(g.startswith("domain:") for g in groups)
    ratio = (len(groups) - n_dom) / max(1, n_dom)
    return xs, ys, groups, [ratio if g.startswith("domain:") else 1.0 for g in groups]


def passage_model_without_fold(
    xs: list[np.ndarray], ys: list[np.ndarray], groups: list[str], ws: list[float], k: int
) -> LinearModel:
    """The passage model fitted on every fold but ``k`` (to rank fold k's questions as unseen)."""
    train = [i for i, g in enumerate(groups) if _fold(g) != k]
    model = _fit(
        np.vstack([xs[i] for i in train]),
        np.concatenate([ys[i] for i in train]),
        PASSAGE_FEATURES,
        _row_weights([ws[i] for i in train], [ys[i] for i in train]),
    )
    return LinearModel.from_json(model)


def _fold(group: str) -> int:
    return int(hashlib.sha256(group.encode()).hexdigest(), 16) % FOLDS


def _answer_model(
    dom: Assistant,
    xs: list[np.ndarray],
    ys: list[np.ndarray],
    groups: list[str],
    ws: list[float],
    items: list[dict[str, Any]],
) -> dict[str, Any]:
    """Answer or abstain: label 1 when the best article is the right one (never for questions out of
    scope). Each question is ranked by a passage model fitted on the other folds' groups, so the
    probabilities it learns from are as unsure as on a question never seen."""
    passage = [passage_model_without_fold(xs, ys, groups, ws, k) for k in range(FOLDS)]
    rows = out_of_fold_answer_rows(dom, items, passage)
    x = np.vstack([r[1] for r in rows])
    y = np.concatenate([r[2] for r in rows])
    fitted = _fit(x, y, ANSWER_FEATURES, c=ANSWER_C)
    m = LinearModel.from_json(fitted)
    sure = 1 / (1 + np.exp(-m.score(x)))
    floor = Tuning().answer_floor
    answered = sure >= floor
    print(
        f"answer: {len(y)} questions ({int(y.sum())} with the right article first); at answer_floor "
        f"{floor}: answers {answered.mean():.3f}, right {(answered & (y == 1)).mean():.3f}, "
        f"wrong or out of scope {(answered & (y == 0)).mean():.3f}",
        flush=True,
    )
    return fitted


def out_of_fold_answer_rows(
    dom: Assistant, items: list[dict[str, Any]], passage: list[LinearModel]
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(group, answer features, label) of each question, ranked by ``passage[k]``, the passage model
    fitted without the question's fold k; label 1 when the best article is the right one."""
    version = dom.versions.current()
    rows = []
    for k in range(FOLDS):
        dom.models = RankerModels(passage=passage[k])
        for item in (it for it in items if _fold(it["group"]) == k):
            query, retrieval, hits = dom._find(version, item["q"], None, None)
            if not hits:
                continue
            other = runner_up(version, hits)
            x = answer_features(query, hits[0], other, evidence_score(retrieval, dom.tuning))
            right = int(item["document"] is not None and _is_gold(version, item, hits[0]))
            rows.append((item["group"], x, np.array([right], dtype=np.int64)))
    return rows


def _is_gold(version: Any, item: dict[str, Any], hit: Any) -> bool:
    chunk = version.chunks[hit.row]
    return bool(
        item["document"] == chunk["document_id"]
        and article_matches(item.get("article", ""), chunk.get("section") or "", chunk["text"])
    )


def _fit(
    x: np.ndarray, y: np.ndarray, names: tuple[str, ...], w: np.ndarray | None = None, c: float = C
) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=c, max_iter=2000)
    model.fit((x - mean) / scale, y, sample_weight=w)
    return {
        "features": list(names),
        "weights": [round(float(w), 6) for w in model.coef_[0]],
        "bias": round(float(model.intercept_[0]), 6),
        "mean": [round(float(m), 6) for m in mean],
        "scale": [round(float(s), 6) for s in scale],
    }


def _top1(model: dict[str, Any], xs: list[np.ndarray], ys: list[np.ndarray]) -> float:
    m = LinearModel.from_json(model)
    return float(np.mean([y[int(np.argmax(m.score(x)))] for x, y in zip(xs, ys, strict=True)]))


def _baseline_top1(xs: list[np.ndarray], ys: list[np.ndarray], column: int) -> float:
    return float(np.mean([y[int(np.argmax(x[:, column]))] for x, y in zip(xs, ys, strict=True)]))


def _row_weights(ws: list[float], ys: list[np.ndarray]) -> np.ndarray:
    return np.concatenate([np.full(len(y), w) for w, y in zip(ws, ys, strict=True)])


def cross_validate(
    xs: list[np.ndarray], ys: list[np.ndarray], groups: list[str], names: tuple[str, ...], ws: list[float]
) -> tuple[list[float], list[float]]:
    """Top-1 per fold, overall and on the domain questions only (weight > 1 marks them)."""
    from sklearn.model_selection import GroupKFold

    scores, domain = [], []
    index = np.arange(len(xs))
    for train, test in GroupKFold(n_splits=5).split(index, groups=groups):
        model = _fit(
            np.vstack([xs[i] for i in train]),
            np.concatenate([ys[i] for i in train]),
            names,
            _row_weights([ws[i] for i in train], [ys[i] for i in train]),
        )
        scores.append(_top1(model, [xs[i] for i in test], [ys[i] for i in test]))
        dom = [i for i in test if groups[i].startswith("domain:")]
        domain.append(_top1(model, [xs[i] for i in dom], [ys[i] for i in dom]) if dom else float("nan"))
    return scores, domain


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    parser.add_argument("--check", action="store_true", help="cross-validate only; write nothing")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        sets = training_sets(Path(args.data_dir or tmp), Path(args.xquad), lambda m: print(m, flush=True))
        xq, dom, xq_items, dom_items = sets.xq, sets.dom, sets.xq_items, sets.dom_items
        answer_items = dom_items + sets.oos_items
        result: dict[str, Any] = {
            "embedding_model": sets.embedding_model,
            "trained_on": {"xquad_dev": len(xq_items), "domain_tune": len(dom_items)},
        }
        for stage, names in (("passage", PASSAGE_FEATURES), ("sentence", SENTENCE_FEATURES)):
            xs, ys, groups, ws = weighted_examples(((xq, xq_items), (dom, dom_items)), stage)
            cv, cv_domain = cross_validate(xs, ys, groups, names, ws)
            base_col = 0 if stage == "passage" else names.index("dense")
            dom_idx = [i for i, g in enumerate(groups) if g.startswith("domain:")]
            print(
                f"{stage}: {len(xs)} questions, {sum(len(y) for y in ys)} rows; grouped 5-fold top-1 "
                f"{np.mean(cv):.4f} (folds {', '.join(f'{s:.3f}' for s in cv)}); "
                f"hand baseline ({names[base_col]}) {_baseline_top1(xs, ys, base_col):.4f}; domain only: "
                f"{np.nanmean(cv_domain):.4f} vs baseline "
                f"{_baseline_top1([xs[i] for i in dom_idx], [ys[i] for i in dom_idx], base_col):.4f}",
                flush=True,
            )
            model = _fit(np.vstack(xs), np.concatenate(ys), names, _row_weights(ws, ys))
            result[stage] = model
            if stage == "passage":  # for versions without anticipated questions
                plain = [i for i, n in enumerate(names) if n not in QUESTION_FEATURES]
                result["passage_plain"] = _fit(
                    np.vstack(xs)[:, plain],
                    np.concatenate(ys),
                    tuple(names[i] for i in plain),
                    _row_weights(ws, ys),
                )
            result[f"{stage}_cv_top1"] = round(float(np.mean(cv)), 4)
            if stage == "passage":  # the sentence stage sees passage probabilities, as at answer time
                result["answer"] = _answer_model(dom, xs, ys, groups, ws, answer_items)
                for assistant in (xq, dom):
                    assistant.models = RankerModels(passage=LinearModel.from_json(model))
    if args.check:
        return 0
    MODEL_PATH.write_text(json.dumps(result, indent=1) + "\n", "utf-8")
    print(f"wrote {MODEL_PATH.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
