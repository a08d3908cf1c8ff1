"""Request and response bodies of the HTTP API (with OpenAPI examples)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from assistant.models import Citation, DocumentInfo, Filters, Passage

_FILTER_EXAMPLE = {"program": "pidr", "fiscal_year": 2014}


class AskRequest(BaseModel):
    question: str = Field(
        min_length=1, max_length=4000, examples=["¿Qué papeles necesito para Cadenas de Valor?"]
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
