"""Spanish numbers in text, in one place: digits as people write them and number words.

Digits: ``3``, ``2,5`` or ``2.5`` (decimal), ``1,200`` or ``1,500,000`` (thousands with commas).
Words: ``cero`` … ``veinte``, ``veintiuno`` … ``veintinueve``, the tens, the hundreds, ``mil``, plus
``un``/``una``/``uno``; fraction words (``mitad``) and ordinals (``primer``, ``segunda``) are listed
apart because they rarely state a quantity by themselves. Every key is folded (lowercase, no accents);
fold the text first (``assistant.text.fold``) before looking words up.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from assistant.text import fold

_UNITS = [
    "cero",
    "uno",
    "dos",
    "tres",
    "cuatro",
    "cinco",
    "seis",
    "siete",
    "ocho",
    "nueve",
    "diez",
    "once",
    "doce",
    "trece",
    "catorce",
    "quince",
    "dieciseis",
    "diecisiete",
    "dieciocho",
    "diecinueve",
    "veinte",
]
_TWENTIES = ["veintiuno", "veintidos", "veintitres", "veinticuatro", "veinticinco"]
_TWENTIES += ["veintiseis", "veintisiete", "veintiocho", "veintinueve"]
_TENS = {"treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60, "setenta": 70, "ochenta": 80}
_TENS |= {"noventa": 90}
_HUNDREDS = {"cien": 100, "ciento": 100, "doscientos": 200, "trescientos": 300, "cuatrocientos": 400}
_HUNDREDS |= {"quinientos": 500, "seiscientos": 600, "setecientos": 700, "ochocientos": 800}
_HUNDREDS |= {"novecientos": 900, "mil": 1000}

NUMBER_WORDS: dict[str, int] = {word: value for value, word in enumerate(_UNITS)}
NUMBER_WORDS |= {word: 21 + i for i, word in enumerate(_TWENTIES)}
NUMBER_WORDS |= _TENS | _HUNDREDS
NUMBER_WORDS |= {"un": 1, "una": 1}
"""Cardinal number words (folded) and their values."""

ARTICLE_WORDS = frozenset({"un", "una", "uno"})
"""Number words that are usually articles ("un apoyo"): callers that look for stated figures skip them."""

FRACTION_WORDS: dict[str, float] = {"mitad": 0.5, "tercio": 1 / 3, "doble": 2.0, "triple": 3.0}
"""Words that state a proportion ("la mitad del equipo")."""

_ORDINAL_STEMS = ["primer", "segund", "tercer", "cuart", "quint", "sext", "septim", "octav", "noven", "decim"]
ORDINAL_WORDS: dict[str, int] = {}
for _value, _stem in enumerate(_ORDINAL_STEMS, 1):
    ORDINAL_WORDS |= {_stem + "o": _value, _stem + "a": _value}
ORDINAL_WORDS |= {"primer": 1, "tercer": 3}
"""Ordinal words (folded): primer, primero, primera, segundo, … décima."""

DIGITS = re.compile(r"(?<![\d.,])(\d{1,3}(?:,\d{3})+|\d+(?:[.,]\d+)?)(?![\d])")
"""A number written with digits: '1,200', '2,5', '283.1', '35'. Group 1 is the number."""

_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+")
_WORD = re.compile(r"[a-zñ]+")


def _words_pattern(words: list[str]) -> str:
    return r"\b(?:" + "|".join(sorted(words, key=len, reverse=True)) + r")\b"


NUMBER_WORD_PATTERN = re.compile(_words_pattern(list(NUMBER_WORDS)))
"""Any cardinal number word in folded text (including the articles un/una/uno)."""


def digits_value(raw: str) -> float:
    """'1,200' -> 1200.0, '2,5' -> 2.5, '283.1' -> 283.1 (a comma is a thousands separator only in
    groups of three digits)."""
    raw = raw.replace(",", "") if _THOUSANDS.fullmatch(raw) else raw.replace(",", ".")
    return float(raw)


def parse_number(text: str) -> float | None:
    """The first number written with digits in ``text``: '3', '2,5', '1,200', '3 hectáreas' -> float;
    None if there is none."""
    match = DIGITS.search(fold(text))
    return None if match is None else digits_value(match.group(1))


def word_value(word: str) -> int | None:
    """The value of one cardinal number word ('Dieciséis' -> 16), or None."""
    return NUMBER_WORDS.get(fold(word))


def numbers_in(text: str, *, words: bool = True) -> Iterator[tuple[float, int, int]]:
    """Every number stated in ``text`` as (value, start, end) in the folded text (``fold`` keeps
    offsets for Spanish text): digits and, with ``words``, cardinal number words other than the
    articles un/una/uno. Compound words ('treinta y cinco') are read word by word."""
    folded = fold(text)
    for match in DIGITS.finditer(folded):
        yield digits_value(match.group(1)), match.start(1), match.end(1)
    if words:
        for match in _WORD.finditer(folded):
            value = NUMBER_WORDS.get(match.group(0))
            if value is not None and match.group(0) not in ARTICLE_WORDS:
                yield float(value), match.start(), match.end()


def states_number(text: str, value: float) -> bool:
    """Whether ``text`` says ``value``: as digits (with or without thousands commas) or as a word
    ('dos años' says 2; 'un año' says 1)."""
    if any(found == value for found, _, _ in numbers_in(text)):
        return True
    if value == 1:
        return re.search(r"\b(?:un|una|uno)\b", fold(text)) is not None
    return False
