"""Eligibility over HTTP: the questions and allowed answers, and an evaluation of given facts.

Self-contained: ``eligibility_router(get_service)`` works on a bare FastAPI app. Bad facts answer
422 with the API's error shape ``{"error": {"code": "invalid_facts", "message": "<Spanish>"}}``.
"""

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from assistant.eligibility import (
    DISCLAIMER,
    EligibilityResult,
    EligibilityService,
    InvalidFacts,
    Question,
)

_FACTS_EXAMPLE: dict[str, Any] = {"tipo_solicitante": "persona_fisica", "actividad": "pesquera", "edad": 35}

_CITATION_EXAMPLE: dict[str, Any] = {
    "document_id": "lineamientos-propesca-2014",
    "section": "Artículo 5",
    "label": "Lineamientos 2014, PROPESCA (CONAPESCA), Art. 5",
}


class ErrorBody(BaseModel):
    code: str = Field(examples=["invalid_facts"])
    message: str = Field(
        examples=["Hay datos que no puedo usar: edad (edad): debe estar entre 0 y 120 años."]
    )


class ErrorResponse(BaseModel):
    error: ErrorBody


class EligibilityRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"facts": _FACTS_EXAMPLE}]})

    facts: dict[str, Any] = Field(
        default_factory=dict,
        description="Known facts, keys from GET /v1/eligibility/questions; sí/no as true/false, "
        "'no_se' where the question offers «No sé».",
    )


class QuestionsResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "questions": [
                        {
                            "fact": "tipo_solicitante",
                            "text": "¿Quién solicitaría el apoyo?",
                            "kind": "choice",
                            "label": "tipo de solicitante",
                            "options": [{"value": "persona_fisica", "label": "Yo, como persona física"}],
                            "unit": None,
                            "minimum": None,
                            "maximum": None,
                            "integer": False,
                        },
                        {
                            "fact": "edad",
                            "text": "¿Qué edad tiene?",
                            "kind": "number",
                            "label": "edad",
                            "options": [],
                            "unit": "años",
                            "minimum": 0,
                            "maximum": 120,
                            "integer": True,
                        },
                    ],
                    "disclaimer": DISCLAIMER,
                }
            ]
        }
    )

    questions: list[Question]
    disclaimer: str = DISCLAIMER


class EligibilityResponse(EligibilityResult):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "results": [
                        {
                            "component": "propesca",
                            "name": "PROPESCA, apoyo directo a pescadores",
                            "program": "pesca",
                            "fiscal_year": 2014,
                            "status": "falta_informacion",
                            "status_label": "Falta información",
                            "summary": {
                                "kind": "resumen",
                                "text": "Falta saber: años en la actividad, unidad económica inscrita en el RNPA.",
                                "citation": _CITATION_EXAMPLE,
                                "illustrative": False,
                            },
                            "reasons": [
                                {
                                    "kind": "cumple",
                                    "text": "Cumple: Tener 18 años o más (criterio ilustrativo).",
                                    "citation": _CITATION_EXAMPLE,
                                    "illustrative": True,
                                }
                            ],
                            "missing_facts": ["anios_actividad", "unidad_economica_rnpa"],
                            "required_documents": [],
                            "support": {
                                "text": "En Baja California Sur, en 2014, 8,000 pesos por pescador…",
                                "citation": _CITATION_EXAMPLE | {"section": "Artículo 9"},
                                "illustrative": False,
                            },
                        }
                    ],
                    "next_question": {
                        "fact": "anios_actividad",
                        "text": "¿Cuántos años lleva dedicándose a su actividad?",
                        "kind": "number",
                        "label": "años en la actividad",
                        "options": [],
                        "unit": "años",
                        "minimum": 0,
                        "maximum": 100,
                        "integer": False,
                    },
                    "complete": False,
                    "facts": _FACTS_EXAMPLE,
                    "disclaimer": DISCLAIMER,
                }
            ]
        }
    )


def eligibility_router(get_service: Callable[[], EligibilityService]) -> APIRouter:
    """Routes under /v1/eligibility; ``get_service`` returns the current EligibilityService."""
    router = APIRouter(prefix="/v1/eligibility", tags=["elegibilidad"])

    def service() -> EligibilityService:
        return get_service()

    ServiceDep = Annotated[EligibilityService, Depends(service)]

    @router.get("/questions", summary="Preguntas de elegibilidad y respuestas permitidas")
    def questions(svc: ServiceDep) -> QuestionsResponse:
        return QuestionsResponse(questions=svc.questions())

    @router.post(
        "",
        summary="Revisar elegibilidad por componente",
        response_model=EligibilityResponse,
        responses={
            422: {"model": ErrorResponse, "description": "Datos desconocidos o con valores no válidos"}
        },
    )
    def evaluate(body: EligibilityRequest, svc: ServiceDep) -> EligibilityResponse | JSONResponse:
        try:
            result = svc.evaluate(body.facts)
        except InvalidFacts as exc:
            error = ErrorResponse(error=ErrorBody(code=exc.code, message=exc.user_message))
            return JSONResponse(error.model_dump(), status_code=422)
        return EligibilityResponse.model_validate(result.model_dump())

    return router
