"""What an evaluation returns: per-component results with cited reasons, and the next question.

These models are the body of ``POST /v1/eligibility`` and what the bot renders.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from assistant.eligibility.vocabulary import FACTS, FactKind

POSSIBLE_PHRASE = "posiblemente elegible; confirme en la ventanilla"
DISCLAIMER = (
    "Esto es una orientación a partir de las reglas de muestra, no una resolución: la decisión la toma "
    "la instancia que recibe su solicitud en la ventanilla. Las cifras marcadas como ilustrativas no son "
    "oficiales."
)

Status = Literal["elegible", "posiblemente_elegible", "falta_informacion", "no_elegible"]
STATUS_LABELS: dict[str, str] = {
    "elegible": "Elegible",
    "posiblemente_elegible": "Posiblemente elegible; confirme en la ventanilla",
    "falta_informacion": "Falta información",
    "no_elegible": "No elegible",
}

ReasonKind = Literal["cumple", "no_cumple", "falta", "verificar", "excluido", "prioridad", "resumen"]


class RuleCitationOut(BaseModel):
    document_id: str
    section: str
    label: str = Field(
        description="Short reference for people: 'Reglas de Operación 2014, Cadenas de Valor, Art. 5'."
    )


class Reason(BaseModel):
    kind: ReasonKind
    text: str = Field(description="One line, Spanish.")
    citation: RuleCitationOut
    illustrative: bool = False


class DocumentOut(BaseModel):
    text: str
    citation: RuleCitationOut


class SupportOut(BaseModel):
    text: str
    citation: RuleCitationOut
    illustrative: bool = False


class AnswerOption(BaseModel):
    value: bool | str = Field(description="What to send back as the fact's value.")
    label: str


class Question(BaseModel):
    fact: str
    text: str
    kind: FactKind
    label: str
    options: list[AnswerOption] = Field(
        default_factory=list, description="Closed answers (choice, sí/no, No sé)."
    )
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False


def question_for(key: str) -> Question:
    spec = FACTS[key]
    return Question(
        fact=spec.key,
        text=spec.question,
        kind=spec.kind,
        label=spec.label,
        options=[AnswerOption(value=v, label=lbl) for v, lbl in spec.answers()],
        unit=spec.unit or None,
        minimum=spec.minimum,
        maximum=spec.maximum,
        integer=spec.integer,
    )


class ComponentResult(BaseModel):
    component: str
    name: str
    program: str
    fiscal_year: int
    status: Status
    status_label: str
    summary: Reason = Field(description="The one-line reason to show first.")
    reasons: list[Reason]
    missing_facts: list[str] = Field(default_factory=list)
    required_documents: list[DocumentOut] = Field(
        default_factory=list, description="Only for elegible / posiblemente_elegible."
    )
    support: SupportOut


class EligibilityResult(BaseModel):
    results: list[ComponentResult]
    next_question: Question | None = Field(None, description="The missing fact that decides most components.")
    complete: bool = Field(description="True when no component still needs an answer.")
    facts: dict[str, Any] = Field(default_factory=dict, description="The facts used, normalized.")
    disclaimer: str = DISCLAIMER
