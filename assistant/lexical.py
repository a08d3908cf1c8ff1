"""BM25 over the Spanish analyzer (bm25s + Snowball), with typo-tolerant query terms."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np

from assistant.text import STOPWORDS, analyze, edit_distance_at_most, fold, near_stopword, stem, tokens

# bm25s sets its own logger to DEBUG when imported (after the CLI configured logging): every index
# built at answer time would print "Building index from tokens".
logging.getLogger("bm25s").setLevel(logging.WARNING)


class LexicalIndex:
    """A BM25 index whose rows are aligned with the version's chunk order."""

    def __init__(self, retriever: bm25s.BM25) -> None:
        self._bm25 = retriever
        self.vocab: dict[str, int] = dict(retriever.vocab_dict)
        indptr = np.asarray(retriever.scores["indptr"])
        n = max(1, int(retriever.scores["num_docs"]))
        df = np.diff(indptr).astype(np.float64)
        self._idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5))
        self._max_idf = float(np.log(1.0 + (n + 0.5) / 0.5))
        self._by_prefix: dict[str, list[str]] = defaultdict(list)
        self._deletes: dict[str, list[str]] = defaultdict(list)  # one-deletion neighbourhood (SymSpell)
        # Sorted: bm25s's vocabulary order differs between processes, and the typo fix at distance 2
        # takes the first candidate found, so two server workers could fix one word differently.
        for term in sorted(self.vocab):
            if len(term) >= 4 and not term.isdigit():
                self._by_prefix[term[:2]].append(term)
                for variant in _deletions(term):
                    self._deletes[variant].append(term)

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        retriever = bm25s.BM25(k1=1.2, b=0.75)
        corpus = [analyze(t) or ["_"] for t in texts]
        retriever.index(corpus, show_progress=False)
        return cls(retriever)

    def save(self, path: Path) -> None:
        self._bm25.save(str(path), show_progress=False)

    @classmethod
    def load(cls, path: Path) -> LexicalIndex:
        return cls(bm25s.BM25.load(str(path)))

    def query_terms(self, question: str) -> list[str]:
        """Analyzed terms of a question; unknown terms are mapped to a close vocabulary term (typos)."""
        return self.analyze_query(question)[0]

    def analyze_query(self, question: str) -> tuple[list[str], float]:
        """(terms, unknown share): terms mapped to the vocabulary (typos fixed), and the share of the
        question's content words the index has never seen. A misspelt stopword ("asta", "ay") counts
        as neither."""
        terms: list[str] = []
        unknown = content = 0
        for word in tokens(question):
            if word in STOPWORDS or (len(word) <= 1 and not word.isdigit()):
                continue
            if near_stopword(word):
                continue
            content += 1
            term = stem(word)
            if term in self.vocab:
                terms.append(term)
                continue
            fixed = self._closest(term)
            if fixed:
                terms.append(fixed)
            else:
                unknown += 1
        return terms, (unknown / content if content else 1.0)

    def _closest(self, term: str) -> str | None:
        """A vocabulary term at edit distance 1 (any position), else 2 for long words sharing a prefix."""
        if len(term) < 5 or term.isdigit():  # short words have too many neighbours ("curp" ~ "curs")
            return None
        candidates: dict[str, int] = {}
        for variant in (term, *_deletions(term)):
            for candidate in self._deletes.get(variant, ()):
                if edit_distance_at_most(term, candidate, 1):
                    candidates[candidate] = candidates.get(candidate, 0) + 1
        if term in self._deletes:  # the query word lacks one letter: "ectar" -> "hectar"
            for candidate in self._deletes[term]:
                candidates[candidate] = candidates.get(candidate, 0) + 1
        if candidates:
            return max(sorted(candidates), key=lambda c: (candidates[c], -abs(len(c) - len(term))))
        if len(term) >= 7:
            for candidate in self._by_prefix.get(term[:2], ()):
                if edit_distance_at_most(term, candidate, 2):
                    return candidate
        return None

    def idf(self, term: str) -> float:
        """Inverse document frequency of an analyzed term (unknown terms get the maximum)."""
        index = self.vocab.get(term)
        return self._max_idf if index is None or index >= len(self._idf) else float(self._idf[index])

    def weighted_overlap(self, terms: list[str], text: str) -> float:
        """Share of the query's idf mass whose terms occur in ``text``."""
        if not terms:
            return 0.0
        present = set(analyze(text))
        weights = {t: self.idf(t) for t in terms}
        total = sum(weights.values())
        return sum(w for t, w in weights.items() if t in present) / total if total else 0.0

    def scores(self, terms: list[str]) -> np.ndarray:
        """BM25 score of every chunk (zeros when no term is known)."""
        n = int(self._bm25.scores["num_docs"])
        if not terms:
            return np.zeros(n, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(terms), dtype=np.float32)


def _deletions(term: str) -> set[str]:
    return {term[:i] + term[i + 1 :] for i in range(len(term))}


def overlap(question: str, text: str) -> float:
    """Share of the question's content words present in text (folded), for answer selection."""
    q = {t for t in tokens(question) if len(t) > 2}
    if not q:
        return 0.0
    body = set(tokens(text))
    stems_q = set(analyze(" ".join(q)))
    stems_t = set(analyze(text))
    exact = len(q & body) / len(q)
    stemmed = len(stems_q & stems_t) / max(1, len(stems_q))
    return 0.5 * exact + 0.5 * stemmed


def folded_contains(haystack: str, needle: str) -> bool:
    return fold(needle).strip() in fold(haystack)
