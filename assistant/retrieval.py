"""Hybrid retrieval: dense (Chroma, e5) + BM25 (Spanish analyzer), fused, filtered, de-duplicated."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assistant.embeddings import CampoEmbeddings
from assistant.store import where_clause
from assistant.versions import IndexVersion


@dataclass
class Hit:
    row: int  # chunk row in the version
    score: float  # fused score used for ranking
    dense: float  # cosine similarity of query and chunk
    lexical: float  # BM25 score normalized by the best BM25 score among candidates
    chunk_dense: float = 0.0  # cosine of query and the whole chunk (before the best-unit maximum)
    rank_score: float = 0.0  # the passage ranker's probability that this chunk answers (set by ranking)
    # its row of ranking.PASSAGE_FEATURES (set by ranking; the answer model reads a few of them)
    features: np.ndarray | None = field(default=None, compare=False, repr=False)
    # the sentence (unit) of this chunk's glossary that defines the term a "¿qué es X?" asks, which only
    # this document defines (ranking.VersionFeatures.definer): answered without the answer model's doubt
    defines: int | None = None


@dataclass
class Retrieval:
    """The result of one retrieval, with the query vector kept for answer selection."""

    hits: list[Hit]
    query_vector: np.ndarray
    terms: list[str]
    bm25_max: float = 0.0  # best raw BM25 score among the (filtered) chunks
    unknown_share: float = 0.0  # share of the question's terms the index has never seen (even with typos)


class HybridRetriever:
    def __init__(
        self,
        embeddings: CampoEmbeddings,
        *,
        candidate_k: int = 40,
        fusion: str = "weighted",
        dense_weight: float = 0.5,
        near_duplicate: float = 0.97,
        unit_max: bool = True,
        mode: str = "hybrid",
    ) -> None:
        self.mode = "lexical" if mode == "bm25" else mode  # default of retrieve(); 'bm25' = CAMPO_ setting
        self.unit_max = unit_max
        self.embeddings = embeddings
        self.candidate_k = candidate_k
        self.fusion = fusion
        self.dense_weight = dense_weight
        self.near_duplicate = near_duplicate

    def retrieve(
        self,
        version: IndexVersion,
        query: str,
        *,
        k: int,
        filters: dict[str, Any] | None = None,
        mode: str | None = None,
        query_vector: np.ndarray | None = None,
        extra_rows: list[int] | None = None,
        analyzed: tuple[list[str], float] | None = None,
    ) -> Retrieval:
        """Top-k chunks for ``query``; ``mode`` is 'hybrid', 'dense' or 'lexical' (default: the
        retriever's own mode). ``extra_rows`` join the hits whatever their scores, beyond ``k`` if need
        be (the articles of the kind and program a question names, for the ranker to weigh)."""
        mode = mode or self.mode
        filters = {k_: v for k_, v in (filters or {}).items() if v is not None}
        mask = version.mask(filters)
        n = len(version.chunks)
        qv = query_vector if query_vector is not None else self.embeddings.embed_query_vector(query)
        terms, unknown = analyzed if analyzed is not None else version.lexical.analyze_query(query)
        candidates: set[int] = set()
        dense_rank: dict[int, int] = {}
        if mode in ("hybrid", "dense") and n:
            found = version.collection.search(qv, min(self.candidate_k, n), where_clause(filters))
            for rank, (chunk_id, _) in enumerate(found):
                row = version.chunk_row.get(chunk_id)
                if row is not None:
                    dense_rank[row] = rank
                    candidates.add(row)
        bm25 = version.lexical.scores(terms) if n else np.zeros(0, np.float32)
        if mask is not None:
            bm25 = np.where(mask, bm25, 0.0)
        lex_rank: dict[int, int] = {}
        if mode in ("hybrid", "lexical") and n and bm25.max(initial=0.0) > 0:
            k_lex = min(self.candidate_k, n)
            part = np.argpartition(-bm25, k_lex - 1)[:k_lex] if k_lex < n else np.arange(n)
            top = part[np.argsort(-bm25[part])]
            for rank, row in enumerate(top):
                if bm25[row] > 0:
                    lex_rank[int(row)] = rank
                    candidates.add(int(row))
        for row in extra_rows or ():
            if mask is None or mask[row]:
                candidates.add(row)
        if not candidates:
            return Retrieval([], qv, terms, 0.0, unknown)
        bm25_max = float(bm25.max(initial=0.0))
        rows = np.array(sorted(candidates))
        dense = version.vectors[rows] @ qv
        chunk_dense = dense.copy()
        if self.unit_max and len(version.sentence_vectors):
            # A long chunk (a table, a long list) is as relevant as its best sentence or row.
            best_unit = np.full(len(rows), -1.0, dtype=np.float32)
            for j, r in enumerate(rows):
                units = version.sentences_of_chunk[r]
                if units:
                    best_unit[j] = float(np.max(version.sentence_vectors[units] @ qv))
            dense = np.maximum(dense, best_unit)
        lex = bm25[rows]
        lex_norm = lex / lex.max() if lex.max() > 0 else np.zeros_like(lex)
        if mode == "dense":
            fused = dense.copy()
        elif mode == "lexical":
            fused = lex_norm.copy()
        elif self.fusion == "rrf":
            fused = np.array(
                [
                    1 / (60 + dense_rank.get(int(r), 1000)) + 1 / (60 + lex_rank.get(int(r), 1000))
                    for r in rows
                ]
            )
        else:
            d_norm = _minmax(dense)
            fused = self.dense_weight * d_norm + (1 - self.dense_weight) * lex_norm
        order = np.argsort(-fused)
        hits: list[Hit] = []
        wanted = {int(r) for r in extra_rows or ()}
        for i in order:
            row = int(rows[i])
            if len(hits) >= k and row not in wanted:
                continue  # past k, only the named articles still join (they are what the ranker weighs)
            if any(float(version.vectors[row] @ version.vectors[h.row]) >= self.near_duplicate for h in hits):
                continue  # near-duplicate of a better chunk (same rule restated, repeated annex)
            hits.append(Hit(row, float(fused[i]), float(dense[i]), float(lex_norm[i]), float(chunk_dense[i])))
        return Retrieval(hits, qv, terms, bm25_max, unknown)


def _minmax(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-9:
        return np.ones_like(values)
    return (values - low) / (high - low)
