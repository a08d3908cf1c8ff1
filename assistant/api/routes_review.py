"""Staff review routes: the queue of unanswered questions, answering (publishes a reviewed answer as a new
index version) and dismissing; and votes on answers from HTTP clients.

The review routes need the admin bearer token (mounted only when CAMPO_ADMIN_TOKEN is set); every action
is written to the review audit log with the reviewer's name (header ``X-Reviewer``, else ``admin``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool

from assistant.api.deps import AssistantDep, SettingsDep, admin_access, staff_access
from assistant.api.errors import ApiError
from assistant.api.schemas import (
    ErrorResponse,
    FeedbackRequest,
    FeedbackResponse,
    ReviewAnswerRequest,
    ReviewDismissRequest,
    ReviewItemOut,
    ReviewListResponse,
    ReviewPublishResponse,
)
from assistant.errors import CampoError
from assistant.review_queue import public_item
from assistant.reviewed import ReviewedCitation, ReviewedEntry, entry_problems, has_html
from assistant.settings import Settings

router = APIRouter(prefix="/v1/review", tags=["revisión"], dependencies=[Depends(admin_access)])
feedback_router = APIRouter(prefix="/v1", tags=["consulta"], dependencies=[Depends(staff_access)])
_errors: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse},
    404: {"model": ErrorResponse},
    409: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
}


def reviewer(request: Request) -> str:
    """The reviewer's name from ``X-Reviewer`` (percent-encoded UTF-8, as the staff page sends it)."""
    name = re.sub(r"[^\w .@-]", "", unquote(request.headers.get("x-reviewer", "")))[:80].strip()
    return name or "admin"


def _item(assistant: Any, item_id: str) -> dict[str, Any]:
    item = assistant.review.queue.get(item_id) if re.fullmatch(r"[0-9a-f]{1,32}", item_id) else None
    if item is None:
        raise ApiError(404, "review_item_not_found", "No existe ese elemento de revisión.")
    return item  # type: ignore[no-any-return]


@router.get("", response_model=ReviewListResponse, summary="Cola de revisión", responses=_errors)
def list_items(
    assistant: AssistantDep,
    settings: SettingsDep,
    status: Literal["pending", "answered", "dismissed"] = "pending",
    order: Literal["newest", "count"] = "newest",
    offset: int = Query(0, ge=0, le=100_000),
    limit: int = Query(50, ge=1, le=200),
) -> dict[str, Any]:
    """Questions waiting for staff (near-duplicates grouped, with their count), newest or most asked first."""
    items, total = assistant.review.queue.items(status, order=order, offset=offset, limit=limit)
    return {
        "items": [public_item(i) for i in items],
        "total": total,
        "stats": _stats(assistant),
        "answer_max_chars": settings.review_answer_max_chars,
    }


def _stats(assistant: Any) -> dict[str, Any]:
    stats = assistant.review.queue.stats()
    reviewed, asked = assistant.review.served_share()
    stats["served_reviewed"], stats["served_total"] = reviewed, asked
    return stats  # type: ignore[no-any-return]


