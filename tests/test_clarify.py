"""'¿De cuál programa me pregunta?' instead of a bare 'no lo encontré' when programs compete."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from assistant.clarify import clarification_text, programs_to_ask
from assistant.core import Assistant
from assistant.query import Query
from assistant.retrieval import Hit
from assistant.sessions import MemorySessionStore
from tests.conftest import build_test_index, make_settings

DOCUMENTS = [
    {"document_id": "cadenas", "doc_type": "reglas", "component_name": "Cadenas de Valor"},
    {"document_id": "pesca", "doc_type": "lineamientos", "component_name": "PROPESCA"},
    {"document_id": "guia", "doc_type": "guia", "component_name": "Guía del solicitante"},
    {"document_id": "proin", "doc_type": "reglas", "title": "Reglas del PROIN"},
]


def _version(rows: list[str]) -> Any:
    return SimpleNamespace(manifest={"documents": DOCUMENTS}, chunks=[{"document_id": d} for d in rows])


def _hits(scores: list[float]) -> list[Hit]:
    return [Hit(row=i, score=s, dense=s, lexical=s, rank_score=s) for i, s in enumerate(scores)]


def _query(programs: list[str] | None = None) -> Query:
    return Query(text="q", search_text="q", tokens=["q"], programs=programs or [])


def test_the_programs_whose_rules_compete_are_named_best_first() -> None:
    version = _version(["guia", "pesca", "cadenas", "pesca", "proin"])
    names = programs_to_ask(version, _query(), _hits([0.9, 0.6, 0.3, 0.2, 0.01]), floor=0.05)
    assert names == ["PROPESCA", "Cadenas de Valor"]  # the guide is for every program; PROIN too unlikely


def test_no_question_when_a_program_is_named_or_only_one_competes() -> None:
    version = _version(["pesca", "cadenas"])
    assert programs_to_ask(version, _query(["propesca"]), _hits([0.6, 0.5]), floor=0.05) == []
    assert programs_to_ask(version, _query(), _hits([0.6, 0.01]), floor=0.05) == []


def test_the_text_fits_the_budget_or_is_not_given() -> None:
    text = clarification_text(["PROPESCA", "Cadenas de Valor", "PROIN"], budget=200)
    assert "¿De cuál me pregunta? PROPESCA; Cadenas de Valor" in text and len(text) <= 200
    assert clarification_text(["PROPESCA", "Cadenas de Valor"], budget=60) == ""


@pytest.fixture(scope="module")
def e5_assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    """The real default model, so the shipped passage ranker gives probabilities (it is not loaded for
    the test's hashing embeddings, and without probabilities there is no question to ask)."""
    from assistant.embeddings import E5Embeddings

    settings = make_settings(tmp_path_factory.mktemp("e5"), embeddings="e5", abstain_threshold=0.76)
    emb = E5Embeddings()
    build_test_index(settings, embeddings=emb)
    return Assistant(settings, embeddings=emb, sessions=MemorySessionStore())


def test_the_reply_names_the_programs_and_the_next_message_answers_it(
    e5_assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the core: when it would abstain, a question naming no program gets the programs whose
    requirements compete; the producer's next message ('pesca') joins the first question."""
    assistant = e5_assistant
    monkeypatch.setattr(assistant, "_decide", lambda *args: (False, None, None))
    answer = assistant.ask("que requisitos piden", session_id="chat-1")
    assert answer.abstained and not answer.citations
    assert set(answer.clarify) == {
        "Lineamientos de pesca de prueba 2014",
        "Reglas de Operación de prueba 2014",
    }
    assert "¿De cuál me pregunta?" in answer.text and "Lineamientos de pesca de prueba 2014" in answer.text
    monkeypatch.undo()
    follow = assistant.ask("pesca", session_id="chat-1")
    assert follow.query_used == "que requisitos piden"  # asked again in the chosen program's rules
    assert not follow.abstained and "Permiso de pesca vigente" in follow.text


def test_off_topic_questions_still_get_the_plain_abstention(e5_assistant: Assistant) -> None:
    answer = e5_assistant.ask("receta de mole poblano")
    assert answer.abstained and answer.clarify == []
    assert answer.text.startswith("No lo encontré")


def test_when_the_chosen_program_has_no_answer_the_abstention_names_it(
    e5_assistant: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(e5_assistant, "_decide", lambda *args: (False, None, None))
    first = e5_assistant.ask("que requisitos piden", session_id="chat-2")
    assert first.clarify
    again = e5_assistant.ask("la de pesca", session_id="chat-2")
    assert again.abstained and again.clarify == [] and again.query_used == "que requisitos piden"
    assert again.text.startswith("No lo encontré en las reglas de Lineamientos de pesca de prueba 2014")
    assert "Puedo responder sobre" not in again.text
