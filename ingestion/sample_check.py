"""Checks of the sample documents: no invented figure presented as a fact, no figure contradicting itself.

A sample document (metadata ``sample: true``) may state a number, a date, a month or a frequency
("mensual", "trimestral") only if

- it is a public fact listed, with its source and year, in the corpus facts file (``facts.yaml``), or
- the sentence that states it is marked illustrative (see ``assistant.eligibility.marks``).

The document's own fiscal year is always allowed. Article numbers and codes such as "E1" are not
figures. Within one document, the same rate ("8,000 pesos por pescador", "un paquete por hogar") must
not be stated with two values in two articles, unless a year, a state or a table row tells them apart.

Ingestion lists what this finds in the report's notes; ``tests/test_sample_check.py`` requires that
the shipped corpus has nothing to report.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from assistant.eligibility.marks import Unit, units
from assistant.numbers import DIGITS, FRACTION_WORDS, NUMBER_WORDS, digits_value
from assistant.text import fold

FACTS_FILE = "facts.yaml"

MONTHS: tuple[str, ...] = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
)
_FREQUENCY = re.compile(
    r"\b(?:(mensual|bimestral|trimestral|cuatrimestral|semestral|anual|quincenal|semanal)(?:es)?"
    r"|(?:cada|al|por)\s+(semana|mes|bimestre|trimestre|semestre|ano))\b"
)
_STATES = (
    "aguascalientes|baja california sur|baja california|campeche|chiapas|chihuahua|coahuila|colima"
    "|durango|guanajuato|guerrero|hidalgo|jalisco|michoacan|morelos|nayarit|nuevo leon|oaxaca|puebla"
    "|queretaro|quintana roo|san luis potosi|sinaloa|sonora|tabasco|tamaulipas|tlaxcala|veracruz"
    "|yucatan|zacatecas"
)
_STATE = re.compile(rf"\b(?:{_STATES})\b")
_STRUCTURAL = re.compile(r"(?:\bart[ií]culos?|\bart\.|\btabla|\bfracci[oó]n(?:es)?|\bnum\.|\bno\.)\s*$")
_LIST_OF_NUMBERS = re.compile(r"^[\d\s,y]*$")
_WORD = re.compile(r"[a-zñ]+")
_RATE = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+(?:[.,]\d+)?|[a-z]+)\s+(?:de\s+)?([a-z]+)\s+por\s+(?:cada\s+)?([a-z]+)"
)
_SQUASH = re.compile(r"[\s*_]+")
_SKIPPED_UNITS = {"ciento", "cada", "lo", "el", "la", "los", "las", "que", "se"}


@dataclass(frozen=True)
class PublicFact:
    """A public fact a sample document may state; ``phrases`` are its figures as they are written
    ('8000', '31 de marzo de 2014'), in canonical form (see ``canonical``)."""

    id: str
    statement: str
    year: int
    source: str
    url: str
    phrases: tuple[str, ...]
    documents: frozenset[str]  # empty: any document
    context: tuple[str, ...] = ()  # words the sentence must also say (the year, the state)

    def covers(self, canonical_text: str) -> bool:
        """Whether this fact may justify figures of a unit: its context words are all there."""
        return all(re.search(r"(?<!\w)" + re.escape(c) + r"(?!\w)", canonical_text) for c in self.context)


@dataclass(frozen=True)
class Finding:
    """Something a careful reader would fault; ``reason`` is Spanish, for the ingestion report."""

    document_id: str
    section: str
    text: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.document_id}, {self.section}" if self.section else self.document_id
        return f"{where}: {self.reason}: «{_shorten(self.text)}»"


def _shorten(text: str, limit: int = 140) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number_token(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def canonical(text: str) -> str:
    """Folded text with every number written one way: '8,000' and 'ocho mil'… -> '8000',
    'tres a cinco días' -> '3 a 5 dias' (number words other than un/una/uno become digits)."""
    folded = _SQUASH.sub(" ", fold(text)).strip()
    folded = DIGITS.sub(lambda m: _number_token(digits_value(m.group(1))), folded)

    def word(match: re.Match[str]) -> str:
        value = NUMBER_WORDS.get(match.group(0))
        return match.group(0) if value is None or match.group(0) in ("un", "una", "uno") else str(value)

    return _WORD.sub(word, folded)


def figure_tokens(text: str) -> Iterator[tuple[str, int]]:
    """The figures stated in ``text`` as (token, position in the folded text): numbers written
    with digits or words ('8000', '3'), months ('mes:marzo'), frequencies ('frecuencia:mensual') and
    proportions ('proporcion:mitad'). Article and table numbers and codes such as 'E1' are skipped."""
    folded = fold(text)
    for match in DIGITS.finditer(folded):
        start = match.start(1)
        before = folded[max(0, start - 40) : start]
        if start and (folded[start - 1].isalpha() or (folded[start - 1] == "-" and before[-2:-1].isalpha())):
            continue  # a code: E1, PIDR-CV-2014
        head = re.sub(r"[\d\s,y]+$", "", before)  # "artículos 42, 43 y" -> "artículos"
        if _STRUCTURAL.search(head) and _LIST_OF_NUMBERS.match(before[len(head) :]):
            continue
        yield _number_token(digits_value(match.group(1))), start
    for match in _WORD.finditer(folded):
        word = match.group(0)
        if word in NUMBER_WORDS and word not in ("un", "una", "uno"):
            yield _number_token(NUMBER_WORDS[word]), match.start()
        elif word in MONTHS:
            yield f"mes:{word}", match.start()
        elif word in FRACTION_WORDS:
            yield f"proporcion:{word}", match.start()
    for match in _FREQUENCY.finditer(folded):
        word = match.group(1) or match.group(2)
        yield f"frecuencia:{_FREQUENCY_NAMES.get(word, word)}", match.start()


_FREQUENCY_NAMES = {"semana": "semanal", "mes": "mensual", "bimestre": "bimestral"}
_FREQUENCY_NAMES |= {"trimestre": "trimestral", "semestre": "semestral", "ano": "anual"}


def load_facts(path: Path) -> tuple[list[PublicFact], list[str]]:
    """The public facts in ``path`` and the problems found in the file (Spanish)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return [], [f"{path.name}: no se pudo leer ({type(exc).__name__})"]
    entries = data.get("facts") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return [], [f"{path.name}: falta la lista «facts»"]
    facts: list[PublicFact] = []
    problems: list[str] = []
    for i, entry in enumerate(entries):
        missing = [k for k in ("id", "statement", "year", "source", "values") if not _filled(entry, k)]
        if missing:
            problems.append(f"{path.name}: facts.{i}: falta {', '.join(missing)}")
            continue
        phrases = tuple(canonical(str(value)) for value in entry["values"])
        facts.append(
            PublicFact(
                id=str(entry["id"]),
                statement=str(entry["statement"]),
                year=int(entry["year"]),
                source=str(entry["source"]),
                url=str(entry.get("url") or ""),
                phrases=phrases,
                documents=frozenset(str(d) for d in entry.get("documents") or []),
                context=tuple(canonical(str(c)) for c in entry.get("context") or []),
            )
        )
    return facts, problems


