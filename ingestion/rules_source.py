"""The eligibility rules of a new index version: ``<corpus folder>/eligibility/``, validated, else kept."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.layout import RULES_DIR
from ingestion.report import IngestReport


@dataclass
class Rules:
    """Validated eligibility rules for a new version, and a digest that changes when they do."""

    items: list[Any] = field(default_factory=list)
    digest: str = ""


def rules_source(roots: set[Path], previous: Any) -> Path | None:
    """``<folder>/eligibility/`` of a scanned folder; else the active version's rules (kept)."""
    for root in sorted(roots):
        if (root / RULES_DIR).is_dir():
            return root / RULES_DIR
    if previous.root is not None and (previous.root / RULES_DIR).is_dir():
        return previous.root / RULES_DIR
    return None


def eligibility_rules(source: Path | None, builds: dict[str, Any], report: IngestReport) -> Rules:
    """Load the rules files, validate them (schema, then every citation against the documents of
    the new version) and keep only the valid ones; each broken file is reported with its field."""
    from assistant.eligibility import drop_invalid, load_rules_dir, validate_citations

    if source is None:
        return Rules()
    items, errors = load_rules_dir(source)
    texts = {doc_id: "\n".join(c["text"] for c in build.chunks) for doc_id, build in builds.items()}
    errors = [*errors, *validate_citations(items, texts)]
    for error in errors:
        report.fail(
            str(source / error.file), f"reglas de elegibilidad: {error.field or '(archivo)'}: {error.reason}"
        )
    items = drop_invalid(items, errors)
    dumps = sorted(
        json.dumps(item.model_dump(mode="json", exclude={"file"}), sort_keys=True, ensure_ascii=False)
        for item in items
    )
    digest = hashlib.sha256("\n".join(dumps).encode()).hexdigest() if items else ""
    return Rules(items, digest)
