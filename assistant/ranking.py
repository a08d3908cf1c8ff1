"""Ranking of candidate passages and of answer sentences over interpretable features.

The weights are a small logistic model per task, learned by ``tools/train_ranker.py`` (grouped
cross-validation on XQuAD-es dev and the tune part of the domain questions) and shipped as
``assistant/ranker.json``; inference is a dot product. Without that file the hand weights of
``assistant.tuning`` rank as before.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from assistant.legal import ARTICLE_TITLE, LIST_MARKER
from assistant.lexical import overlap
from assistant.lexicon import Lexicon, words
from assistant.numbers import ARTICLE_WORDS, FRACTION_WORDS, NUMBER_WORDS, ORDINAL_WORDS
from assistant.query import Query
from assistant.questions import QuestionMatch
from assistant.retrieval import Hit
from assistant.text import STOPWORDS, analyze, fold, is_heading_unit, stem

MODEL_PATH = Path(__file__).with_name("ranker.json")

PASSAGE_FEATURES = (
    "fused",
    "dense",
    "chunk_dense",
    "lexical",
    "first",
    "kind_primary",
    "kind_any",
    "kind_other",
    "kind_chapter",
    "program_match",
    "program_other",
    "program_general",
    "glossary_entry",
    "answer_type",
    "expansion_overlap",
    "heading_overlap",
    "best_unit_overlap",
    "dense_rr",
    "lexical_rr",
    "idf_coverage",
    "unit_idf_coverage",
    "question_known",
    "question_sim",
    "question_gap",
    "question_vote",
    "question_first",
    "question_lexical",
)
# Whether to answer at all (versions with anticipated questions): how sure the passage ranker is of
# its best article and of the best other one, how near the question is to any anticipated question
# and to the best article's own, whether its words are anticipated questions' words at all, the share
# of its words that neither the rules nor those questions use ("bienpesca", "imss"), and the index's
# evidence (see assistant.decision). The two passage probabilities enter as logits (capped at
# ±LOGIT_CAP): near 0 and 1 a probability squashes the differences that matter, 0.105 against 0.083
# or 0.999 against 0.9 (docs/benchmarks.md § Domain questions, fifth session).
ANSWER_FEATURES = (
    "passage_logit",
    "other_logit",
    "question_top",
    "question_row",
    "question_words",
    "unknown_words",
    "evidence",
    # the best candidate's own passage features: is it retrieval's first too, do its anticipated
    # questions share the producer's words, is it an article of the kind asked (grouped CV AUC
    # 0.896 → 0.912: docs/benchmarks.md § sixth session)
    "passage_first",
    "passage_question_lexical",
    "passage_kind_primary",
)
LOGIT_CAP = 6.0  # docs/benchmarks.md § Domain questions, fifth session (grouped CV on tune)
QUESTION_FEATURES = frozenset(f for f in PASSAGE_FEATURES if f.startswith("question_"))
SENTENCE_FEATURES = (
    "dense",
    "overlap",
    "answer_type",
    "passage",
    "first_passage",
    "heading",
    "list_item",
    "position",
    "neighbour_dense",
    "length",
    "glossary_entry",
    "expansion_overlap",
    "dense_margin",
)

# Words that state a quantity or an order (folded): the cardinal, fraction and ordinal words of
# assistant.numbers without the articles un/una/uno, and millions (which that module leaves to figures).
_NUMBER_WORDS = "|".join(
    sorted(
        [*(set(NUMBER_WORDS) - ARTICLE_WORDS), *FRACTION_WORDS, *ORDINAL_WORDS, "millon", "millones"],
        key=len,
        reverse=True,
    )
)
_GIVES = {
    "number": re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b"),
    "date": re.compile(
        r"\b(?:1\d{3}|20\d\d)\b|\b(?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|"
        r"octubre|noviembre|diciembre|siglo|d[ií]as? h[aá]biles|d[ií]as naturales)\b",
        re.I,
    ),
    "name": re.compile(r"(?<=[a-záéíóúñ,;] )[A-ZÁÉÍÓÚÑ][\wáéíóúñ]+"),
}


def answer_type_match(query: Query, sentence: str) -> float:
    """1.0 when the sentence holds the kind of thing asked for (a number, a date, a name) beyond the
    question's own words."""
    gives = _GIVES.get(query.answer_type)
    if gives is None:
        return 0.0
    asked = set(query.tokens)
    text = fold(sentence) if query.answer_type == "number" else sentence  # number words are folded
    return 1.0 if any(m.group(0).lower() not in asked for m in gives.finditer(text)) else 0.0