def _filled(entry: Any, key: str) -> bool:
    return isinstance(entry, Mapping) and entry.get(key) not in (None, "", [])


def facts_for(document_id: str, facts: Iterable[PublicFact]) -> list[PublicFact]:
    return [f for f in facts if not f.documents or document_id in f.documents]


def frame_years(info: Mapping[str, Any]) -> set[int]:
    """The years a document is about: its fiscal year and any year in its title ('2014–2015')."""
    years = {int(y) for y in re.findall(r"\b(?:19|20)\d\d\b", str(info.get("title") or ""))}
    return years | ({int(info["fiscal_year"])} if info.get("fiscal_year") else set())


def unlisted_figures(text: str, phrases: Iterable[str], years: Iterable[int] = ()) -> list[str]:
    """The figures of ``text`` that no phrase of a public fact covers (``years`` always are)."""
    canon = canonical(text)
    covered: list[tuple[int, int]] = []
    for phrase in phrases:
        pattern = r"(?<!\w)" + re.escape(phrase) + r"(?!\w)"
        covered += [(m.start(), m.end()) for m in re.finditer(pattern, canon)]
    frame = {str(y) for y in years}
    return sorted(
        {
            token
            for token, at in figure_tokens(canon)
            if token not in frame and not any(start <= at < end for start, end in covered)
        }
    )


