"""The engine: facts + rules -> a status per component, cited reasons, and the next question.

It never claims more than the rules say: a condition that cannot be checked from a chat makes a
component at best "posiblemente elegible", and every result carries a disclaimer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from assistant.eligibility.results import (
    POSSIBLE_PHRASE,
    STATUS_LABELS,
    ComponentResult,
    DocumentOut,
    EligibilityResult,
    Reason,
    RuleCitationOut,
    Status,
    SupportOut,
    question_for,
)
from assistant.eligibility.schema import Condition, Rule, RuleCitation, RulesFile
from assistant.eligibility.vocabulary import FACT_ORDER, FACTS, UNKNOWN, validate_facts

PASS, FAIL, MISSING, VERIFY = "pass", "fail", "missing", "verify"


def _compare(rule: Rule, value: Any) -> bool:
    checks = [
        rule.eq is None or value == rule.eq,
        rule.in_ is None or value in rule.in_,
        rule.not_in is None or value not in rule.not_in,
    ]
    if any(op is not None for op in (rule.gte, rule.gt, rule.lte, rule.lt)):
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        checks += [
            rule.gte is None or value >= rule.gte,
            rule.gt is None or value > rule.gt,
            rule.lte is None or value <= rule.lte,
            rule.lt is None or value < rule.lt,
        ]
    return all(checks)


def eval_rule(rule: Rule, facts: Mapping[str, Any]) -> tuple[str, set[str]]:
    """Four-valued: pass / fail / missing (with the facts to ask) / verify (answered "No sé")."""
    if rule.fact is not None:
        if rule.fact not in facts:
            return MISSING, {rule.fact}
        value = facts[rule.fact]
        if isinstance(value, str) and value == UNKNOWN:
            return VERIFY, set()
        return (PASS if _compare(rule, value) else FAIL), set()
    children = [eval_rule(child, facts) for child in (rule.all_of or rule.any_of or [])]
    outcomes = {outcome for outcome, _ in children}
    missing: set[str] = set().union(*(m for o, m in children if o == MISSING))
    decisive, other = (FAIL, PASS) if rule.all_of is not None else (PASS, FAIL)
    if decisive in outcomes:
        return decisive, set()
    if MISSING in outcomes:
        return MISSING, missing
    if VERIFY in outcomes:
        return VERIFY, set()
    return other, set()


def _cite(rules: RulesFile, citation: RuleCitation) -> RuleCitationOut:
    number = citation.section.removeprefix("Artículo ").strip()
    title = rules.sources.get(citation.document_id, citation.document_id)
    return RuleCitationOut(
        document_id=citation.document_id, section=citation.section, label=f"{title}, Art. {number}"
    )


def _labels(keys: set[str] | list[str]) -> str:
    return ", ".join(FACTS[k].label for k in sorted(keys, key=FACT_ORDER.__getitem__))


def applicants_condition(rules: RulesFile) -> Condition:
    """``who_may_apply`` as the first condition (a rule on ``tipo_solicitante``)."""
    return Condition(
        id="who_may_apply",
        text=rules.who_may_apply.text,
        citation=rules.who_may_apply.citation,
        illustrative=rules.who_may_apply.illustrative,
        fact="tipo_solicitante",
        **{"in": rules.who_may_apply.types},
    )


def evaluate_component(rules: RulesFile, facts: Mapping[str, Any]) -> ComponentResult:
    """One component's status, reasons and missing facts from already validated facts."""
    fails: list[Reason] = []
    passes: list[Reason] = []
    missing_reasons: list[Reason] = []
    verify: list[Reason] = []
    missing: set[str] = set()

    applicants = applicants_condition(rules)
    for cond in [applicants, *rules.conditions]:
        cite = _cite(rules, cond.citation)
        flag = cond.illustrative
        if cond.verify_at_ventanilla:
            outcome, needed = VERIFY, set[str]()
        else:
            outcome, needed = eval_rule(cond, facts)
        is_applicant = cond is applicants
        if outcome == PASS:
            text = f"Puede solicitar: {cond.text}" if is_applicant else f"Cumple: {cond.text}"
            passes.append(Reason(kind="cumple", text=text, citation=cite, illustrative=flag))
        elif outcome == FAIL:
            text = f"Sólo pueden solicitar: {cond.text}" if is_applicant else f"No cumple: {cond.text}"
            fails.append(Reason(kind="no_cumple", text=text, citation=cite, illustrative=flag))
        elif outcome == VERIFY:
            text = f"Se confirma en la ventanilla: {cond.text}"
            verify.append(Reason(kind="verificar", text=text, citation=cite, illustrative=flag))
        else:
            missing |= needed
            text = f"Falta saber ({_labels(needed)}): {cond.text}"
            missing_reasons.append(Reason(kind="falta", text=text, citation=cite, illustrative=flag))

    for excl in rules.exclusions:
        cite = _cite(rules, excl.citation)
        outcome, needed = eval_rule(excl.when, facts)
        if outcome == PASS:
            text = f"Exclusión que aplica: {excl.text}"
            fails.append(Reason(kind="excluido", text=text, citation=cite, illustrative=excl.illustrative))
        elif outcome == VERIFY:
            text = f"Se confirma en la ventanilla: {excl.text}"
            verify.append(Reason(kind="verificar", text=text, citation=cite, illustrative=excl.illustrative))
        elif outcome == MISSING:
            missing |= needed
            text = f"Falta saber ({_labels(needed)}): {excl.text}"
            missing_reasons.append(
                Reason(kind="falta", text=text, citation=cite, illustrative=excl.illustrative)
            )

    priorities = [
        Reason(
            kind="prioridad",
            text=f"Prioridad: {p.text}",
            citation=_cite(rules, p.citation),
            illustrative=p.illustrative,
        )
        for p in rules.priorities
        if eval_rule(p.when, facts)[0] == PASS
    ]

    status: Status
    if fails:
        status, summary, reasons = "no_elegible", fails[0], fails
        missing = set()
    elif missing:
        status, reasons = "falta_informacion", [*missing_reasons, *verify, *passes]
        summary = Reason(
            kind="resumen",
            text=f"Falta saber: {_labels(missing)}.",
            citation=missing_reasons[0].citation,
            illustrative=missing_reasons[0].illustrative,
        )
    elif verify:
        status, reasons = "posiblemente_elegible", [*verify, *passes, *priorities]
        first = verify[0].text.removeprefix("Se confirma en la ventanilla: ")
        summary = verify[0].model_copy(
            update={"kind": "resumen", "text": f"{POSSIBLE_PHRASE[0].upper()}{POSSIBLE_PHRASE[1:]}: {first}"}
        )
    else:
        status, reasons = "elegible", [*passes, *priorities]
        summary = Reason(
            kind="resumen",
            text="Cumple las condiciones que se pueden revisar por chat.",
            citation=passes[0].citation,
        )

    documents = []
    if status in ("elegible", "posiblemente_elegible"):
        documents = [
            DocumentOut(text=d.text, citation=_cite(rules, d.citation)) for d in rules.required_documents
        ]
    return ComponentResult(
        component=rules.component,
        name=rules.name,
        program=rules.program,
        fiscal_year=rules.fiscal_year,
        status=status,
        status_label=STATUS_LABELS[status],
        summary=summary,
        reasons=reasons,
        missing_facts=sorted(missing, key=FACT_ORDER.__getitem__),
        required_documents=documents,
        support=SupportOut(
            text=rules.support.text,
            citation=_cite(rules, rules.support.citation),
            illustrative=rules.support.illustrative,
        ),
    )


