"""Extractive answers: the sentences or list items of the best passages that answer the question.

Sentence vectors were computed at ingestion time and are stored with the index version, so
answering costs one matrix product, not model calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from assistant.lexical import overlap
from assistant.retrieval import Hit
from assistant.text import fold, is_heading_unit
from assistant.versions import IndexVersion

ELLIPSIS = "…"


_NUMBER_WORDS = (
    r"uno|una|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|diez|once|doce|quince|veinte|treinta|cien|"
    r"ciento|mil|millones|millón|mitad|doble|primer|primero|segundo|tercero"
)
_QUESTION_TYPES: list[tuple[re.Pattern[str], re.Pattern[str]]] = [
    # how many / how much / percentage -> a number
    (
        re.compile(r"\bcu[aá]nt[oa]s?\b|\bmonto\b|\bporcentaje\b|\bqu[eé] cantidad\b|\bqu[eé] edad\b", re.I),
        re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b", re.I),
    ),
    # when / which year / until when -> a year, a month or a date
    (
        re.compile(r"\bcu[aá]ndo\b|\bqu[eé] (?:año|fecha|d[ií]a|mes|siglo|d[eé]cada)\b|\bplazo\b", re.I),
        re.compile(
            r"\b(?:1\d{3}|20\d\d)\b|\b(?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|"
            r"octubre|noviembre|diciembre|siglo|d[ií]as? h[aá]biles)\b",
            re.I,
        ),
    ),
    # who / where / which (name) -> a capitalized name
    (
        re.compile(
            r"\bqui[eé]n(?:es)?\b|\bd[oó]nde\b|\bqu[eé] (?:ciudad|pa[ií]s|lugar|equipo|empresa)\b", re.I
        ),
        re.compile(r"(?<=[a-záéíóúñ,;] )[A-ZÁÉÍÓÚÑ][\wáéíóúñ]+"),
    ),
]


_LIST_QUESTION = re.compile(
    r"\b(requisitos?|documentos?|papeles|papeleria|obligaciones|criterios|causas|conceptos|pasos"
    r"|cuales son|que necesito|que se necesita|que piden|que me piden|que debo (?:presentar|entregar|llevar))\b"
)


def asks_for_list(question: str) -> bool:
    """Questions whose answer is an enumeration (requisitos, documentos, obligaciones…)."""
    return _LIST_QUESTION.search(fold(question)) is not None


def answer_type_match(question: str, sentence: str) -> float:
    """1.0 when the sentence holds the kind of thing the question asks for (a number, a date, a name)
    beyond the words of the question itself; 0.0 otherwise or when the question type is unknown."""
    q_words = {w.lower() for w in re.findall(r"\w+", question)}
    for asks, gives in _QUESTION_TYPES:
        if asks.search(question):
            found = [m.group(0) for m in gives.finditer(sentence)]
            return 1.0 if any(f.lower() not in q_words for f in found) else 0.0
    return 0.0


@dataclass
class Extract:
    body: str  # the selected text
    chunk_rows: list[int]  # chunks it came from, best first
    snippets: dict[int, str]  # chunk row -> the sentences taken from it


@dataclass
class AnswerWeights:
    dense: float = 0.7
    lexical: float = 0.3
    first_chunk_bonus: float = 0.05
    answer_type: float = 0.1


def attribution(chunk: dict[str, object]) -> str:
    """'Según las Reglas de Operación 2014, Cadenas de Valor, Artículo 12'."""
    title = str(chunk.get("short_title") or chunk.get("title") or "el documento")
    section = str(chunk.get("section") or "")
    last = section.split(" > ")[-1] if section else ""
    where = f", {last}" if last and last.lower() not in title.lower() else ""
    return f"Según {title}{where}"


def _trim(text: str, budget: int, question: str) -> str:
    """Cut one long sentence to the window of clauses most related to the question."""
    if len(text) <= budget:
        return text
    clauses = re.split(r"(?<=[,;:])\s+", text)
    best, best_score = "", -1.0
    for i in range(len(clauses)):
        window = ""
        for j in range(i, len(clauses)):
            candidate = (window + " " + clauses[j]).strip()
            if len(candidate) + 2 > budget:
                break
            window = candidate
            score = overlap(question, window) + 0.1 * answer_type_match(question, window)
            score += 0.001 * len(window) / budget
            if score > best_score:
                best, best_score = window, score
    if not best:
        cut = text[: budget - 1]
        best = cut[: cut.rfind(" ")] if " " in cut else cut
        return best + ELLIPSIS
    prefix = ELLIPSIS if not text.startswith(best) else ""
    suffix = ELLIPSIS if not text.endswith(best) else ""
    return f"{prefix}{best}{suffix}"


def _fit(pieces: list[str], budget: int) -> list[str]:
    out: list[str] = []
    used = 0
    for piece in pieces:
        if used + len(piece) + 1 > budget - 2:
            out.append(ELLIPSIS)
            break
        out.append(piece)
        used += len(piece) + 1
    return out


def strip_article_lead(body: str, lead: str) -> str:
    """Drop 'Artículo 9.' at the start of the body when the attribution already names Artículo 9."""
    match = re.match(r"\s*(Art[íi]culo\s+\d+\s*[.:-]?)\s*", body)
    if match and match.group(1).rstrip(".:- ").lower() in lead.lower():
        return body[match.end() :]
    return body


class ExtractiveAnswerer:
    def __init__(
        self,
        weights: AnswerWeights | None = None,
        chunks_considered: int = 2,
        max_units: int = 4,
        score_gap: float = 1.0,
        idf: bool = False,
    ) -> None:
        self.weights = weights or AnswerWeights()
        self.chunks_considered = chunks_considered
        self.max_units = max_units
        self.score_gap = score_gap
        self.idf = idf

    def score_units(
        self, version: IndexVersion, hits: list[Hit], question: str, qv: np.ndarray
    ) -> list[tuple[float, int]]:
        """(score, sentence index) for the units of the best chunks."""
        scored: list[tuple[float, int]] = []
        terms = list(dict.fromkeys(version.lexical.query_terms(question)))
        for rank, hit in enumerate(hits[: self.chunks_considered]):
            if rank > 0 and hit.score < hits[0].score * 0.9:
                break
            idx = version.sentences_of_chunk[hit.row]
            if not idx:
                continue
            dense = version.sentence_vectors[idx] @ qv
            for i, sim in zip(idx, dense, strict=True):
                text = version.sentences[i]["text"]
                lexical = (
                    version.lexical.weighted_overlap(terms, text) if self.idf else overlap(question, text)
                )
                score = self.weights.dense * float(sim) + self.weights.lexical * lexical
                if self.weights.answer_type:
                    score += self.weights.answer_type * answer_type_match(question, text)
                if rank == 0:
                    score += self.weights.first_chunk_bonus
                scored.append((score, i))
        scored.sort(key=lambda x: -x[0])
        return scored

    def extract(
        self, version: IndexVersion, hits: list[Hit], question: str, qv: np.ndarray, budget: int
    ) -> Extract:
        scored = self.score_units(version, hits, question, qv)
        if not scored:
            row = hits[0].row
            text = _trim(version.chunks[row]["text"], budget, question)
            return Extract(text, [row], {row: text})
        sentences = version.sentences
        best = scored[0][1]
        best_chunk = sentences[best]["chunk"]
        chosen: list[int] = []
        used = 0
        groups = 0
        top_score = scored[0][0]
        for score, i in scored:
            if groups >= self.max_units or score < top_score - self.score_gap:
                break
            if i in chosen or sentences[i]["chunk"] != best_chunk:
                continue
            # A list item or the sentence introducing a list brings the whole enumeration.
            group = [u for u in self._with_enumeration(version, i) if u not in chosen]
            length = sum(len(sentences[u]["text"]) + 1 for u in group)
            if used + length > budget:
                if i != best:
                    continue
                lead_in = sentences[i]["text"].rstrip().endswith(":")
                if len(group) > 2 and (lead_in or asks_for_list(question)):
                    # "¿qué papeles necesito?", or a lead-in ending in ':': the list from its start, cut
                    # at the budget with "…" (the full passage is one tap away), rather than one item
                    # picked from the middle or a bare "deberán presentar:".
                    chosen.extend(group)
                    used += length
                    break
                # The enumeration doesn't fit: the best unit alone (with what a heading introduces),
                # trimmed below.
                group = group[:2] if is_heading_unit(sentences[i]["text"]) else [i]
                length = sum(len(sentences[u]["text"]) + 1 for u in group)
            chosen.extend(group)
            used += length
            groups += 1
        chosen.sort()
        pieces = [sentences[i]["text"] for i in chosen]
        if len(pieces) == 2 and used > budget and is_heading_unit(pieces[0]):
            pieces = [f"{pieces[0]} {pieces[1]}"]
        if len(pieces) == 1:
            pieces = [_trim(pieces[0], budget, question)]
        elif used > budget:
            pieces = _fit(pieces, budget)
        body = "\n".join(pieces) if any(sentences[i]["list"] for i in chosen) else " ".join(pieces)
        return Extract(body, [best_chunk], {best_chunk: body})

    @staticmethod
    def _with_enumeration(version: IndexVersion, best: int) -> list[int]:
        """If the best unit introduces or belongs to a list, the whole list (with its lead-in)."""
        sentences = version.sentences
        chunk = sentences[best]["chunk"]
        units = version.sentences_of_chunk[chunk]
        pos = units.index(best)
        if is_heading_unit(sentences[best]["text"]) and pos + 1 < len(units):
            # A heading is not an answer: take what it introduces (and its list, if any).
            return [best, *ExtractiveAnswerer._with_enumeration(version, units[pos + 1])]
        start = pos
        if sentences[best]["list"]:
            while start > 0 and sentences[units[start - 1]]["list"]:
                start -= 1
            if start > 0 and sentences[units[start - 1]]["text"].rstrip().endswith(":"):
                start -= 1
        elif not sentences[best]["text"].rstrip().endswith(":"):
            return [best]
        end = pos + 1
        while end < len(units) and sentences[units[end]]["list"]:
            end += 1
        return units[start:end]
