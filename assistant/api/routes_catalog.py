"""What the active index holds: documents and versions."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from assistant.api.deps import AssistantDep, staff_access
from assistant.api.schemas import DocumentsResponse, ErrorResponse, IndexResponse

router = APIRouter(prefix="/v1", tags=["catálogo"], dependencies=[Depends(staff_access)])


@router.get(
    "/documents",
    response_model=DocumentsResponse,
    summary="Documentos del índice activo",
    responses={503: {"model": ErrorResponse}},
)
def documents(assistant: AssistantDep) -> DocumentsResponse:
    documents, version = assistant.documents_with_version()
    return DocumentsResponse(documents=documents, index_version=version)


@router.get("/index", response_model=IndexResponse, summary="Versión activa e historial")
def index(assistant: AssistantDep) -> IndexResponse:
    info = assistant.index_info()
    return IndexResponse(
        active_version=info.active_version, versions=info.versions, history=assistant.history()
    )
