"""Query-side normalization of producers' chat Spanish, and list questions."""

from __future__ import annotations

import pytest

from assistant.answering import asks_for_list
from assistant.text import analyze, expand_query


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("q papeles necesito pa propesca", "que papeles documentos requisitos necesito para propesca"),
        ("Papeles pa PROIN?", "Papeles documentos requisitos para PROIN?"),
        ("cuantos socios minimo", "cuantos socios integrantes minimo"),
        ("¿Cuándo cierran la ventanilla?", "¿Cuándo cierran cierre fecha la ventanilla?"),
        ("monto del apoyo por pescador", "monto del apoyo por pescador"),  # nothing to expand
        ("quiero pedir apoyo", "quiero pedir apoyo"),  # 'q' only as a whole word
    ],
)
def test_expand_query(question: str, expected: str) -> None:
    assert expand_query(question) == expected


def test_expansion_reaches_the_rules_vocabulary() -> None:
    assert "requisit" in analyze(expand_query("q papeles ocupo"))
    assert "requisit" not in analyze("q papeles ocupo")


@pytest.mark.parametrize(
    ("question", "is_list"),
    [
        ("¿qué papeles necesito para cadenas de valor?", True),
        ("requisitos de propesca", True),
        ("cuales son las obligaciones del beneficiario", True),
        ("que debo presentar en la ventanilla", True),
        ("monto maximo de un piiex", False),
        ("hasta cuando hay ventanilla", False),
    ],
)
def test_asks_for_list(question: str, is_list: bool) -> None:
    assert asks_for_list(question) is is_list


def test_table_header_rows_are_headings_not_answers() -> None:
    from assistant.text import is_heading_unit

    assert is_heading_unit("Concepto de apoyo | Contenido del paquete (ilustrativo) | Monto máximo por hogar")
    assert not is_heading_unit("Paquete de aves | 10 gallinas | 3,000 pesos")
    assert not is_heading_unit("Los solicitantes deberán presentar:")
