"""What ingestion could not do reaches its report: PDF pages whose text is missing from the index, and
old Chroma collections that could not be dropped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pypdf import PageObject

from assistant.embeddings import HashingEmbeddings
from assistant.settings import Settings
from assistant.store import list_collections, make_client
from ingestion.pipeline import ingest
from tests.conftest import make_settings
from tests.test_ingestion import DOC_B, write_corpus
from tests.test_loaders import make_canvas_pdf

PAGES = [
    "Articulo 1. Objeto. Apoyo para huertos familiares de traspatio.",
    "",  # a scanned page: an image, no text
    "Articulo 3. Monto. El apoyo es de 5,000 pesos por familia.",
]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = make_settings(tmp_path)
    write_corpus(settings.corpus_dir)
    return settings


def test_a_pdf_page_without_text_is_named_in_the_report(settings: Settings) -> None:
    make_canvas_pdf(settings.corpus_dir / "traspatio.pdf", PAGES)
    report = ingest(settings, embeddings=HashingEmbeddings())
    assert report.ok and "traspatio" in report.added  # the readable pages are indexed
    assert any("traspatio" in n and "página 2: sin texto extraíble" in n for n in report.notes), report.notes
    assert "página 2: sin texto extraíble" in report.format_text()


def test_a_pdf_page_the_parser_fails_on_is_named_in_the_report(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_canvas_pdf(settings.corpus_dir / "traspatio.pdf", [PAGES[0], PAGES[2]])
    extract = PageObject.extract_text

    def fails_on_page_2(self: PageObject, *args: Any, **kwargs: Any) -> str:
        if self.page_number == 1:
            raise KeyError("/Font")  # what a damaged font dictionary raises
        return extract(self, *args, **kwargs)

    monkeypatch.setattr(PageObject, "extract_text", fails_on_page_2)
    report = ingest(settings, embeddings=HashingEmbeddings())
    assert "traspatio" in report.added
    assert any("página 2: no se pudo extraer el texto (KeyError)" in n for n in report.notes), report.notes
    assert report.to_dict()["notes"] == report.notes


def test_a_collection_chroma_does_not_drop_is_named_in_the_report_and_dropped_later(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings.model_copy(update={"keep_versions": 2})
    path = settings.corpus_dir / "pesca-b.md"
    first = ingest(settings, embeddings=HashingEmbeddings()).version
    path.write_text(DOC_B.replace("31 de marzo", "1 de abril"), "utf-8")
    ingest(settings, embeddings=HashingEmbeddings())
    client = make_client(settings)

    def refuse(name: str) -> None:
        raise RuntimeError("chroma is read-only")

    with monkeypatch.context() as patch:
        patch.setattr(client, "delete_collection", refuse)
        path.write_text(DOC_B.replace("31 de marzo", "2 de abril"), "utf-8")
        report = ingest(settings, embeddings=HashingEmbeddings())
    assert report.switched
    assert any(f"colección de la versión {first}" in n and "RuntimeError" in n for n in report.notes), (
        report.notes
    )
    assert f"campo-{first}" in list_collections(client)

    path.write_text(DOC_B.replace("31 de marzo", "3 de abril"), "utf-8")
    report = ingest(settings, embeddings=HashingEmbeddings())
    assert not any("colección" in n for n in report.notes), report.notes
    assert f"campo-{first}" not in list_collections(client)  # the orphan is dropped on the next run
