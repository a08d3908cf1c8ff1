"""Staff query routes: ask and search (thin: parse, call the core, format)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from assistant.api.deps import AssistantDep, staff_access
from assistant.api.schemas import (
    AskRequest,
    AskResponse,
    CitationOut,
    ErrorResponse,
    SearchRequest,
    SearchResponse,
)

router = APIRouter(prefix="/v1", tags=["consulta"], dependencies=[Depends(staff_access)])
_errors: dict[int | str, dict[str, object]] = {
    422: {"model": ErrorResponse},
    429: {"model": ErrorResponse},
    503: {"model": ErrorResponse},
}


@router.post(
    "/ask", response_model=AskResponse, summary="Responder una pregunta con citas", responses=_errors
)
def ask(body: AskRequest, assistant: AssistantDep, request: Request) -> AskResponse:
    """Cited extractive answer (or an honest abstention) from the active index version."""
    answer = assistant.ask(
        body.question, session_id=body.session_id, filters=body.filters, max_chars=body.max_chars
    )
    request.app.state.metrics.answers.labels(abstained=str(answer.abstained).lower()).inc()
    assistant.review.observe(body.question, answer, "http")
    return AskResponse(
        answer=answer.text,
        abstained=answer.abstained,
        confidence=answer.confidence,
        citations=[CitationOut.of(c) for c in answer.citations],
        index_version=answer.index_version,
        reviewed=answer.reviewed,
        clarify=answer.clarify,
    )


@router.post("/search", response_model=SearchResponse, summary="Buscar pasajes", responses=_errors)
def search(body: SearchRequest, assistant: AssistantDep) -> SearchResponse:
    """Ranked passages with their metadata, without composing an answer."""
    passages, version = assistant.search_with_version(body.query, k=body.k, filters=body.filters)
    return SearchResponse(passages=passages, index_version=version)
