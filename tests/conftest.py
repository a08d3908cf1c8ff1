"""Shared fixtures: settings in tmp_path and a real index built from small test documents."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assistant.core import Assistant
from assistant.embeddings import HashingEmbeddings
from assistant.sessions import MemorySessionStore
from assistant.settings import Settings

# A tiny rules corpus as pre-split chunks (section, text): enough for retrieval, answers and filters.
TEST_RECORDS: list[dict[str, Any]] = [
    {
        "document_id": "reglas-prueba-2014",
        "title": "Reglas de Operación de prueba 2014",
        "short_title": "Reglas de Operación 2014",
        "program": "pidr",
        "component": "cadenas-valor",
        "fiscal_year": 2014,
        "chunks": [
            (
                "Capítulo II > Artículo 8",
                "Artículo 8. Requisitos. Los solicitantes deberán presentar:\n"
                "I. Identificación oficial vigente;\nII. Comprobante de domicilio;\n"
                "III. Documento que acredite la posesión de la tierra.",
            ),
            (
                "Capítulo II > Artículo 9",
                "Artículo 9. Superficie. Podrán participar productores con una "
                "superficie máxima de 20 hectáreas (cifra ilustrativa). Los grupos deberán tener al menos cinco "
                "integrantes.",
            ),
            (
                "Capítulo III > Artículo 12",
                "Artículo 12. Ventanillas. Las ventanillas abrirán del 1 de febrero "
                "al 31 de marzo (fecha ilustrativa). Cada solicitud recibe un folio de seguimiento.",
            ),
        ],
    },
    {
        "document_id": "pesca-prueba-2014",
        "title": "Lineamientos de pesca de prueba 2014",
        "short_title": "Lineamientos de Pesca 2014",
        "program": "pesca",
        "component": "propesca",
        "fiscal_year": 2014,
        "chunks": [
            (
                "Artículo 5",
                "Artículo 5. Requisitos para pescadores. Los pescadores deberán presentar:\n"
                "I. Permiso de pesca vigente;\nII. Constancia de la cooperativa;\nIII. Identificación oficial.",
            ),
            (
                "Artículo 6",
                "Artículo 6. Monto. El apoyo es de 8,000 pesos por pescador, previo curso de "
                "capacitación de tres a cinco días.",
            ),
        ],
    },
    {
        "document_id": "empleo-prueba-2016",
        "title": "Programa de Apoyo al Empleo de prueba 2016",
        "short_title": "Programa de Apoyo al Empleo 2016",
        "program": "stps",
        "component": "pae",
        "fiscal_year": 2016,
        "chunks": [
            (
                "Artículo 3",
                "Artículo 3. Movilidad laboral. Pueden participar jornaleros agrícolas de 20 a 69 "
                "años de edad con escolaridad máxima de secundaria.",
            ),
        ],
    },
]


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "corpus_dir": tmp_path / "corpus",
        "embeddings": "fake",
        "session_backend": "memory",
        "abstain_threshold": 0.005,  # hashing embeddings: off-topic questions score 0
    }
    values.update(overrides)
    return Settings(**values)


def build_test_index(
    settings: Settings, records: list[dict[str, Any]] | None = None, embeddings: Any = None
) -> str:
    """Write TEST_RECORDS (or ``records``) as a real index version (real Chroma, real BM25)."""
    flat: list[dict[str, Any]] = []
    for doc in records or TEST_RECORDS:
        for i, (section, text) in enumerate(doc["chunks"]):
            meta = {k: v for k, v in doc.items() if k != "chunks"}
            flat.append(dict(meta, document_id=doc["document_id"], section=section, text=text, part=i))
    from ingestion.pipeline import build_records_version

    lexicon = (Path(__file__).resolve().parent.parent / "corpus" / "lexicon.yaml").read_text("utf-8")
    return build_records_version(settings, flat, embeddings or HashingEmbeddings(), lexicon=lexicon)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def assistant(settings: Settings) -> Assistant:
    build_test_index(settings)
    return Assistant(settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())


@pytest.fixture
def assistant_factory(tmp_path: Path) -> Callable[..., Assistant]:
    def factory(**overrides: Any) -> Assistant:
        s = make_settings(tmp_path, **overrides)
        build_test_index(s)
        return Assistant(s, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())

    return factory


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis server for the module (skips when Redis is not installed); see tests.servers.backend_overrides."""
    from tests.servers import redis_server

    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


def ask_which_program_first(assistant: Assistant, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The next question abstains with "¿de cuál programa?" between the test index's two programs with
    requirements (what the e5 ranker finds for "que requisitos piden"; the hashing embeddings of the
    channel tests give no probabilities); the question after it is decided as usual. Returns the names."""
    names = ["Lineamientos de pesca de prueba 2014", "Reglas de Operación de prueba 2014"]
    decide, calls = assistant._decide, []

    def first_unsure(*args: Any) -> Any:
        calls.append(args)
        return (False, None, None) if len(calls) == 1 else decide(*args)

    monkeypatch.setattr(assistant, "_decide", first_unsure)
    monkeypatch.setattr(assistant, "_ask_which", lambda *a: names)
    return names
