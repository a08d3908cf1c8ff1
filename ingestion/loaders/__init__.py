"""Document loaders: PDF, DOCX, HTML, Markdown and plain text become one shape, a list of `Block`s.

The splitter never cares where a paragraph came from. Bad input raises `LoaderError`, whose message
is a short Spanish reason shown in the ingestion report. One module per format; the legal structure
(articles, divisions, list items) lives in :mod:`assistant.legal`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from assistant.legal import ARTICLE_START, HEADING_LABEL, LIST_MARKER, TRANSITORIOS
from ingestion.loaders.base import (
    SIDECAR_SUFFIX,
    SUPPORTED_SUFFIXES,
    Block,
    BlockKind,
    LoadedDocument,
    LoaderError,
    Parsed,
    clean_text,
    is_sidecar,
    join_line,
    squash,
)
from ingestion.loaders.docx import check_zip, load_docx
from ingestion.loaders.encoding import decode
from ingestion.loaders.html import load_html
from ingestion.loaders.markdown import markdown_inline, text_blocks
from ingestion.loaders.metadata import pick_title, read_metadata, sidecar_metadata, split_front_matter
from ingestion.loaders.pdf import load_pdf

__all__ = [
    "ARTICLE_START",
    "HEADING_LABEL",
    "LIST_MARKER",
    "SIDECAR_SUFFIX",
    "SUPPORTED_SUFFIXES",
    "TRANSITORIOS",
    "Block",
    "BlockKind",
    "LoadedDocument",
    "LoaderError",
    "clean_text",
    "is_sidecar",
    "join_line",
    "load_document",
    "markdown_inline",
    "read_metadata",
    "squash",
]

log = logging.getLogger(__name__)


def load_document(
    path: Path, *, max_pdf_pages: int = 1500, max_bytes: int = 20 * 1024 * 1024
) -> LoadedDocument:
    """Read one file into typed blocks; raise `LoaderError` with a Spanish reason on bad input."""
    path = Path(path)
    suffix = path.suffix.lower()
    if is_sidecar(path) or suffix not in SUPPORTED_SUFFIXES:
        raise LoaderError(f"formato no soportado ({suffix or 'sin extensión'})")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise LoaderError(
                f"archivo demasiado grande ({size / 2**20:.1f} MB; máximo {max_bytes / 2**20:.0f} MB)"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise LoaderError("no se pudo leer el archivo") from exc
    if not data.strip():
        raise LoaderError("archivo vacío")
    metadata: dict[str, Any] = {}
    try:
        _sniff(data, suffix)
        if suffix == ".pdf":
            parsed = load_pdf(data, max_pdf_pages)
        elif suffix == ".docx":
            parsed = load_docx(data)
        elif suffix in (".html", ".htm"):
            parsed = load_html(data)
        else:
            text = clean_text(decode(data))
            metadata, body = split_front_matter(text, path.name)
            if not body.strip() and not metadata:
                raise LoaderError("archivo vacío")
            parsed = Parsed(text_blocks(body, markdown=suffix != ".txt"))
    except LoaderError:
        raise
    except Exception as exc:  # a parser tripped on damaged input (fuzzing: NotImplementedError from zipfile)
        log.warning("unexpected %s reading %s", type(exc).__name__, path.name, exc_info=True)
        raise LoaderError("archivo dañado o ilegible") from exc
    metadata.update(sidecar_metadata(path))
    blocks = parsed.blocks
    if not blocks:
        raise LoaderError("el documento no tiene texto utilizable")
    title = pick_title(metadata, parsed.title, blocks, path)
    return LoadedDocument(path, title, blocks, metadata, parsed.pages, parsed.problems)


_BINARY_MAGIC = (b"%PDF", b"PK\x03\x04", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"\xd0\xcf\x11\xe0")


def _sniff(data: bytes, suffix: str) -> None:
    mismatch = LoaderError(f"el contenido no corresponde a la extensión {suffix}")
    if suffix == ".pdf":
        if b"%PDF-" not in data[:1024]:
            raise mismatch
    elif suffix == ".docx":
        check_zip(data, mismatch)
    elif not data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 text has NULs by design
        head = data[:8192]
        controls = sum(1 for b in head if b < 9 or 14 <= b < 32)  # a stray NUL is cleaned, many are binary
        if head.startswith(_BINARY_MAGIC) or controls > max(2, len(head) // 50):
            raise mismatch
