"""The review loop over HTTP: an abstention reaches the staff's queue (grouped with its near-duplicates),
staff answer it with citations, the answer is published as a new index version and served to the next
producer who asks the same; bad answers are a clear 422 and nothing is written; rollback undoes it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import yaml

from assistant.embeddings import HashingEmbeddings
from assistant.reviewed import REVIEWED_FILE
from ingestion.pipeline import ingest
from tests.conftest import make_settings
from tests.test_api import AUTH, app_settings, client_for, wait_job
from tests.test_ingestion import write_corpus

OFF_TOPIC = "¿Hay seguro contra granizo para mis magueyes?"
STAFF = {**AUTH, "X-Reviewer": quote("Lucía Pérez")}  # percent-encoded: headers are ASCII


@pytest.fixture
async def client(tmp_path: Path):  # type: ignore[no-untyped-def]
    async with await client_for(app_settings(tmp_path)) as c:
        yield c


async def _queue(client: httpx.AsyncClient, status: str = "pending") -> dict:  # type: ignore[type-arg]
    r = await client.get("/v1/review", params={"status": status}, headers=AUTH)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_review_routes_need_the_admin_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/review")).status_code == 401
    bad = {"Authorization": "Bearer " + "x" * 32}
    assert (await client.get("/v1/review", headers=bad)).status_code == 401
    r = await client.post("/v1/review/abc/dismiss", json={})
    assert r.status_code == 401


async def test_an_abstention_is_queued_redacted_and_grouped_with_its_near_duplicates(
    client: httpx.AsyncClient,
) -> None:
    first = (
        await client.post("/v1/ask", json={"question": OFF_TOPIC + " Mi CURP es GOMC800101HDFRRR09"})
    ).json()
    assert first["abstained"] and first["reviewed"] is False
    await client.post("/v1/ask", json={"question": OFF_TOPIC + " Mi CURP es GOMC800101HDFRRR09"})
    await client.post("/v1/ask", json={"question": "cuanto es el apoyo por pescador"})  # answered: not queued
    queue = await _queue(client)
    assert queue["total"] == 1
    item = queue["items"][0]
    assert item["count"] == 2 and item["reason"] == "abstained" and item["channel"] == "http"
    assert "GOMC800101" not in item["question"] and "[CURP]" in item["question"]
    assert queue["stats"]["pending"] == 1 and queue["stats"]["pending_questions"] == 2


async def test_bad_answers_are_a_clear_422_and_nothing_is_written(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await client.post("/v1/ask", json={"question": OFF_TOPIC})
    item = (await _queue(client))["items"][0]
    url = f"/v1/review/{item['id']}/answer"
    cite = [{"document_id": "reglas-a-2014", "section": "Artículo 2"}]
    huge = await client.post(url, json={"answer": "a" * 1_000_000, "citations": cite}, headers=AUTH)
    assert huge.status_code == 422 and huge.json()["error"]["code"] == "answer_too_long"
    missing = await client.post(
        url, json={"answer": "Sí.", "citations": [{"document_id": "no-existe", "section": ""}]}, headers=AUTH
    )
    assert missing.status_code == 422 and "no-existe" in missing.json()["error"]["message"]
    no_section = await client.post(
        url,
        json={"answer": "Sí.", "citations": [{"document_id": "reglas-a-2014", "section": "Artículo 99"}]},
        headers=AUTH,
    )
    assert no_section.status_code == 422 and no_section.json()["error"]["code"] == "invalid_citation"
    html = await client.post(url, json={"answer": "<script>x</script>", "citations": cite}, headers=AUTH)
    assert html.status_code == 422
    assert not (tmp_path / "corpus" / REVIEWED_FILE).exists()
    assert (await _queue(client))["items"][0]["status"] == "pending"
    assert (
        await client.post("/v1/review/ffff/answer", json={"answer": "x", "citations": cite}, headers=AUTH)
    ).status_code == 404


async def test_staff_answer_is_published_served_to_paraphrases_and_rolled_back(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await client.post("/v1/ask", json={"question": OFF_TOPIC})
    item = (await _queue(client))["items"][0]
    body = {
        "answer": "No. Estas reglas no cubren seguros agrícolas; pregunte en la ventanilla por el seguro catastrófico.",
        "citations": [{"document_id": "reglas-a-2014", "section": "Artículo 1"}],
        "question_variants": ["¿me aseguran el maguey si cae granizo?"],
    }
    r = await client.post(f"/v1/review/{item['id']}/answer", json=body, headers=STAFF)
    assert r.status_code == 202, r.text
    job = await wait_job(client, r.json()["job_id"])
    assert job["status"] == "succeeded", job
    stored = yaml.safe_load((tmp_path / "corpus" / REVIEWED_FILE).read_text("utf-8"))
    assert stored[0]["reviewer"] == "Lucía Pérez" and stored[0]["fiscal_year"] == 2014

    for question in (OFF_TOPIC, "¿me aseguran el maguey si cae granizo?"):
        answer = (await client.post("/v1/ask", json={"question": question})).json()
        assert answer["reviewed"] is True and not answer["abstained"]
        assert answer["answer"].startswith("Respuesta revisada por el personal del programa (")
        assert dt.date.today().strftime("%d/%m/%Y") in answer["answer"]
        assert answer["citations"][0]["document_id"] == "reglas-a-2014"
        assert "Artículo 1" in answer["citations"][0]["section"]
    unrelated = (await client.post("/v1/ask", json={"question": "cuanto es el apoyo por pescador"})).json()
    assert unrelated["reviewed"] is False and "8,000" in unrelated["answer"]

    answered = (await _queue(client, "answered"))["items"][0]
    assert answered["review"]["entry_id"] == f"r{item['id']}" and answered["review"]["by"] == "Lucía Pérez"
    audit = (await client.get("/v1/review/audit", headers=AUTH)).json()["records"]
    assert audit[0]["action"] == "answer" and audit[0]["actor"] == "Lucía Pérez"
    metrics = (await client.get("/metrics")).text
    assert "campo_review_answered_items 1.0" in metrics and "campo_review_queue_items 0.0" in metrics

    rolled = await client.post("/v1/admin/rollback", json={}, headers=AUTH)
    assert rolled.status_code == 200
    again = (await client.post("/v1/ask", json={"question": OFF_TOPIC})).json()
    assert again["reviewed"] is False and again["abstained"]


async def test_dismiss_and_downvote(client: httpx.AsyncClient) -> None:
    await client.post("/v1/ask", json={"question": OFF_TOPIC})
    item = (await _queue(client))["items"][0]
    r = await client.post(
        f"/v1/review/{item['id']}/dismiss", json={"reason": "fuera de los programas"}, headers=STAFF
    )
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    assert (await _queue(client))["total"] == 0
    cite = [{"document_id": "reglas-a-2014", "section": "Artículo 2"}]
    r = await client.post(
        f"/v1/review/{item['id']}/answer", json={"answer": "x", "citations": cite}, headers=AUTH
    )
    assert r.status_code == 409
    vote = await client.post(
        "/v1/feedback",
        json={"question": "¿que papeles piden?", "answer": "Según Reglas A…", "vote": -1},
    )
    assert vote.status_code == 202 and vote.json()["review_item"]
    pending = (await _queue(client))["items"]
    assert [i["reason"] for i in pending] == ["downvoted"]
    up = await client.post("/v1/feedback", json={"question": "x", "answer": "y", "vote": 1})
    assert up.status_code == 202 and up.json()["review_item"] is None


def _entry(entry_id: str, **extra: object) -> dict[str, object]:
    return {
        "id": entry_id,
        "question": f"pregunta revisada {entry_id} sobre granizo",
        "answer": "Respuesta del personal.",
        "citations": [{"document_id": "reglas-a-2014", "section": "Artículo 2"}],
        "date": "2026-11-01",
        **extra,
    }


def test_ingestion_validates_reviewed_answers_like_eligibility_rules(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    write_corpus(settings.corpus_dir)
    entries = [
        _entry("ok"),
        _entry("missing-doc", citations=[{"document_id": "no-existe", "section": ""}]),
        _entry("html", answer="<b>hola</b>"),
        _entry("long", answer="x" * 5000),
        _entry("old", expires="2020-01-01"),
        _entry("replaced"),
        _entry("newer", supersedes=["replaced"]),
        _entry("other-year", fiscal_year=2016),
        _entry("changed-rule", rule_hashes={"reglas-a-2014": "0" * 64}),
    ]
    (settings.corpus_dir / REVIEWED_FILE).write_text(yaml.safe_dump(entries, allow_unicode=True), "utf-8")
    report = ingest(settings, embeddings=HashingEmbeddings())
    failed = " ".join(reason for _, reason in report.failed)
    assert "missing-doc" in failed and "no-existe" in failed
    assert "html" in failed and "HTML" in failed and "long" in failed
    notes = " ".join(report.notes)
    for entry_id in ("old", "replaced", "other-year", "changed-rule"):
        assert entry_id in notes
    from assistant.versions import read_active, read_manifest

    manifest = read_manifest(settings.index_dir, read_active(settings.index_dir) or "")
    assert manifest["reviewed"]["entries"] == ["ok", "newer"]
    # Re-ingesting the same file changes nothing; removing a document keeps the entries that still hold.
    assert not ingest(settings, embeddings=HashingEmbeddings()).switched
