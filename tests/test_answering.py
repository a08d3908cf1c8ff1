"""The composer: which units of the best passage make the answer, within the budget.

The sentence scores are given (a scorer that returns fixed scores), so these tests check composition
alone: what goes in, in which order, and what is left out.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from assistant.answering import ExtractiveAnswerer
from assistant.lexicon import Lexicon
from assistant.query import Query
from assistant.retrieval import Hit

UNITS = [
    ("Artículo 12. Proceso de certificación.", False),
    ("La certificación se obtiene en las etapas siguientes:", False),
    ("a) Registro del aspirante en el sistema;", True),
    ("b) Diagnóstico de sus competencias frente al estándar de competencia;", True),
    ("c) Formación en los temas en los que el diagnóstico muestre brechas;", True),
    ("d) Evaluación por un evaluador independiente, con evidencias del trabajo en campo;", True),
    ("e) Emisión del certificado, con vigencia de tres años.", True),
    ("Al cierre del año, 583 personas habían sido formadas, acreditadas o certificadas.", False),
]


class FixedScores(ExtractiveAnswerer):
    def __init__(self, scores: dict[int, float]) -> None:
        super().__init__()
        self.scores = scores

    def score_units(self, version: Any, hits: list[Hit], query: Query, vf: Any) -> list[tuple[float, int]]:
        return sorted(((s, i) for i, s in self.scores.items()), key=lambda x: -x[0])


def _version() -> Any:
    sentences = [{"text": t, "list": is_item, "chunk": 0} for t, is_item in UNITS]
    return SimpleNamespace(sentences=sentences, sentences_of_chunk={0: list(range(len(UNITS)))})


def _extract(scores: dict[int, float], budget: int) -> str:
    query = Query(text="q", search_text="q", tokens=["q"])
    hit = Hit(row=0, score=1.0, dense=1.0, lexical=1.0)
    features: Any = SimpleNamespace()  # unused: the scores are given
    return FixedScores(scores).extract(_version(), [hit], query, features, budget).body


def test_an_item_of_a_list_that_does_not_fit_still_joins_the_best_sentence() -> None:
    """The best unit is a sentence; the runner-up is one item of a list too long for the budget: the
    item alone joins (it used to be dropped with its whole list, leaving the wrong sentence alone)."""
    body = _extract({7: 0.9, 6: 0.85, 0: 0.1, 1: 0.1, 2: 0.1, 3: 0.1, 4: 0.1, 5: 0.1}, budget=160)
    assert "vigencia de tres años" in body and "583 personas" in body
    assert "a) Registro" not in body
    assert body.index("e) Emisión") < body.index("Al cierre")  # document order
    assert len(body) <= 160


def test_a_heading_never_joins_alone() -> None:
    body = _extract({7: 0.9, 0: 0.85, 1: 0.1, 2: 0.1, 3: 0.1, 4: 0.1, 5: 0.1, 6: 0.1}, budget=160)
    assert "Proceso de certificación" not in body
    assert "583 personas" in body


def test_a_list_that_fits_comes_whole_with_its_lead_in() -> None:
    body = _extract({6: 0.9, 7: 0.1, 0: 0.1, 1: 0.1, 2: 0.1, 3: 0.1, 4: 0.1, 5: 0.1}, budget=1000)
    lines = body.splitlines()
    assert "La certificación se obtiene en las etapas siguientes:" in lines
    assert [line[:2] for line in lines if line[1:2] == ")"] == ["a)", "b)", "c)", "d)", "e)"]


def test_a_long_sentence_is_cut_around_the_words_it_shares_with_the_question() -> None:
    """The answer sits next to the question's words, often before them: the window keeps room on
    both sides instead of starting at the first shared word."""
    from assistant.answering import _trim

    sentence = (
        "Debido a que no entregó el informe final, la organización fue dada de baja del padrón de "
        "beneficiarios en 2014 y ahora solo puede participar en la convocatoria como invitada (sin "
        "voto), la categoría más baja del padrón de organizaciones del componente."
    )
    question = "por que la organizacion fue dada de baja del padron de beneficiarios en 2014"
    query = Query(text=question, search_text=question, tokens=question.split())
    cut = _trim(sentence, 150, query)
    assert len(cut) <= 150
    assert "informe final" in cut and "padrón de beneficiarios en 2014" in cut
    assert cut.endswith("…")


def test_a_definition_question_gets_its_glossary_entry_alone() -> None:
    """'¿qué es el RNPA?': the glossary entry that defines it, not it buried in document order after
    three other entries that scored near it."""
    from assistant.ranking import VersionFeatures

    entries = [
        ("Artículo 2. Glosario. Para efectos de estos lineamientos se entenderá por:", False),
        ("I. Pescador: persona que realiza la captura de especies acuáticas;", True),
        ("II. Veda: periodo en el que se prohíbe la captura de una especie;", True),
        ("III. RNPA: Registro Nacional de Pesca y Acuacultura;", True),
    ]
    sentences = [{"text": t, "list": item, "chunk": 0} for t, item in entries]
    version: Any = SimpleNamespace(sentences=sentences, sentences_of_chunk={0: [0, 1, 2, 3]})
    vf = VersionFeatures([{"text": " ".join(t for t, _ in entries)}], sentences, Lexicon())
    scores = {3: 1.0, 1: 0.7, 2: 0.7, 0: 0.6}
    hit = Hit(row=0, score=1.0, dense=1.0, lexical=1.0)
    asked = Query(text="q es el rnpa", search_text="que es el rnpa", tokens=["que", "es", "el", "rnpa"])
    asked.definition_term = "rnpa"
    body = FixedScores(scores).extract(version, [hit], asked, vf, 450).body
    assert body == "III. RNPA: Registro Nacional de Pesca y Acuacultura;"
    plain = Query(text="q", search_text="q", tokens=["q"])  # not a definition: the entries in order
    body = FixedScores(scores).extract(version, [hit], plain, vf, 450).body
    assert body.index("Pescador") < body.index("RNPA")


def test_a_long_sentence_after_a_short_best_one_joins_cut_around_the_question_words() -> None:
    """The best unit is short; the runner-up is one long sentence that does not fit whole: the part
    of it around the question's words joins (it used to be dropped, leaving the short one alone)."""
    units = [
        ("Los productores no pagan por el servicio de extensión.", False),
        (
            "Son población objetivo los productores de los estratos E1 a E3, ubicados de preferencia "
            "en localidades de alta y muy alta marginación, que cuenten con una superficie de hasta 10 "
            "hectáreas o con un hato de hasta 10 unidades animal, según el diagnóstico del territorio "
            "que haga el grupo de extensión con la participación de los productores de la región.",
            False,
        ),
    ]
    sentences = [{"text": t, "list": item, "chunk": 0} for t, item in units]
    version: Any = SimpleNamespace(sentences=sentences, sentences_of_chunk={0: [0, 1]})
    question = "tengo 6 hectareas, me toca un tecnico"
    query = Query(text=question, search_text=question, tokens=question.split())
    hit = Hit(row=0, score=1.0, dense=1.0, lexical=1.0)
    body = FixedScores({0: 0.9, 1: 0.8}).extract(version, [hit], query, SimpleNamespace(), 250).body
    assert body.startswith("Los productores no pagan")
    assert "hasta 10 hectáreas" in body and "…" in body
    assert len(body) <= 250


def test_a_cut_list_keeps_its_start_and_brings_its_best_item() -> None:
    """'¿qué documentos piden para certificarme?' under a phone budget: the lead-in and the first
    items, '…', and the item that answers best even though it falls past the cut."""
    from assistant.answering import _list_from_start

    sentences = _version().sentences
    group = [1, 2, 3, 4, 5, 6]
    scored = [(0.9, 6), (0.5, 1), (0.4, 2), (0.3, 3), (0.2, 4), (0.1, 5)]
    picked, marks = _list_from_start(sentences, group, scored, 200)
    assert picked[0] == 1 and picked[-1] == 6 and 2 in picked
    assert 5 not in picked
    assert all(marks[u].endswith("\n…") for u in marks) and picked[-2] in marks
    assert sum(len(marks.get(u, sentences[u]["text"])) + 1 for u in picked) <= 200
    # Too little room for the lead-in and the best item: the start alone, never an orphan item.
    picked, _ = _list_from_start(sentences, group, scored, 110)
    assert picked[0] == 1 and 6 not in picked
