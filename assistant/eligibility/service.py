"""The loaded rules plus the calls the adapters need (HTTP route, bot flow, core)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from assistant.eligibility.engine import evaluate
from assistant.eligibility.freetext import extract_facts, looks_like_eligibility_question, topic_pattern
from assistant.eligibility.loading import load_rules_dir
from assistant.eligibility.results import EligibilityResult, Question, question_for
from assistant.eligibility.schema import ComponentRules
from assistant.eligibility.vocabulary import FACTS

log = logging.getLogger(__name__)


class EligibilityService:
    """Loaded rules plus the calls the adapters need (HTTP route, bot flow)."""

    def __init__(self, rules: Path | str | Sequence[ComponentRules]) -> None:
        if isinstance(rules, str | Path):
            self.rules, self.errors = load_rules_dir(Path(rules))
            for error in self.errors:
                log.warning("eligibility rules rejected: %s", error)
        else:
            self.rules, self.errors = list(rules), []
        self._topics = topic_pattern(part for r in self.rules for part in r.component.split("-"))
        log.info("eligibility rules loaded: %d components", len(self.rules))

    def questions(self) -> list[Question]:
        """Every fact the loaded rules use, in the fixed FACTS order."""
        used: set[str] = {"tipo_solicitante"}
        for rules in self.rules:
            for condition in rules.conditions:
                used |= condition.facts()
            for exclusion in rules.exclusions:
                used |= exclusion.when.facts()
            for priority in rules.priorities:
                used |= priority.when.facts()
        return [question_for(key) for key in FACTS if key in used]

    def evaluate(self, facts: Mapping[str, Any]) -> EligibilityResult:
        return evaluate(self.rules, facts)

    def quick_check(self, text: str) -> EligibilityResult:
        """Evaluate with the facts found in a free-text question."""
        return evaluate(self.rules, extract_facts(text))

    def looks_like_question(self, text: str) -> bool:
        """``looks_like_eligibility_question`` that also knows the names of the loaded components."""
        return looks_like_eligibility_question(text, self._topics)
