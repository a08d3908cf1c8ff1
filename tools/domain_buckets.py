"""Where the domain questions' misses are: one line per bucket (counts), as in docs/benchmarks.md.

    CAMPO_DATA_DIR=<an index of corpus/> .venv/bin/python tools/domain_buckets.py [--set main|fresh]
        [--split tune|dev] [--verbose]

Buckets of the in-scope questions of a split, each asked through ``Assistant.ask`` at the phone budget
(450 characters): ``ok`` (the answer contains the span), ``abstained_right_article`` / ``abstained_other
article`` (abstained, with the right article ranked first or not), ``wrong_article`` (answered from
another article), ``right_article_wrong_sentence`` (answered from the right article, without the span).
``--verbose`` prints each miss (use it on the tune split or the fresh set's dev part only: the test and
hold parts' questions are not read while choosing).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.core import Assistant  # noqa: E402
from assistant.sessions import MemorySessionStore  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from assistant.text import fold  # noqa: E402
from campo.domain_eval import SETS, article_matches, load_domain  # noqa: E402


def bucket(assistant: Assistant, item: dict[str, str]) -> str:
    version = assistant.versions.current()
    _, _, hits = assistant._find(version, item["q"], None, None)
    top = version.chunks[hits[0].row] if hits else {"document_id": "", "text": ""}
    right = top["document_id"] == item["document"] and article_matches(
        item["article"], str(top.get("section") or ""), str(top["text"])
    )
    answer = assistant.ask(item["q"], max_chars=450)
    if not answer.abstained and fold(item["answer"]) in fold(answer.text):
        return "ok"
    if answer.abstained:
        return "abstained_right_article" if right else "abstained_other_article"
    return "right_article_wrong_sentence" if right else "wrong_article"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="main", choices=sorted(SETS))
    parser.add_argument("--split", default="", choices=["", "tune", "test", "dev", "hold"])
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    folder, parts = SETS[args.set]
    args.split = args.split or parts[0]
    if args.split not in parts:
        parser.error(f"the {args.set} set's parts are {', '.join(parts)}")
    assistant = Assistant(Settings(), sessions=MemorySessionStore())
    inside, _ = load_domain(folder)
    counts: Counter[str] = Counter()
    for item in (q for q in inside if q["split"] == args.split):
        name = bucket(assistant, item)
        counts[name] += 1
        if args.verbose and name != "ok":
            print(f"{name}\t{item['q']}\t{item['document']} {item['article']}", flush=True)
    for name, n in counts.most_common():
        print(f"{name}: {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
