"""The schema of a rules file, ``corpus/eligibility/<component>.yaml`` (see docs/eligibility.md).

Validation messages are Spanish: admins read them in the ingestion report.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from assistant.eligibility.vocabulary import FACTS, format_number
from assistant.numbers import states_number
from assistant.text import fold

_STRICT = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=True)


class RuleCitation(BaseModel):
    """Where a rule is stated: the document id and its article, optionally a verbatim excerpt."""

    model_config = _STRICT
    document_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="Corpus document id.")
    section: str = Field(pattern=r"^Artículo \d+$", description="'Artículo N' as written in the document.")
    quote: str | None = Field(
        None, min_length=10, description="Verbatim excerpt of that article (accents and case ignored)."
    )


class Rule(BaseModel):
    """A test on facts: a leaf (``fact`` + operators) or ``all_of`` / ``any_of`` of rules."""

    model_config = _STRICT
    fact: str | None = None
    eq: bool | str | None = None
    in_: list[str] | None = Field(None, alias="in")
    not_in: list[str] | None = None
    gte: float | None = None
    gt: float | None = None
    lte: float | None = None
    lt: float | None = None
    all_of: list[Rule] | None = Field(None, min_length=1)
    any_of: list[Rule] | None = Field(None, min_length=1)

    def _may_be_empty(self) -> bool:
        return False

    @model_validator(mode="after")
    def _check_rule(self) -> Rule:
        shapes = [self.fact is not None, self.all_of is not None, self.any_of is not None]
        if sum(shapes) == 0:
            if self._may_be_empty():
                return self
            raise ValueError("falta la regla: indique «fact» con un operador, «all_of» o «any_of»")
        if sum(shapes) > 1:
            raise ValueError("use sólo una de estas formas: «fact», «all_of» o «any_of»")
        if self.fact is None:
            if self._operators():
                raise ValueError("los operadores (eq, in, gte…) van junto a «fact», no junto a all_of/any_of")
            capped = sorted(set().union(*(child.capped_facts() for child in self.any_of or [])))
            if len(capped) > 1:
                raise ValueError(
                    f"límites máximos sobre {' y '.join(f'«{c}»' for c in capped)} unidos con any_of: quien "
                    "rebase uno pasaría por el otro. Los límites de tamaño se cumplen todos los que apliquen: "
                    "póngalos en all_of (vea docs/eligibility.md)"
                )
            return self
        spec = FACTS.get(self.fact)
        if spec is None:
            raise ValueError(f"dato desconocido «{self.fact}»; los datos válidos son: {', '.join(FACTS)}")
        ops = self._operators()
        if not ops:
            raise ValueError(
                f"la regla sobre «{self.fact}» no tiene operador (eq, in, not_in, gte, gt, lte, lt)"
            )
        numeric = {"gte", "gt", "lte", "lt"}
        if spec.kind == "number":
            if set(ops) - numeric:
                raise ValueError(f"«{self.fact}» es un número: use gte, gt, lte o lt")
        elif spec.kind == "yes_no":
            if set(ops) != {"eq"} or not isinstance(self.eq, bool):
                raise ValueError(f"«{self.fact}» es sí/no: use «eq: true» o «eq: false»")
        else:
            if set(ops) & numeric:
                raise ValueError(f"«{self.fact}» es una opción: use eq, in o not_in")
            allowed = {key for key, _ in spec.options}
            given = ([self.eq] if self.eq is not None else []) + (self.in_ or []) + (self.not_in or [])
            bad = [str(v) for v in given if not isinstance(v, str) or v not in allowed]
            if bad:
                raise ValueError(
                    f"valor no válido para «{self.fact}»: {', '.join(bad)}; use: {', '.join(sorted(allowed))}"
                )
        return self

    def _operators(self) -> list[str]:
        names = ("eq", "in_", "not_in", "gte", "gt", "lte", "lt")
        return [n.rstrip("_") for n in names if getattr(self, n) is not None]

    def capped_facts(self) -> set[str]:
        """The facts this rule puts a maximum on (lte/lt), in any of its branches."""
        if self.fact is not None:
            return {self.fact} if self.lte is not None or self.lt is not None else set()
        return set().union(*(child.capped_facts() for child in (self.all_of or self.any_of or [])))

    def facts(self) -> set[str]:
        if self.fact is not None:
            return {self.fact}
        return set().union(*(child.facts() for child in (self.all_of or self.any_of or [])))


class _Cited(BaseModel):
    model_config = _STRICT
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    text: str = Field(min_length=5, description="One line, Spanish, saying what the document says.")
    citation: RuleCitation
    illustrative: bool = False

    @model_validator(mode="after")
    def _check_illustrative(self) -> _Cited:
        require_illustrative_mark(self.text, self.illustrative, self.citation)
        return self


def require_illustrative_mark(text: str, illustrative: bool, citation: RuleCitation) -> None:
    if illustrative and "ilustrativ" not in fold(text):
        raise ValueError(
            "con «illustrative: true» el texto debe decir que la cifra o el criterio es ilustrativo"
        )
    if not illustrative and "ilustrativ" in fold(f"{text} {citation.quote or ''}"):
        raise ValueError(
            "el texto o la cita dicen «ilustrativo»: marque «illustrative: true» y dígalo en el texto"
        )


def says_number(text: str, value: float) -> bool:
    """Whether a condition's text states ``value``. Catches a rules file whose threshold drifted
    from the sentence it cites (gte: 50 for '18 años')."""
    if value == 0:  # "gt: 0" means "has any", not a stated figure
        return True
    if value == 18 and re.search(r"\bmayor(es)? de edad\b", fold(text)):
        return True
    return states_number(text, value)


class Condition(Rule):
    """Something the applicant must meet; ``verify_at_ventanilla`` when no chat answer can settle it."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    text: str = Field(min_length=5)
    citation: RuleCitation
    illustrative: bool = False
    verify_at_ventanilla: bool = False

    def _may_be_empty(self) -> bool:
        return self.verify_at_ventanilla

    @model_validator(mode="after")
    def _check_condition(self) -> Condition:
        if self.verify_at_ventanilla and (self.fact or self.all_of or self.any_of):
            raise ValueError("una condición con «verify_at_ventanilla: true» no lleva regla sobre datos")
        require_illustrative_mark(self.text, self.illustrative, self.citation)
        for number in self.thresholds():
            if not says_number(self.text, number):
                raise ValueError(
                    f"la regla usa el número {format_number(number)} pero el texto no lo dice; "
                    "revise el número o el texto"
                )
        return self

    def thresholds(self) -> list[float]:
        """Every number this condition compares against (leaf and nested rules)."""
        found: list[float] = []
        stack: list[Rule] = [self]
        while stack:
            rule = stack.pop()
            found += [v for v in (rule.gte, rule.gt, rule.lte, rule.lt) if v is not None]
            stack += rule.all_of or rule.any_of or []
        return found


