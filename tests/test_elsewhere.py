"""Programs the rules do not cover (the lexicon's ``elsewhere``): a question that names one, and no
program of the rules, gets an honest "X no está en las reglas" instead of another article's answer."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.core import Assistant
from assistant.embeddings import HashingEmbeddings
from assistant.lexicon import LexiconError, parse_lexicon
from assistant.query import analyze_question
from assistant.sessions import MemorySessionStore
from ingestion.pipeline import build_records_version
from tests.conftest import TEST_RECORDS, make_settings

LEXICON = """
version: 1
programs:
  propesca: [pesca, pescador, pescadores]
elsewhere:
  Sembrando Vida: [sembrando vida]
  Liconsa: [liconsa]
  Cooperativas: [cooperativa]
"""


def test_the_section_is_parsed_and_validated() -> None:
    lexicon = parse_lexicon(LEXICON)
    assert lexicon.elsewhere["Sembrando Vida"] == [("sembrando", "vida")]
    tokens = analyze_question("cuanto paga Sembrando Vida al mes", lexicon).tokens
    assert lexicon.elsewhere_in(tokens) == ["Sembrando Vida"]
    assert lexicon.elsewhere_in(analyze_question("cuanto paga el programa", lexicon).tokens) == []
    with pytest.raises(LexiconError) as caught:
        parse_lexicon("elsewhere:\n  SAT: {a: 1}\n")
    assert "elsewhere.SAT: debe ser una lista de frases" in caught.value.errors


@pytest.fixture
def assistant(tmp_path: Path) -> Assistant:
    settings = make_settings(tmp_path)
    flat = [
        dict({k: v for k, v in doc.items() if k != "chunks"}, section=section, text=text, part=i)
        for doc in TEST_RECORDS
        for i, (section, text) in enumerate(doc["chunks"])
    ]
    build_records_version(settings, flat, HashingEmbeddings(), lexicon=LEXICON)
    return Assistant(settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())


def test_a_program_outside_the_rules_is_named_in_the_abstention(assistant: Assistant) -> None:
    answer = assistant.ask("cuanto paga sembrando vida a los pescadores de la cooperativa")
    assert not answer.abstained  # it names a program of the rules too: answered as usual
    answer = assistant.ask("cuanto me toca de sembrando vida x mes, q requisitos piden")
    assert answer.abstained and not answer.citations and not answer.clarify and answer.confidence == 1.0
    assert answer.text.startswith("Sembrando Vida no está en las reglas que tengo cargadas")
    assert "pregunte en la oficina de ese programa" in answer.text
    assert len(answer.text) <= assistant.settings.answer_max_chars


def test_a_phrase_the_documents_use_is_not_elsewhere(assistant: Assistant) -> None:
    """'cooperativa' is listed, but the fishing rules ask for the cooperative's certificate."""
    version = assistant.versions.current()
    assert assistant._features(version).elsewhere_covered == frozenset({("cooperativa",)})
    answer = assistant.ask("q constancia de la cooperativa piden")
    assert "no está en las reglas" not in answer.text


def test_the_shipped_lexicon_names_no_program_of_the_corpus() -> None:
    """No 'elsewhere' phrase of corpus/lexicon.yaml is also a name of a program the rules cover."""
    text = (Path(__file__).resolve().parent.parent / "corpus" / "lexicon.yaml").read_text("utf-8")
    lexicon = parse_lexicon(text)
    named = {p for phrases in lexicon.programs.values() for p in phrases}
    assert lexicon.elsewhere and not named & {p for ps in lexicon.elsewhere.values() for p in ps}


def test_no_question_of_the_domain_sets_about_the_rules_is_taken_for_elsewhere() -> None:
    """The shipped list stays off the producers' in-scope questions (both domain sets, both forms)."""
    from campo.domain_eval import FRESH_DIR, load_domain

    text = (Path(__file__).resolve().parent.parent / "corpus" / "lexicon.yaml").read_text("utf-8")
    lexicon = parse_lexicon(text)
    taken = [
        form
        for folder in (None, FRESH_DIR)
        for item in (load_domain() if folder is None else load_domain(folder))[0]
        for form in (item["q"], item["formal"])
        if form and lexicon.elsewhere_in(analyze_question(form, lexicon).tokens)
    ]
    assert not taken


def test_a_follow_up_that_names_a_program_outside_the_rules_is_not_resolved_into_one(
    assistant: Assistant,
) -> None:
    """'y sembrando vida cuanto paga' after an answer from the fishing rules: the message as written
    names a program outside the rules (resolving it would add the fishing rules' title)."""
    first = assistant.ask("cuanto es el apoyo por pescador", session_id="s1")
    assert not first.abstained
    answer = assistant.ask("y sembrando vida cuanto paga al mes", session_id="s1")
    assert answer.abstained and answer.text.startswith("Sembrando Vida no está en las reglas")
