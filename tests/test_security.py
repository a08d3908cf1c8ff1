"""Secrets, admin auth and personal data: what the other test files do not already check.

Already covered elsewhere: admin routes absent without a token and a wrong token → 401
(tests/test_api.py), CURP redacted in stored feedback, its CSV export and the bot's error log
(tests/test_bot.py).
"""

from __future__ import annotations

import csv
import hmac
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from assistant.api.app import create_app
from assistant.core import Assistant
from assistant.embeddings import HashingEmbeddings
from assistant.feedback import FeedbackStore, export_feedback
from assistant.redact import redact
from assistant.sessions import MemorySessionStore
from assistant.settings import Settings
from tests.conftest import build_test_index, make_settings
from tests.fakes.openai_server import FakeOpenAIServer, FakeReply

ROOT = Path(__file__).resolve().parents[1]
ADMIN = "adm-9f3c1e7b2d8a4f6e0c5b1a3d7e9f2c4b"
API_KEY = "key-4b8e2f6a1c9d3e7f5a0b2c4d6e8f1a3c"
LLM_KEY = "sk-llm-7d2e9a4c1f6b3e8d0a5c2f7b9e1d4a6c"
BOT_TOKEN = "987654:AAH-bot-secret-0f1e2d3c4b5a69788796"
CHROMA_TOKEN = "chroma-secret-6a5b4c3d2e1f0a9b8c7d"
SECRETS = (ADMIN, API_KEY, LLM_KEY, BOT_TOKEN, CHROMA_TOKEN)

# Real-looking personal data (invented): CURP, RFC (persona física and moral), phones, e-mail.
CURP = "GOMJ850101HDFRRN09"
RFC = "GODE561231GR8"
RFC_MORAL = "ABC010203XY1"
PHONES = ("+52 55 1234 5678", "(55) 1234-5678", "5512345678")
EMAIL = "juana.perez@correo.com.mx"
PERSONAL = (CURP, RFC, RFC_MORAL, *PHONES, EMAIL)


@pytest.fixture
def llm() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as srv:
        yield srv


def secure_settings(tmp_path: Path, llm: FakeOpenAIServer | None = None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "admin_token": ADMIN,
        "api_keys": f"{API_KEY},otra-clave-de-personal-0123456789",
        "telegram_bot_token": BOT_TOKEN,
        "chroma_auth_token": CHROMA_TOKEN,
        "llm_api_key": LLM_KEY,
        "environment": "production",
    }
    if llm is not None:
        values.update(
            llm_provider="openai", llm_base_url=llm.base_url, llm_model="fake", llm_timeout_seconds=2.0
        )
    values.update(overrides)
    settings = make_settings(tmp_path, **values)
    build_test_index(settings)
    return settings


async def client_for(settings: Settings) -> httpx.AsyncClient:
    assistant = Assistant(settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())
    app = create_app(settings, assistant, embeddings=HashingEmbeddings())
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://campo.test"
    )


@pytest.fixture
async def client(tmp_path: Path, llm: FakeOpenAIServer) -> AsyncIterator[httpx.AsyncClient]:
    async with await client_for(secure_settings(tmp_path, llm)) as c:
        yield c


# --- Admin auth ----------------------------------------------------------------------------------------


