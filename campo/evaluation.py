"""Evaluations behind `campo eval`: XQuAD-es (development split) and the sample-corpus questions.

XQuAD articles 0–23 are the development split; 24–47 are held out and never used here by default.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from assistant.core import Assistant, evidence_score
from assistant.embeddings import CampoEmbeddings, make_embeddings
from assistant.sessions import MemorySessionStore
from assistant.settings import Settings
from assistant.text import fold

DEV_ARTICLES = range(0, 24)


def load_xquad(path: Path, articles: range) -> list[dict[str, Any]]:
    data = json.loads(path.read_text("utf-8"))["data"]
    return [dict(data[i], index=i) for i in articles]


def xquad_records(articles: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One record per paragraph; questions with their gold paragraph id and answer spans."""
    records, questions = [], []
    for art in articles:
        for p, para in enumerate(art["paragraphs"]):
            doc_id = f"xquad-{art['index']:02d}-{p:02d}"
            records.append(
                {
                    "document_id": doc_id,
                    "title": f"{art['title']} ({p + 1})",
                    "short_title": f"«{art['title']}» ({p + 1})",
                    "program": "xquad",
                    "text": para["context"],
                }
            )
            for qa in para["qas"]:
                questions.append(
                    {"q": qa["question"], "doc": doc_id, "answers": [a["text"] for a in qa["answers"]]}
                )
    return records, questions


def build_assistant(settings: Settings, records: list[dict[str, Any]], emb: CampoEmbeddings) -> Assistant:
    from ingestion.pipeline import build_records_version

    build_records_version(settings, records, emb)
    return Assistant(settings, embeddings=emb, sessions=MemorySessionStore())


def retrieval_metrics(assistant: Assistant, questions: list[dict[str, Any]], mode: str) -> dict[str, float]:
    version = assistant.versions.current()
    r1 = r5 = 0
    for q in questions:
        query = assistant.analyze(version, q["q"])
        if mode == "hybrid":  # the product's road: candidates, then the passage ranker
            hits = assistant._find(version, q["q"], 5, None)[2]
        else:
            hits = assistant.retriever.retrieve(
                version, query.search_text, k=5, mode=mode, query_vector=query.vector
            ).hits
        docs = [version.chunks[h.row]["document_id"] for h in hits]
        r1 += bool(docs) and docs[0] == q["doc"]
        r5 += q["doc"] in docs
    n = len(questions)
    return {"R@1": round(r1 / n, 4), "R@5": round(r5 / n, 4)}


def answer_metrics(assistant: Assistant, questions: list[dict[str, Any]], max_chars: int) -> dict[str, Any]:
    contains = 0
    latencies = []
    over_budget = 0
    for q in questions:
        started = time.perf_counter()
        answer = assistant.ask(q["q"], max_chars=max_chars)
        latencies.append((time.perf_counter() - started) * 1000)
        over_budget += len(answer.text) > max_chars
        text = fold(answer.text)
        contains += any(fold(a).strip() in text for a in q["answers"])
    return {
        "answer_contains_gold": round(contains / len(questions), 4),
        "over_budget": over_budget,
        "latency_ms_p50": round(statistics.median(latencies), 2),
        "latency_ms_p95": round(float(np.percentile(latencies, 95)), 2),
    }


def abstention_scores(assistant: Assistant, questions: list[dict[str, Any]]) -> list[float]:
    version = assistant.versions.current()
    out = []
    for q in questions:
        query = assistant.analyze(version, q["q"])
        retrieval = assistant.retriever.retrieve(version, query.search_text, k=1, query_vector=query.vector)
        out.append(evidence_score(retrieval, assistant.tuning))
    return out


def abstention_report(inside: list[float], outside: list[float], threshold: float) -> dict[str, Any]:
    def at(t: float) -> dict[str, float]:
        answered_in = sum(s >= t for s in inside) / len(inside)
        abstained_out = sum(s < t for s in outside) / len(outside)
        # F1 of "abstain" as the positive class.
        tp = sum(s < t for s in outside)
        fp = sum(s < t for s in inside)
        fn = len(outside) - tp
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        return {
            "answered_in_scope": round(answered_in, 4),
            "abstained_out_of_scope": round(abstained_out, 4),
            "f1": round(f1, 4),
            "threshold": round(t, 4),
        }

    grid = np.unique(np.round(np.array(inside + outside), 4))
    best = max((at(float(t)) for t in grid), key=lambda r: (r["f1"], -abs(r["threshold"] - threshold)))
    return {"at_setting": at(threshold), "best_on_dev": best}