@router.get("/audit", summary="Registro de acciones de revisión", responses=_errors)
def audit(assistant: AssistantDep, limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:
    return {"records": assistant.review.queue.audit_log(limit)}


@router.post(
    "/{item_id}/answer",
    status_code=202,
    response_model=ReviewPublishResponse,
    summary="Responder y publicar",
    responses=_errors,
)
def answer_item(
    item_id: str, body: ReviewAnswerRequest, request: Request, assistant: AssistantDep, settings: SettingsDep
) -> dict[str, Any]:
    """Validate the answer (length, no HTML, citations to documents and sections of the active index
    version: nothing is written otherwise), then publish it as a new index version in a background job."""
    item = _item(assistant, item_id)
    if item["status"] == "dismissed":
        raise ApiError(409, "review_item_dismissed", "Ese elemento fue descartado; no se puede responder.")
    entry = _entry(item, body, reviewer(request), assistant, settings.review_answer_max_chars)
    problems = entry_problems(
        entry, assistant.review.sections(), max_answer_chars=settings.review_answer_max_chars
    )
    if problems:
        where, reason = problems[0]
        code = "invalid_citation" if where.startswith("citations") else "invalid_answer"
        raise ApiError(422, code, f"{reason[0].upper()}{reason[1:]}.")
    job = _start_publish(request, settings, entry)
    assistant.review.queue.answer(
        item_id,
        reviewer(request),
        {
            "entry_id": entry.id,
            "job_id": job["job_id"],
            "answer": entry.answer,
            "citations": [c.model_dump() for c in body.citations],
        },
    )
    return {"item_id": item_id, "entry_id": entry.id, "job_id": job["job_id"], "job": job}


def _entry(
    item: dict[str, Any], body: ReviewAnswerRequest, by: str, assistant: Any, max_chars: int
) -> ReviewedEntry:
    answer = body.answer.strip()
    if len(answer) > max_chars:
        raise ApiError(422, "answer_too_long", f"La respuesta supera {max_chars} caracteres ({len(answer)}).")
    if not answer:
        raise ApiError(422, "invalid_answer", "La respuesta está vacía.")
    if has_html(answer):
        raise ApiError(422, "invalid_answer", "La respuesta no puede llevar HTML.")
    documents = assistant.review.documents()
    cited = [ReviewedCitation(document_id=c.document_id, section=c.section) for c in body.citations]
    years = {documents[c.document_id].get("fiscal_year") for c in cited if c.document_id in documents}
    return ReviewedEntry(
        id=f"r{item['id']}",
        question=item["question"][:500] if len(item["question"]) >= 3 else f"¿{item['question']}?",
        variants=[v.strip() for v in body.question_variants if v.strip()],
        answer=answer,
        citations=cited,
        reviewer=by,
        date=dt.date.today(),
        fiscal_year=body.fiscal_year or (years.pop() if len(years) == 1 else None),
        expires=body.expires,
        rule_hashes={
            c.document_id: documents[c.document_id].get("content_hash", "")
            for c in cited
            if c.document_id in documents and documents[c.document_id].get("content_hash")
        },
    )


def _start_publish(request: Request, settings: Settings, entry: ReviewedEntry) -> dict[str, Any]:
    from ingestion.pipeline import ingest
    from ingestion.reviewed_source import add_reviewed_entry

    embeddings = request.app.state.ingest_embeddings

    def work(progress: Any) -> Any:
        add_reviewed_entry(settings, entry)
        report = ingest(settings, embeddings=embeddings, progress=progress)
        if entry.id not in _published(settings):
            raise_failed(report)
        return report

    return request.app.state.jobs.start("review", work)  # type: ignore[no-any-return]


def _published(settings: Settings) -> list[str]:
    from assistant.versions import read_active, read_manifest

    active = read_active(settings.index_dir)
    if not active:
        return []
    return list(read_manifest(settings.index_dir, active).get("reviewed", {}).get("entries", []))


class ReviewNotPublished(CampoError):
    code = "review_not_published"
    user_message = "La respuesta no se publicó: la nueva versión del índice no la incluye."


def raise_failed(report: Any) -> None:
    problem = "; ".join(reason for _, reason in report.failed if "respuestas revisadas" in reason)
    error = ReviewNotPublished("reviewed answer not in the new version")
    if problem:
        error.user_message = f"La respuesta no se publicó: {problem}"
    raise error


@router.post("/{item_id}/dismiss", response_model=ReviewItemOut, summary="Descartar", responses=_errors)
def dismiss_item(item_id: str, body: ReviewDismissRequest, request: Request, assistant: AssistantDep) -> Any:
    """Spam, insults, questions outside the programs: out of the queue (audited), nobody is notified."""
    _item(assistant, item_id)
    item = assistant.review.queue.dismiss(item_id, reviewer(request), body.reason)
    return public_item(item or {})


@feedback_router.post(
    "/feedback",
    status_code=202,
    response_model=FeedbackResponse,
    summary="Votar una respuesta",
    responses=_errors,
)
async def feedback(body: FeedbackRequest, assistant: AssistantDep) -> dict[str, Any]:
    """👍 / 👎 on an answer; a 👎 sends the question to the staff's review queue."""
    item_id = None
    if body.vote < 0:
        citations = [c.model_dump() for c in body.citations]
        item_id = await run_in_threadpool(
            assistant.review.downvoted, body.question, body.answer, body.channel, citations
        )
    return {"recorded": True, "review_item": item_id}
