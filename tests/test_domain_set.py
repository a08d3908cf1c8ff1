"""The domain evaluation set stays true to the corpus: every expected span is in its article, the
counts the evaluation promises hold, and the split is by article (no article in both parts)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest

from assistant.text import fold
from campo.domain_eval import FRESH_DIR, article_matches, load_domain

ROOT = Path(__file__).resolve().parent.parent
SOURCES = {p.stem: p for p in (ROOT / "tools" / "samples").glob("*.md")}
SOURCES.update({p.name.split(".")[0]: p for p in (ROOT / "corpus").glob("*.md")})
SOURCES.update({p.name.split(".")[0]: p for p in (ROOT / "corpus").glob("*.txt")})


def _articles(text: str) -> dict[str, str]:
    """'Artículo N' → its text (up to the next article)."""
    parts = re.split(r"(?=\*\*Art[íi]culo\s+\d+)", text)
    out = {}
    for part in parts:
        m = re.match(r"\*\*Art[íi]culo\s+(\d+\w*)", part)
        if m:
            out[m.group(1)] = part
    return out


@pytest.mark.parametrize("folder", [None, FRESH_DIR], ids=["main", "fresh"])
def test_every_span_is_in_its_article(folder: Path | None) -> None:
    inside, _ = load_domain() if folder is None else load_domain(folder)
    missing = []
    for q in inside:
        text = SOURCES[q["document"]].read_text("utf-8")
        where = text
        if q["article"]:
            number = re.search(r"\d+\w*", q["article"])
            assert number, q
            where = _articles(text).get(number.group(0), "")
        if fold(q["answer"]) not in fold(re.sub(r"\*\*", "", where)):
            missing.append((q["document"], q["article"], q["answer"]))
    assert not missing


def test_counts_and_split_by_article() -> None:
    inside, outside = load_domain()
    assert len(inside) >= 300 and len(outside) >= 40
    assert sum(bool(q["formal"]) for q in inside) >= 100
    splits = defaultdict(set)
    for q in inside:
        splits[(q["document"], q["article"])].add(q["split"])
    assert all(len(s) == 1 for s in splits.values())
    test_share = sum(q["split"] == "test" for q in inside) / len(inside)
    assert 0.25 < test_share < 0.55


def test_fresh_set_counts_and_split_by_question() -> None:
    """The fresh set covers the same articles as the main one, split by question into a dev part (to
    diagnose) and a hold part (measured once); the main set's article part is kept for each question."""
    inside, outside = load_domain(FRESH_DIR)
    assert len(inside) >= 200 and len(outside) >= 40
    assert {q["split"] for q in inside} == {"dev", "hold"} == {q["split"] for q in outside}
    assert 0.35 < sum(q["split"] == "dev" for q in inside) / len(inside) < 0.65
    assert {q["article_split"] for q in inside} == {"tune", "test"}
    main, _ = load_domain()
    assert not {fold(q["q"]) for q in inside} & {fold(q["q"]) for q in main}


def test_cli_refuses_a_split_of_the_other_set(capsys: pytest.CaptureFixture[str]) -> None:
    from campo.cli import main

    assert main(["eval", "domain", "--set", "fresh", "--split", "test"]) == 2
    assert "dev y hold" in capsys.readouterr().err


def test_article_match_is_exact() -> None:
    assert article_matches("Artículo 7", "Título I > Capítulo II > Artículo 7")
    assert not article_matches("Artículo 7", "Título I > Capítulo II > Artículo 17")
    assert not article_matches("Artículo 1", "Capítulo I > Artículo 10")


def test_run_domain_judges_only_the_selected_questions(tmp_path: Path) -> None:
    """`run_domain(select=…)` (tools/domain_cv.py: one fold of the tune articles) keeps the selected
    in-scope and out-of-scope questions only, and judges them as the whole split is judged."""
    from assistant.models import Answer, Citation
    from campo.domain_eval import run_domain

    (tmp_path / "doc.yaml").write_text(
        "document: doc\nquestions:\n"
        "  - {q: 'cuanto dan', article: 'Artículo 1', answer: '10 pesos', kind: amounts}\n"
        "  - {q: 'q papeles', article: 'Artículo 2', answer: 'CURP', kind: requirements}\n"
        "  - {q: 'hasta cuando', article: 'Artículo 3', answer: 'marzo', kind: deadlines}\n",
        "utf-8",
    )
    (tmp_path / "out_of_scope_a.yaml").write_text(
        "questions:\n  - {q: 'el clima'}\n  - {q: 'el futbol'}\n", "utf-8"
    )
    said = {
        "cuanto dan": ("Según doc, Artículo 1: se dan 10 pesos", "Artículo 1"),
        "q papeles": ("Según doc, Artículo 5: la credencial", "Artículo 5"),
        "hasta cuando": ("Según doc, Artículo 3: en marzo", "Artículo 3"),
    }
    asked: list[str] = []

    class Fake:
        def ask(self, question: str, *, max_chars: int) -> Answer:
            asked.append(question)
            if question not in said:
                return Answer(text="No lo encontré", abstained=question == "el clima", confidence=0.0)
            text, section = said[question]
            citation = Citation(document_id="doc", title="doc", section=section, text=text)
            return Answer(text=text, abstained=False, confidence=0.9, citations=[citation])

    keep = {"cuanto dan", "q papeles", "el clima"}
    result = run_domain(Fake(), split="all", folder=tmp_path, select=lambda q: q["q"] in keep)  # type: ignore[arg-type]
    assert sorted(asked) == sorted(keep)
    assert (result["in_scope"], result["out_of_scope"]) == (2, 1)
    assert result["answer_contains_span"] == 0.5 and result["wrong_confident"] == 0.5
    assert result["article_R@1"] == 0.5 and result["out_of_scope_abstained"] == 1.0
    assert result["by_kind"] == {"amounts": "1/1", "requirements": "0/1"}
