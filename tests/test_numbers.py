"""Spanish numbers in text (assistant/numbers.py): digits as people write them and number words."""

from __future__ import annotations

import pytest

from assistant.numbers import (
    NUMBER_WORD_PATTERN,
    NUMBER_WORDS,
    numbers_in,
    parse_number,
    states_number,
    word_value,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3.0),
        ("2,5 hectáreas", 2.5),
        ("1,200 pesos", 1200.0),
        ("1,500,000", 1_500_000.0),
        ("283.1 millones", 283.1),
    ],
)
def test_digits_are_read_as_people_write_them(text: str, value: float) -> None:
    assert parse_number(text) == value


def test_no_number_is_none() -> None:
    assert parse_number("muchas") is None


def test_number_words_are_folded_and_valued() -> None:
    assert word_value("Dieciséis") == 16 and word_value("veintitrés") == 23 and word_value("cien") == 100
    assert NUMBER_WORDS["mil"] == 1000 and word_value("gallina") is None
    assert NUMBER_WORD_PATTERN.search("tres a cinco dias") is not None


def test_numbers_in_a_sentence_skip_articles() -> None:
    found = sorted(
        v for v, _, _ in numbers_in("Un pescador recibe 8,000 pesos tras un curso de tres a cinco días")
    )
    assert found == [3.0, 5.0, 8000.0]


@pytest.mark.parametrize(
    ("text", "value", "said"),
    [
        ("de 18 años o más", 18, True),
        ("al menos dos años", 2, True),
        ("un año", 1, True),
        ("1,200 pesos", 1200, True),
        ("de 18 años o más", 50, False),
        ("dos años", 3, False),
    ],
)
def test_states_number(text: str, value: float, said: bool) -> None:
    assert states_number(text, value) is said
