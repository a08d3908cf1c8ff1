"""Several API workers as on several machines: a real Chroma server, a real Redis, two uvicorn processes
sharing one data dir, and ingestion run from the command line while they serve.

What a user would notice: a conversation started on one worker continues on the other; the rate limit is
one limit, not one per worker; after `campo ingest` both workers answer from the new version without a
restart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis import Redis

from tests.servers import chroma_server, free_port, redis_server

pytestmark = pytest.mark.integration

QUERY_KEY, LIMIT_KEY = "clave-consultas-de-prueba-1", "clave-limite-de-prueba-2"
RATE_PER_MINUTE = 60

PESCA = """---
id: pesca-2014
title: Lineamientos de pesca 2014 (muestra)
short_title: Lineamientos de Pesca 2014
program: pesca
fiscal_year: 2014
---
# Capítulo I. Apoyo a pescadores

**Artículo 1.** Requisitos. Los pescadores deberán presentar permiso de pesca vigente y constancia de la
cooperativa.

**Artículo 2.** Monto. Monto del apoyo de pesca: {monto} pesos por pescador.
"""

TRASPATIO = """---
id: traspatio-2014
title: Reglas de traspatio 2014 (muestra)
short_title: Reglas de Traspatio 2014
program: traspatio
fiscal_year: 2014
---
# Capítulo I. Apoyo a huertos de traspatio

**Artículo 1.** Requisitos. Las familias deberán presentar comprobante de domicilio y croquis del huerto
familiar.