def component_state(rules: RulesFile, facts: Mapping[str, Any]) -> tuple[Status, frozenset[str]]:
    """The status ``evaluate_component`` gives, and the facts it still misses, without the reasons."""
    missing: set[str] = set()
    verify = False
    for cond in [applicants_condition(rules), *rules.conditions]:
        outcome, needed = (VERIFY, set[str]()) if cond.verify_at_ventanilla else eval_rule(cond, facts)
        if outcome == FAIL:
            return "no_elegible", frozenset()
        missing |= needed
        verify = verify or outcome == VERIFY
    for excl in rules.exclusions:
        outcome, needed = eval_rule(excl.when, facts)
        if outcome == PASS:
            return "no_elegible", frozenset()
        missing |= needed if outcome == MISSING else set()
        verify = verify or outcome == VERIFY
    if missing:
        return "falta_informacion", frozenset(missing)
    return ("posiblemente_elegible" if verify else "elegible"), frozenset()


def _leaves(rule: Rule) -> list[Rule]:
    if rule.fact is not None:
        return [rule]
    return [leaf for child in rule.all_of or rule.any_of or [] for leaf in _leaves(child)]


def possible_answers(key: str, rules: Sequence[RulesFile]) -> list[Any]:
    """One answer from each range of ``key`` that ``rules`` can tell apart: every option of a choice,
    sí/no, "No sé" where offered, and numbers on both sides of every threshold the rules use."""
    spec = FACTS[key]
    values: list[Any] = [v for v, _ in spec.answers()]
    if spec.kind == "number":
        step = 1.0 if spec.integer else 0.5
        low = spec.minimum if spec.minimum is not None else 0.0
        high = spec.maximum if spec.maximum is not None else float("inf")
        points = {low}
        for item in rules:
            rule_sets: list[Rule] = [*item.conditions, *(e.when for e in item.exclusions)]
            for leaf in (leaf for rule in rule_sets for leaf in _leaves(rule) if leaf.fact == key):
                for t in (leaf.gte, leaf.gt, leaf.lte, leaf.lt):
                    if t is not None:
                        points |= {t - step, t, t + step}
        numbers = sorted(p for p in points if low <= p <= high)
        values = [int(p) if spec.integer else p for p in numbers] + values
    return values


