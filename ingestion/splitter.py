"""Structure-aware splitter for Spanish rules documents: the article is the unit of citation.

Headings (Título, Capítulo, Markdown/DOCX/HTML headings) build the section path and are not chunk
text themselves; each Artículo opens a new chunk. Lists and tables stay whole when they fit; a long
article is split between blocks, with its lead ("Artículo 12. Requisitos.") repeated on top of each
continuation so every chunk stands alone.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from assistant.legal import (
    ARTICLE_START,
    BARE_HEADING_LABEL,
    HEADING_LABEL,
    LIST_MARKER,
    TRANSITORIOS,
    TRANSITORY_START,
    article_label,
)
from assistant.normalize import fold
from assistant.text import split_sentences
from ingestion.loaders.base import Block, LoadedDocument, squash

PATH_ELEMENT_CHARS = 60
_RANKS = {"libro": 0, "titulo": 1, "transitorios": 1, "capitulo": 2, "seccion": 3}
_TABLE_CAPTION = re.compile(r"^(?:tabla|cuadro)\b", re.I)


@dataclass
class Chunk:
    text: str
    section: str
    page: int | None
    index: int


@dataclass
class _Level:
    level: int
    kind: str  # "titulo", "capitulo", ... or "" for a plain heading
    label: str
    root: bool = False  # the document's title: shown only while nothing else is open


@dataclass
class _Segment:
    section: str
    lead: str  # repeated on top of continuation chunks ("" outside articles)
    blocks: list[Block] = field(default_factory=list)


@dataclass
class _Unit:
    """Lines that are never separated; ``context`` is repeated if a chunk starts here."""

    lines: list[str]
    page: int | None
    context: list[str] = field(default_factory=list)
    keep_with_next: bool = False
    joins: bool = False  # continues the previous unit's sentence (a long block cut in pieces)

    @property
    def size(self) -> int:
        return sum(len(line) + 1 for line in self.lines)


@dataclass
class _Draft:
    section: str
    page: int | None
    lines: list[str]
    prefix: int = 0  # leading lines repeated from an earlier chunk
    joins: bool = False  # first content line continues the previous chunk's last line

    @property
    def size(self) -> int:
        return sum(len(line) + 1 for line in self.lines)


def split_document(doc: LoadedDocument, *, max_chars: int = 1400, min_chars: int = 250) -> list[Chunk]:
    """Chunks in document order: one article per chunk where possible, each at most ~max_chars."""
    drafts: list[_Draft] = []
    blocks = [Block(squash(b.text), b.kind, b.page, b.level) for b in doc.blocks if squash(b.text)]
    for segment in _segments(blocks):
        drafts.extend(_pack(segment, _units(segment, max_chars), max_chars))
    drafts = _merge_small(drafts, min_chars, max_chars)
    return [Chunk("\n".join(d.lines), d.section, d.page, i) for i, d in enumerate(drafts)]


# --- Structure: headings, articles, section paths ------------------------------------------------


def _structure_kind(block: Block) -> str:
    """'titulo', 'capitulo', 'seccion', 'libro' or 'transitorios' for a structural heading, else ''."""
    text = block.text
    if block.kind not in ("heading", "paragraph") or len(text) > 150:
        return ""
    if TRANSITORIOS.match(text):
        return "transitorios"
    match = HEADING_LABEL.match(text)
    if not match or (
        block.kind == "paragraph" and (len(re.findall(r"[.:;](?=\s)", text)) > 1 or len(text) > 120)
    ):
        return ""
    return fold(match.group(1))


def _article(block: Block, stack: list[_Level]) -> tuple[str, str] | None:
    """(label, lead) when the block opens an article, e.g. ('Artículo 12', 'Artículo 12. Requisitos.')."""
    if block.kind not in ("paragraph", "heading"):
        return None
    match = ARTICLE_START.match(block.text)
    if match and (match.group("punct") or block.kind == "heading"):
        return article_label(match), _lead(block, match.end())
    transitory = TRANSITORY_START.match(block.text)
    if transitory and any(level.kind == "transitorios" for level in stack):
        return f"Transitorio {block.text.split()[0].strip('.:-–—').capitalize()}", _lead(
            block, transitory.end()
        )
    return None


def _lead(block: Block, end: int) -> str:
    if block.kind == "heading":
        return _trim(block.text, 100)
    head, rest = block.text[:end].strip(), block.text[end:].lstrip()
    name = re.match(r"[^.:;!?]{2,70}?\.(?=\s|$)", rest)  # the article's own title: "Requisitos generales."
    if name and len(name.group(0).split()) <= 8:
        return f"{head} {name.group(0)}"
    return head if head.endswith((".", ":", "-", "–", "—")) else f"{head}."


def _trim(text: str, limit: int = PATH_ELEMENT_CHARS) -> str:
    text = squash(text).rstrip(" .:;")
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,.;:") + "…"


def _is_name(block: Block, stack: list[_Level]) -> bool:
    """A short line naming the division announced just before: 'TÍTULO PRIMERO' + 'Disposiciones generales'."""
    text = block.text
    return (
        block.kind in ("paragraph", "heading")
        and len(text) <= 100
        and not re.search(r"[.:;]\s+\S", text)
        and not (LIST_MARKER.match(text) or _structure_kind(block) or _article(block, stack))
    )


def _structural_level(kind: str, stack: list[_Level]) -> int:
    """Level for a Título/Capítulo found in plain text, relative to what is already open."""
    rank = _RANKS[kind]
    for level in reversed(stack):
        if level.kind and _RANKS[level.kind] == rank:
            return level.level
    for level in reversed(stack):
        if level.kind and _RANKS[level.kind] < rank:
            return level.level + 1
    deeper = [level.level for level in stack if level.kind and _RANKS[level.kind] > rank]
    return min(deeper) if deeper else (stack[-1].level + 1 if stack else 1)


def _root_title(blocks: list[Block]) -> Block | None:
    """The first heading if it is the document's title: above every other heading."""
    headings = [b for b in blocks if b.kind == "heading"]
    if not headings or _structure_kind(headings[0]) or ARTICLE_START.match(headings[0].text):
        return None
    return headings[0] if all(h.level > headings[0].level for h in headings[1:]) else None


