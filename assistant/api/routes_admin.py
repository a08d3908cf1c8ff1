"""Admin routes: upload documents, re-ingest, follow jobs, delete documents, roll back.

Mounted only when CAMPO_ADMIN_TOKEN is set; every route checks the bearer token in constant time.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool

from assistant.api.deps import AssistantDep, SettingsDep, admin_access
from assistant.api.errors import ApiError
from assistant.api.schemas import (
    ErrorResponse,
    JobResponse,
    RollbackRequest,
    RollbackResponse,
    UploadResponse,
)
from assistant.normalize import ascii_only
from assistant.settings import Settings

router = APIRouter(prefix="/v1/admin", tags=["administración"], dependencies=[Depends(admin_access)])
_errors: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse},
    409: {"model": ErrorResponse},
    413: {"model": ErrorResponse},
    415: {"model": ErrorResponse},
    422: {"model": ErrorResponse},
}
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,150}$")


def safe_filename(name: str | None) -> str:
    """The upload's name if it is a plain file name (no path, no NUL, not hidden), else a 422."""
    raw = name or ""
    normalized = ascii_only(raw)
    if (
        not raw
        or "\x00" in raw
        or "/" in raw
        or "\\" in raw
        or ".." in raw
        or not _SAFE_NAME.match(normalized)
        or normalized.lower().endswith(".meta.yaml")
    ):
        raise ApiError(
            422,
            "invalid_filename",
            "Nombre de archivo no permitido. Use solo letras, números, '-', '_' y '.'.",
        )
    return normalized


