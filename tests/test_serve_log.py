"""`campo serve` as `make run` starts it: a real process on a fresh data dir, requests over HTTP, and a log
an operator can read (no "--- Logging error ---", no traceback per request) with personal data redacted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import free_port

pytestmark = pytest.mark.integration

CURP = "GODE561231HDFRRN09"
PHONE = "5512345678"

RULES = """---
id: pesca-2014
title: Lineamientos de pesca 2014 (muestra)
program: pesca
fiscal_year: 2014
---
# Capítulo I. Apoyo a pescadores

**Artículo 1.** Requisitos. Los pescadores deberán presentar permiso de pesca vigente y constancia de la
cooperativa.
"""


def test_campo_serve_logs_every_request_cleanly_and_redacted(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "pesca.md").write_text(RULES, "utf-8")
    env = {
        **os.environ,
        "ANONYMIZED_TELEMETRY": "False",
        "CAMPO_DATA_DIR": str(tmp_path / "data"),  # empty: `campo serve` ingests the corpus first
        "CAMPO_CORPUS_DIR": str(corpus),
        "CAMPO_EMBEDDINGS": "fake",
        "CAMPO_ABSTAIN_THRESHOLD": "0.005",  # hashing embeddings (tests only)
        "CAMPO_LOG_LEVEL": "INFO",
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "campo.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("campo serve did not become ready:\n" + log_path.read_text(errors="replace"))
                time.sleep(0.2)
            with httpx.Client(base_url=base, timeout=30) as client:
                assert client.get("/healthz").status_code == 200
                answer = client.post("/v1/ask", json={"question": "requisitos para pescadores"})
                assert answer.status_code == 200 and not answer.json()["abstained"]
                # Personal data in the request line reaches uvicorn's access log, which must redact it.
                assert client.get("/v1/documents", params={"folio": CURP}).status_code == 200
                assert client.get(f"/no-existe/{PHONE}").status_code == 404
        finally:
            proc.send_signal(signal.SIGINT)  # as Ctrl+C after `make run`
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
    text = log_path.read_text("utf-8", errors="replace")
    assert "Logging error" not in text, text
    assert "Traceback" not in text, text
    assert "Uvicorn running on" in text
    assert '"GET /healthz HTTP/1.1" 200' in text  # the access log works
    assert '"POST /v1/ask HTTP/1.1" 200' in text
    assert "folio=[CURP]" in text and "/no-existe/[TELÉFONO]" in text, text
    assert CURP not in text and PHONE not in text
