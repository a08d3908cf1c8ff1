"""Which sentences of a rules document are marked illustrative.

Sample documents mark invented figures and rules in the sentence that states them: "(cifra
ilustrativa)", "(lista ilustrativa)", "(criterios ilustrativos)"… A mark covers its own unit of text:

- a sentence of a paragraph;
- a list item (``I.``, ``a)``, ``-``), which also inherits the marks of the sentence that introduces
  the list (the one ending with ":") and of the item it hangs from;
- a table row, which also inherits the marks of the table's caption, its header row and the sentence
  that introduces it.

Works on the text as loaders read it (one line per paragraph, item or row; ``**`` emphasis allowed).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from assistant.text import fold

MARK = "ilustrativ"

_ARTICLE = re.compile(r"^[\W_]*Art[íi]culo\s+\d+\s*\.\**\s*")
_HEADING = re.compile(r"^(?:#+\s|(?:T[íi]tulo|Cap[íi]tulo|Secci[óo]n)\s+[IVXLC\d]+\b)")
_CAPTION = re.compile(r"^(?:TABLA:\s*|Tabla\s+\d+\.\s)")
_ITEM = re.compile(r"^\s*(?:([IVXLC]+)\.|([a-z])\)|[-*•])\s+")
_SEPARATOR = re.compile(r"^\|?[\s:|-]+\|?$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[¿¡(\"«]?[A-ZÁÉÍÓÚÑ])")
_SQUASH = re.compile(r"[\s*_|]+")


def is_marked(text: str) -> bool:
    return MARK in fold(text)


def squash(text: str) -> str:
    """Text as quotes are compared: folded, emphasis and table pipes dropped, spaces squashed."""
    return _SQUASH.sub(" ", fold(text)).strip()


@dataclass(frozen=True)
class Unit:
    """A sentence, list item or table row; ``marked`` includes the marks it inherits."""

    text: str
    kind: str  # sentence | item | row | heading
    marked: bool
    section: str  # "Artículo N" it belongs to, or "" before the first article


def sentences(text: str) -> list[str]:
    """A paragraph split into sentences (a period followed by a capitalized word)."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def units(text: str) -> Iterator[Unit]:
    """Every unit of ``text`` in order, with its marks (own and inherited)."""
    section = ""
    intro = False  # the sentence that introduces the current list or table is marked
    items: dict[int, bool] = {}  # list level -> that item's (inherited) mark, for nested items
    table: bool | None = None  # None outside a table; else the table-wide mark (caption, header, intro)
    caption = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        article = _ARTICLE.match(line)
        if article:
            section = "Artículo " + re.search(r"\d+", article.group(0)).group(0)  # type: ignore[union-attr]
            line = line[article.end() :]
            intro, items, table, caption = False, {}, None, False
        if _HEADING.match(line):
            intro, items, table, caption = False, {}, None, False
            yield Unit(line, "heading", is_marked(line), section)
            continue
        if _CAPTION.match(line):
            caption = is_marked(line)
            table = None
            yield Unit(line, "heading", caption or intro, section)
            continue
        if "|" in line and (line.startswith("|") or line.count("|") >= 2):
            if _SEPARATOR.match(line):
                continue
            own = is_marked(line)
            if table is None:  # the header row
                table = own or caption or intro
                continue
            yield Unit(" | ".join(_cells(line)), "row", own or table, section)
            continue
        table, caption = None, False
        item = _ITEM.match(line)
        if item:
            level = 2 if item.group(2) else 1
            parent = items.get(level - 1, intro) if level > 1 else intro
            marked = is_marked(line) or parent
            items = {k: v for k, v in items.items() if k < level} | {level: marked}
            yield Unit(line, "item", marked, section)
            continue
        items = {}
        parts = sentences(line)
        for part in parts:
            yield Unit(part, "sentence", is_marked(part), section)
        intro = bool(parts) and parts[-1].endswith(":") and is_marked(parts[-1])


def units_quoting(text: str, quote: str) -> list[Unit] | None:
    """The shortest run of consecutive units of ``text`` that contains ``quote`` (compared like
    citations: accents, case, spacing and emphasis ignored), or None if no run does."""
    wanted = squash(quote)
    found = list(units(text))
    best: list[Unit] | None = None
    for i in range(len(found)):
        joined = ""
        for j in range(i, len(found)):
            joined = f"{joined} {squash(found[j].text)}".strip()
            if wanted in joined:
                if best is None or j + 1 - i < len(best):
                    best = found[i : j + 1]
                break
            if len(joined) > len(wanted) + 2000:
                break
    return best