def choose_next_question(
    results: Sequence[ComponentResult],
    rules: Sequence[RulesFile] | None = None,
    facts: Mapping[str, Any] | None = None,
) -> str | None:
    """The next fact to ask, or None when every component is decided.

    With the rules and facts: for each fact some open component (status falta_informacion) still
    misses, every answer is tried on the open components. The fact whose answers decide the most
    open components on average wins (each distinct outcome counts once, as equally likely); then the
    one that leaves the fewest facts still to ask; then the one a component that already looks like
    this person's needs (most conditions met: a fisher's PROPESCA before the land questions of
    extension services); then one people can answer for sure (no "No sé") before one they may not
    know; then the FACTS order. Without rules and facts: the missing fact
    named by the most open components.
    """
    open_results = [r for r in results if r.status == "falta_informacion"]
    candidates = {key for r in open_results for key in r.missing_facts}
    if not candidates:
        return None
    if rules is None or facts is None:
        counts = {k: sum(k in r.missing_facts for r in open_results) for k in candidates}
        return min(counts, key=lambda k: (-counts[k], FACT_ORDER[k]))
    open_ids = {r.component for r in open_results}
    open_rules = [r for r in rules if r.component in open_ids]
    # How much each open component already looks like this person's: conditions it already meets.
    matched = {
        r.component: sum(eval_rule(c, facts)[0] == PASS for c in r.conditions if not c.verify_at_ventanilla)
        for r in open_rules
    }
    needed_by = {key: [r.component for r in open_results if key in r.missing_facts] for key in candidates}

    def score(key: str) -> tuple[float, float, int, bool, int]:
        outcomes = {
            tuple(component_state(r, {**facts, key: value}) for r in open_rules)
            for value in possible_answers(key, open_rules)
        }
        decided = sum(sum(status != "falta_informacion" for status, _ in o) for o in outcomes)
        left = sum(len(frozenset().union(*(missing for _, missing in o))) for o in outcomes)
        closeness = max(matched[c] for c in needed_by[key])
        unsure = FACTS[key].allow_unknown  # facts people may not know ("No sé") go after sure ones
        return (-decided / len(outcomes), left / len(outcomes), -closeness, unsure, FACT_ORDER[key])

    return min(candidates, key=score)


def evaluate(rules: Sequence[RulesFile], facts: Mapping[str, Any]) -> EligibilityResult:
    """Validate ``facts`` (InvalidFacts on bad input) and evaluate every component."""
    clean = validate_facts(facts)
    results = [evaluate_component(r, clean) for r in rules]
    key = choose_next_question(results, rules, clean)
    return EligibilityResult(
        results=results,
        next_question=question_for(key) if key else None,
        complete=key is None,
        facts=clean,
    )
