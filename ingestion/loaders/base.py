"""The one shape every loader produces: a list of typed :class:`Block` s, with the document's title,
metadata and any problems met on the way (they reach the ingestion report)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

SUPPORTED_SUFFIXES: frozenset[str] = frozenset({".pdf", ".docx", ".html", ".htm", ".md", ".markdown", ".txt"})
SIDECAR_SUFFIX = ".meta.yaml"

BlockKind = Literal["heading", "paragraph", "list_item", "table_row"]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u200b-\u200d\u2060\ufeff]")


@dataclass
class Block:
    text: str
    kind: BlockKind
    page: int | None = None
    level: int = 0


@dataclass
class Parsed:
    """What a format loader returns."""

    blocks: list[Block]
    title: str = ""  # the format's own title (PDF/DOCX properties, HTML <title>), if any
    pages: int | None = None
    problems: list[str] = field(default_factory=list)  # Spanish, e.g. "página 3: no se pudo leer el texto"


@dataclass
class LoadedDocument:
    path: Path
    title: str
    blocks: list[Block]
    metadata: dict[str, Any]
    pages: int | None = None
    problems: list[str] = field(default_factory=list)  # parts that could not be read (for the report)


class LoaderError(Exception):
    """A file that cannot be ingested; ``str(exc)`` is a short Spanish reason."""


def is_sidecar(path: Path) -> bool:
    return Path(path).name.lower().endswith(SIDECAR_SUFFIX)


def clean_text(text: str) -> str:
    """NFC, Unix newlines, no control or zero-width characters, no soft hyphens."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.replace("\u00ad\n", "-\n").replace("\t", " ").replace("\xa0", " ")
    return _CONTROL.sub("", text)


def squash(text: str) -> str:
    return " ".join(text.split())


def join_line(text: str, line: str) -> str:
    """Append a wrapped line: 'pro-' + 'ductores' -> 'productores', '2013-' + '2018' -> '2013-2018'."""
    if not text:
        return line
    if re.search(r"[^\W\d_]-$", text) and line[:1].islower():
        return text[:-1] + line
    if re.search(r"\w[-/]$", text):
        return text + line
    return f"{text} {line}"
