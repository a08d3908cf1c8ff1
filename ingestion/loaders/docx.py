"""DOCX (python-docx): headings from styles and outline levels become sections, tables become rows,
content controls are read; the zip is checked before parsing (no zip bombs)."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from assistant.legal import BULLET, LIST_MARKER
from ingestion.loaders.base import Block, LoaderError, Parsed, clean_text, squash

MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
MAX_ZIP_RATIO = 100  # uncompressed/compressed above this (and above 10 MB) is a zip bomb

_DOCX_HEADING = re.compile(r"^(?:heading|t[íi]tulo|encabezado)\s*([1-9])$", re.I)


def check_zip(data: bytes, mismatch: LoaderError) -> None:
    """A DOCX is a zip holding word/document.xml, and no zip bomb."""
    if not data.startswith(b"PK\x03\x04"):
        raise mismatch
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise LoaderError("DOCX dañado o ilegible") from exc
    if "word/document.xml" not in {info.filename for info in infos}:
        raise mismatch
    total = sum(info.file_size for info in infos)
    too_big = total > MAX_UNZIPPED_BYTES or (total > 10 * 2**20 and total > MAX_ZIP_RATIO * len(data))
    if too_big or len(infos) > 10_000:
        raise LoaderError("DOCX sospechoso: su contenido descomprimido es demasiado grande")


def load_docx(data: bytes) -> Parsed:
    """Paragraphs, headings (styles and outline levels), list items and table rows, in body order."""
    import docx
    from docx.oxml.ns import qn
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise LoaderError("DOCX dañado o ilegible") from exc
    blocks: list[Block] = []

    def text_of(element: Any) -> str:
        return squash(clean_text(Paragraph(element, document).text))  # type: ignore[arg-type]

    def style_of(element: Any) -> str:
        try:
            return str(Paragraph(element, document).style.name or "").lower()  # type: ignore[arg-type, union-attr]
        except Exception:  # a style id missing from styles.xml
            return ""

    def walk(parent: Any) -> None:
        for element in parent.iterchildren():
            if element.tag == qn("w:p") and (text := text_of(element)):
                style, ppr = style_of(element), element.pPr
                outline = ppr.find(qn("w:outlineLvl")) if ppr is not None else None
                level = str(outline.get(qn("w:val"))) if outline is not None else ""
                if match := _DOCX_HEADING.match(style):
                    blocks.append(Block(text, "heading", level=min(int(match.group(1)), 6)))
                elif style in ("title", "título", "titulo") or (level.isdigit() and int(level) < 6):
                    blocks.append(Block(text, "heading", level=int(level) + 1 if level.isdigit() else 1))
                elif style.startswith(("list", "lista", "párrafo de lista")) or LIST_MARKER.match(text):
                    blocks.append(Block(BULLET.sub("", text), "list_item"))
                elif ppr is not None and ppr.numPr is not None:
                    blocks.append(Block(text, "list_item"))
                else:
                    blocks.append(Block(text, "paragraph"))
            elif element.tag == qn("w:tbl"):
                for row in element.iterchildren(qn("w:tr")):
                    cells = [
                        " ".join(map(text_of, c.iterchildren(qn("w:p"))))
                        for c in row.iterchildren(qn("w:tc"))
                    ]
                    if any(cells):
                        blocks.append(Block(squash(" | ".join(cells)), "table_row"))
            elif element.tag == qn("w:sdt") and (content := element.find(qn("w:sdtContent"))) is not None:
                walk(content)

    walk(document.element.body)
    return Parsed(blocks, document.core_properties.title or "")
