"""The WhatsApp channel's parts: message shapes within the Cloud API's limits (checked by the fake's own
validator), the once-only claim shared by workers, and how `campo serve` mounts the webhook."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from assistant.eligibility import FACTS, EligibilityService, load_rules_dir
from assistant.eligibility.results import question_for
from assistant.ephemeral import make_ephemeral_store
from assistant.models import Answer, Citation
from assistant.redact import redact
from assistant.settings import Settings
from bot.eligibility_dialogue import AGAIN_ACTION, format_result, question_reply
from bot.render import Action, Reply, answer_reply
from bot.whatsapp.format import payloads, to_whatsapp
from bot.whatsapp.webhook import parse, signature, signature_ok
from campo.server import create_server_app
from tests.conftest import build_test_index, make_settings
from tests.fakes import graph_server as meta
from tests.fakes.graph_server import problems
from tests.servers import backend_overrides

ROOT = Path(__file__).resolve().parents[1]


def accepted(reply: Reply) -> list[dict[str, Any]]:
    """The reply's messages, each one checked as the Cloud API checks it."""
    out = []
    for payload in payloads(reply):
        message = {"messaging_product": "whatsapp", "to": "5215550000001", **payload}
        assert problems(message) == [], (problems(message), message)
        out.append(message)
    return out


def test_user_and_document_text_cannot_inject_whatsapp_formatting() -> None:
    hostile = Answer(
        text="Según *la regla* _art._ ~tachado~ `código` <b>x</b> & y",
        abstained=False,
        confidence=1,
        citations=[Citation(document_id="d", title="Reglas *2014*", section="Artículo 7", snippet="s")],
    )
    (message,) = accepted(answer_reply(hostile))
    text = message["interactive"]["body"]["text"]
    assert "∗la regla∗" in text and "＿art.＿" in text and "∼tachado∼" in text and "ˋcódigoˋ" in text
    assert "<b>x</b> & y" in text  # HTML-looking text is shown as typed, unescaped
    assert text.endswith("_📄 Reglas ∗2014∗, Art. 7_")  # our italics only, around the source
    assert (
        to_whatsapp("<b>Pregunta 1.</b> ¿Edad?\n<i>Escriba 35.</i>") == "*Pregunta 1.* ¿Edad?\n_Escriba 35._"
    )
    assert to_whatsapp("<b> dos\nlíneas </b>") == " *dos*\n*líneas* "  # markers never span lines


def test_long_texts_are_split_within_4096_characters() -> None:
    long = "\n\n".join(f"Párrafo {i}: " + "requisitos & montos < límites " * 20 for i in range(30))
    messages = accepted(Reply(long))
    assert len(messages) > 1 and all(len(m["text"]["body"]) <= 4096 for m in messages)
    with_buttons = accepted(Reply(long, (Action("src", "📄 Ver fuente"),)))
    assert with_buttons[-1]["interactive"]["body"]["text"] == "Elija una opción:"  # a body is ≤ 1,024


def test_buttons_and_lists_respect_counts_and_title_lengths() -> None:
    many = tuple(Action(f"o{i}", f"Opción número {i} con un nombre muy largo de verdad") for i in range(12))
    (listed,) = accepted(Reply("¿Cuál?", many, (Action("x", "❌ Cancelar"),), inline=False))
    rows = listed["interactive"]["action"]["sections"][0]["rows"]
    assert len(rows) == 10 and all(len(r["title"]) <= 24 for r in rows)
    assert rows[0]["description"] == "Opción número 0 con un nombre muy largo de verdad"
    (buttons,) = accepted(Reply("¿Sí?", (Action("a", "Sí, con toda seguridad, claro"), Action("b", "No"))))
    titles = [b["reply"]["title"] for b in buttons["interactive"]["action"]["buttons"]]
    assert len(titles[0]) <= 20 and titles[1] == "No"


