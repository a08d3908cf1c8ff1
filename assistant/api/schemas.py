"""Request and response bodies of the HTTP API (with OpenAPI examples)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from assistant.models import Citation, DocumentInfo, Filters, Passage

_FILTER_EXAMPLE = {"program": "pidr", "fiscal_year": 2014}


class AskRequest(BaseModel):
    question: str = Field(
        min_length=1, max_length=4000, examples=["¿Qué requisitos piden en Cadenas de Valor?"]
    )
    session_id: str | None = Field(None, max_length=128, description="Keeps follow-ups in one conversation.")
    filters: Filters | None = Field(None, examples=[_FILTER_EXAMPLE])
    max_chars: int | None = Field(None, ge=80, le=4000, description="Length budget of the answer.")


class CitationOut(BaseModel):
    document_id: str
    title: str
    section: str
    page: int | None
    fiscal_year: int | None
    snippet: str
    score: float

    @classmethod
    def of(cls, c: Citation) -> CitationOut:
        return cls(**c.model_dump(exclude={"text"}))


class AskResponse(BaseModel):
    answer: str
    abstained: bool
    confidence: float
    citations: list[CitationOut]
    index_version: str | None
    reviewed: bool = Field(False, description="Answered from a reviewed answer of the program's staff.")
    clarify: list[str] = Field(
        default_factory=list,
        description="An abstention for a question that names no program, when several programs' rules "
        "compete: their names. The answer asks which one; send the reply with the same session_id.",
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "answer": "Según Reglas de Operación 2014, Cadenas de Valor, Artículo 8: …",
                    "abstained": False,
                    "confidence": 0.83,
                    "citations": [
                        {
                            "document_id": "reglas-cadenas-valor-2014",
                            "title": "Reglas de Operación 2014, Cadenas de Valor",
                            "section": "Capítulo II > Artículo 8",
                            "page": 2,
                            "fiscal_year": 2014,
                            "snippet": "La persona moral solicitante deberá entregar…",
                            "score": 0.97,
                        }
                    ],
                    "index_version": "20261124T234205760570-d0f7",
                    "reviewed": False,
                }
            ]
        }
    }


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, max_length=4000, examples=["montos de apoyo PIIEX"])
    k: int = Field(5, ge=1, le=50)
    filters: Filters | None = Field(None, examples=[_FILTER_EXAMPLE])


class SearchResponse(BaseModel):
    passages: list[Passage]
    index_version: str


class DocumentsResponse(BaseModel):
    documents: list[DocumentInfo]
    index_version: str


class IndexResponse(BaseModel):
    active_version: str | None
    versions: list[dict[str, Any]]
    history: list[dict[str, Any]]


class JobResponse(BaseModel):
    job_id: str
    kind: str
    status: str = Field(description="queued | running | succeeded | failed")
    progress: dict[str, Any] = Field(default_factory=dict)
    report: dict[str, Any] | None = None
    error: str | None = None
    created_at: str


class RollbackRequest(BaseModel):
    version: str | None = Field(None, description="Version id; empty = the previously active one.")


class RollbackResponse(BaseModel):
    active_version: str


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody

    model_config = {
        "json_schema_extra": {
            "examples": [{"error": {"code": "not_found", "message": "No existe ese recurso."}}]
        }
    }


class UploadResponse(BaseModel):
    stored: list[str] = Field(description="File names added to the corpus.")
    job: JobResponse | None = Field(None, description="The re-ingest job (absent with ingest=false).")


class ReviewCitationIn(BaseModel):
    document_id: str = Field(min_length=1, max_length=200, examples=["reglas-cadenas-valor-2014"])
    section: str = Field("", max_length=300, examples=["Artículo 8"])


class ReviewAnswerRequest(BaseModel):
    answer: str = Field(description="The reviewed answer, plain text (limit: CAMPO_REVIEW_ANSWER_MAX_CHARS).")
    citations: list[ReviewCitationIn] = Field(min_length=1, max_length=5)
    question_variants: list[str] = Field(default_factory=list, max_length=20)
    fiscal_year: int | None = Field(None, ge=1990, le=2100, description="Default: the cited rules' year.")
    expires: dt.date | None = Field(None, description="Stop serving it after this date.")


class ReviewDismissRequest(BaseModel):
    reason: str = Field("", max_length=300, examples=["fuera de los programas"])


class ReviewItemOut(BaseModel):
    id: str
    question: str
    reason: str
    channel: str
    created_at: str
    updated_at: str = ""
    count: int
    answer: str
    citations: list[dict[str, Any]]
    status: str
    reasons: dict[str, int] = Field(default_factory=dict)
    channels: dict[str, int] = Field(default_factory=dict)
    subscribers: int = 0
    review: dict[str, Any] | None = None


class ReviewListResponse(BaseModel):
    items: list[ReviewItemOut]
    total: int
    stats: dict[str, Any]
    answer_max_chars: int = Field(description="Longest answer staff may publish (characters).")


class ReviewPublishResponse(BaseModel):
    item_id: str
    entry_id: str
    job_id: str = Field(description="Follow it at GET /v1/admin/jobs/{job_id}.")
    job: JobResponse


class FeedbackRequest(BaseModel):
    question: str = Field(min_length=1, max_length=4000)
    answer: str = Field("", max_length=8000)
    vote: Literal[-1, 1]
    citations: list[CitationOut] = Field(default_factory=list, max_length=10)
    channel: Literal["http", "staff", "cli"] = "http"


class FeedbackResponse(BaseModel):
    recorded: bool
    review_item: str | None = None
