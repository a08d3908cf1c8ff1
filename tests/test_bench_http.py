"""The HTTP benchmark end to end on a tiny index (two real `campo serve` processes), and the BM25-only
retrieval mode it compares against."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.core import Assistant
from assistant.embeddings import HashingEmbeddings
from assistant.sessions import MemorySessionStore
from tests.conftest import build_test_index, make_settings
from tools.bench_http import REPORT_KEYS, format_table, run_benchmark, write_report

QUESTIONS = [
    "cuanto es el apoyo por pescador",
    "que requisitos piden para cadenas de valor",
    "hasta cuando abren las ventanillas",
    "¿cómo saco una credencial para votar?",
]


def test_benchmark_measures_both_modes_without_errors(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    version = build_test_index(settings)
    report = run_benchmark(
        data_dir=settings.data_dir,
        corpus_dir=settings.corpus_dir,
        questions=QUESTIONS,
        env={"CAMPO_EMBEDDINGS": "fake", "CAMPO_ABSTAIN_THRESHOLD": "0.005"},
        concurrencies=(1, 2),
        max_requests=12,
        max_seconds=10,
        warmup=2,
        rounds=2,
        log=lambda _: None,
    )
    write_report(report, tmp_path / "http.json")
    saved = json.loads((tmp_path / "http.json").read_text("utf-8"))
    assert set(REPORT_KEYS) <= set(saved)
    assert saved["errors"] == 0
    assert saved["index"]["version"] == version and saved["index"]["ingest_s"] is None
    assert saved["machine"]["cpu_count"] >= 1
    cells = {(r["mode"], r["concurrency"]): r for r in saved["results"]}
    assert set(cells) == {("hybrid", 1), ("bm25", 1), ("hybrid", 2), ("bm25", 2)}
    for cell in cells.values():
        assert cell["requests"] == 12 and cell["errors"] == 0
        assert 0 < cell["p50_ms"] <= cell["p95_ms"] <= cell["p99_ms"]
        assert cell["throughput_rps"] > 0
        assert 0 < cell["abstained"] < cell["requests"]  # the credential question is out of scope
    assert [q["concurrency"] for q in saved["ratios"]] == [1, 2]
    assert "| bm25 | 2 | 12 | 0 |" in format_table(saved)


def test_bm25_mode_answers_without_querying_chroma(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(tmp_path, retrieval_mode="bm25")
    build_test_index(settings)
    assistant = Assistant(settings, embeddings=HashingEmbeddings(), sessions=MemorySessionStore())
    version = assistant.versions.current()

    def no_dense_search(*args: object, **kwargs: object) -> None:
        raise AssertionError("BM25-only mode must not search Chroma")

    monkeypatch.setattr(version.collection, "search", no_dense_search)
    answer = assistant.ask("cuanto es el apoyo por pescador")
    assert "8,000 pesos" in answer.text and not answer.abstained
    assert answer.citations[0].document_id == "pesca-prueba-2014"