def check_figures(
    document_id: str, text: str, years: Iterable[int], facts: Iterable[PublicFact]
) -> list[Finding]:
    """Every figure of an unmarked unit must be written as a public fact of ``facts`` writes it
    (numbers compared by value), or be one of the years the document is about (``frame_years``)."""
    years = set(years)
    usable = facts_for(document_id, facts)
    findings: list[Finding] = []
    for unit in units(text):
        if unit.marked:
            continue
        canon = canonical(unit.text)
        phrases = [p for f in usable if f.covers(canon) for p in f.phrases]
        unlisted = unlisted_figures(unit.text, phrases, years)
        if unlisted:
            shown = ", ".join(t.split(":")[-1] for t in unlisted)
            reason = f"cifra o fecha sin marca de ilustrativa ni dato público en {FACTS_FILE} ({shown})"
            findings.append(Finding(document_id, unit.section, unit.text, reason))
    return findings


def _stem(word: str) -> str:
    """'paquetes', 'paquete' -> 'paquet'; 'pescadores', 'pescador' -> 'pescador'."""
    if len(word) <= 4:
        return word
    word = word[:-1] if word.endswith("s") else word
    return word[:-1] if word.endswith("e") else word


def _rates(unit: Unit) -> Iterator[tuple[tuple[str, str, frozenset[str]], str, str]]:
    """(key, value, words) for each "N X por Y" of a unit: (('peso', 'pescador', qualifiers), '8000',
    'pesos por pescador')."""
    folded = fold(unit.text)
    qualifiers = set(re.findall(r"\b(?:19|20)\d\d\b", folded)) | set(_STATE.findall(folded))
    if unit.kind == "row":
        qualifiers.add("fila:" + folded.split("|")[0].strip())
    for match in _RATE.finditer(folded):
        number, what, per = match.groups()
        if number.isalpha():
            if number not in NUMBER_WORDS:
                continue
            value = _number_token(NUMBER_WORDS[number])
        else:
            value = _number_token(digits_value(number))
        if what in _SKIPPED_UNITS or what in NUMBER_WORDS:
            continue
        yield (_stem(what), _stem(per), frozenset(qualifiers)), value, f"{what} por {per}"


def check_repeated_quantities(document_id: str, text: str) -> list[Finding]:
    """The same rate stated with different values in two articles of one document."""
    seen: dict[tuple[str, str, frozenset[str]], tuple[str, str]] = {}
    findings: list[Finding] = []
    for unit in units(text):
        for key, value, words in _rates(unit):
            if key not in seen:
                seen[key] = (value, unit.section)
                continue
            first_value, first_section = seen[key]
            if first_value != value and first_section != unit.section:
                reason = (
                    f"la misma cantidad («{words}») vale {first_value} en el "
                    f"{first_section or 'encabezado'} y {value} aquí"
                )
                findings.append(Finding(document_id, unit.section, unit.text, reason))
    return findings


def check_sample(
    document_id: str, text: str, years: Iterable[int], facts: Iterable[PublicFact]
) -> list[Finding]:
    """Figures (``check_figures``) and repeated quantities (``check_repeated_quantities``)."""
    return [*check_figures(document_id, text, years, facts), *check_repeated_quantities(document_id, text)]


def facts_file(roots: Iterable[Path]) -> Path | None:
    """``facts.yaml`` of the first scanned folder that has one."""
    return next((root / FACTS_FILE for root in sorted(roots) if (root / FACTS_FILE).is_file()), None)


def sample_notes(roots: Iterable[Path], documents: Mapping[str, tuple[Mapping[str, Any], str]]) -> list[str]:
    """Notes for the ingestion report. ``documents`` maps document id -> (info, text); only
    documents with ``sample: true`` are checked, and only when a scanned folder has a facts file."""
    samples = {doc_id: v for doc_id, v in documents.items() if v[0].get("sample")}
    path = facts_file(roots)
    if not samples or path is None:
        return []
    facts, problems = load_facts(path)
    notes = [f"datos públicos: {p}" for p in problems]
    for doc_id, (info, text) in sorted(samples.items()):
        findings = check_sample(doc_id, text, frame_years(info), facts)
        notes += [f"revisión de muestra: {finding}" for finding in findings]
    return notes
