"""`campo eval domain`: producers' questions about the sample corpus, split by article.

The questions (``tests/data/domain/*.yaml``) were written from the documents, never from the system's
answers. Each names its document, article and the literal span an answer must contain. Articles are
split once, by a hash of (document, article), into a tune part (~60 %) and a test part; quality claims
come from the test part only.
"""

from __future__ import annotations

import hashlib
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from assistant.core import Assistant
from assistant.models import Answer
from assistant.text import fold

DATA_DIR = Path(__file__).resolve().parent.parent / "tests" / "data"
DOMAIN_DIR = DATA_DIR / "domain"
# A second set, written later by other hands from the documents only, about the same articles; split
# by question (not by article) into a diagnosis part and a part measured once (docs/benchmarks.md).
FRESH_DIR = DATA_DIR / "domain_fresh"
TUNE_SHARE = 60  # percent of articles in the tune part
FRESH_DEV_SHARE = 50  # percent of the fresh questions in its dev part
SETS = {"main": (DOMAIN_DIR, ("tune", "test")), "fresh": (FRESH_DIR, ("dev", "hold"))}


def split_of(document: str, article: str) -> str:
    digest = hashlib.sha1(f"{document}|{fold(article).strip()}".encode()).hexdigest()
    return "tune" if int(digest[:8], 16) % 100 < TUNE_SHARE else "test"


def fresh_split_of(question: str) -> str:
    digest = hashlib.sha1(f"fresh|{fold(question).strip()}".encode()).hexdigest()
    return "dev" if int(digest[:8], 16) % 100 < FRESH_DEV_SHARE else "hold"


def load_domain(folder: Path = DOMAIN_DIR) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(in-scope questions, out-of-scope questions); each in-scope item gets ``document``, ``split``
    and ``article_split`` (the main set's part its article belongs to). The fresh set's ``split`` is
    by question (dev/hold); the main set's is by article (tune/test)."""
    by_question = folder.resolve() == FRESH_DIR.resolve()
    inside: list[dict[str, Any]] = []
    outside: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.yaml")):
        data = yaml.safe_load(path.read_text("utf-8")) or {}
        if path.stem.startswith("out_of_scope"):
            for item in data.get("questions") or []:
                q = str(item["q"])
                split = fresh_split_of(q) if by_question else split_of("oos", q)
                outside.append({"q": q, "split": split})
            continue
        document = str(data["document"])
        for item in data.get("questions") or []:
            article = str(item.get("article") or "")
            q = str(item["q"])
            article_split = split_of(document, article)
            inside.append(
                {
                    "document": document,
                    "article": article,
                    "answer": str(item["answer"]),
                    "kind": str(item.get("kind") or "other"),
                    "q": q,
                    "formal": str(item.get("formal") or ""),
                    "split": fresh_split_of(q) if by_question else article_split,
                    "article_split": article_split,
                }
            )
    return inside, outside


def article_matches(expected: str, section: str, text: str = "") -> bool:
    """'Artículo 7' matches a section '… > Artículo 7' (not 'Artículo 17' nor 'Artículo 70')."""
    if not expected:
        return True
    number = re.search(r"\d+\w*", expected)
    if number is None:
        return fold(expected) in fold(section)
    pattern = re.compile(rf"\bart[ií]culo\s+{re.escape(number.group(0).lower())}\b")
    return bool(pattern.search(fold(section)) or pattern.match(fold(text)))


def _top_article(answer: Answer) -> tuple[str, str]:
    if answer.abstained or not answer.citations:
        return "", ""
    c = answer.citations[0]
    return c.document_id, c.section or ""


def _judge(item: dict[str, Any], answer: Answer) -> dict[str, Any]:
    doc, section = _top_article(answer)
    text = answer.citations[0].text if answer.citations and not answer.abstained else ""
    contains = not answer.abstained and fold(item["answer"]) in fold(answer.text)
    return {
        "contains": contains,
        "abstained": answer.abstained,
        "wrong": not answer.abstained and not contains,
        "article": doc == item["document"] and article_matches(item["article"], section, text or ""),
        "top": f"{doc}|{section.split(' > ')[-1] if section else ''}",
    }


def run_domain(
    assistant: Assistant,
    *,
    split: str = "test",
    max_chars: int = 450,
    folder: Path = DOMAIN_DIR,
    select: Callable[[dict[str, Any]], bool] | None = None,
) -> dict[str, Any]:
    """Metrics of one split ('tune', 'test' or 'all') through ``Assistant.ask`` at the phone budget;
    ``select`` keeps a part of the split (tools/domain_cv.py: one fold of its articles)."""
    inside, outside = load_domain(folder)
    if split != "all":
        inside = [q for q in inside if q["split"] == split]
        outside = [q for q in outside if q["split"] == split]
    if select is not None:
        inside = [q for q in inside if select(q)]
        outside = [q for q in outside if select(q)]
    judged, failures, latencies = [], [], []
    by_kind: Counter[str] = Counter()
    kind_ok: Counter[str] = Counter()
    part: Counter[str] = Counter()
    part_ok: Counter[str] = Counter()
    agree = both_right = formal_contains = pairs = 0
    for item in inside:
        started = time.perf_counter()
        answer = assistant.ask(item["q"], max_chars=max_chars)
        latencies.append((time.perf_counter() - started) * 1000)
        verdict = _judge(item, answer)
        judged.append(verdict)
        by_kind[item["kind"]] += 1
        kind_ok[item["kind"]] += verdict["contains"]
        part[item["article_split"]] += 1
        part_ok[item["article_split"]] += verdict["contains"]
        if not verdict["contains"]:
            failures.append(
                {
                    "q": item["q"],
                    "expected": f"{item['document']} {item['article']}: {item['answer']}",
                    "got": "(abstención)" if answer.abstained else answer.text[:200],
                }
            )
        if item["formal"]:
            pairs += 1
            formal = _judge(item, assistant.ask(item["formal"], max_chars=max_chars))
            formal_contains += formal["contains"]
            agree += bool(verdict["top"] == formal["top"] and verdict["top"] != "|")
            both_right += verdict["article"] and formal["article"]
    oos_abstained = sum(assistant.ask(q["q"], max_chars=max_chars).abstained for q in outside)
    n = max(1, len(judged))

    def share(key: str) -> float:
        return round(sum(v[key] for v in judged) / n, 4)

    return {
        "split": split,
        "in_scope": len(judged),
        "out_of_scope": len(outside),
        "answer_contains_span": share("contains"),
        "wrong_confident": share("wrong"),
        "abstained_in_scope": share("abstained"),
        "article_R@1": share("article"),
        "out_of_scope_abstained": round(oos_abstained / max(1, len(outside)), 4),
        "pairs": pairs,
        "informal_formal_agreement": round(agree / max(1, pairs), 4),
        "pairs_both_right_article": round(both_right / max(1, pairs), 4),
        "formal_contains_span": round(formal_contains / max(1, pairs), 4),
        "by_kind": {k: f"{kind_ok[k]}/{by_kind[k]}" for k in sorted(by_kind)},
        "contains_by_article_part": {k: f"{part_ok[k]}/{part[k]}" for k in sorted(part)},
        "latency_ms_p50": round(statistics.median(latencies), 2) if latencies else 0.0,
        "failures": failures,
    }
