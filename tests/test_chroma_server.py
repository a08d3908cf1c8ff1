"""The same index and answers against a real Chroma server (`chroma run`) instead of embedded Chroma."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.core import Assistant
from assistant.embeddings import HashingEmbeddings
from assistant.sessions import MemorySessionStore
from tests.conftest import build_test_index, make_settings
from tests.servers import chroma_server


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with chroma_server(tmp_path_factory.mktemp("chroma-server")) as url:
        yield url


def test_index_and_answer_through_a_chroma_server(tmp_path: Path, chroma_url: str) -> None:
    settings = make_settings(tmp_path, chroma_url=chroma_url)
    version = build_test_index(settings)
    assert not (settings.index_dir / "chroma").exists()  # nothing embedded on disk: the server holds it
    assistant = Assistant(settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())
    answer = assistant.ask("monto del apoyo por pescador")
    assert answer.index_version == version
    assert "8,000 pesos" in answer.text
    # A second reader (another worker) sees the same active version.
    other = Assistant(settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())
    assert other.ask("monto del apoyo por pescador").index_version == version
