"""The real FastAPI app over HTTP (httpx ASGI transport) against a real index."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from assistant.api.app import create_app
from assistant.core import Assistant
from assistant.embeddings import HashingEmbeddings
from assistant.sessions import MemorySessionStore
from assistant.settings import Settings
from ingestion.pipeline import ingest
from tests.conftest import make_settings
from tests.test_ingestion import DOC_A, DOC_B

TOKEN = "t" * 32
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def app_settings(tmp_path: Path, **overrides: Any) -> Settings:
    settings = make_settings(tmp_path, admin_token=TOKEN, **overrides)
    settings.corpus_dir.mkdir(parents=True, exist_ok=True)
    (settings.corpus_dir / "reglas-a.md").write_text(DOC_A, "utf-8")
    (settings.corpus_dir / "pesca-b.md").write_text(DOC_B, "utf-8")
    ingest(settings, embeddings=HashingEmbeddings())
    return settings


async def client_for(settings: Settings) -> httpx.AsyncClient:
    assistant = Assistant(settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())
    assistant.versions.check_interval = 0
    app = create_app(settings, assistant, embeddings=HashingEmbeddings())
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://campo.test")


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with await client_for(app_settings(tmp_path)) as c:
        yield c


async def wait_job(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = (await client.get(f"/v1/admin/jobs/{job_id}", headers=AUTH)).json()
        if job["status"] in ("succeeded", "failed"):
            return job  # type: ignore[no-any-return]
        await _sleep(0.05)
    raise AssertionError("job did not finish")


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


async def test_ask_returns_a_cited_answer(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/ask", json={"question": "cuanto es el apoyo por pescador"})
    assert r.status_code == 200
    body = r.json()
    assert "8,000 pesos" in body["answer"] and not body["abstained"]
    assert body["citations"][0]["document_id"] == "pesca-b-2014"
    assert set(body["citations"][0]) == {
        "document_id",
        "title",
        "section",
        "page",
        "fiscal_year",
        "snippet",
        "score",
    }
    assert body["index_version"]


async def test_search_and_filters(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/search", json={"query": "requisitos apoyo", "k": 5, "filters": {"program": "pesca"}}
    )
    assert r.status_code == 200
    assert {p["program"] for p in r.json()["passages"]} == {"pesca"}
    r = await client.post("/v1/search", json={"query": "requisitos", "filters": {"fiscal_year": 1999}})
    assert r.json()["passages"] == []


async def test_documents_and_index(client: httpx.AsyncClient) -> None:
    docs = (await client.get("/v1/documents")).json()
    assert {d["document_id"] for d in docs["documents"]} == {"reglas-a-2014", "pesca-b-2014"}
    assert all(d["content_hash"] and d["chunks"] > 0 and d["ingested_at"] for d in docs["documents"])
    index = (await client.get("/v1/index")).json()
    assert index["active_version"] == docs["index_version"]
    assert index["history"][-1]["reason"] == "ingest"


async def test_errors_have_one_shape_in_spanish(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/ask", json={"pregunta": "sin el campo correcto"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"
    r = await client.post("/v1/ask", json={"question": "x" * 1500})
    assert r.status_code == 422 and "demasiado larga" in r.json()["error"]["message"]
    r = await client.get("/v1/no-existe")
    assert r.status_code == 404 and r.json()["error"]["message"] == "No existe ese recurso."


async def test_admin_routes_absent_without_token(tmp_path: Path) -> None:
    settings = app_settings(tmp_path).model_copy(update={"admin_token": SecretStr("")})
    async with await client_for(settings) as c:
        r = await c.post("/v1/admin/ingest", headers=AUTH)
        assert r.status_code == 404
        assert "/v1/admin/ingest" not in (await c.get("/openapi.json")).json()["paths"]


async def test_admin_refuses_a_wrong_token(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": TOKEN}):
        r = await client.post("/v1/admin/ingest", headers=headers)
        assert r.status_code == 401
        assert r.json()["error"]["message"] == "Token de administración inválido."


async def test_upload_job_new_version_and_rollback(client: httpx.AsyncClient, tmp_path: Path) -> None:
    before = (await client.get("/v1/index")).json()["active_version"]
    doc = DOC_B.replace("pesca-b-2014", "osc-c-2014").replace(
        "8,000 pesos por pescador", "300,000 pesos por OSC"
    )
    r = await client.post(
        "/v1/admin/documents", headers=AUTH, files={"files": ("osc-c.md", doc.encode(), "text/markdown")}
    )
    assert r.status_code == 202, r.text
    job = await wait_job(client, r.json()["job"]["job_id"])
    assert job["status"] == "succeeded" and job["report"]["added"] == ["osc-c-2014"]
    assert job["progress"]["stage"]
    answer = (await client.post("/v1/ask", json={"question": "cuanto le dan a una OSC"})).json()
    assert "300,000 pesos" in answer["answer"] and answer["index_version"] != before
    r = await client.post("/v1/admin/rollback", headers=AUTH, json={})
    assert r.status_code == 200 and r.json()["active_version"] == before
    docs = (await client.get("/v1/documents")).json()
    assert "osc-c-2014" not in {d["document_id"] for d in docs["documents"]}


@pytest.mark.parametrize(
    ("name", "content", "status"),
    [
        ("hoja.xls", b"\xd0\xcf\x11\xe0 datos", 415),
        ("falso.pdf", b"\x89PNG\r\n\x1a\n no es pdf", 422),
        ("vacio.md", b"", 422),
        ("../malo.md", b"# hola\n\ntexto", 422),
        ("nul\x00.md", b"# hola\n\ntexto", 422),
        ("grande.txt", b"a" * 3000, 413),
    ],
)
async def test_rejected_uploads_write_nothing(tmp_path: Path, name: str, content: bytes, status: int) -> None:
    settings = app_settings(tmp_path).model_copy(update={"max_upload_bytes": 2048})
    before = sorted(p.name for p in settings.corpus_dir.iterdir())
    async with await client_for(settings) as c:
        r = await c.post(
            "/v1/admin/documents", headers=AUTH, files={"files": (name, content, "application/octet-stream")}
        )
    assert r.status_code == status, r.text
    assert r.json()["error"]["message"]
    assert sorted(p.name for p in settings.corpus_dir.iterdir()) == before


async def test_delete_document(client: httpx.AsyncClient) -> None:
    r = await client.delete("/v1/admin/documents/no-existe", headers=AUTH)
    assert r.status_code == 404
    r = await client.delete("/v1/admin/documents/pesca-b-2014", headers=AUTH)
    assert r.status_code == 202
    job = await wait_job(client, r.json()["job_id"])
    assert job["status"] == "succeeded" and job["report"]["removed"] == ["pesca-b-2014"]
    docs = (await client.get("/v1/documents")).json()["documents"]
    assert [d["document_id"] for d in docs] == ["reglas-a-2014"]


async def test_second_ingest_job_is_refused(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    import ingestion.pipeline
    from ingestion.publish import ingestion_lock

    # The first job waits until the second request has been answered: on a small corpus it could
    # otherwise finish before the second request arrives, and then a second job is rightly accepted.
    release = threading.Event()
    real_ingest = ingestion.pipeline.ingest

    def held_ingest(*args: Any, **kwargs: Any) -> Any:
        release.wait(timeout=30)
        return real_ingest(*args, **kwargs)

    monkeypatch.setattr(ingestion.pipeline, "ingest", held_ingest)
    first = await client.post("/v1/admin/ingest", headers=AUTH)
    assert first.status_code == 202
    second = await client.post("/v1/admin/ingest", headers=AUTH)
    release.set()
    assert second.status_code == 409
    assert "en curso" in second.json()["error"]["message"]
    await wait_job(client, first.json()["job_id"])
    monkeypatch.setattr(ingestion.pipeline, "ingest", real_ingest)
    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    with ingestion_lock(settings):  # an ingestion from the CLI holds the lock
        job = await wait_job(client, (await client.post("/v1/admin/ingest", headers=AUTH)).json()["job_id"])
    assert job["status"] == "failed" and "en curso" in job["error"]


async def test_queries_keep_working_during_a_reingest(client: httpx.AsyncClient) -> None:
    versions = {(await client.get("/v1/index")).json()["active_version"]}
    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    (settings.corpus_dir / "pesca-b.md").write_text(DOC_B.replace("31 de marzo", "2 de abril"), "utf-8")
    job_id = (await client.post("/v1/admin/ingest", headers=AUTH)).json()["job_id"]
    seen = set()
    for _ in range(30):
        r = await client.post("/v1/ask", json={"question": "hasta cuando cierra la ventanilla"})
        assert r.status_code == 200
        seen.add(r.json()["index_version"])
    job = await wait_job(client, job_id)
    versions.add(job["report"]["version"])
    assert seen <= versions


async def test_readyz_health_metrics_and_page(tmp_path: Path) -> None:
    empty = make_settings(tmp_path / "empty")
    async with await client_for(empty) as c:
        r = await c.get("/readyz")
        assert r.status_code == 503 and "índice" in r.json()["error"]["message"]
        r = await c.post("/v1/ask", json={"question": "requisitos"})
        assert r.status_code == 503
    async with await client_for(app_settings(tmp_path / "full")) as c:
        assert (await c.get("/healthz")).json() == {"status": "ok"}
        ready = await c.get("/readyz")
        assert ready.status_code == 200 and ready.json()["state"] == "sqlite"
        await c.post("/v1/ask", json={"question": "requisitos de los solicitantes"})
        metrics = (await c.get("/metrics")).text
        assert 'campo_http_requests_total{method="POST",route="/v1/ask",status="200"} 1.0' in metrics
        assert "campo_answers_total" in metrics
        page = await c.get("/")
        assert page.status_code == 200 and "Campo" in page.text and "/v1/ask" in page.text


async def test_api_keys_and_rate_limit(tmp_path: Path) -> None:
    settings = app_settings(tmp_path).model_copy(
        update={"api_keys": "clave-1,clave-2", "rate_limit_per_minute": 3}
    )
    async with await client_for(settings) as c:
        assert (await c.post("/v1/ask", json={"question": "requisitos"})).status_code == 401
        ok = [
            await c.post("/v1/ask", json={"question": "requisitos"}, headers={"X-API-Key": "clave-2"})
            for _ in range(3)
        ]
        assert [r.status_code for r in ok] == [200, 200, 200]
        limited = await c.post("/v1/ask", json={"question": "requisitos"}, headers={"X-API-Key": "clave-2"})
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        assert "Demasiadas solicitudes" in limited.json()["error"]["message"]
        other = await c.post("/v1/ask", json={"question": "requisitos"}, headers={"X-API-Key": "clave-1"})
        assert other.status_code == 200


async def test_openapi_has_examples_for_every_route(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert {
        "/v1/ask",
        "/v1/search",
        "/v1/documents",
        "/v1/index",
        "/v1/admin/documents",
        "/v1/admin/rollback",
    } <= set(spec["paths"])
    ask = spec["components"]["schemas"]["AskRequest"]["properties"]["question"]
    assert ask["examples"]


async def test_readyz_reports_an_unreachable_redis_without_going_unready(tmp_path: Path) -> None:
    from tests.servers import free_port

    settings = app_settings(tmp_path).model_copy(
        update={"state_backend": "redis", "redis_url": SecretStr(f"redis://127.0.0.1:{free_port()}/0")}
    )
    async with await client_for(settings) as c:
        ready = await c.get("/readyz")
        assert ready.status_code == 200 and ready.json()["state"] == "redis-unreachable"
        answer = await c.post("/v1/ask", json={"question": "requisitos de los solicitantes"})
        assert answer.status_code == 200  # degraded (no follow-ups, no rate limit), still answering
