"""Answer or abstain, and whether to show a second article: the policy after ranking.

With anticipated questions and the answer model, whether to answer is that model's call
(``answer_floor``; it already weighs the best other article, as logits). Between ``pair_answer_floor``
and ``answer_floor`` the best two articles are shown together, each cited, when the other is likely too,
and the answer says it is unsure. Without the answer model, the index's evidence must reach
``abstain_threshold`` and the passage ranker's best probability ``abstain_passage_floor``. Then: one
article when the best stands clear of the best other article; both when the two are close but together
likely; otherwise (without the answer model) abstain rather than pick one of two near-equal ones.
Figures: docs/benchmarks.md § Domain questions, fifth session.
"""

from __future__ import annotations

import math

from assistant.query import Query
from assistant.ranking import ANSWER_FEATURES, RankerModels, answer_features
from assistant.retrieval import Hit
from assistant.tuning import Tuning
from assistant.versions import IndexVersion

UNSURE_PAIR = "No estoy del todo seguro; dos reglas hablan de eso.\n\n"


def runner_up(version: IndexVersion, hits: list[Hit]) -> Hit | None:
    """The best candidate from another article than the first (another document or section)."""
    if not hits:
        return None
    a = version.chunks[hits[0].row]
    return next(
        (
            h
            for h in hits[1:]
            if version.chunks[h.row]["document_id"] != a["document_id"]
            or version.chunks[h.row].get("section") != a.get("section")
        ),
        None,
    )


def decide(
    t: Tuning, models: RankerModels, query: Query, hits: list[Hit], other: Hit | None, evidence: float
) -> tuple[bool, Hit | None, float | None]:
    """(answer at all, the other article to show too, probability the first is right if known)."""
    if not hits:
        return False, None, None
    first = hits[0]
    if first.defines is not None:  # the glossary entry of the term asked (ranking.VersionFeatures.definer)
        return True, None, first.rank_score if models.passage is not None else None
    if models.passage is None:
        return evidence >= t.abstain_threshold, None, None
    sure: float | None = None
    if models.answer is not None and query.near.known:
        row = answer_features(query, first, other, evidence)
        z = float(models.answer.score(row[:, [ANSWER_FEATURES.index(f) for f in models.answer.features]])[0])
        sure = 1 / (1 + math.exp(-z))
        if sure < t.answer_floor:
            if (
                sure >= t.pair_answer_floor
                and other is not None
                and other.rank_score >= t.second_article_floor
            ):
                return True, other, sure
            return False, None, sure
    elif evidence < t.abstain_threshold or first.rank_score < t.abstain_passage_floor:
        return False, None, None
    answer, second = pair(t, first, other)
    if sure is not None and not answer:
        # 0.095 against 0.008 is no margin in probability, but the model, which sees both as
        # logits, is sure enough.
        return True, None, sure
    return answer, second, sure


def pair(t: Tuning, first: Hit, other: Hit | None) -> tuple[bool, Hit | None]:
    """The margin policy: (answer, the other article to show too) from the two probabilities."""
    if other is None or first.rank_score - other.rank_score >= t.second_article_margin:
        return True, None
    if first.rank_score + other.rank_score >= t.pair_floor and other.rank_score >= t.second_article_floor:
        return True, other
    return False, None
