"""Spelling by ear: a producer's word the rules never use becomes the rule word that sounds the same."""

from __future__ import annotations

import pytest

from assistant.spelling import Speller, sound_key

RULES = [
    "Las ventanillas reciben solicitudes hasta el 31 de marzo; la ventanilla cierra a las 15 horas.",
    "Requisitos: ser integrante de la cooperativa, presentar el folio y la cartilla de la capacitación.",
    "Apoyo para localidades de hasta 15,000 habitantes con población indígena.",
]


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("ventaniyas", "ventanillas"),
        ("rekisitos", "requisitos"),
        ("abitantes", "habitantes"),
        ("indijena", "indígena"),
        ("resiben", "reciben"),
        ("folyo", "folio"),
        ("tienpo", "tiempo"),
        ("coperativa", "cooperativa"),
        ("capasitasion", "capacitación"),
    ],
)
def test_words_spelled_by_ear_sound_like_the_rule_word(typed: str, meant: str) -> None:
    assert sound_key(typed) == sound_key(meant)


def test_unknown_words_become_the_rule_word() -> None:
    speller = Speller(RULES)
    assert (
        speller.correct("asta cuando resiben en las ventaniyas?")
        == "hasta cuando reciben en las ventanillas?"
    )
    assert speller.correct("q rekisitos piden en la coperativa") == "q requisitos piden en la cooperativa"


def test_known_short_and_protected_words_are_left_alone() -> None:
    speller = Speller(RULES, protected=["folyo"])
    assert speller.correct("mi folyo") == "mi folyo"  # the lexicon knows it
    assert speller.correct("oras") == "horas"
    assert speller.correct("ora") == "ora"  # under four letters
    assert speller.correct("Cooperativa") == "Cooperativa"  # the rules use it
    assert speller.correct("lana pa la milpa") == "lana pa la milpa"  # sounds like no rule word


def test_a_real_word_that_only_sounds_like_a_rule_word_stays() -> None:
    """'sierra' sounds like 'cierra'; when people write it about as often as the rules write 'cierra',
    it is a word of its own, not a misspelling."""
    asked = ["uno en la sierra y otro en la costa", "vivo en la sierra"]
    assert Speller(RULES, asked).correct("en la sierra") == "en la sierra"
    assert Speller(RULES).correct("cuando sierra") == "cuando cierra"


@pytest.mark.parametrize(("typed", "other"), [("perro", "pero"), ("cero", "cerro"), ("caro", "carro")])
def test_the_trilled_rr_is_another_sound(typed: str, other: str) -> None:
    """Nobody spells 'perro' by ear as 'pero': the trilled rr (and a word's first r) is its own sound."""
    assert sound_key(typed) != sound_key(other)
    assert sound_key("rrancho") == sound_key("rancho")
    assert sound_key("honrra") == sound_key("honra")
