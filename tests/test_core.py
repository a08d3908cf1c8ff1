"""The core: cited extractive answers, filters, abstention, follow-ups, typos, limits, versions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.core import Assistant
from assistant.decision import UNSURE_PAIR, decide, runner_up
from assistant.embeddings import HashingEmbeddings
from assistant.errors import EmptyQuestion, QuestionTooLong
from assistant.models import Filters
from assistant.query import analyze_question
from assistant.questions import QuestionMatch
from assistant.ranking import ANSWER_FEATURES, PASSAGE_FEATURES, LinearModel, RankerModels
from assistant.retrieval import Hit
from assistant.sessions import MemorySessionStore
from tests.conftest import TEST_RECORDS, build_test_index, make_settings


@pytest.fixture(scope="module")
def e5_assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    """The real default model. The threshold is calibrated for this 6-chunk index (BM25 scores and the
    vocabulary of a tiny index are smaller than a real corpus's; see docs/benchmarks.md)."""
    from assistant.embeddings import E5Embeddings

    settings = make_settings(tmp_path_factory.mktemp("e5"), embeddings="e5", abstain_threshold=0.76)
    emb = E5Embeddings()
    build_test_index(settings, embeddings=emb)
    return Assistant(settings, embeddings=emb, sessions=MemorySessionStore())


def test_answer_cites_the_article_and_keeps_the_list_whole(e5_assistant: Assistant) -> None:
    answer = e5_assistant.ask("¿qué requisitos piden para cadenas de valor?")
    assert not answer.abstained
    assert answer.text.startswith("Según Reglas de Operación 2014, Artículo 8")
    for item in ("I. Identificación oficial vigente", "II. Comprobante de domicilio", "III. Documento"):
        assert item in answer.text
    top = answer.citations[0]
    assert top.document_id == "reglas-prueba-2014"
    assert "Artículo 8" in top.section
    assert top.fiscal_year == 2014
    assert answer.index_version


def test_a_list_longer_than_the_budget_starts_at_its_lead_in(e5_assistant: Assistant) -> None:
    """'¿qué papeles necesito?' under a phone budget: the lead-in and the first items, then '…' — not
    one item picked from the middle of the list."""
    answer = e5_assistant.ask("q papeles necesito pa cadenas de valor", max_chars=150)
    assert not answer.abstained and len(answer.text) <= 150
    assert "deberán presentar" in answer.text and "I. Identificación oficial vigente" in answer.text
    assert answer.text.rstrip().endswith("…")


def test_short_budget_gives_sentences_not_the_whole_chunk(assistant: Assistant) -> None:
    answer = assistant.ask("cuantas hectareas maximo puedo tener", max_chars=160)
    assert "20 hectáreas" in answer.text
    assert len(answer.text) <= 160
    assert "cinco integrantes" not in answer.text  # the other sentence of the chunk is left out


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("cuantas ectareas maximo puedo tener", "20 hectáreas"),
        ("asta cuando ay bentanilla", "31 de marzo"),
        ("cuanto le dan a cada pescadr", "8,000 pesos"),
        ("QUE REQUICITOS PIDEN", "Identificación oficial vigente"),
    ],
)
def test_missing_accents_and_typos_still_find_the_rule(
    e5_assistant: Assistant, question: str, expected: str
) -> None:
    answer = e5_assistant.ask(question)
    assert not answer.abstained
    assert expected in answer.text


@pytest.mark.parametrize(
    "question",
    ["receta de mole poblano", "quien gano el clasico america chivas", "como saco una credencial para votar"],
)
def test_default_model_abstains_off_topic(e5_assistant: Assistant, question: str) -> None:
    assert e5_assistant.ask(question).abstained


def test_filters_restrict_program_year_and_document(assistant: Assistant) -> None:
    passages = assistant.search("requisitos", filters=Filters(program="pesca"))
    assert passages and {p.program for p in passages} == {"pesca"}
    passages = assistant.search("requisitos edad", filters=Filters(fiscal_year=2016))
    assert passages and {p.fiscal_year for p in passages} == {2016}
    passages = assistant.search("requisitos", filters=Filters(document_id="reglas-prueba-2014"))
    assert {p.document_id for p in passages} == {"reglas-prueba-2014"}
    assert assistant.search("requisitos", filters=Filters(program="no-existe")) == []


