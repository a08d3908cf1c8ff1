"""Text files saved by old office software read as the producer wrote them, accents and ñ included."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion.loaders import load_document

TEXT = "Artículo 3. Los pescadores deberán presentar su permiso de pesca y la constancia de la señora Núñez."


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1", "cp850"])
def test_text_in_any_common_spanish_encoding_reads_correctly(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "reglas.txt"
    path.write_bytes(TEXT.encode(encoding))
    assert [b.text for b in load_document(path).blocks] == [TEXT]


def test_windows_quotes_and_dashes_survive(tmp_path: Path) -> None:
    text = "Artículo 4. El “apoyo” —en especie— se entrega en 2014."
    path = tmp_path / "reglas.txt"
    path.write_bytes(text.encode("cp1252"))
    assert load_document(path).blocks[0].text == text
