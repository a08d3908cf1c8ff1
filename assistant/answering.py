"""Extractive answers: the sentences or list items of the best passages that answer the question.

Sentence vectors were computed at ingestion time and are stored with the index version, so
answering costs one matrix product, not model calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from assistant.lexical import overlap
from assistant.lexicon import Lexicon
from assistant.query import Query, analyze_question
from assistant.ranking import (
    SENTENCE_FEATURES,
    LinearModel,
    VersionFeatures,
    answer_type_match,
    glossary_hit,
    sentence_features,
)
from assistant.retrieval import Hit
from assistant.text import STOPWORDS, fold, is_heading_unit, stem, tokens
from assistant.tuning import DEFAULT, Tuning
from assistant.versions import IndexVersion

ELLIPSIS = "…"


def asks_for_list(question: str) -> bool:
    """Questions whose answer is an enumeration (requisitos, documentos, obligaciones…)."""
    return analyze_question(question, Lexicon()).wants_list


@dataclass
class Extract:
    body: str  # the selected text
    chunk_rows: list[int]  # chunks it came from, best first
    snippets: dict[int, str]  # chunk row -> the sentences taken from it


def attribution(chunk: dict[str, object]) -> str:
    """'Según las Reglas de Operación 2014, Cadenas de Valor, Artículo 12'."""
    title = str(chunk.get("short_title") or chunk.get("title") or "el documento")
    section = str(chunk.get("section") or "")
    last = section.split(" > ")[-1] if section else ""
    where = f", {last}" if last and last.lower() not in title.lower() else ""
    return f"Según {title}{where}"


_WORD = re.compile(r"\S+")


def _trim(text: str, budget: int, query: Query) -> str:
    """Cut one long sentence to the window of words that answers: the most (idf-weighted) question
    words, centred on them. The answer usually sits next to the words it shares with the question
    ('Debido a su desastrosa situación financiera, el Polonia fue relegado…'), so the window keeps
    room on both sides rather than starting at the first shared word."""
    if len(text) <= budget:
        return text
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    asked = {
        s: query.term_idf.get(s) or 1.0
        for s in (stem(t) for t in tokens(query.search_text) if t not in STOPWORDS)
    }
    weights = [next((asked[s] for s in map(stem, tokens(text[a:b])) if s in asked), 0.0) for a, b in words]
    keys = [fold(text[a:b]) for a, b in words]  # a word shared twice counts once
    room = budget - 2  # for the ellipses
    best: tuple[tuple[float, float], int, int] | None = None
    end = 0
    for start in range(len(words)):
        end = max(end, start)
        while end + 1 < len(words) and words[end + 1][1] - words[start][0] <= room:
            end += 1
        if words[end][1] - words[start][0] > room:
            continue  # one word longer than the budget
        shared = [k for k in range(start, end + 1) if weights[k]]
        distinct = {keys[k]: weights[k] for k in shared}
        off_centre = 0.0
        if shared:
            middle = (words[shared[0]][0] + words[shared[-1]][1]) / 2
            off_centre = abs(middle - (words[start][0] + words[end][1]) / 2) / budget
        key = (round(sum(distinct.values()), 6), -off_centre)
        if best is None or key > best[0]:
            best = (key, start, end)
        if end == len(words) - 1:
            break
    if best is None:
        cut = text[: budget - 1]
        return (cut[: cut.rfind(" ")] if " " in cut else cut) + ELLIPSIS
    _, start, end = best
    prefix = ELLIPSIS if start > 0 else ""
    suffix = ELLIPSIS if end < len(words) - 1 else ""
    return f"{prefix}{text[words[start][0] : words[end][1]]}{suffix}"


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
    """Picks the sentences (or the list) of the best passages that answer the question, within a budget.

    Sentences are scored by the learned sentence model when one is given, else by the hand weights of
    ``Tuning`` (dense similarity, word overlap, answer type, a bonus for the first passage)."""

    def __init__(self, tuning: Tuning = DEFAULT, model: LinearModel | None = None) -> None:
        self.tuning = tuning
        self.model = model

    def score_units(
        self, version: IndexVersion, hits: list[Hit], query: Query, vf: VersionFeatures
    ) -> list[tuple[float, int]]:
        """(score, sentence index) for the units of the best passages, best first."""
        t = self.tuning
        qv = query.vector
        assert qv is not None
        scored: list[tuple[float, int]] = []
        for rank, hit in enumerate(hits[: t.chunks_considered]):
            if rank > 0 and hit.rank_score < hits[0].rank_score * t.second_chunk_ratio:
                break
            idx = version.sentences_of_chunk[hit.row]
            if not idx:
                continue
            dense = version.sentence_vectors[idx] @ qv
            if self.model is not None:
                rows = sentence_features(query, idx, dense, hit.rank_score, rank == 0, vf, idx, dense)
                logits = self.model.score(rows[:, [SENTENCE_FEATURES.index(f) for f in self.model.features]])
                scored.extend((float(s), i) for s, i in zip(logits, idx, strict=True))
                continue
            for i, sim in zip(idx, dense, strict=True):
                text = version.sentences[i]["text"]
                score = t.sentence_dense * float(sim) + t.sentence_overlap * overlap(query.search_text, text)
                score += t.sentence_answer_type * answer_type_match(query, text)
                score += t.sentence_glossary * glossary_hit(query, vf.entry_heads[i])
                if rank == 0:
                    score += t.sentence_first_chunk
                scored.append((score, i))
        scored.sort(key=lambda x: -x[0])
        return scored

    def extract(
        self, version: IndexVersion, hits: list[Hit], query: Query, vf: VersionFeatures, budget: int
    ) -> Extract:
        # the glossary entry of the term asked, which ranking put first (VersionFeatures.definer)
        entry = hits[0].defines if hits else None
        if entry is not None:
            body = _trim(version.sentences[entry]["text"], budget, query)
            return Extract(body, [hits[0].row], {hits[0].row: body})
        scored = self.score_units(version, hits, query, vf)
        if not scored:
            row = hits[0].row
            text = _trim(version.chunks[row]["text"], budget, query)
            return Extract(text, [row], {row: text})
        sentences = version.sentences
        best = scored[0][1]
        best_chunk = sentences[best]["chunk"]
        if query.definition_term and glossary_hit(query, vf.entry_heads[best]):
            # "¿qué es el RNPA?" and the best unit is the glossary's entry for it: that entry is the
            # answer, not the entry buried among three others that scored near it.
            body = _trim(sentences[best]["text"], budget, query)
            return Extract(body, [best_chunk], {best_chunk: body})
        chosen: list[int] = []
        cut: dict[int, str] = {}
        used = 0
        groups = 0
        top_score = scored[0][0]
        for score, i in scored:
            if groups >= self.tuning.max_units or score < top_score - self.tuning.score_gap:
                break
            if i in chosen or sentences[i]["chunk"] != best_chunk:
                continue
            # A list item or the sentence introducing a list brings the whole enumeration.
            group = [u for u in self._with_enumeration(version, i) if u not in chosen]
            length = sum(len(sentences[u]["text"]) + 1 for u in group)
            if used + length > budget:
                if i != best:
                    # Its enumeration doesn't fit: the item alone, if it does ('e) Emisión del
                    # certificado, con vigencia de tres años' next to the best unit of the same list).
                    solo = len(sentences[i]["text"]) + 1
                    if used + solo <= budget and not is_heading_unit(sentences[i]["text"]):
                        chosen.append(i)
                        used += solo
                        groups += 1
                    elif (
                        budget - used >= self.tuning.min_trimmed_room
                        and not sentences[i]["list"]
                        and not is_heading_unit(sentences[i]["text"])
                    ):
                        # A long sentence after a short best one: the part of it around the
                        # question's words ('…que cuenten con una superficie de hasta 10 hectáreas…').
                        cut[i] = _trim(sentences[i]["text"], budget - used - 1, query)
                        chosen.append(i)
                        used += len(cut[i]) + 1
                        groups += 1
                    continue
                lead_in = sentences[i]["text"].rstrip().endswith(":")
                if len(group) > 2 and (lead_in or query.wants_list):
                    # "¿qué papeles necesito?", or a lead-in ending in ':': the list from its start, cut
                    # at the budget with "…" (the full passage is one tap away), rather than one item
                    # picked from the middle or a bare "deberán presentar:"; its best item joins even
                    # past the cut ("VII. En proyectos de turismo… la autorización ambiental").
                    picked, marks = _list_from_start(sentences, group, scored, budget - used)
                    chosen.extend(picked)
                    cut.update(marks)
                    used += sum(len(cut.get(u, sentences[u]["text"])) + 1 for u in picked)
                    break
                # The enumeration doesn't fit: the best unit alone (with what a heading introduces),
                # trimmed below; a heading over a list brings its lead-in and the list's best items.
                if is_heading_unit(sentences[i]["text"]):
                    group = _best_items(sentences, group, scored, budget - used)
                else:
                    group = [i]
                length = sum(len(sentences[u]["text"]) + 1 for u in group)
            chosen.extend(group)
            used += length
            groups += 1
        chosen.sort()
        pieces = [cut.get(i, sentences[i]["text"]) for i in chosen]
        if len(pieces) == 2 and used > budget and is_heading_unit(pieces[0]):
            pieces = [f"{pieces[0]} {pieces[1]}"]
        if len(pieces) == 1:
            pieces = [_trim(pieces[0], budget, query)]
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


def _list_from_start(
    sentences: list[dict[str, Any]], group: list[int], scored: list[tuple[float, int]], room: int
) -> tuple[list[int], dict[int, str]]:
    """A list's units from its start that fit in ``room``, and its best-scored item when that falls
    past the cut; '…' (on its own line) marks what is left out. Returns the units and the texts that
    carry a '…'."""
    rank = {u: n for n, (_, u) in enumerate(scored)}
    items = [u for u in group if sentences[u]["list"]]
    best = min(items, key=lambda u: rank.get(u, len(rank))) if items else None

    def size(u: int) -> int:
        return len(sentences[u]["text"]) + 1

    mark = len(ELLIPSIS) + 1
    room -= mark  # the final '…' when the list is cut
    lead = [u for u in group if not sentences[u]["list"]][:2]
    if best is not None and sum(map(size, lead)) + size(best) + mark > room:
        best = None  # never an item without the words that introduce its list
    picked: list[int] = []
    used = 0
    for u in group:
        reserve = 0 if best is None or best in picked or u == best else size(best) + mark
        if used + size(u) + reserve > room:
            break
        picked.append(u)
        used += size(u)
    if best is not None and best not in picked and used + size(best) + mark <= room:
        picked.append(best)
        used += size(best) + mark
        for u in group[len(picked) - 1 :]:  # the start goes on in what the best item left
            if u == best or used + size(u) > room:
                break
            picked.insert(-1, u)
            used += size(u)
    if not picked:
        return [], {}
    marks: dict[int, str] = {}
    position = {u: n for n, u in enumerate(group)}
    picked.sort(key=position.__getitem__)
    for a, b in zip(picked, [*picked[1:], None], strict=True):
        if (b is None and position[a] < len(group) - 1) or (b is not None and position[b] != position[a] + 1):
            marks[a] = f"{sentences[a]['text']}\n{ELLIPSIS}"
    return picked, marks


def _best_items(
    sentences: list[dict[str, Any]], group: list[int], scored: list[tuple[float, int]], room: int
) -> list[int]:
    """A heading, its lead-in and the best-scored items of its list that fit in ``room`` (in
    document order): 'Funciones del GEIT. Corresponde a cada GEIT: … V. Reportar avances mensuales'
    rather than the heading and a bare lead-in."""
    lead = [u for u in group if not sentences[u]["list"]][:2]
    items = [u for u in group if sentences[u]["list"]]
    if not items or not lead or not sentences[lead[-1]]["text"].rstrip().endswith(":"):
        return group[:2]
    room -= sum(len(sentences[u]["text"]) + 1 for u in lead)
    rank = {u: n for n, (_, u) in enumerate(scored)}
    picked: list[int] = []
    for u in sorted(items, key=lambda u: rank.get(u, len(rank))):
        size = len(sentences[u]["text"]) + 1
        if size <= room:
            picked.append(u)
            room -= size
    return lead + sorted(picked) if picked else group[:2]