def test_every_eligibility_question_and_a_full_result_fit_whatsapp() -> None:
    rules, errors = load_rules_dir(ROOT / "corpus" / "eligibility")
    assert errors == []
    for i, (key, spec) in enumerate(FACTS.items()):
        question = question_for(key)
        messages = accepted(question_reply(question, i + 1))
        if spec.kind == "yes_no":
            assert messages[-1]["interactive"]["type"] == "button"
    result = EligibilityService(rules).evaluate(
        {"tipo_solicitante": "persona_fisica", "actividad": "pesquera"}
    )
    texts = format_result(result)
    for text in texts[:-1]:
        accepted(Reply(text))
    accepted(Reply(texts[-1], (AGAIN_ACTION,)))


def test_signature_and_notification_parsing() -> None:
    body = b'{"object":"whatsapp_business_account"}'
    assert signature_ok("s3cret", body, signature("s3cret", body))
    assert not signature_ok("s3cret", body, signature("other", body))
    assert not signature_ok("", body, signature("", body))  # no secret configured: nothing verifies
    messages, statuses = parse(meta.text("5215550000001", "hola", wamid="wamid.1"), meta.PHONE_ID)
    assert [(m.message_id, m.kind, m.text) for m in messages] == [("wamid.1", "text", "hola")]
    assert statuses == 0
    assert parse(meta.status("5215550000001"), meta.PHONE_ID) == ([], 1)
    assert parse(meta.text("5215550000001", "hola"), "another-number") == ([], 0)
    assert parse({"object": "page"}, meta.PHONE_ID) == ([], 0)


def test_whatsapp_numbers_are_redacted_from_logs() -> None:
    assert redact("sent to 5215551110001") == "sent to [TELÉFONO]"
    assert redact("from +14155550123.") == "from [TELÉFONO]."
    assert redact("Art. 5215 y 2014") == "Art. 5215 y 2014"


# --- Once-only claims shared by workers ------------------------------------------------------------


@pytest.fixture(params=["sqlite", "redis"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", corpus_dir=tmp_path, **backend_overrides(request))


@pytest.mark.integration
def test_a_message_id_is_claimed_by_exactly_one_of_many_workers(state: Settings) -> None:
    stores = [make_ephemeral_store(state, "whatsapp") for _ in range(4)]  # one connection each
    with ThreadPoolExecutor(max_workers=8) as pool:
        wins = list(pool.map(lambda i: stores[i % 4].claim("msg:wamid.X", 60), range(16)))
    assert wins.count(True) == 1
    assert stores[0].claim("msg:wamid.Y", 60) and not stores[3].claim("msg:wamid.Y", 60)
    assert make_ephemeral_store(state, "other").claim("msg:wamid.X", 60)  # scopes do not collide


@pytest.mark.integration
def test_state_is_shared_and_expires(state: Settings) -> None:
    one, two = make_ephemeral_store(state, "whatsapp"), make_ephemeral_store(state, "whatsapp")
    one.put("elg:a", '{"x": 1}', 60)
    assert two.get("elg:a") == '{"x": 1}'
    two.delete("elg:a")
    assert one.get("elg:a") is None
    one.put("elg:b", "v", 0.2)
    assert one.claim("msg:short", 0.2)
    time.sleep(0.3)
    assert two.get("elg:b") is None
    assert two.claim("msg:short", 60)  # an expired claim can be taken again


# --- Mounted by `campo serve` --------------------------------------------------------------------


async def test_campo_serve_mounts_the_webhook_only_when_configured(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(tmp_path)
    build_test_index(settings)
    params = {"hub.mode": "subscribe", "hub.verify_token": "v" * 20, "hub.challenge": "42"}

    async def get(app_settings: Settings) -> httpx.Response:
        app = create_server_app(app_settings)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://campo.test") as client:
            return await client.get("/v1/whatsapp/webhook", params=params)

    assert (await get(settings)).status_code == 404
    caplog.set_level(logging.WARNING)
    half = settings.model_copy(update={"whatsapp_token": SecretStr("t"), "whatsapp_phone_id": "1"})
    assert (await get(half)).status_code == 404
    assert "CAMPO_WHATSAPP_APP_SECRET" in caplog.text
    full = settings.model_copy(
        update={
            "whatsapp_token": SecretStr("t"),
            "whatsapp_phone_id": "1",
            "whatsapp_app_secret": SecretStr("s"),
            "whatsapp_verify_token": SecretStr("v" * 20),
        }
    )
    response = await get(full)
    assert response.status_code == 200 and response.text == "42"