def run_xquad(
    xquad_path: Path,
    settings: Settings,
    *,
    max_chars: int = 300,
    embeddings: CampoEmbeddings | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """The full XQuAD-es development evaluation (retrieval, answers, abstention, latency)."""
    emb = embeddings or make_embeddings(settings)
    articles = load_xquad(xquad_path, DEV_ARTICLES)
    result: dict[str, Any] = {
        "embeddings": emb.model_id,
        "fusion": settings.fusion,
        "dense_weight": settings.dense_weight,
    }
    with tempfile.TemporaryDirectory() as tmp:
        s_all = settings.model_copy(update={"data_dir": Path(tmp) / "all"})
        records, questions = xquad_records(articles)
        result["paragraphs"], result["questions"] = len(records), len(questions)
        log(f"indexing {len(records)} paragraphs…")
        assistant = build_assistant(s_all, records, emb)
        for mode in ("hybrid", "dense", "lexical"):
            result[f"retrieval_{mode}"] = retrieval_metrics(assistant, questions, mode)
            log(f"retrieval {mode}: {result[f'retrieval_{mode}']}")
        rrf = Assistant(
            s_all.model_copy(update={"fusion": "rrf"}), embeddings=emb, sessions=MemorySessionStore()
        )
        result["retrieval_rrf"] = retrieval_metrics(rrf, questions, "hybrid")
        log(f"retrieval rrf: {result['retrieval_rrf']}")
        assistant.ask(questions[0]["q"])  # warm-up
        result["answers"] = answer_metrics(assistant, questions, max_chars)
        log(f"answers: {result['answers']}")
        # Abstention: index articles 0–15, ask questions of 0–15 (in scope) and 16–23 (out of scope).
        s_half = settings.model_copy(update={"data_dir": Path(tmp) / "half"})
        half_records, inside_q = xquad_records(articles[:16])
        _, outside_q = xquad_records(articles[16:])
        half = build_assistant(s_half, half_records, emb)
        inside = abstention_scores(half, inside_q)
        outside = abstention_scores(half, outside_q)
        result["abstention"] = abstention_report(inside, outside, settings.abstain_threshold)
        # What the product does (evidence threshold and, with the learned ranker, its floor) on the same sets.
        result["abstention"]["product"] = {
            "answered_in_scope": round(
                sum(not half.ask(q["q"]).abstained for q in inside_q) / len(inside_q), 4
            ),
            "abstained_out_of_scope": round(
                sum(half.ask(q["q"]).abstained for q in outside_q) / len(outside_q), 4
            ),
        }
        log(f"abstention: {result['abstention']}")
    return result


def run_sample_questions(assistant: Assistant, questions_path: Path) -> dict[str, Any]:
    """Metrics on the hand-written questions about the sample corpus."""
    import yaml

    items = yaml.safe_load(questions_path.read_text("utf-8"))
    version = assistant.versions.current()
    in_scope = [q for q in items if not q.get("out_of_scope")]
    out_scope = [q for q in items if q.get("out_of_scope")]
    r1 = r5 = sec1 = contains = answered = 0
    failures = []
    for q in in_scope:
        hits = assistant._find(version, q["q"], 5, None)[2]
        docs = [version.chunks[h.row]["document_id"] for h in hits]
        r1 += bool(docs) and docs[0] == q["document"]
        r5 += q["document"] in docs
        if hits:
            top = version.chunks[hits[0].row]
            sec1 += docs[0] == q["document"] and fold(q.get("section", "")) in fold(
                top.get("section", "") + top["text"]
            )
        answer = assistant.ask(q["q"])
        answered += not answer.abstained
        ok = not answer.abstained and fold(str(q.get("answer", ""))) in fold(answer.text)
        contains += ok
        if not ok:
            failures.append({"q": q["q"], "expected": q.get("answer"), "got": answer.text[:160]})
    abstained_out = sum(assistant.ask(q["q"]).abstained for q in out_scope)
    n = max(1, len(in_scope))
    return {
        "questions": len(items),
        "in_scope": len(in_scope),
        "out_of_scope": len(out_scope),
        "doc_R@1": round(r1 / n, 4),
        "doc_R@5": round(r5 / n, 4),
        "section_R@1": round(sec1 / n, 4),
        "answered_in_scope": round(answered / n, 4),
        "answer_contains_expected": round(contains / n, 4),
        "abstained_out_of_scope": round(abstained_out / max(1, len(out_scope)), 4),
        "failures": failures,
    }