@dataclass
class LinearModel:
    features: tuple[str, ...]
    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray

    def score(self, rows: np.ndarray) -> np.ndarray:
        """Logit of each row (rows are raw features in ``features`` order)."""
        return ((rows - self.mean) / self.scale) @ self.weights + self.bias

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LinearModel:
        return cls(
            features=tuple(data["features"]),
            weights=np.asarray(data["weights"], dtype=np.float64),
            bias=float(data["bias"]),
            mean=np.asarray(data["mean"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
        )


@dataclass
class RankerModels:
    passage: LinearModel | None = None
    sentence: LinearModel | None = None
    answer: LinearModel | None = None
    # The passage model without the anticipated-question features, for a version that has none (its
    # probabilities keep the calibration the abstention floor was chosen with).
    passage_plain: LinearModel | None = None

    def passage_for(self, questions_known: bool) -> LinearModel | None:
        return self.passage if questions_known else (self.passage_plain or self.passage)

    @classmethod
    def load(cls, embedding_model: str, path: Path = MODEL_PATH) -> RankerModels:
        """The shipped models, if they were trained on this embedding model's similarities (a model
        with another similarity scale gets the hand weights)."""
        if not path.is_file():
            return cls()
        data = json.loads(path.read_text("utf-8"))
        if data.get("embedding_model") != embedding_model:
            return cls()
        return cls(
            passage=LinearModel.from_json(data["passage"]) if data.get("passage") else None,
            sentence=LinearModel.from_json(data["sentence"]) if data.get("sentence") else None,
            answer=LinearModel.from_json(data["answer"]) if data.get("answer") else None,
            passage_plain=LinearModel.from_json(data["passage_plain"]) if data.get("passage_plain") else None,
        )


class VersionFeatures:
    """What ranking needs to know about a version's chunks, computed once per loaded version."""

    def __init__(self, chunks: list[dict[str, Any]], sentences: list[dict[str, Any]], lexicon: Lexicon):
        self.lexicon = lexicon
        self.chunks = chunks
        self.sentences = sentences
        self._chunk_terms: dict[int, frozenset[str]] = {}
        self._unit_terms: dict[int, frozenset[str]] = {}
        self._chunk_stems: dict[int, frozenset[str]] = {}

    @cached_property
    def elsewhere_covered(self) -> frozenset[tuple[str, ...]]:
        """The lexicon's ``elsewhere`` phrases that the documents use: a program the rules mention
        (a loaded document about it, or a rule that names it) is not outside them."""
        text = " " + " ".join(" ".join(words(c["text"])) for c in self.chunks) + " "
        phrases = (p for ps in self.lexicon.elsewhere.values() for p in ps)
        return frozenset(p for p in phrases if f" {' '.join(p)} " in text)

    @cached_property
    def kinds(self) -> list[set[str]]:
        """Kinds an article's own title announces ('Conceptos y montos de apoyo' → amounts); for a
        passage that is not an article (an introduction, a slide), its section titles'."""
        out = []
        for chunk in self.chunks:
            match = ARTICLE_TITLE.match(chunk["text"])
            if match:
                out.append(self.lexicon.heading_kinds(match.group(1)))
                continue
            parts = [p for p in str(chunk.get("section") or "").split(" > ") if p]
            out.append(set().union(*(self.lexicon.heading_kinds(p) for p in parts[-2:])))
        return out

    @cached_property
    def chapter_kinds(self) -> list[set[str]]:
        """Kinds the enclosing chapter's title announces ('Obligaciones y causas de baja'). Weaker
        evidence than the article's own title: such a chapter also holds 'Transparencia' or
        'Seguimiento', so it is a feature of its own rather than the article's kind."""
        out: list[set[str]] = []
        for chunk in self.chunks:
            parts = [p for p in str(chunk.get("section") or "").split(" > ") if p]
            if not ARTICLE_TITLE.match(chunk["text"]) or len(parts) < 2:
                out.append(set())
                continue
            out.append(self.lexicon.heading_kinds(re.sub(r"^Cap[íi]tulo\s+\w+\.?", "", parts[-2])))
        return out

    @cached_property
    def heading_stems(self) -> list[frozenset[str]]:
        """Stems of each chunk's article title and chapter title ('Ventanillas y fechas')."""
        out = []
        for chunk in self.chunks:
            match = ARTICLE_TITLE.match(chunk["text"])
            parts = [p for p in str(chunk.get("section") or "").split(" > ") if p][-2:]
            text = " ".join([match.group(1) if match else "", *parts])
            out.append(frozenset(stem(w) for w in words(text) if w not in STOPWORDS and not w.isdigit()))
        return out

    def chunk_terms(self, row: int) -> frozenset[str]:
        """A chunk's BM25 terms (the analyzer's stems), for the idf coverage of a question; analysed
        when first a candidate, not for the whole index on the first question."""
        terms = self._chunk_terms.get(row)
        if terms is None:
            terms = self._chunk_terms[row] = frozenset(analyze(self.chunks[row]["text"]))
        return terms

    def chunk_stems(self, row: int) -> frozenset[str]:
        """Stems of every word of a chunk (cached like ``chunk_terms``)."""
        found = self._chunk_stems.get(row)
        if found is None:
            found = self._chunk_stems[row] = frozenset(stem(w) for w in words(self.chunks[row]["text"]))
        return found

    def unit_terms(self, unit: int) -> frozenset[str]:
        terms = self._unit_terms.get(unit)
        if terms is None:
            terms = self._unit_terms[unit] = frozenset(analyze(self.sentences[unit]["text"]))
        return terms

    @cached_property
    def unit_stems(self) -> list[frozenset[str]]:
        return [frozenset(stem(w) for w in words(s["text"]) if w not in STOPWORDS) for s in self.sentences]

    @cached_property
    def rows_of_kind(self) -> dict[tuple[str, str], list[int]]:
        """(component, article kind) → chunk rows: the articles a question of that kind and program names."""
        out: dict[tuple[str, str], list[int]] = {}
        for row, (component, kinds) in enumerate(zip(self.components, self.kinds, strict=True)):
            for kind in kinds:
                out.setdefault((component, kind), []).append(row)
        return out

    @cached_property
    def components(self) -> list[str]:
        return [str(c.get("component") or "") for c in self.chunks]

    @cached_property
    def programs(self) -> list[str]:
        return [str(c.get("program") or "") for c in self.chunks]

    @cached_property
    def program_of(self) -> dict[str, str]:
        """component → program ('presentacion' and 'instancia-ejecutora' are both INCA Rural's)."""
        return dict(zip(self.components, self.programs, strict=True))

    def other_program(self, row: int, named: list[str]) -> bool:
        """True when the question names components and this chunk belongs to none of their programs,
        or to another component that producers name too (traspatio's rules are not an answer about
        cadenas de valor, although both are PIDR's). A document for every program, like the
        applicant's guide, is never 'other'; one that nobody names (INCA Rural's presentation) goes
        with its program."""
        if not named or self.general[row] or not self.programs[row]:
            return False
        if self.programs[row] not in {self.program_of.get(c, c) for c in named}:
            return True
        component = self.components[row]
        return component in self.lexicon.programs and component not in named

    def candidates(self, hits: list[Hit], query: Query) -> list[Hit]:
        """The hits a question that names programs can be answered from: other programs' articles
        leave; so do documents for every program (the applicant's guide) when a named program's own
        rules have a candidate article of the kind asked ('¿cuándo abren ventanillas del PROIN?' is
        PROIN's Art. 12 with its dates, not the guide's 'the dates are in each program's notice')."""
        if not query.programs:
            return hits
        kept = [h for h in hits if not self.other_program(h.row, query.programs)] or hits
        primary = query.kind
        if primary and any(
            not self.general[h.row]
            and self.components[h.row] in query.programs
            and primary in self.kinds[h.row]
            for h in kept
        ):
            kept = [h for h in kept if not self.general[h.row]]
        return kept

    @cached_property
    def general(self) -> list[bool]:
        """Chunks of documents for every program (``program: general``, e.g. the applicant's guide)."""
        return [str(c.get("program") or "") == "general" for c in self.chunks]

    @cached_property
    def entry_heads(self) -> list[frozenset[str]]:
        """For a glossary entry ('XII. PIIEX: Proyectos Integrales…'), the stems of the defined term
        and of any acronym in it; empty for other sentences."""
        out: list[frozenset[str]] = []
        for s in self.sentences:
            text = LIST_MARKER.sub("", s["text"].lstrip(), count=1)
            head, colon, _ = text.partition(":")
            if not colon or len(head) > 90 or not s.get("list"):
                out.append(frozenset())
                continue
            out.append(frozenset(stem(w) for w in words(head) if w not in STOPWORDS))
        return out

    def definer(
        self, query: Query, hits: list[Hit], sentences_of_chunk: list[list[int]]
    ) -> tuple[int, int] | None:
        """For "¿qué es X?", the position of the best candidate whose glossary defines X and the entry's
        unit, when the
        candidates' glossaries of one document only do ("q es la osne q me dijeron pa lo de jornaleros"
        → the PAE glossary's entry, not Art. 20, whose anticipated questions name the OSNE more); None
        when none does or two documents do (the two glossaries may not agree: the ranking decides)."""
        if not query.definition_term:
            return None
        found = [
            (i, u)
            for i, h in enumerate(hits)
            for u in sentences_of_chunk[h.row]
            if glossary_hit(query, self.entry_heads[u])
        ]
        documents = {self.chunks[hits[i].row]["document_id"] for i, _ in found}
        return found[0] if len(documents) == 1 else None


def glossary_hit(query: Query, head: frozenset[str]) -> float:
    if not query.definition_term or not head:
        return 0.0
    asked = {stem(w) for w in words(query.definition_term) if w not in STOPWORDS}
    return 1.0 if asked and asked <= head else 0.0


def _expansion_overlap(query: Query, text_words: set[str] | frozenset[str]) -> float:
    if not query.expansions:
        return 0.0
    return sum(stem(w) in text_words for w in query.expansions) / len(query.expansions)


def idf_coverage(query: Query, terms: frozenset[str]) -> float:
    """Share of the question's idf mass (BM25 terms, typos fixed) that ``terms`` hold."""
    total = sum(query.term_idf.values())
    return sum(w for t, w in query.term_idf.items() if t in terms) / total if total else 0.0


def _question_features(near: QuestionMatch, row: int) -> tuple[float, ...]:
    """Known, cosine of the row's nearest anticipated question, its gap to the nearest of all
    (capped), the row's share of the nearest questions, whether it holds the nearest one, and the
    BM25 of its questions relative to the best section's."""
    if not near.known:
        return 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    best = near.best(row)
    sim = near.top - near.gap_cap if best is None else best
    return (
        1.0,
        sim,
        max(-near.gap_cap, sim - near.top),
        near.votes.get(row, 0.0),
        1.0 if row in near.first_rows else 0.0,
        near.lexical.get(row, 0.0),
    )


def logit(probability: float) -> float:
    """log(p / (1 − p)), capped at ±LOGIT_CAP (a probability of exactly 0 or 1 stays finite)."""
    p = min(max(probability, 1e-12), 1 - 1e-12)
    return max(-LOGIT_CAP, min(LOGIT_CAP, math.log(p / (1 - p))))


def answer_features(query: Query, best: Hit, other: Hit | None, evidence: float) -> np.ndarray:
    """One row of ``ANSWER_FEATURES`` for the ranked candidates' best article (and best other one)."""
    near = query.near
    own = near.best(best.row)
    f = best.features

    def passage(name: str) -> float:
        return float(f[PASSAGE_FEATURES.index(name)]) if f is not None else 0.0

    return np.array(
        [
            [
                logit(best.rank_score),
                logit(other.rank_score) if other is not None else -LOGIT_CAP,
                near.top,
                near.top - near.gap_cap if own is None else own,
                near.lexical_top,
                min(query.unknown_share, near.unknown_share),
                evidence,
                passage("first"),
                passage("question_lexical"),
                passage("kind_primary"),
            ]
        ],
        dtype=np.float64,
    )


def passage_features(
    query: Query, hits: list[Hit], vf: VersionFeatures, sentences_of_chunk: list[list[int]]
) -> np.ndarray:
    rows = []
    kinds = query.kinds()
    primary = query.kind
    asked = {stem(w) for w in query.tokens if w not in STOPWORDS} | {stem(w) for w in query.expansions}
    dense_order = {h.row: i for i, h in enumerate(sorted(hits, key=lambda h: -h.dense))}
    lexical_order = {h.row: i for i, h in enumerate(sorted(hits, key=lambda h: -h.lexical))}
    near = query.near
    for rank, hit in enumerate(hits):
        chunk_kinds = vf.kinds[hit.row]
        component = vf.components[hit.row]
        units = sentences_of_chunk[hit.row]
        text = vf.chunks[hit.row]["text"]
        stems = vf.chunk_stems(hit.row)
        rows.append(
            [
                hit.score,
                hit.dense,
                hit.chunk_dense,
                hit.lexical,
                1.0 if rank == 0 else 0.0,
                1.0 if primary and primary in chunk_kinds else 0.0,
                1.0 if kinds & chunk_kinds else 0.0,
                1.0 if kinds and chunk_kinds and not kinds & chunk_kinds else 0.0,
                1.0
                if primary and primary in vf.chapter_kinds[hit.row] and primary not in chunk_kinds
                else 0.0,
                1.0 if query.programs and component in query.programs else 0.0,
                1.0 if vf.other_program(hit.row, query.programs) else 0.0,
                # a document for every program when the question names another one
                1.0 if query.programs and vf.general[hit.row] and component not in query.programs else 0.0,
                max((glossary_hit(query, vf.entry_heads[u]) for u in units), default=0.0),
                answer_type_match(query, text),
                _expansion_overlap(query, stems),
                len(asked & vf.heading_stems[hit.row]) / max(1, len(asked)),
                max((len(asked & vf.unit_stems[u]) / max(1, len(asked)) for u in units), default=0.0),
                1 / (1 + dense_order[hit.row]),
                1 / (1 + lexical_order[hit.row]),
                idf_coverage(query, vf.chunk_terms(hit.row)),
                max((idf_coverage(query, vf.unit_terms(u)) for u in units), default=0.0),
                *_question_features(near, hit.row),
            ]
        )
    return np.asarray(rows, dtype=np.float64).reshape(len(hits), len(PASSAGE_FEATURES))


def sentence_features(
    query: Query,
    units: list[int],
    sims: np.ndarray,
    passage_score: float,
    first_passage: bool,
    vf: VersionFeatures,
    chunk_units: list[int],
    chunk_sims: np.ndarray,
) -> np.ndarray:
    """Features of ``units`` (sentence indexes of one chunk, in chunk order = ``chunk_units``)."""
    rows = []
    best = float(chunk_sims.max()) if len(chunk_sims) else 0.0
    position = {u: i for i, u in enumerate(chunk_units)}
    for u, sim in zip(units, sims, strict=True):
        s = vf.sentences[u]
        text = s["text"]
        i = position[u]
        neighbours = [float(chunk_sims[j]) for j in (i - 1, i + 1) if 0 <= j < len(chunk_sims)]
        stems = {stem(w) for w in words(text)}
        rows.append(
            [
                float(sim),
                overlap(query.search_text, text),
                answer_type_match(query, text),
                passage_score,
                1.0 if first_passage else 0.0,
                1.0 if is_heading_unit(text) else 0.0,
                1.0 if s.get("list") else 0.0,
                i / max(1, len(chunk_units) - 1),
                max(neighbours, default=float(sim)),
                min(len(text), 600) / 300,
                glossary_hit(query, vf.entry_heads[u]),
                _expansion_overlap(query, stems),
                float(sim) - best,
            ]
        )
    return np.asarray(rows, dtype=np.float64).reshape(len(units), len(SENTENCE_FEATURES))
