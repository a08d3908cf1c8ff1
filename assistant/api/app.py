"""The FastAPI app factory: thin routers over the core, dependencies passed in."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse

from assistant.api import routes_admin, routes_catalog, routes_health, routes_query, routes_review
from assistant.api.deps import staff_access
from assistant.api.errors import install_error_handlers
from assistant.api.guard import RequestGuard
from assistant.api.jobs import JobManager
from assistant.api.metrics import Metrics
from assistant.api.routes_eligibility import eligibility_router
from assistant.core import Assistant
from assistant.redact import install_log_redaction
from assistant.settings import Settings, get_settings
from assistant.state import make_rate_limiter

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parents[1] / "static"


def create_app(settings: Settings, assistant: Assistant | None = None, *, embeddings: Any = None) -> FastAPI:
    """Build the app. ``embeddings`` (optional) is used by admin re-ingest jobs (tests pass a fast one)."""
    install_log_redaction()  # questions reach the logs (e.g. an LLM fallback names its question)
    app = FastAPI(
        title="Campo — API de reglas de programas rurales",
        version="0.1.0",
        description="Preguntas con respuestas citadas, búsqueda de pasajes y administración del índice.",
    )
    app.state.settings = settings
    app.state.assistant = assistant or Assistant(settings)
    app.state.ingest_embeddings = embeddings
    app.state.metrics = metrics = Metrics()
    app.state.rate_limiter = make_rate_limiter(settings, "api")
    app.state.jobs = JobManager(
        settings.data_dir / "jobs", on_finish=lambda kind, status: metrics.jobs.labels(kind, status).inc()
    )
    install_error_handlers(app)
    app.add_middleware(RequestGuard, settings=settings)  # admin token and body size, before any body read

    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key"],
        )

    @app.middleware("http")
    async def metrics_middleware(request: Request, call_next: Any) -> Response:
        # Body size and admin token are checked by RequestGuard (inside this one, so its 413/401 count).
        started = time.perf_counter()
        response: Response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        metrics.requests.labels(template, request.method, str(response.status_code)).inc()
        metrics.latency.labels(template).observe(time.perf_counter() - started)
        return response

    app.include_router(routes_health.router)
    app.include_router(routes_query.router)
    app.include_router(routes_catalog.router)
    app.include_router(routes_review.feedback_router)
    core = app.state.assistant
    app.include_router(eligibility_router(core.eligibility), dependencies=[Depends(staff_access)])
    if settings.admin_token.get_secret_value():
        app.include_router(routes_admin.router)
        app.include_router(routes_review.router)
    else:
        log.info("CAMPO_ADMIN_TOKEN not set: admin routes are not mounted")

    @app.get("/", include_in_schema=False)
    def staff_page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8")

    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` (several workers): settings from the environment."""
    return create_app(get_settings())
