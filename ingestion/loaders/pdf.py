"""PDF (pypdf): page numbers kept, running headers and footers dropped, line-end hyphenation joined,
layout-mode tables as ``a | b | c`` rows, two-column pages read column by column."""

from __future__ import annotations

import io
import logging
import math
import re
from collections import Counter

from assistant.legal import BULLET, LIST_MARKER, heading_level, opens_article
from ingestion.loaders.base import Block, LoaderError, Parsed, clean_text, join_line, squash

log = logging.getLogger(__name__)

_ENDS_SENTENCE = re.compile(r"[.;:!?]$")
_PAGE_NUMBER = re.compile(
    r"^(?:p[áa]g(?:ina|\.)?\s*)?[-–—]?\s*\d{1,4}\s*[-–—]?(?:\s*(?:de|/)\s*\d{1,4})?$", re.I
)
_CELL = re.compile(r"\S+(?: {1,2}\S+)*")  # words separated by at most two spaces; wider gaps split cells


def load_pdf(data: bytes, max_pages: int) -> Parsed:
    """Pages in reading order; running headers, footers and page numbers dropped; tables as rows."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = bool(reader.decrypt(""))
            except Exception:  # AES without the crypto extra, bad encryption dictionary
                opened = False
            if not opened:
                raise LoaderError("PDF cifrado: no se puede leer")
        count = len(reader.pages)
        title = str(reader.metadata.title or "") if reader.metadata else ""
    except LoaderError:
        raise
    except Exception as exc:
        raise LoaderError("PDF dañado o ilegible") from exc
    if count > max_pages:
        raise LoaderError(f"el PDF tiene {count} páginas; el máximo es {max_pages}")
    pages: list[list[str]] = []
    problems: list[str] = []  # pages whose text is missing from the index, for the ingestion report
    empty: list[int] = []
    for number in range(count):
        text, errors = "", []
        for mode in ("layout", "plain"):  # layout keeps table cells apart; plain reads columns in order
            try:
                text = reader.pages[number].extract_text(extraction_mode=mode)
            except Exception as exc:
                log.debug("pypdf %s extraction failed on page %d", mode, number + 1, exc_info=True)
                errors.append(type(exc).__name__)
            if text.strip() and not (mode == "layout" and _two_columns(text)):
                break
        if not text.strip() and errors:
            log.warning("PDF page %d unreadable (%s)", number + 1, ", ".join(errors))
            problems.append(f"página {number + 1}: no se pudo extraer el texto ({errors[-1]})")
        elif not text.strip():
            empty.append(number + 1)
        pages.append(clean_text(text).split("\n"))
    _drop_page_furniture(pages)
    blocks = _pdf_blocks(pages)
    if not any(ch.isalnum() for b in blocks for ch in b.text):
        raise LoaderError("PDF sin texto extraíble (¿escaneado?)")
    if empty:
        numbers = ", ".join(map(str, empty))
        problems.append(
            f"{'página' if len(empty) == 1 else 'páginas'} {numbers}: sin texto extraíble (¿escaneada?)"
        )
    return Parsed(blocks, title, count, problems)


def _two_columns(text: str) -> bool:
    """A page set in two columns: layout mode would interleave them line by line."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    split = [line for line in lines if len(_CELL.findall(line)) == 2]
    return len(lines) >= 6 and len(split) > 0.4 * len(lines)


def _drop_page_furniture(pages: list[list[str]]) -> None:
    """Blank out running headers/footers: page numbers, and lines repeated at the edge of most pages."""

    def key(line: str) -> str:
        return re.sub(r"\d+", "#", squash(line).casefold())

    zones = []
    for lines in pages:
        filled = [i for i, line in enumerate(lines) if line.strip()]
        edge = max(1, min(3, len(filled) // 3))  # a short page is mostly body text
        zones.append(sorted(set(filled[:edge] + filled[-edge:])))
    counts = Counter(
        k for lines, zone in zip(pages, zones, strict=True) for k in {key(lines[i]) for i in zone}
    )
    needed = max(2, math.ceil(len(pages) * 0.5))
    for lines, zone in zip(pages, zones, strict=True):
        for i in zone:
            if _PAGE_NUMBER.match(squash(lines[i])) or (len(pages) > 1 and counts[key(lines[i])] >= needed):
                lines[i] = ""


def _pdf_blocks(pages: list[list[str]]) -> list[Block]:
    blocks: list[Block] = []
    cur: Block | None = None
    header: str | None = None  # last table's header row, to drop its repetition on the next page

    def flush() -> None:
        nonlocal cur
        if cur is not None and cur.text:
            blocks.append(cur)
        cur = None

    for page_no, raw_lines in enumerate(pages, 1):
        lines = [line.rstrip() for line in raw_lines]
        while lines and not lines[-1].strip():
            lines.pop()
        width = max((len(line.strip()) for line in lines), default=0)
        page_start, previous = True, ""
        i = 0
        while i < len(lines):
            raw, line = lines[i], squash(lines[i])
            if not line:
                if not page_start:
                    flush()
                i += 1
                continue
            if len(_CELL.findall(raw)) >= 3 and len((table := _pdf_table(lines, i))[0]) >= 2:
                flush()
                rows, i = table
                if page_start and blocks and blocks[-1].kind == "table_row" and rows[0] == header:
                    rows = rows[1:]  # the header row repeated on top of the next page
                else:
                    header = rows[0]
                blocks.extend(Block(row, "table_row", page_no) for row in rows)
                page_start, previous = False, ""
                continue
            ended = cur is None or cur.kind == "heading" or bool(_ENDS_SENTENCE.search(cur.text))
            opens = bool(LIST_MARKER.match(line) or opens_article(line) or (ended and heading_level(line)))
            short_prev = bool(previous) and len(previous) < 0.6 * width
            if (
                cur is None
                or cur.kind == "heading"
                or opens
                or (ended and line[:1].isupper() and (page_start or short_prev))
            ):
                flush()
                if level := heading_level(line):
                    cur = Block(line, "heading", page_no, level)
                elif LIST_MARKER.match(line):
                    cur = Block(BULLET.sub("", line), "list_item", page_no)
                else:
                    cur = Block(line, "paragraph", page_no)
            else:
                cur.text = join_line(cur.text, line)
            page_start, previous = False, line
            i += 1
    flush()
    return blocks


def _pdf_table(lines: list[str], i: int) -> tuple[list[str], int]:
    """Rows of a layout-mode table starting at line i; wrapped cell lines join their row."""
    columns = [m.start() for m in _CELL.finditer(lines[i])]

    def column(pos: int) -> int:
        return min(range(len(columns)), key=lambda k: abs(columns[k] - pos))

    rows: list[list[str]] = []
    while i < len(lines) and lines[i].strip():
        cells = [(m.start(), m.group()) for m in _CELL.finditer(lines[i])]
        aligned = all(abs(columns[column(pos)] - pos) <= 2 for pos, _ in cells)
        if len(cells) >= 3 and (aligned or not rows):
            rows.append([""] * len(columns))
            for pos, text in cells:
                rows[-1][column(pos)] = squash(f"{rows[-1][column(pos)]} {text}")
        elif rows and aligned and not (LIST_MARKER.match(cells[0][1]) or opens_article(cells[0][1])):
            for pos, text in cells:
                rows[-1][column(pos)] = join_line(rows[-1][column(pos)], squash(text))
        else:
            break
        i += 1
    return [" | ".join(row) for row in rows], i
