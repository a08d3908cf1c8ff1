"""The domain evaluation set stays true to the corpus: every expected span is in its article, the
counts the evaluation promises hold, and the split is by article (no article in both parts)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from assistant.text import fold
from campo.domain_eval import article_matches, load_domain

ROOT = Path(__file__).resolve().parent.parent
SOURCES = {p.stem: p for p in (ROOT / "tools" / "samples").glob("*.md")}
SOURCES.update({p.name.split(".")[0]: p for p in (ROOT / "corpus").glob("*.md")})
SOURCES.update({p.name.split(".")[0]: p for p in (ROOT / "corpus").glob("*.txt")})


def _articles(text: str) -> dict[str, str]:
    """'Artículo N' → its text (up to the next article)."""
    parts = re.split(r"(?=\*\*Art[íi]culo\s+\d+)", text)
    out = {}
    for part in parts:
        m = re.match(r"\*\*Art[íi]culo\s+(\d+\w*)", part)
        if m:
            out[m.group(1)] = part
    return out


def test_every_span_is_in_its_article() -> None:
    inside, _ = load_domain()
    missing = []
    for q in inside:
        text = SOURCES[q["document"]].read_text("utf-8")
        where = text
        if q["article"]:
            number = re.search(r"\d+\w*", q["article"])
            assert number, q
            where = _articles(text).get(number.group(0), "")
        if fold(q["answer"]) not in fold(re.sub(r"\*\*", "", where)):
            missing.append((q["document"], q["article"], q["answer"]))
    assert not missing


def test_counts_and_split_by_article() -> None:
    inside, outside = load_domain()
    assert len(inside) >= 300 and len(outside) >= 40
    assert sum(bool(q["formal"]) for q in inside) >= 100
    splits = defaultdict(set)
    for q in inside:
        splits[(q["document"], q["article"])].add(q["split"])
    assert all(len(s) == 1 for s in splits.values())
    test_share = sum(q["split"] == "test" for q in inside) / len(inside)
    assert 0.25 < test_share < 0.55


def test_article_match_is_exact() -> None:
    assert article_matches("Artículo 7", "Título I > Capítulo II > Artículo 7")
    assert not article_matches("Artículo 7", "Título I > Capítulo II > Artículo 17")
    assert not article_matches("Artículo 1", "Capítulo I > Artículo 10")