def test_off_topic_question_abstains_and_says_what_it_covers(assistant: Assistant) -> None:
    answer = assistant.ask("receta de tamales oaxaqueños")
    assert answer.abstained
    assert answer.citations == []
    assert "No lo encontré en las reglas" in answer.text
    assert "Lineamientos de pesca de prueba 2014" in answer.text or "propesca" in answer.text.lower()


def test_follow_up_uses_the_previous_turn(e5_assistant: Assistant) -> None:
    assistant = e5_assistant
    first = assistant.ask("¿qué requisitos piden en cadenas de valor?", session_id="chat-1")
    assert first.citations[0].document_id == "reglas-prueba-2014"
    follow = assistant.ask("¿y si soy pescador?", session_id="chat-1")
    assert "requisitos" in follow.query_used
    assert follow.citations[0].document_id == "pesca-prueba-2014"
    assert "Permiso de pesca vigente" in follow.text
    # Another chat does not see chat-1's history.
    other = assistant.ask("¿y si soy pescador?", session_id="chat-2")
    assert other.query_used == "¿y si soy pescador?"
    assistant.forget("chat-1")
    assert assistant.last_turn("chat-1") is None


def test_follow_up_with_its_own_question_keeps_only_the_subject(e5_assistant: Assistant) -> None:
    first = e5_assistant.ask("q papeles necesito pa la pesca", session_id="chat-3")
    assert first.citations[0].document_id == "pesca-prueba-2014"
    follow = e5_assistant.ask("¿y hasta cuando hay ventanilla?", session_id="chat-3")
    assert "papeles" not in follow.query_used  # the intent of the first question is not carried
    assert "Lineamientos de Pesca 2014" in follow.query_used  # its subject is


def test_question_limits(assistant: Assistant) -> None:
    with pytest.raises(EmptyQuestion):
        assistant.ask("   ¿? ")
    with pytest.raises(QuestionTooLong) as exc:
        assistant.ask("a" * (assistant.settings.max_question_chars + 1))
    assert "demasiado larga" in exc.value.user_message


