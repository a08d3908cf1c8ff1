"""Eligibility checks from rules as data.

Rules live in ``corpus/eligibility/<component>.yaml`` (written by admins, see docs/eligibility.md);
every condition cites the article that states it. Pure Python: no Telegram or HTTP imports.

- ``vocabulary``: the facts the engine may ask about (data in ``vocabulary.yaml``) and answer checks;
- ``schema``: the rules-file format; ``loading``: reading files and checking citations (ingestion);
- ``engine``: statuses, reasons and the next question; ``results``: what an evaluation returns;
- ``freetext``: facts and eligibility questions in chat messages; ``service``: what adapters call.
"""

from assistant.eligibility.engine import choose_next_question, eval_rule, evaluate, evaluate_component
from assistant.eligibility.freetext import extract_facts, looks_like_eligibility_question
from assistant.eligibility.loading import (
    RuleFileError,
    article_text,
    drop_invalid,
    export_rules,
    load_rules_dir,
    load_rules_file,
    validate_citations,
)
from assistant.eligibility.results import (
    DISCLAIMER,
    POSSIBLE_PHRASE,
    STATUS_LABELS,
    AnswerOption,
    ComponentResult,
    DocumentOut,
    EligibilityResult,
    Question,
    Reason,
    ReasonKind,
    RuleCitationOut,
    Status,
    SupportOut,
    question_for,
)
from assistant.eligibility.schema import (
    Applicants,
    ComponentRules,
    Condition,
    Exclusion,
    Priority,
    RequiredDocument,
    Rule,
    RuleCitation,
    RulesFile,
    Support,
    iter_citations,
)
from assistant.eligibility.service import EligibilityService
from assistant.eligibility.vocabulary import (
    FACTS,
    UNKNOWN,
    FactKind,
    FactSpec,
    InvalidFacts,
    describe_facts,
    parse_number,
    validate_facts,
)

__all__ = [
    "DISCLAIMER",
    "FACTS",
    "POSSIBLE_PHRASE",
    "STATUS_LABELS",
    "UNKNOWN",
    "AnswerOption",
    "Applicants",
    "ComponentResult",
    "ComponentRules",
    "Condition",
    "DocumentOut",
    "EligibilityResult",
    "EligibilityService",
    "Exclusion",
    "FactKind",
    "FactSpec",
    "InvalidFacts",
    "Priority",
    "Question",
    "Reason",
    "ReasonKind",
    "RequiredDocument",
    "Rule",
    "RuleCitation",
    "RuleCitationOut",
    "RuleFileError",
    "RulesFile",
    "Status",
    "Support",
    "SupportOut",
    "article_text",
    "choose_next_question",
    "describe_facts",
    "drop_invalid",
    "eval_rule",
    "evaluate",
    "evaluate_component",
    "export_rules",
    "extract_facts",
    "iter_citations",
    "load_rules_dir",
    "load_rules_file",
    "looks_like_eligibility_question",
    "parse_number",
    "question_for",
    "validate_citations",
    "validate_facts",
]