def _path(stack: list[_Level], article: str) -> str:
    parts = [level.label for level in stack if not (level.root and (len(stack) > 1 or article))]
    return " > ".join([*parts, article] if article else parts)


def _segments(blocks: list[Block]) -> list[_Segment]:
    root = _root_title(blocks)
    stack: list[_Level] = []
    segments: list[_Segment] = []
    current: _Segment | None = None
    i = 0
    while i < len(blocks):
        block = blocks[i]
        i += 1
        if article := _article(block, stack):
            if block.kind == "heading":
                while stack and stack[-1].level >= block.level:
                    stack.pop()
            current = _Segment(_path(stack, article[0]), article[1], [block])
            segments.append(current)
            continue
        kind = _structure_kind(block)
        if block.kind == "heading" or kind:
            text = block.text
            if kind and BARE_HEADING_LABEL.match(text) and i < len(blocks) and _is_name(blocks[i], stack):
                text = f"{text.rstrip(' .:-–—')}. {blocks[i].text}"
                i += 1
            if block.kind == "heading" and block.level:
                level = block.level
            elif kind:
                level = _structural_level(kind, stack)
            else:  # a heading Block without a level: the deepest one (it used to raise KeyError)
                level = 6
            while stack and stack[-1].level >= level:
                stack.pop()
            stack.append(_Level(level, kind, _trim(text), root=block is root))
            current = None
            continue
        if current is None:
            current = _Segment(_path(stack, ""), "")
            segments.append(current)
        current.blocks.append(block)
    return segments


# --- Packing: blocks → units → chunks ------------------------------------------------------------------


def _render(block: Block) -> str:
    text = squash(block.text)
    return f"- {text}" if block.kind == "list_item" and not LIST_MARKER.match(text) else text


def _split_long(text: str, page: int | None, budget: int, context: list[str]) -> list[_Unit]:
    """One unit, or one per sentence (long ones cut between words) that the packer joins back on one line."""
    if len(text) < budget:
        return [_Unit([text], page, context)]
    pieces: list[str] = []
    carry = ""  # fragments like "Artículo 3." travel with the sentence that follows
    for sentence in split_sentences(text) or [text]:
        if carry and len(carry) + len(sentence) < budget:
            sentence = f"{carry} {sentence}"
        elif carry:
            pieces.append(carry)
        carry = ""
        while len(sentence) >= budget:
            cut = sentence[:budget].rfind(" ")
            cut = cut if cut > budget // 2 else budget - 1
            pieces.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if len(sentence) < 40:
            carry = sentence
        elif sentence:
            pieces.append(sentence)
    if carry and pieces and len(pieces[-1]) + len(carry) < budget:
        pieces[-1] = f"{pieces[-1]} {carry}"
    elif carry:
        pieces.append(carry)
    return [_Unit([piece], page, context, joins=n > 0) for n, piece in enumerate(pieces)]