class Exclusion(_Cited):
    """A situation that rules the applicant out when ``when`` holds."""

    when: Rule


class Priority(_Cited):
    """A preference in selection (never changes the status); shown when ``when`` holds."""

    when: Rule


class RequiredDocument(BaseModel):
    model_config = _STRICT
    text: str = Field(min_length=3)
    citation: RuleCitation


class Applicants(BaseModel):
    """Who may apply: values of ``tipo_solicitante``."""

    model_config = _STRICT
    types: list[str] = Field(min_length=1)
    text: str = Field(min_length=5)
    citation: RuleCitation
    illustrative: bool = False

    @model_validator(mode="after")
    def _check_types(self) -> Applicants:
        allowed = {key for key, _ in FACTS["tipo_solicitante"].options}
        bad = [t for t in self.types if t not in allowed]
        if bad:
            raise ValueError(
                f"tipo de solicitante no válido: {', '.join(bad)}; use: {', '.join(sorted(allowed))}"
            )
        require_illustrative_mark(self.text, self.illustrative, self.citation)
        return self


class Support(BaseModel):
    model_config = _STRICT
    text: str = Field(min_length=5)
    citation: RuleCitation
    illustrative: bool = False

    @model_validator(mode="after")
    def _check_support(self) -> Support:
        require_illustrative_mark(self.text, self.illustrative, self.citation)
        return self


class RulesFile(BaseModel):
    """The schema of one ``corpus/eligibility/<component>.yaml``."""

    model_config = _STRICT
    component: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=3)
    program: str = Field(min_length=2)
    fiscal_year: int = Field(ge=1990, le=2100)
    summary: str = Field(min_length=5)
    sources: dict[str, str] = Field(
        min_length=1,
        description="document_id -> short title shown in citations ('Reglas de Operación 2014…').",
    )
    who_may_apply: Applicants
    conditions: list[Condition] = Field(default_factory=list)
    exclusions: list[Exclusion] = Field(default_factory=list)
    priorities: list[Priority] = Field(default_factory=list)
    required_documents: list[RequiredDocument] = Field(default_factory=list)
    support: Support

    @model_validator(mode="after")
    def _check_file(self) -> RulesFile:
        ids = (
            [c.id for c in self.conditions]
            + [e.id for e in self.exclusions]
            + [p.id for p in self.priorities]
        )
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"ids repetidos: {', '.join(dupes)}")
        for where, citation in iter_citations(self):
            if citation.document_id not in self.sources:
                raise ValueError(f"{where}: el documento «{citation.document_id}» no está en «sources»")
        return self


class ComponentRules(RulesFile):
    """A loaded rules file; ``file`` is the name it was read from (for error reports)."""

    _file: str = PrivateAttr(default="")

    @property
    def file(self) -> str:
        return self._file


Rule.model_rebuild()


def iter_citations(rules: RulesFile) -> Iterator[tuple[str, RuleCitation]]:
    """Every citation in a rules file with its field path ('conditions.2.citation')."""
    yield "who_may_apply.citation", rules.who_may_apply.citation
    for name in ("conditions", "exclusions", "priorities", "required_documents"):
        for i, item in enumerate(getattr(rules, name)):
            yield f"{name}.{i}.citation", item.citation
    yield "support.citation", rules.support.citation
