"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from assistant.api.deps import AssistantDep, SettingsDep
from assistant.state import state_backend_status

router = APIRouter(tags=["salud"])


@router.get("/healthz", summary="El proceso responde")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Índice y modelo cargados", responses={503: {"description": "No listo"}})
def readyz(assistant: AssistantDep, settings: SettingsDep) -> JSONResponse:
    status = assistant.status()
    if not status.ready:
        return JSONResponse(
            {"error": {"code": "index_not_ready", "message": "Todavía no hay un índice cargado."}},
            status_code=503,
        )
    return JSONResponse(
        {
            "status": "ready",
            "index_version": status.index_version,
            "model": status.embedding_model,
            "state": state_backend_status(settings),
        }
    )


@router.get("/metrics", summary="Métricas Prometheus", response_class=Response)
def metrics(request: Request, assistant: AssistantDep) -> Response:
    stats = assistant.review.queue.stats()
    stats["served_reviewed"], stats["served_total"] = assistant.review.served_share()
    request.app.state.metrics.update_review(stats)
    return Response(request.app.state.metrics.render(), media_type="text/plain; version=0.0.4")
