"""Every weight and threshold of the question road, in one place, each with where it was calibrated.

``Settings`` takes its defaults for the user-facing knobs (abstention threshold, fusion weight) from
here, so a constructor default can never disagree with a setting. ``docs/benchmarks.md`` sections named
in ``CALIBRATED`` hold the runs that chose each value.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tuning:
    # --- candidates -----------------------------------------------------------------------------
    candidate_k: int = 40  # from each retriever before fusion
    rerank_k: int = 12  # fused candidates the passage ranker sees
    dense_weight: float = 0.7  # weighted fusion: dense share, BM25 gets the rest
    near_duplicate: float = 0.97  # cosine above which two chunks are one
    # --- evidence and abstention ----------------------------------------------------------------
    bm25_saturation: float = 40.0
    bm25_evidence_weight: float = 0.5
    unknown_penalty: float = 0.1
    abstain_threshold: float = 0.86
    confidence_slope: float = 12.0
    abstain_passage_floor: float = 0.4  # … or when the passage ranker gives the best passage less than this
    # With anticipated questions, the answer model replaces both: answer when it gives at least this.
    answer_floor: float = 0.7
    # … and between this and answer_floor, the best two articles together (when the other reaches
    # second_article_floor) rather than an abstention.
    pair_answer_floor: float = 0.55
    # A question naming no program is asked "¿de cuál?" when two programs have a candidate this likely.
    clarify_floor: float = 0.05
    # --- anticipated questions (assistant/questions.py) ----------------------------------------------
    question_neighbours: int = 10  # nearest anticipated questions that vote for their sections
    question_extra_sections: int = 3  # sections of the nearest questions that join the candidates
    question_gap_cap: float = 0.15  # a section this far below the nearest question is simply 'far'
    question_words_saturation: float = 10.0  # BM25 of a section's questions counted as half sure
    # A message of at least this many words is embedded as the sum of its whole text and its asking
    # clause (``assistant.query.focus_clause``).
    focus_min_words: int = 16
    # --- composition ----------------------------------------------------------------------------
    chunks_considered: int = 2  # passages whose sentences compete for the answer
    second_chunk_ratio: float = 0.9  # a lower passage competes only when its score is this close
    max_units: int = 4  # sentence groups in one answer
    score_gap: float = 1.0  # units further below the best are not added
    min_trimmed_room: int = 120  # a unit too long for what is left joins cut, if this much is left
    # The best article alone when it leads the best other article by this much (ranker probability)…
    second_article_margin: float = 0.1
    pair_floor: float = 0.0  # … else both, when their probabilities add up to this (else abstain)
    second_article_floor: float = 0.2  # … and the runner-up's is at least this
    # --- sentence scorer: the learned model picked the right sentence more often in cross-validation
    # but, composed into answers, lost 6 points of containment on XQuAD-es dev (it fills the budget
    # differently); the hand weights stay until a composer is tuned for it. ------------------------
    learned_sentences: bool = False
    sentence_dense: float = 0.7
    sentence_overlap: float = 0.3
    sentence_first_chunk: float = 0.05
    sentence_answer_type: float = 0.1
    sentence_glossary: float = 0.3  # "¿qué es X?": the glossary entry that defines X


DEFAULT = Tuning()

CALIBRATED: dict[str, str] = {
    "candidate_k": "not calibrated (recall ceiling checked: XQuAD-es dev R@5 1.000)",
    "rerank_k": "docs/benchmarks.md § Domain questions",
    "dense_weight": "docs/benchmarks.md § XQuAD-es, Passage retrieval (scan 0.35–0.85)",
    "near_duplicate": "not calibrated",
    "bm25_saturation": "docs/benchmarks.md § Abstention",
    "bm25_evidence_weight": "docs/benchmarks.md § Abstention",
    "unknown_penalty": "docs/benchmarks.md § Abstention",
    "abstain_threshold": "docs/benchmarks.md § Abstention and § Domain questions",
    "abstain_passage_floor": "docs/benchmarks.md § Domain questions (tune split sweep)",
    "answer_floor": "docs/benchmarks.md § Domain questions, sixth session (tools/domain_cv.py, out of fold)",
    "pair_answer_floor": "docs/benchmarks.md § Domain questions, sixth session (tools/domain_cv.py, out of fold)",
    "clarify_floor": "not calibrated (how often it asks: docs/benchmarks.md § Domain questions)",
    "question_neighbours": "not calibrated",
    "question_extra_sections": "not calibrated (recall of the right article among them: docs/benchmarks.md)",
    "question_gap_cap": "not calibrated",
    "question_words_saturation": "not calibrated (the answer model learns its weight)",
    "focus_min_words": "docs/benchmarks.md § Domain questions, seventh session (12 and 16 on the fresh set's dev part)",
    "confidence_slope": "not calibrated (only shapes the reported confidence)",
    "chunks_considered": "docs/benchmarks.md § Short answers",
    "second_chunk_ratio": "not calibrated",
    "max_units": "docs/benchmarks.md § Short answers",
    "score_gap": "not calibrated",
    "min_trimmed_room": "docs/benchmarks.md § Domain questions, fifth session (80–180 on tune and XQuAD-es dev)",
    "second_article_margin": "docs/benchmarks.md § Domain questions",
    "second_article_floor": "docs/benchmarks.md § Domain questions",
    "pair_floor": "docs/benchmarks.md § Domain questions",
    "learned_sentences": "docs/benchmarks.md § Short answers (learned vs hand sentence scoring)",
    "sentence_dense": "docs/benchmarks.md § Short answers (sweep tools/tune_answerer.py)",
    "sentence_overlap": "docs/benchmarks.md § Short answers (sweep tools/tune_answerer.py)",
    "sentence_first_chunk": "docs/benchmarks.md § Short answers (sweep tools/tune_answerer.py)",
    "sentence_answer_type": "docs/benchmarks.md § Short answers (sweep tools/tune_answerer.py)",
    "sentence_glossary": "docs/benchmarks.md § Domain questions (definition questions, tune split)",
}
