"""A question that names a program is answered from that program's rules.

Other programs' articles leave the candidates; the applicant's guide (a document for every program)
leaves too when the named program's own rules have a candidate article of the kind asked.
"""

from __future__ import annotations

from pathlib import Path

from assistant.lexicon import load_lexicon
from assistant.query import analyze_question
from assistant.ranking import VersionFeatures
from assistant.retrieval import Hit

LEXICON = load_lexicon(Path(__file__).resolve().parent.parent / "corpus" / "lexicon.yaml")
CHUNKS = [
    {  # 0: the guide, for every program
        "text": "Artículo 5. Ventanillas. Las fechas de apertura y cierre se fijan en un aviso público.",
        "section": "Capítulo II. Ventanillas y folio > Artículo 5",
        "component": "guia-solicitante",
        "program": "general",
    },
    {  # 1: PROIN's own window dates
        "text": "Artículo 12. Ventanillas. Las solicitudes se recibirán del 20 de enero al 28 de febrero.",
        "section": "Capítulo IV. Ventanillas, folio y selección > Artículo 12",
        "component": "proin",
        "program": "cdi",
    },
    {  # 2: another program's window dates
        "text": "Artículo 14. Ventanillas. La ventanilla abre del 3 al 31 de marzo.",
        "section": "Capítulo V. Ventanillas > Artículo 14",
        "component": "propesca",
        "program": "conapesca",
    },
    {  # 3: PROIN, another kind
        "text": "Artículo 10. Montos de apoyo. Hasta 1,000,000 de pesos por proyecto.",
        "section": "Capítulo III. Apoyos > Artículo 10",
        "component": "proin",
        "program": "cdi",
    },
]


def _kept(question: str, rows: list[int]) -> list[int]:
    vf = VersionFeatures(CHUNKS, [], LEXICON)
    query = analyze_question(question, LEXICON)
    hits = [Hit(row=r, score=1.0, dense=1.0, lexical=1.0) for r in rows]
    return [h.row for h in vf.candidates(hits, query)]


def test_the_named_programs_own_article_of_that_kind_outranks_the_guide() -> None:
    assert _kept("cuando abren ventanillas del proin", [0, 2, 1, 3]) == [1, 3]


def test_the_guide_stays_when_the_named_program_has_no_article_of_that_kind() -> None:
    assert _kept("cuando abren ventanillas del proin", [0, 2, 3]) == [0, 3]


def test_a_question_that_names_the_guide_is_answered_from_the_guide() -> None:
    """'según la guía…', 'en general…': the guide for every program, not one program's rules."""
    assert _kept("segun la guia, cuando abren las ventanillas", [2, 1, 0]) == [0]
    assert _kept("en general cuando abren ventanillas", [2, 0, 1]) == [0]


def test_the_guide_is_a_general_document_only_when_another_program_is_named() -> None:
    """program_general marks the guide when the question names another program (the learned weight
    is against it), not when the question names the guide itself."""
    import numpy as np

    from assistant.ranking import PASSAGE_FEATURES, passage_features

    vf = VersionFeatures(CHUNKS, [], LEXICON)
    column = PASSAGE_FEATURES.index("program_general")
    for question, expected in (("segun la guia q papeles", 0.0), ("q papeles pa proin", 1.0)):
        query = analyze_question(question, LEXICON)
        query.vector = np.zeros(4)
        hits = [Hit(row=0, score=1.0, dense=1.0, lexical=1.0)]
        assert passage_features(query, hits, vf, [[] for _ in CHUNKS])[0, column] == expected


def test_a_question_that_names_no_program_keeps_every_candidate() -> None:
    assert _kept("cuando abren las ventanillas", [0, 2, 1, 3]) == [0, 2, 1, 3]