**Artículo 2.** Monto. Monto del apoyo para el huerto de traspatio: 5,000 pesos por familia.
"""


@dataclass
class Cluster:
    env: dict[str, str]
    root: Path
    workers: list[str]
    logs: list[Path]

    def ingest(self) -> dict[str, Any]:
        """`campo ingest` as an operator runs it, while the workers serve."""
        run = subprocess.run(
            [sys.executable, "-m", "campo.cli", "ingest", "--quiet", "--json"],
            env=self.env,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        report: dict[str, Any] = json.loads(run.stdout)
        return report

    def ask(self, worker: int, question: str, session: str | None = None, key: str = QUERY_KEY) -> Any:
        response = httpx.post(
            f"{self.workers[worker]}/v1/ask",
            json={"question": question, "session_id": session},
            headers={"X-API-Key": key},
            timeout=30,
        )
        assert response.status_code == 200, (response.status_code, response.text, self.log_tail())
        return response.json()

    def log_tail(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in self.logs)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, deadline: float) -> None:
    while True:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"API worker {url} did not become ready:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("cluster")
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "pesca.md").write_text(PESCA.format(monto="8,000"), "utf-8")
    (corpus / "traspatio.md").write_text(TRASPATIO, "utf-8")
    with redis_server(root / "redis") as redis_url, chroma_server(root / "chroma") as chroma_url:
        env = {
            **os.environ,
            "ANONYMIZED_TELEMETRY": "False",
            "CAMPO_DATA_DIR": str(root / "data"),  # on several machines: the same shared folder
            "CAMPO_CORPUS_DIR": str(corpus),
            "CAMPO_EMBEDDINGS": "fake",
            "CAMPO_ABSTAIN_THRESHOLD": "0.005",  # hashing embeddings (tests only)
            "CAMPO_CHROMA_URL": chroma_url,
            "CAMPO_STATE_BACKEND": "redis",
            "CAMPO_REDIS_URL": redis_url,
            "CAMPO_REDIS_PREFIX": "multi:",
            "CAMPO_API_KEYS": f"{QUERY_KEY},{LIMIT_KEY}",
            "CAMPO_RATE_LIMIT_PER_MINUTE": str(RATE_PER_MINUTE),
        }
        cluster = Cluster(env=env, root=root, workers=[], logs=[])
        assert cluster.ingest()["switched"] is True
        procs: list[subprocess.Popen[bytes]] = []
        try:
            for name in ("a", "b"):
                port = free_port()
                log = root / f"worker-{name}.log"
                procs.append(
                    subprocess.Popen(
                        [
                            *(sys.executable, "-m", "uvicorn", "--factory", "assistant.api.app:app_from_env"),
                            *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
                        ],
                        env=env,
                        cwd=root,
                        stdout=log.open("wb"),
                        stderr=subprocess.STDOUT,
                    )
                )
                cluster.workers.append(f"http://127.0.0.1:{port}")
                cluster.logs.append(log)
            deadline = time.monotonic() + 90
            for url, proc, log in zip(cluster.workers, procs, cluster.logs, strict=True):
                _wait_ready(url, proc, log, deadline)
            yield cluster
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)


def test_a_conversation_started_on_one_worker_continues_on_the_other(cluster: Cluster) -> None:
    for session, question, expected in [
        ("chat-pesca", "¿Qué requisitos piden a los pescadores?", "pesos por pescador"),
        ("chat-traspatio", "¿Qué requisitos piden para el huerto de traspatio?", "5,000 pesos por familia"),
    ]:
        first = cluster.ask(0, question, session)
        assert not first.get("abstained") and "Requisitos" in first["answer"]
        follow_up = cluster.ask(1, "¿y el monto?", session)  # worker B only knows the turn through Redis
        assert expected in follow_up["answer"], follow_up
    redis = Redis.from_url(cluster.env["CAMPO_REDIS_URL"], decode_responses=True)
    assert redis.llen("multi:session:chat-pesca") == 2 and redis.ttl("multi:session:chat-pesca") > 0
    assert not (cluster.root / "data" / "state.sqlite3").exists()  # nothing on the local disk


def test_the_rate_limit_is_one_limit_across_workers(cluster: Cluster) -> None:
    codes: list[tuple[int, int]] = []
    started = time.monotonic()
    for i in range(RATE_PER_MINUTE):  # twice the limit, alternating workers
        response = httpx.post(
            f"{cluster.workers[i % 2]}/v1/search",
            json={"query": "monto del apoyo"},
            headers={"X-API-Key": LIMIT_KEY},
            timeout=30,
        )
        codes.append((i % 2, response.status_code))
        response = httpx.post(
            f"{cluster.workers[(i + 1) % 2]}/v1/search",
            json={"query": "monto del apoyo"},
            headers={"X-API-Key": LIMIT_KEY},
            timeout=30,
        )
        codes.append(((i + 1) % 2, response.status_code))
    elapsed = time.monotonic() - started
    allowed = sum(code == 200 for _, code in codes)
    assert {code for _, code in codes} == {200, 429}
    refill = int(elapsed * RATE_PER_MINUTE / 60) + 1
    assert RATE_PER_MINUTE <= allowed <= RATE_PER_MINUTE + refill  # per-worker limits would allow 2x
    assert {worker for worker, code in codes if code == 429} == {0, 1}  # both workers refuse
    assert cluster.ask(0, "¿Qué requisitos piden a los pescadores?")  # other clients are not limited


def test_both_workers_serve_the_new_version_after_ingestion(cluster: Cluster) -> None:
    before = {httpx.get(f"{url}/readyz", timeout=5).json()["index_version"] for url in cluster.workers}
    assert len(before) == 1
    (cluster.root / "corpus" / "pesca.md").write_text(PESCA.format(monto="9,500"), "utf-8")
    report = cluster.ingest()
    assert report["switched"] is True and report["updated"] == ["pesca-2014"]
    new_version = report["version"]
    assert new_version not in before
    switched_at = time.monotonic()
    pending = {0, 1}
    while pending and time.monotonic() - switched_at < 5:
        for worker in sorted(pending):
            answer = cluster.ask(worker, "¿Cuál es el monto del apoyo de pesca?")
            if answer["index_version"] == new_version:
                assert "9,500 pesos por pescador" in answer["answer"], answer
                pending.discard(worker)
        time.sleep(0.2)
    assert not pending, f"workers {pending} still answer from the old version:\n{cluster.log_tail()}"
    for url in cluster.workers:
        assert httpx.get(f"{url}/readyz", timeout=5).json()["index_version"] == new_version
