"""Query analysis of producers' chat Spanish against the shipped domain lexicon (corpus/lexicon.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answering import asks_for_list
from assistant.lexicon import LexiconError, load_lexicon, parse_lexicon
from assistant.query import analyze_question
from assistant.text import analyze

LEXICON = load_lexicon(Path(__file__).resolve().parent.parent / "corpus" / "lexicon.yaml")


@pytest.mark.parametrize(
    ("question", "search_words"),
    [
        ("q papeles necesito pa propesca", "que papeles necesito para propesca documentos requisitos"),
        ("Papeles pa PROIN?", "papeles para proin documentos requisitos"),
        ("cuantos socios minimo", "cuantos socios minimo integrantes"),
        ("monto del apoyo por pescador", "monto del apoyo por pescador"),  # nothing to expand
        ("quiero pedir apoyo", "quiero pedir apoyo"),  # 'q' only as a whole word
    ],
)
def test_chat_spanish_is_searched_in_the_rules_words(question: str, search_words: str) -> None:
    assert analyze_question(question, LEXICON).search_text.lower().rstrip("?") == search_words


def test_expansion_reaches_the_rules_vocabulary() -> None:
    assert "requisit" in analyze(analyze_question("q papeles ocupo", LEXICON).search_text)
    assert "requisit" not in analyze("q papeles ocupo")


@pytest.mark.parametrize(
    ("question", "kind", "programs"),
    [
        ("cuanta lana me toca en lo de traspatio", "amounts", ["traspatio"]),
        ("hasta cuando hay ventanilla pa pesca", "deadlines", ["propesca"]),
        ("q papeles piden pa cadenas de valor", "requirements", ["cadenas-valor"]),
        ("y ahora q sigue despues de la ventanilla", "procedure", []),
        ("me cobraron x meter mi solicitud, donde me quejo", "complaints", []),
    ],
)
def test_intent_and_program(question: str, kind: str, programs: list[str]) -> None:
    query = analyze_question(question, LEXICON)
    assert query.kind == kind
    assert query.programs == programs


@pytest.mark.parametrize(
    ("question", "term"),
    [
        ("q es eso del PIIEX", "piiex"),
        ("¿Qué es un GEIT?", "geit"),
        ("q significa RNPA, me lo piden en la cooperativa", "rnpa"),
        ("en el convenio dice ministracion, q es eso", "ministracion"),  # the term comes first
        ("y el finiquito q significa?", "finiquito"),
        ("¿Qué se entiende por veda?", "veda"),
        ("q cuenta como unidad economica", "unidad economica"),
    ],
)
def test_definition_questions_name_their_term(question: str, term: str) -> None:
    query = analyze_question(question, LEXICON)
    assert query.definition_term == term
    assert query.kind == "definition"


@pytest.mark.parametrize(
    "question",
    [
        "me dijeron q es eso",
        "cuanto es, q es eso",
        "q es lo mejor pa mi",
        "pa q son los PIIEX esos, q buscan resolver",  # what for, not what
        "para que es el GEIT",
        "por que es obligatorio el RNPA",
    ],
)
def test_no_term_is_made_up(question: str) -> None:
    assert analyze_question(question, LEXICON).definition_term == ""


def test_article_kinds_come_from_the_documents_own_titles() -> None:
    assert LEXICON.heading_kinds("Conceptos y montos de apoyo") == {"amounts"}
    assert LEXICON.heading_kinds("Ventanillas y fechas") == {"deadlines"}
    assert "definition" in LEXICON.heading_kinds("Glosario")
    assert LEXICON.heading_kinds("Antecedentes") == set()


def test_a_broken_lexicon_is_refused_with_every_problem_in_spanish() -> None:
    with pytest.raises(LexiconError) as caught:
        parse_lexicon("spellings: [q]\nintents:\n  dinero: {question: [lana]}\nmisc: 1\n")
    errors = " | ".join(caught.value.errors)
    assert "secciones desconocidas: misc" in errors
    assert "spellings: debe ser un mapa" in errors
    assert "intents.dinero: tipo desconocido" in errors


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


def test_accents_are_stripped_as_unicode_says_on_every_path() -> None:
    """The fast path (Spanish accents, plain ASCII) gives what Unicode's decomposition gives."""
    import unicodedata

    from assistant.normalize import strip_accents

    def reference(text: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))

    for text in ["Árbol Ñandú", "año", "plain", "", "Guía ß ø 中文 ﬁ ½", "a\u034fb", "ṩ ǘ ő x\u20d7"]:
        assert strip_accents(text) == reference(text)


@pytest.mark.parametrize(
    ("message", "focus"),
    [
        (
            "buenas tardes, le escribo xq mi casa esta en las orillas de la ciudad y el patio es chiquito, "
            "como de 4 x 4 metros, alcanza con eso o cuanto espacio piden",
            "alcanza con eso o cuanto espacio piden",
        ),
        (  # the asking clause is not always the last one
            "somos pescadores de la laguna y tenemos permiso, q papeles piden pa lo del motor, gracias de antemano",
            "q papeles piden pa lo del motor",
        ),
        (  # a short asking clause keeps the clause before it
            "me voy con lo de jornaleros a los campos de sinaloa con toda mi familia, y donde vivimos?",
            "me voy con lo de jornaleros a los campos de sinaloa con toda mi familia y donde vivimos",
        ),
    ],
)
def test_a_long_message_has_an_asking_clause(message: str, focus: str) -> None:
    from assistant.query import focus_clause

    assert focus_clause(message, LEXICON, 16) == focus


@pytest.mark.parametrize(
    "message",
    [
        "q papeles piden pa propesca, ya tengo ine",  # short
        "mi abuelo siembra maiz en la sierra desde hace cuarenta años y ahora quiere entrar al programa",
    ],
)
def test_a_short_or_one_clause_message_has_no_focus(message: str) -> None:
    from assistant.query import focus_clause

    assert focus_clause(message, LEXICON, 16) == ""


def test_a_long_message_is_embedded_with_its_asking_clause(assistant_factory) -> None:  # type: ignore[no-untyped-def]
    """The query vector of a long message is the normalised sum of the whole text's and the asking
    clause's (one more embedding); a short question's is its own."""
    import numpy as np

    assistant = assistant_factory()
    version = assistant.versions.current()
    emb = assistant.embeddings
    long = (
        "buenas tardes, somos un grupo de pescadores de la cooperativa de la laguna de la costa chica, "
        "cuanto es el apoyo por pescador"
    )
    query = assistant.analyze(version, long)
    assert query.focus == "cuanto es el apoyo por pescador"
    whole = emb.embed_query_vector(query.search_text)
    part = emb.embed_query_vector(analyze_question(query.focus, version.lexicon).search_text)
    expected = (whole + part) / np.linalg.norm(whole + part)
    assert np.allclose(query.vector, expected)
    short = assistant.analyze(version, "cuanto es el apoyo por pescador")
    assert short.focus == "" and np.allclose(short.vector, emb.embed_query_vector(short.search_text))
