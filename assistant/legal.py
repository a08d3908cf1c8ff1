"""The structure of Mexican rules documents, in one place for the whole code base: divisions (Título,
Capítulo, Sección, Libro, Transitorios), articles ("Artículo 12.", "ARTÍCULO 1o.-", "Artículo 5 Bis.",
"Artículo Primero."), transitory articles, and list items (bullets, "1.", fracciones "IV.", incisos
"a)").

Loaders use it to cut text into blocks, the splitter to cut articles into chunks, the answerer and the bot
to recognise list items.
"""

from __future__ import annotations

import re

from assistant.normalize import fold

ORDINAL = r"(?:primer|segund|tercer|cuart|quint|sext|s[ée]ptim|octav|noven|d[ée]cim|[úu]nic)[oa]"

# "Título II", "CAPÍTULO PRIMERO", "Sección 3. …" open a division; "Capítulo II de la Ley" does not.
HEADING_LABEL = re.compile(
    rf"^(t[íi]tulo|cap[íi]tulo|secci[óo]n|libro)\s+([IVXLC]+|\d+|{ORDINAL})\b(?!\s*(?-i:[a-záéíóúñü]))", re.I
)
# A division label alone on its line ("CAPÍTULO II."), whose name may follow on the next line.
BARE_HEADING_LABEL = re.compile(HEADING_LABEL.pattern + r"\s*[.:\-–—]*$", re.I)
TRANSITORIOS = re.compile(r"^(?:art[íi]culos\s+)?transitorios?\.?$", re.I)
# "Primero.- …" inside the Transitorios.
TRANSITORY_START = re.compile(rf"^{ORDINAL}\s*[.:\-–—]+", re.I)
# "Artículo 12.", "ARTÍCULO 1o.-", "Artículo 5 Bis.", "Artículo Primero." (punct is required for paragraphs)
ARTICLE_START = re.compile(
    rf"^(?:art[íi]culo|art\.)\s+(?P<num>\d+(?:\s?[o°º])?(?:[\s-]?(?:bis|ter|qu[áa]ter))?|{ORDINAL})"
    r"(?P<punct>\s*[.:\-–—]+)?(?=\s|$)",
    re.I,
)
# Bullets, "1.", "1)", fracciones "IV.", incisos "a)" / "b.".
LIST_MARKER = re.compile(
    r"^(?:[-*+•·▪◦‣–]\s+|\(?\d{1,3}[.)]\s+|[IVXLC]{1,7}[.)]\s+|\(?[a-zñA-Z]\)\s+|[a-z]\.\s+)"
)
# An article's opening with its title, as chunks and answer units start: "Artículo 16. Conceptos y montos
# de apoyo. …" (group 1 is the title); bold marks of Markdown sources allowed.
ARTICLE_TITLE = re.compile(r"^\**\s*Art[íi]culo\s+\d+\w*\.?\**\s*([^.:]{0,90})[.:]", re.I)
# A unit that is only an article's heading ("Artículo 16. Conceptos y montos de apoyo."): not an answer.
ARTICLE_HEADING = re.compile(r"^\**\s*Art[íi]culo\s+\d+\w*\.?\**\s+[^.:]{0,80}\.$", re.I)
# The bullets alone (a fracción or inciso marker is part of the text; a bullet is not).
BULLET = re.compile(r"^[-*+•·▪◦‣–]\s+")


def opens_article(line: str) -> bool:
    """'Artículo 12. …' opens an article; 'Artículo 35 de la Ley…' on a wrapped line does not."""
    match = ARTICLE_START.match(line)
    return bool(match and match.group("punct") and line[:1].isupper())


def heading_level(line: str) -> int:
    """1 for Título/Libro/Transitorios, 2 for Capítulo, 3 for Sección; 0 if the line is no heading."""
    if TRANSITORIOS.match(line):
        return 1
    match = HEADING_LABEL.match(line)
    if not match or len(line) > 120 or not line[:1].isupper():
        return 0
    return {"c": 2, "s": 3}.get(match.group(1)[:1].lower(), 1)


def article_label(match: re.Match[str]) -> str:
    """'Artículo 12', 'Artículo 5 Bis', 'Artículo Primero' from an :data:`ARTICLE_START` match."""
    number = re.sub(r"(\d)\s?[o°º]", r"\1", match.group("num"))
    number = re.sub(
        r"[\s-]*(bis|ter|qu[áa]ter)$", lambda m: " " + m.group(1).capitalize(), number, flags=re.I
    )
    return f"Artículo {number if number[0].isdigit() else number.capitalize()}"


def names_section(path: str, named: str) -> bool:
    """Whether ``named`` names the section at ``path``: 'Título I > Capítulo II > Artículo 8' is named
    by itself, by a tail of it ('Capítulo II > Artículo 8') or by its last part ('Artículo 8'), accents
    and case aside."""
    a, b = fold(path).strip(), fold(named).strip()
    return a == b or a.endswith(" > " + b) or a.split(" > ")[-1] == b
