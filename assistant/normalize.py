"""One place for how text is folded and how names become identifiers or file names.

``fold`` is what matching uses everywhere (questions, documents, headings): lowercase, accents removed,
ñ read as n — producers write "anio", "pequeno", "tramite" as often as "año", "pequeño", "trámite".
"""

from __future__ import annotations

import re
import unicodedata

# The combining diacritical marks block (U+034F, the grapheme joiner, is not a combining mark).
_MARKS = re.compile("[\u0300-\u034e\u0350-\u036f]")


def strip_accents(text: str) -> str:
    """'Árbol Ñandú' -> 'Arbol Nandu' (case kept; letters without an ASCII base are kept as they are)."""
    if text.isascii():
        return text
    stripped = _MARKS.sub("", unicodedata.normalize("NFKD", text))  # Spanish text: done here
    if stripped.isascii():
        return stripped
    return "".join(c for c in stripped if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Lowercase and strip accents (keeps ñ as n): 'Hectáreas' -> 'hectareas'."""
    return strip_accents(text.lower())


def ascii_only(text: str) -> str:
    """Accents removed, then anything outside ASCII dropped (case kept): 'Guía ß.pdf' -> 'Guia .pdf'."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def slugify(text: str, *, max_chars: int = 80, default: str = "documento") -> str:
    """An identifier from a name: 'Reglas de Operación 2014/Anexo I' -> 'reglas-de-operacion-2014-anexo-i'."""
    return re.sub(r"[^a-z0-9]+", "-", ascii_only(text).lower()).strip("-")[:max_chars] or default
