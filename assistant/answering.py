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
from assistant.versions import IndexVersion

ELLIPSIS = "…"


@dataclass
class Extract:
    body: str  # the selected text
    chunk_rows: list[int]  # chunks it came from, best first
    snippets: dict[int, str]  # chunk row -> the sentences taken from it


@dataclass
class AnswerWeights:
    dense: float = 0.6
    lexical: float = 0.4
    first_chunk_bonus: float = 0.05


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
            score = overlap(question, window) + 0.001 * len(window) / budget
            if score > best_score:
                best, best_score = window, score
    if not best:
        cut = text[: budget - 1]
        best = cut[: cut.rfind(" ")] if " " in cut else cut
        return best + ELLIPSIS
    prefix = ELLIPSIS if not text.startswith(best) else ""
    suffix = ELLIPSIS if not text.endswith(best) else ""
    return f"{prefix}{best}{suffix}"


class ExtractiveAnswerer:
    def __init__(self, weights: AnswerWeights | None = None, chunks_considered: int = 2) -> None:
        self.weights = weights or AnswerWeights()
        self.chunks_considered = chunks_considered

    def score_units(
        self, version: IndexVersion, hits: list[Hit], question: str, qv: np.ndarray
    ) -> list[tuple[float, int]]:
        """(score, sentence index) for the units of the best chunks."""
        scored: list[tuple[float, int]] = []
        for rank, hit in enumerate(hits[: self.chunks_considered]):
            if rank > 0 and hit.score < hits[0].score * 0.9:
                break
            idx = version.sentences_of_chunk[hit.row]
            if not idx:
                continue
            dense = version.sentence_vectors[idx] @ qv
            for i, sim in zip(idx, dense, strict=True):
                text = version.sentences[i]["text"]
                score = self.weights.dense * float(sim) + self.weights.lexical * overlap(question, text)
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
        best = scored[0][1]
        chosen = self._with_enumeration(version, best)
        if sum(len(version.sentences[i]["text"]) + 1 for i in chosen) > budget:
            chosen = [best]
        used = sum(len(version.sentences[i]["text"]) + 1 for i in chosen)
        # Add the next best units of the same chunk while they fit (keeps answers short and on point).
        best_chunk = version.sentences[best]["chunk"]
        top_score = scored[0][0]
        for score, i in scored[1:]:
            if len(chosen) >= 4 or score < top_score - 0.12:
                break
            if i in chosen or version.sentences[i]["chunk"] != best_chunk:
                continue
            length = len(version.sentences[i]["text"]) + 1
            if used + length <= budget:
                chosen.append(i)
                used += length
        chosen.sort()
        pieces = [version.sentences[i]["text"] for i in chosen]
        if len(pieces) == 1:
            pieces = [_trim(pieces[0], budget, question)]
        body = "\n".join(pieces) if any(version.sentences[i]["list"] for i in chosen) else " ".join(pieces)
        row = best_chunk
        return Extract(body, [row], {row: body})

    @staticmethod
    def _with_enumeration(version: IndexVersion, best: int) -> list[int]:
        """If the best unit introduces or belongs to a list, the whole list (with its lead-in)."""
        sentences = version.sentences
        chunk = sentences[best]["chunk"]
        units = version.sentences_of_chunk[chunk]
        pos = units.index(best)
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