async def test_tokens_and_api_keys_are_compared_in_constant_time(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    r = await client.post("/v1/admin/rollback", headers={"Authorization": "Bearer casi"}, json={})
    assert r.status_code == 401
    assert (b"casi", ADMIN.encode()) in compared
    r = await client.post("/v1/ask", json={"question": "requisitos"}, headers={"X-API-Key": "mala"})
    assert r.status_code == 401
    assert (b"mala", API_KEY.encode()) in compared


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Bearer",
        "Bearer ",
        f"bearer {ADMIN[:-1]}",
        f"Bearer {ADMIN} ",
        f"Basic {ADMIN}",
        f"Bearer {ADMIN}x",
        "Bearer ñandú-" + "x" * 5000,
    ],
)
async def test_wrong_admin_credentials_get_401_in_spanish(
    client: httpx.AsyncClient, authorization: str
) -> None:
    headers = {"Authorization": authorization.encode("utf-8")} if authorization else {}
    r = await client.post("/v1/admin/ingest", headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["message"] == "Token de administración inválido."
    assert r.headers["www-authenticate"] == "Bearer"


async def test_without_the_token_an_admin_route_never_reads_the_body(client: httpx.AsyncClient) -> None:
    """401 before parsing: no upload is spooled, no schema detail is revealed to an anonymous client."""
    consumed = [0]

    async def huge() -> AsyncIterator[bytes]:
        yield b'--x\r\nContent-Disposition: form-data; name="files"; filename="a.md"\r\n\r\n'
        for _ in range(400):  # 25 MB, if anyone read it
            consumed[0] += 1
            yield b"a" * 65536

    r = await client.post(
        "/v1/admin/documents", content=huge(), headers={"content-type": "multipart/form-data; boundary=x"}
    )
    assert r.status_code == 401 and consumed[0] <= 1
    r = await client.post(
        "/v1/admin/rollback", content=b"{no es json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 401 and "revise" not in r.text


# --- Settings -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token", ["changeme", "admin", "secret", "token", "CHANGEME", "x" * 23, "corto-123", "password"]
)
def test_production_refuses_a_placeholder_or_short_admin_token(tmp_path: Path, token: str) -> None:
    with pytest.raises(ValidationError) as exc:
        make_settings(tmp_path, environment="production", admin_token=token, llm_api_key=LLM_KEY)
    text = str(exc.value)
    assert "CAMPO_ADMIN_TOKEN" in text and "24" in text
    assert "input_value" not in text and LLM_KEY not in text  # the input is not echoed
    # Only an explicit development setting lets it through (and an empty token means no admin routes).
    assert make_settings(tmp_path, environment="development", admin_token=token).admin_token
    assert make_settings(tmp_path, environment="production", admin_token=ADMIN).environment == "production"
    assert (
        make_settings(tmp_path, environment="production", admin_token="").admin_token.get_secret_value() == ""
    )


def test_invalid_settings_at_start_up_print_no_secret(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CAMPO_DATA_DIR": str(tmp_path / "data"),
        "CAMPO_ENVIRONMENT": "production",
        "CAMPO_ADMIN_TOKEN": "changeme",
        "CAMPO_API_KEYS": API_KEY,
        "CAMPO_LLM_API_KEY": LLM_KEY,
        "CAMPO_CHROMA_AUTH_TOKEN": CHROMA_TOKEN,
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "CAMPO_PORT": "no-es-un-puerto",
    }
    run = subprocess.run(
        [sys.executable, "-m", "campo.cli", "index", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert run.returncode == 2
    assert "Configuración inválida" in run.stderr and "port" in run.stderr
    for secret in (*SECRETS, "changeme", "no-es-un-puerto"):
        assert secret not in run.stdout + run.stderr, secret


def test_settings_repr_hides_secrets(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, admin_token=ADMIN, llm_api_key=LLM_KEY, telegram_bot_token=BOT_TOKEN)
    shown = repr(settings) + str(settings) + settings.model_dump_json()
    for secret in (ADMIN, LLM_KEY, BOT_TOKEN):
        assert secret not in shown


# --- No secret and no personal data in logs or error responses ------------------------------------------


async def test_no_secret_in_logs_or_responses_while_things_go_wrong(
    tmp_path: Path, llm: FakeOpenAIServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = secure_settings(tmp_path, llm)
    llm.enqueue(FakeReply(status=500), FakeReply(raw_body=b'{"choices": [{"mes'), FakeReply(delay=5))
    key = {"X-API-Key": API_KEY}
    bodies: list[str] = []
    async with await client_for(settings) as c:
        calls = [
            c.post("/v1/ask", json={"question": "requisitos para cadenas de valor"}, headers=key),
            c.post("/v1/ask", json={"question": "monto del apoyo por pescador"}, headers=key),
            c.post("/v1/ask", json={"question": "ventanillas de cadenas de valor"}, headers=key),
            c.post("/v1/ask", json={"question": "requisitos"}, headers={"X-API-Key": API_KEY[:-1]}),
            c.post(
                "/v1/ask", content=b"\xff\xfe no es json", headers={**key, "content-type": "application/json"}
            ),
            c.post(
                "/v1/admin/rollback",
                json={"version": "no-existe"},
                headers={"Authorization": f"Bearer {ADMIN}"},
            ),
            c.post("/v1/admin/rollback", json={}, headers={"Authorization": f"Bearer {ADMIN[:-2]}"}),
            c.get("/metrics"),
            c.get("/openapi.json"),
        ]
        for call in calls:
            r = await call
            assert r.status_code < 500, r.text
            bodies.append(r.text + str(dict(r.headers)))

        def explode(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(f"database at postgres://campo:{LLM_KEY}@db failed")  # a careless message

        monkeypatch.setattr(c._transport.app.state.assistant, "ask", explode)  # type: ignore[attr-defined]
        r = await c.post("/v1/ask", json={"question": "requisitos"}, headers=key)
        assert r.status_code == 500
        assert r.json()["error"]["message"] == "Ocurrió un error interno. Intente de nuevo en unos minutos."
        bodies.append(r.text + str(dict(r.headers)))
    # The LLM key really was used (so its absence from the logs means something).
    assert llm.requests and llm.requests[0].headers["authorization"] == f"Bearer {LLM_KEY}"
    assert "LLM fallback" in caplog.text
    for secret in SECRETS:
        assert all(secret not in body for body in bodies), secret
    for secret in (ADMIN, API_KEY, BOT_TOKEN, CHROMA_TOKEN):
        assert secret not in caplog.text, secret
    # Known limit: a traceback carries its exception's message; code must not put secrets there.
    assert "unhandled error on /v1/ask" in caplog.text


# The LLM fallback log shows the first 60 characters of the question: the data must be in them.
QUESTION_WITH_DATA = f"{CURP} {EMAIL} requisitos rfc {RFC} tel {PHONES[0]}"


async def test_personal_data_is_redacted_from_http_logs_and_log_files(
    tmp_path: Path, llm: FakeOpenAIServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO)
    log_file = tmp_path / "campo.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    logging.getLogger().addHandler(handler)
    try:
        llm.enqueue(FakeReply(status=500))  # the fallback log names the question
        async with await client_for(secure_settings(tmp_path, llm, abstain_threshold=-10.0)) as c:
            r = await c.post("/v1/ask", json={"question": QUESTION_WITH_DATA}, headers={"X-API-Key": API_KEY})
            assert r.status_code == 200

            def explode(*args: Any, **kwargs: Any) -> Any:
                raise ValueError(f"no pude con {CURP} y {EMAIL}")

            monkeypatch.setattr(c._transport.app.state.assistant, "ask", explode)  # type: ignore[attr-defined]
            r = await c.post("/v1/ask", json={"question": QUESTION_WITH_DATA}, headers={"X-API-Key": API_KEY})
            assert r.status_code == 500
            assert not any(p in r.text for p in PERSONAL)
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    written = log_file.read_text("utf-8")
    for text in (caplog.text, written):
        assert "LLM fallback" in text and "[CURP]" in text and "[CORREO]" in text
        assert "unhandled error" in text and "ValueError" in text
        leaked = [p for p in PERSONAL if p in text]
        assert not leaked, leaked


def test_feedback_and_export_redact_rfc_phones_and_email(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    store = FeedbackStore(settings.state_db)
    store.record(
        555, "abstained", QUESTION_WITH_DATA + f" {RFC_MORAL} {PHONES[1]} {PHONES[2]}", "No lo encontré."
    )
    store.record(555, "vote", "¿y mi RFC?", f"Su RFC {RFC} y su correo {EMAIL}", vote=-1)
    stored = str(store.rows())
    out = tmp_path / "feedback.csv"
    assert export_feedback(settings, str(out)) == 2
    exported = out.read_text("utf-8")
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert "[RFC]" in rows[1]["answer"] and "[TELÉFONO]" in rows[0]["question"]
    for text in (stored, exported):
        leaked = [p for p in PERSONAL if p in text]
        assert not leaked, leaked
    assert "555" not in {r["chat"] for r in rows}  # the chat id is hashed


def test_phone_written_in_pairs_is_redacted() -> None:
    assert "12 34 56 78" not in redact("mi cel es 55 12 34 56 78")
    assert redact("+52 55 1234 5678 o 5512-345678") == "[TELÉFONO] o [TELÉFONO]"
    # figures of the rules stay
    text = "8,000 pesos; 1,500,000 pesos; del 15 de enero al 31 de marzo de 2014; 35,106 pescadores"
    assert redact(text) == text


def test_chat_pseudonyms_are_keyed_per_deployment(tmp_path: Path) -> None:
    """Telegram chat ids are short numbers: an unkeyed hash could be reversed by trying them all."""
    import hashlib

    from assistant.state import make_feedback_store

    first = make_settings(tmp_path / "a", state_backend="sqlite")
    again = make_feedback_store(first).chat_hash(123456789)
    assert make_feedback_store(first).chat_hash(123456789) == again  # stable: the key is kept
    assert (first.data_dir / "pseudonym.key").stat().st_mode & 0o077 == 0  # owner-only
    other = make_feedback_store(make_settings(tmp_path / "b", state_backend="sqlite"))
    assert other.chat_hash(123456789) != again  # another deployment, another key
    for salt in ("", "campo"):
        assert hashlib.sha256(f"{salt}:123456789".encode()).hexdigest()[:16] != again
    shared = make_settings(tmp_path / "c", state_backend="sqlite", pseudonym_secret="k" * 32)
    assert make_feedback_store(shared).chat_hash(1) == make_feedback_store(
        make_settings(tmp_path / "d", state_backend="sqlite", pseudonym_secret="k" * 32)
    ).chat_hash(1)  # the configured key gives the same pseudonym on every machine
