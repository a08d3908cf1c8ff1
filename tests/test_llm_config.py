"""LLM settings that cannot work stop the start-up with a message that says what to fix, instead of a
silent extractive fallback on every question."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from assistant.core import Assistant
from assistant.embeddings import HashingEmbeddings
from assistant.llm import LLMConfigurationError
from assistant.sessions import MemorySessionStore
from tests.conftest import build_test_index, make_settings

BAD = [
    (
        {"llm_provider": "ollama", "llm_model": "qwen", "llm_base_url": "localhost:11434"},
        "CAMPO_LLM_BASE_URL",
    ),
    ({"llm_provider": "openai", "llm_model": "gpt"}, "CAMPO_LLM_API_KEY"),
    ({"llm_provider": "ollama", "llm_base_url": "http://127.0.0.1:11434"}, "CAMPO_LLM_MODEL"),
]


@pytest.mark.parametrize(("overrides", "setting"), BAD)
def test_the_core_refuses_llm_settings_that_cannot_work(
    tmp_path: Path, overrides: dict[str, Any], setting: str
) -> None:
    settings = make_settings(tmp_path, **overrides)
    build_test_index(settings)
    with pytest.raises(LLMConfigurationError) as refused:
        Assistant(settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())
    assert refused.value.user_message.startswith("Configuración del LLM inválida")
    assert setting in refused.value.user_message


def test_a_valid_llm_configuration_is_accepted_without_contacting_it(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, llm_provider="ollama", llm_model="qwen", llm_base_url="http://127.0.0.1:9"
    )
    build_test_index(settings)
    assistant = Assistant(settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())
    assert not assistant.ask("requisitos para pescadores").abstained  # unreachable LLM: extractive answer


def test_campo_serve_stops_at_start_up_with_a_clear_message(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CAMPO_DATA_DIR": str(tmp_path / "data"),
        "CAMPO_CORPUS_DIR": str(tmp_path / "corpus"),
        "CAMPO_EMBEDDINGS": "fake",
        "CAMPO_LLM_PROVIDER": "ollama",
        "CAMPO_LLM_MODEL": "qwen",
        "CAMPO_LLM_BASE_URL": "localhost:11434",
    }
    run = subprocess.run(
        [sys.executable, "-m", "campo.cli", "serve", "--port", "9"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1
    assert "Configuración del LLM inválida" in run.stderr and "CAMPO_LLM_BASE_URL" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "data" / "index").exists()  # refused before the first ingestion