def test_near_duplicate_chunks_are_collapsed(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    copy = dict(TEST_RECORDS[1], document_id="pesca-copia-2014", title="Copia de pesca")
    build_test_index(settings, [*TEST_RECORDS, copy])
    assistant = Assistant(settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())
    passages = assistant.search("monto del apoyo por pescador", k=5)
    texts = [p.text for p in passages]
    assert len(texts) == len(set(texts))


def test_new_version_is_served_without_restart(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    build_test_index(settings)
    assistant = Assistant(settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())
    assistant.versions.check_interval = 0
    first = assistant.ask("monto por pescador").index_version
    extra = {
        "document_id": "osc-2014",
        "title": "Vinculación con OSC 2014",
        "program": "pidr",
        "component": "osc",
        "fiscal_year": 2014,
        "chunks": [
            (
                "Artículo 4",
                "Artículo 4. Las organizaciones de la sociedad civil deberán estar inscritas "
                "en el registro federal de organizaciones.",
            )
        ],
    }
    build_test_index(settings, [*TEST_RECORDS, extra])
    answer = assistant.ask("registro federal de organizaciones de la sociedad civil")
    assert answer.index_version != first
    assert answer.citations[0].document_id == "osc-2014"
    assert {d.document_id for d in assistant.documents()} >= {"osc-2014", "reglas-prueba-2014"}


def _fixed(logit: float, names: tuple[str, ...]) -> LinearModel:
    zeros = np.zeros(len(names))
    return LinearModel(names, zeros, logit, zeros, np.ones(len(names)))


def test_the_answer_model_reads_the_best_candidates_own_features(assistant: Assistant) -> None:
    """The answer model sees whether the best candidate is also retrieval's first, by name (a model
    file lists the features it was fitted on, in its own order)."""
    version = assistant.versions.current()
    query = analyze_question("cuanto dan", version.lexicon)
    query.near = QuestionMatch(known=True)
    names = ("passage_first", "passage_logit")
    # sure only when the best candidate was retrieval's first: logit = 4·first − 2
    answer = LinearModel(names, np.array([4.0, 0.0]), -2.0, np.zeros(2), np.ones(2))
    models = RankerModels(passage=_fixed(0.0, PASSAGE_FEATURES), answer=answer)
    decided = []
    for first in (1.0, 0.0):
        row = np.zeros(len(PASSAGE_FEATURES))
        row[PASSAGE_FEATURES.index("first")] = first
        best = Hit(row=0, score=1.0, dense=1.0, lexical=1.0, rank_score=0.9, features=row)
        decided.append(decide(assistant.tuning, models, query, [best], None, 0.9)[2])
    assert decided == [pytest.approx(1 / (1 + np.exp(-2.0))), pytest.approx(1 / (1 + np.exp(2.0)))]


@pytest.mark.parametrize(
    ("sure", "other_probability", "expected"),
    [
        ("high", 0.008, "first"),  # sure: the best article alone, though 0.095 − 0.008 < margin
        ("low", 0.008, "abstain"),  # unsure
        ("between", 0.3, "both"),  # between pair_answer_floor and answer_floor, the other likely: both
        ("between", 0.008, "abstain"),  # … but not with an unlikely other
    ],
)
def test_the_answer_model_decides_and_shows_two_articles_when_unsure(
    assistant: Assistant, sure: str, other_probability: float, expected: str
) -> None:
    """0.095 against 0.008 is no margin in probability (the pair rule would abstain), but the answer
    model sees both as logits: when it is sure enough the best article answers alone; a little less
    sure, the two best articles together; unsure, the core abstains."""
    version = assistant.versions.current()
    rows = [r for r, c in enumerate(version.chunks) if c["document_id"] != version.chunks[0]["document_id"]]
    first = Hit(row=0, score=1.0, dense=1.0, lexical=1.0, rank_score=0.095)
    other = Hit(row=rows[0], score=0.9, dense=0.9, lexical=0.9, rank_score=other_probability)
    t = assistant.tuning
    probability = {
        "high": (t.answer_floor + 1) / 2,
        "low": t.pair_answer_floor / 2,
        "between": (t.pair_answer_floor + t.answer_floor) / 2,
    }[sure]
    logit = float(np.log(probability / (1 - probability)))
    models = RankerModels(passage=_fixed(0.0, PASSAGE_FEATURES), answer=_fixed(logit, ANSWER_FEATURES))
    query = analyze_question("cuanto dan", version.lexicon)
    query.near = QuestionMatch(known=True)
    assert runner_up(version, [first, other]) is other
    answer, second, sure_of_first = decide(assistant.tuning, models, query, [first, other], other, 0.9)
    assert sure_of_first == pytest.approx(probability)
    assert (answer, second) == {"first": (True, None), "abstain": (False, None), "both": (True, other)}[
        expected
    ]


def test_two_articles_shown_when_unsure_say_so(assistant: Assistant) -> None:
    version = assistant.versions.current()
    rows = [r for r, c in enumerate(version.chunks) if c["document_id"] != version.chunks[0]["document_id"]]
    first = Hit(row=0, score=1.0, dense=1.0, lexical=1.0, rank_score=0.6)
    other = Hit(row=rows[0], score=0.9, dense=0.9, lexical=0.9, rank_score=0.3)
    query = assistant.analyze(version, "cuanto dan")
    for unsure in (True, False):
        answer = assistant._compose(version, "cuanto dan", query, [first, other], 450, 0.55, other, unsure)
        assert answer.text.startswith(UNSURE_PAIR) == unsure
        assert "También: Según" in answer.text and len(answer.citations) == 2
        assert len(answer.text) <= 450