def _units(segment: _Segment, max_chars: int) -> list[_Unit]:
    room = max_chars - (len(segment.lead) + 1 if segment.lead else 0)
    units: list[_Unit] = []
    blocks = segment.blocks
    i = 0
    while i < len(blocks):
        first = blocks[i]
        if first.kind not in ("list_item", "table_row"):
            units.extend(_split_long(_render(first), first.page, room, []))
            i += 1
            continue
        j = i
        while j < len(blocks) and blocks[j].kind == first.kind:
            j += 1
        group, lines = blocks[i:j], [_render(b) for b in blocks[i:j]]
        previous = blocks[i - 1] if i else None
        intro: _Unit | None = None
        if (
            units
            and previous is not None
            and previous.kind == "paragraph"
            and units[-1].lines == [_render(previous)]
        ):
            text = previous.text
            if text.endswith(":") or (first.kind == "table_row" and _TABLE_CAPTION.match(text)):
                intro = units.pop()
        whole = _Unit((intro.lines if intro else []) + lines, intro.page if intro else first.page)
        if whole.size <= room:  # room: a continuation chunk repeats the lead on top
            units.append(whole)
        else:
            if intro:
                intro.keep_with_next = True
                units.append(intro)
            # A header row or introduction repeated on every piece must be short, or the pieces can't
            # fit: a long one is split like any other row (a 1,500-character header row was a 1,500+ chunk).
            repeat = min(300, max_chars // 3)
            if first.kind == "table_row" and len(lines[0]) < repeat:
                context, rows = [lines[0]], list(zip(group[1:], lines[1:], strict=True))
                units.append(_Unit([lines[0]], first.page, keep_with_next=True))
            else:
                context = intro.lines if intro and intro.size <= repeat else []
                rows = list(zip(group, lines, strict=True))
            budget = max(room - sum(len(c) + 1 for c in context), max_chars // 3)
            for block, line in rows:
                units.extend(_split_long(line, block.page, budget, context))
        i = j
    return units


def _prefix(segment: _Segment, unit: _Unit) -> list[str]:
    lines = list(unit.context)
    if segment.lead and not any(line.startswith(segment.lead) for line in unit.lines[:1] + lines[:1]):
        lines.insert(0, segment.lead)
    return lines


def _fill(segment: _Segment, units: list[_Unit], limit: int, target: int) -> list[_Draft]:
    drafts: list[_Draft] = []
    current: list[_Unit] = []

    def size_of(group: list[_Unit]) -> int:
        prefix = _prefix(segment, group[0]) if drafts and group else []
        return sum(len(line) + 1 for line in prefix) + sum(u.size for u in group)

    def close(group: list[_Unit]) -> None:
        prefix = _prefix(segment, group[0]) if drafts else []
        lines = list(prefix)
        for n, unit in enumerate(group):
            if unit.joins and n:
                lines[-1] = f"{lines[-1]} {unit.lines[0]}"
                lines.extend(unit.lines[1:])
            else:
                lines.extend(unit.lines)
        drafts.append(_Draft(segment.section, group[0].page, lines, len(prefix), group[0].joins))

    for unit in units:
        if current and (size_of(current) + unit.size > limit or size_of(current) >= target):
            carry: list[_Unit] = []
            while len(current) > 1 and current[-1].keep_with_next:
                carry.insert(0, current.pop())
            close(current)
            current = carry
            if current and size_of(current) + unit.size > limit:  # kept together, they still don't fit
                close(current)
                current = []
        current.append(unit)
    if current:
        close(current)
    return drafts


def _pack(segment: _Segment, units: list[_Unit], max_chars: int) -> list[_Draft]:
    """Greedy packing, then the same number of chunks with balanced sizes (no tiny tail) if possible."""
    if not units:
        return []
    greedy = _fill(segment, units, max_chars, max_chars)
    if len(greedy) == 1:
        return greedy
    balanced = _fill(segment, units, max_chars, math.ceil(sum(d.size for d in greedy) / len(greedy)))
    return balanced if len(balanced) <= len(greedy) else greedy


def _merge_small(drafts: list[_Draft], min_chars: int, max_chars: int) -> list[_Draft]:
    """Merge a chunk under min_chars with its neighbour of the same section when both fit."""
    merged: list[_Draft] = []
    for draft in drafts:
        previous = merged[-1] if merged else None
        extra = draft.lines[draft.prefix :]
        if (
            previous is not None
            and previous.section == draft.section
            and min(previous.size, draft.size) < min_chars
            and previous.size + sum(len(line) + 1 for line in extra) <= max_chars
        ):
            if draft.joins:
                previous.lines[-1] = f"{previous.lines[-1]} {extra.pop(0)}"
            previous.lines.extend(extra)
        else:
            merged.append(draft)
    return merged
