"""Long situational messages (tests/data/situational/): does the question road reach the right section?

    CAMPO_DATA_DIR=<index of corpus/> .venv/bin/python tools/situational_eval.py [--output F.json]

1,278 messages of 16–36 words (median 21) in which a producer tells the case first and asks last, six
per section of every sample document, labelled with the section that answers them (no answer span). A
diagnostic for choosing between two versions of the ranking, not a quality claim: with six times the
questions of the fresh set's dev part, a difference of one point is about one standard error rather
than two or three. Its limits: one writer (a helper that read only the documents) wrote all of them; the
writer had the document in mind, so 468 messages (84 of them about the guide or the presentation) name
no program, and where two programs have the same kind of article such a message has two right answers
and counts one; a section is right or wrong, the sentence is not judged.

Prints: right section first (the ranked candidates' best), answered from the right section (the
answer's first citation), abstained, answered from another section; overall and per document.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.core import Assistant  # noqa: E402
from assistant.questions import AnticipatedQuestion, parse_questions_file, section_matches  # noqa: E402
from assistant.sessions import MemorySessionStore  # noqa: E402
from assistant.settings import Settings  # noqa: E402

FOLDER = ROOT / "tests" / "data" / "situational"


def load_messages(folder: Path = FOLDER) -> list[AnticipatedQuestion]:
    """Every message with its document and section (the anticipated questions' format and parser)."""
    out: list[AnticipatedQuestion] = []
    for path in sorted(folder.glob("*.yaml")):
        found, errors = parse_questions_file(path.read_text("utf-8"))
        if errors:
            raise ValueError(f"{path.name}: {errors[0]}")
        out += found
    return out


def run(assistant: Assistant, messages: list[AnticipatedQuestion]) -> dict[str, Any]:
    version = assistant.versions.current()
    first: Counter[str] = Counter()
    answered: Counter[str] = Counter()
    abstained: Counter[str] = Counter()
    total: Counter[str] = Counter()
    started = time.perf_counter()
    for m in messages:
        total[m.document_id] += 1
        _, _, hits = assistant._find(version, m.text, 5, None)
        if hits:
            chunk = version.chunks[hits[0].row]
            right = chunk["document_id"] == m.document_id
            first[m.document_id] += right and section_matches(str(chunk.get("section") or ""), m.section)
        answer = assistant.ask(m.text, max_chars=450)
        if answer.abstained or not answer.citations:
            abstained[m.document_id] += 1
        elif answer.citations[0].document_id == m.document_id and section_matches(
            answer.citations[0].section, m.section
        ):
            answered[m.document_id] += 1
    n = max(1, len(messages))

    def share(c: Counter[str]) -> float:
        return round(sum(c.values()) / n, 4)

    return {
        "messages": len(messages),
        "right_section_first": share(first),
        "answered_from_right_section": share(answered),
        "abstained": share(abstained),
        "answered_from_another_section": round(1 - share(answered) - share(abstained), 4),
        "by_document": {
            d: f"first {first[d]}/{total[d]}, answered right {answered[d]}, abstained {abstained[d]}"
            for d in sorted(total)
        },
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="", help="also write the JSON here")
    args = parser.parse_args()
    assistant = Assistant(Settings(), sessions=MemorySessionStore())
    result = run(assistant, load_messages())
    text = json.dumps(result, ensure_ascii=False, indent=1)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
