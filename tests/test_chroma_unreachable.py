"""When the Chroma server is down, users and staff hear that the document store is unreachable, not that
nobody has loaded any documents ("run campo ingest")."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from assistant.api.app import create_app
from assistant.core import Assistant
from assistant.embeddings import HashingEmbeddings
from assistant.errors import IndexUnavailable
from assistant.sessions import MemorySessionStore
from tests.conftest import build_test_index, make_settings
from tests.servers import chroma_server

pytestmark = pytest.mark.integration


async def test_a_stopped_chroma_server_is_reported_as_unreachable(tmp_path: Path) -> None:
    with chroma_server(tmp_path / "chroma-server") as url:
        settings = make_settings(tmp_path, chroma_url=url)
        build_test_index(settings)
        running = Assistant(settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())
        assert "8,000 pesos" in running.ask("monto del apoyo por pescador").text
    # The server is gone: a worker that was serving, and one that starts now.
    starting = Assistant(settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())
    for assistant in (running, starting):
        with pytest.raises(IndexUnavailable) as unreachable:
            assistant.ask("monto del apoyo por pescador")
        assert "Chroma" in unreachable.value.user_message
        assert "campo ingest" not in unreachable.value.user_message
    assert not starting.status().ready

    app = create_app(settings, starting)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://campo.test") as c:
        answer = await c.post("/v1/ask", json={"question": "monto del apoyo por pescador"})
        assert answer.status_code == 503
        assert answer.json()["error"]["code"] == "index_unavailable"
        assert "Chroma" in answer.json()["error"]["message"]
        assert (await c.get("/readyz")).status_code == 503
