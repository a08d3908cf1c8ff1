"""Markdown and plain text: headings, lists, tables and paragraphs (YAML front matter is metadata, read
by :mod:`ingestion.loaders.metadata`).

Blocks are found line by line, because producers' documents follow legal conventions CommonMark does not
know (fracciones "IV." and incisos "a)" as list items, a list item ending with its sentence); the text of
each block is read with markdown-it-py's CommonMark inline parser."""

from __future__ import annotations

import re
from collections.abc import Callable

from markdown_it import MarkdownIt
from markdown_it.token import Token

from assistant.legal import BULLET, LIST_MARKER
from ingestion.loaders.base import Block, BlockKind, squash

_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_MD_RULE = re.compile(r"^\s{0,3}([-*_])(?:\s*\1){2,}\s*$")
_MD_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
# Raw HTML whose content is never shown as text (CommonMark HTML blocks run to the closing tag or to the
# end of the document); without this, a script embedded in Markdown became chunk text.
_MD_HIDDEN_HTML = re.compile(
    r"<(script|style|noscript|template|iframe|object|textarea|svg)\b[^>]*>.*?(?:</\1\s*>|\Z)|<!--.*?(?:-->|\Z)",
    re.I | re.S,
)
_INLINE = MarkdownIt("commonmark")


def _plain(tokens: list[Token]) -> str:
    parts = []
    for token in tokens:
        if token.type in ("text", "code_inline"):
            parts.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif token.type == "html_inline":  # a tag separates words; a comment is nothing
            parts.append("" if token.content.startswith("<!--") else " ")
        elif token.type == "image":
            parts.append(_plain(token.children or []))
    return "".join(parts)


def markdown_inline(text: str) -> str:
    """Plain text of one line of Markdown (CommonMark inline rules, markdown-it-py): no emphasis, link
    targets, code marks, tags, escapes or entities."""
    tokens = _INLINE.parseInline(text)
    return squash(_plain(tokens[0].children or [])) if tokens else ""


def text_blocks(text: str, *, markdown: bool) -> list[Block]:
    """Blocks of a Markdown document (``markdown=True``) or of plain text."""
    blocks: list[Block] = []
    lines: list[str] = []
    kind: BlockKind = "paragraph"
    inline: Callable[[str], str] = markdown_inline if markdown else squash
    in_table = fenced = False

    def flush() -> None:
        nonlocal lines
        if lines and (value := inline(" ".join(lines))):
            blocks.append(Block(value, kind))
        lines = []

    if markdown:
        text = _MD_HIDDEN_HTML.sub(" ", text)
    raw_lines = text.split("\n")
    for i, raw in enumerate(raw_lines):
        line = raw.strip()
        if markdown and line.startswith(("```", "~~~")):
            flush()
            fenced = not fenced
            continue
        if not line or fenced:
            flush() if not line else lines.append(line)
            in_table = False
            continue
        if markdown and line.startswith(">"):
            line = line.lstrip("> ").strip()
        next_line = raw_lines[i + 1] if i + 1 < len(raw_lines) else ""
        if "|" in line and (in_table or line.startswith("|") or _MD_TABLE_SEP.match(next_line)):
            flush()
            in_table = True
            if not _MD_TABLE_SEP.match(line):
                cells = [
                    inline(c)
                    for c in re.split(r"(?<!\\)\|", line.strip().removeprefix("|").removesuffix("|"))
                ]
                if any(cells):  # a row of empty cells ("|", "| |") is no text
                    blocks.append(Block(" | ".join(cells), "table_row"))
            continue
        in_table = False
        if markdown and (match := _MD_HEADING.match(raw)):
            flush()
            if heading := inline(match.group(2)):
                blocks.append(Block(heading, "heading", level=len(match.group(1))))
        elif markdown and _MD_RULE.match(raw):
            flush()
        elif LIST_MARKER.match(line):
            flush()
            kind, lines = "list_item", [BULLET.sub("", line)]
        else:
            # An unindented sentence after a finished list item opens a paragraph ("Los talleres se…").
            item_done = lines and kind == "list_item" and re.search(r"[.!?]$", lines[-1])
            if item_done and not raw[:1].isspace() and line[:1].isupper():
                flush()
            if not lines:
                kind = "paragraph"
            lines.append(line)
    flush()
    return blocks
