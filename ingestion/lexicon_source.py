"""The domain lexicon of a new index version: ``<corpus folder>/lexicon.yaml``, validated, else kept."""

from __future__ import annotations

import hashlib
from pathlib import Path

from assistant.lexicon import LEXICON_FILE, LexiconError, parse_lexicon
from ingestion.report import IngestReport


def lexicon_for_version(roots: set[Path], previous_root: Path | None, report: IngestReport) -> str:
    """The lexicon text for the version being built ('' = none).

    A scanned folder's ``lexicon.yaml`` wins when it is valid. An invalid one is reported with every
    problem and the active version's lexicon is kept, so a typo never drops the bridge between
    producers' words and the rules' words; with no file in the scanned folders the active one is kept.
    """
    kept = ""
    if previous_root is not None and (previous_root / LEXICON_FILE).is_file():
        kept = (previous_root / LEXICON_FILE).read_text("utf-8")
    for root in sorted(roots):
        path = root / LEXICON_FILE
        if not path.is_file():
            continue
        try:
            text = path.read_text("utf-8")
            parse_lexicon(text)
        except (LexiconError, UnicodeDecodeError) as exc:
            reasons = exc.errors if isinstance(exc, LexiconError) else ["no está en UTF-8"]
            for reason in reasons:
                report.fail(str(path), f"léxico: {reason}")
            if kept:
                report.notes.append("léxico inválido: se conserva el de la versión activa")
            return kept
        return text
    return kept


def lexicon_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest() if text else ""
