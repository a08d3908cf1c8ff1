"""The BM25 index's typo-tolerant terms do not depend on the order of bm25s's vocabulary."""

from __future__ import annotations

from assistant.lexical import LexicalIndex


def test_a_typo_is_fixed_the_same_whatever_the_vocabulary_order() -> None:
    """bm25s's vocabulary comes in an order that differs between processes; the typo fix at edit
    distance 2 took the first candidate found, so two server workers could read "constitci" as
    "constanci" or as "constitu" (both two edits away) and rank differently."""
    index = LexicalIndex.build(["la constancia de productor", "la constitucion del grupo"])
    retriever = index._bm25
    fixes = set()
    for order in (list(retriever.vocab_dict.items()), list(reversed(retriever.vocab_dict.items()))):
        retriever.vocab_dict = dict(order)
        fixes.add(LexicalIndex(retriever)._closest("constitci"))
    assert fixes == {"constanci"}  # both two edits away: the first in alphabetical order
