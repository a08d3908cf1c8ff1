"""The situational diagnostic set (tests/data/situational/) stays usable: every message parses, names a
section its document has (as the anticipated questions resolve sections), six per section, and none is
an anticipated question of the corpus or a question of the evaluation sets (it would find itself)."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from campo.domain_eval import FRESH_DIR, load_domain

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from situational_eval import load_messages  # noqa: E402


def _anticipated() -> dict[str, tuple[set[str], set[str]]]:
    """document → (its sections, its anticipated questions) from corpus/questions/ (validated at ingestion)."""
    out: dict[str, tuple[set[str], set[str]]] = {}
    for path in (ROOT / "corpus" / "questions").glob("*.yaml"):
        data = yaml.safe_load(path.read_text("utf-8"))
        sections, questions = out.setdefault(data["document"], (set(), set()))
        for block in data["sections"]:
            sections.add(block["section"])
            questions.update(" ".join(str(q).split()).lower() for q in block["questions"])
    return out


def test_every_message_names_a_section_of_its_document_six_times() -> None:
    messages = load_messages()
    assert len(messages) >= 1200
    known = _anticipated()
    per_section: dict[tuple[str, str], int] = {}
    for m in messages:
        assert m.document_id in known, m.document_id
        assert m.section in known[m.document_id][0], (m.document_id, m.section)
        assert 16 <= len(m.text.split()) <= 45, m.text
        per_section[(m.document_id, m.section)] = per_section.get((m.document_id, m.section), 0) + 1
    assert set(per_section.values()) == {6}
    # every section that has anticipated questions is covered
    assert {(d, s) for d, (sections, _) in known.items() for s in sections} == set(per_section)


def test_no_message_is_an_anticipated_question_or_an_evaluation_question() -> None:
    texts = {" ".join(m.text.split()).lower() for m in load_messages()}
    anticipated = set().union(*(questions for _, questions in _anticipated().values()))
    assert not texts & anticipated
    for folder in (None, FRESH_DIR):
        inside, outside = load_domain() if folder is None else load_domain(folder)
        asked = {" ".join(q["q"].split()).lower() for q in [*inside, *outside]}
        assert not texts & asked