async def _read_limited(upload: UploadFile, limit: int) -> bytes:
    chunks, size = [], 0
    while chunk := await upload.read(1024 * 1024):
        size += len(chunk)
        if size > limit:
            raise ApiError(
                413, "file_too_large", f"El archivo supera el límite de {limit // (1024 * 1024)} MB."
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _start_ingest(request: Request, settings: Settings, kind: str) -> dict[str, Any]:
    from ingestion.pipeline import ingest

    embeddings = request.app.state.ingest_embeddings
    return request.app.state.jobs.start(  # type: ignore[no-any-return]
        kind, lambda progress: ingest(settings, embeddings=embeddings, progress=progress)
    )


@router.post(
    "/documents",
    status_code=202,
    response_model=UploadResponse,
    summary="Subir documentos",
    responses=_errors,
)
async def upload_documents(
    request: Request,
    settings: SettingsDep,
    files: Annotated[list[UploadFile], File(description="PDF, DOCX, HTML, Markdown o TXT")],
    ingest: Annotated[bool, Form()] = True,
    document_id: Annotated[str | None, Form(max_length=80)] = None,
    title: Annotated[str | None, Form(max_length=300)] = None,
    program: Annotated[str | None, Form(max_length=40)] = None,
    component: Annotated[str | None, Form(max_length=60)] = None,
    fiscal_year: Annotated[int | None, Form(ge=1990, le=2100)] = None,
) -> Any:
    """Validate every file on its content (nothing is written on rejection), add them to the corpus and
    start a re-ingest job, or only store them with ``ingest=false``."""
    from ingestion.loaders import SUPPORTED_SUFFIXES, LoaderError, load_document

    if not files:
        raise ApiError(422, "no_files", "No se recibió ningún archivo.")
    meta = {
        k: v
        for k, v in {
            "id": document_id,
            "title": title,
            "program": program,
            "component": component,
            "fiscal_year": fiscal_year,
        }.items()
        if v is not None
    }
    if meta and len(files) > 1:
        raise ApiError(
            422, "metadata_for_many", "Los metadatos del formulario solo valen para un archivo a la vez."
        )
    staged: list[tuple[Path, str]] = []
    with tempfile.TemporaryDirectory(prefix="campo-upload-") as tmp:
        for upload in files:
            name = safe_filename(upload.filename)
            suffix = Path(name).suffix.lower()
            if suffix not in SUPPORTED_SUFFIXES:
                raise ApiError(
                    415,
                    "unsupported_type",
                    f"Formato no soportado ({suffix or 'sin extensión'}). "
                    "Se aceptan PDF, DOCX, HTML, Markdown y TXT.",
                )
            data = await _read_limited(upload, settings.max_upload_bytes)
            path = Path(tmp) / name
            path.write_bytes(data)
            if meta:
                path.with_name(name + ".meta.yaml").write_text(
                    yaml.safe_dump(meta, allow_unicode=True), "utf-8"
                )
            try:
                await run_in_threadpool(
                    load_document,
                    path,
                    max_pdf_pages=settings.max_pdf_pages,
                    max_bytes=settings.max_upload_bytes,
                )
            except LoaderError as exc:
                raise ApiError(422, "invalid_document", f"{name}: {exc}") from exc
            staged.append((path, name))
        settings.corpus_dir.mkdir(parents=True, exist_ok=True)
        for path, name in staged:
            shutil.copyfile(path, settings.corpus_dir / name)
            sidecar = path.with_name(name + ".meta.yaml")
            if sidecar.exists():
                shutil.copyfile(sidecar, settings.corpus_dir / sidecar.name)
    stored = [name for _, name in staged]
    if not ingest:
        return {"stored": stored, "job": None}
    return {"stored": stored, "job": _start_ingest(request, settings, "upload")}


@router.post(
    "/ingest", status_code=202, response_model=JobResponse, summary="Recargar el corpus", responses=_errors
)
def start_ingest(request: Request, settings: SettingsDep) -> dict[str, Any]:
    """Re-ingest the corpus folder into a new index version, as a background job."""
    return _start_ingest(request, settings, "ingest")


@router.get(
    "/jobs/{job_id}",
    response_model=JobResponse,
    summary="Estado de un trabajo",
    responses={**_errors, 404: {"model": ErrorResponse}},
)
def get_job(job_id: str, request: Request) -> dict[str, Any]:
    job = request.app.state.jobs.get(job_id)
    if job is None:
        raise ApiError(404, "job_not_found", "No existe ese trabajo.")
    return job  # type: ignore[no-any-return]


@router.delete(
    "/documents/{document_id}",
    status_code=202,
    response_model=JobResponse,
    summary="Retirar un documento",
    responses={**_errors, 404: {"model": ErrorResponse}},
)
def delete_document(
    document_id: str, request: Request, settings: SettingsDep, assistant: AssistantDep
) -> dict[str, Any]:
    """Remove the document's file from the corpus (if it lives there) and build a version without it."""
    from ingestion.pipeline import remove_documents

    info = assistant.document(document_id)
    if info is None:
        raise ApiError(404, "document_not_found", "No existe ese documento en el índice activo.")
    corpus = settings.corpus_dir.resolve()
    source = (corpus / info.source_path).resolve()
    in_corpus = corpus in source.parents and source.exists()
    if in_corpus:
        # Removing the file first would race the job; the job removes it under the ingestion lock.
        def work(progress: Any) -> Any:
            report = remove_documents(settings, [document_id])
            if report.removed:
                source.unlink(missing_ok=True)
                source.with_name(source.name + ".meta.yaml").unlink(missing_ok=True)
            return report

        return request.app.state.jobs.start("delete", work)  # type: ignore[no-any-return]
    return request.app.state.jobs.start(  # type: ignore[no-any-return]
        "delete", lambda progress: remove_documents(settings, [document_id])
    )


@router.post(
    "/rollback",
    response_model=RollbackResponse,
    summary="Volver a la versión anterior",
    responses={**_errors, 404: {"model": ErrorResponse}},
)
def rollback_index(body: RollbackRequest, settings: SettingsDep) -> RollbackResponse:
    from ingestion.publish import rollback

    return RollbackResponse(active_version=rollback(settings, body.version))
