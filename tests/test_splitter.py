"""The structure-aware splitter: articles, section paths, whole lists and tables, long articles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingestion.loaders import Block, LoadedDocument, load_document
from ingestion.splitter import Chunk, split_document

CORPUS = Path(__file__).resolve().parent.parent / "corpus"


def make_doc(*blocks: Block) -> LoadedDocument:
    return LoadedDocument(Path("prueba.md"), "Reglas de prueba", list(blocks), {})


def para(text: str, page: int | None = None) -> Block:
    return Block(text, "paragraph", page)


def item(text: str) -> Block:
    return Block(text, "list_item")


def heading(text: str, level: int) -> Block:
    return Block(text, "heading", level=level)


def roman(n: int) -> str:
    values = [(10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
    out = ""
    for value, numeral in values:
        while n >= value:
            out, n = out + numeral, n - value
    return out


def fracciones(count: int, words: int = 12) -> list[Block]:
    return [
        item(f"{roman(n)}. Documento número {n} " + "requisito " * words + "vigente;")
        for n in range(1, count + 1)
    ]


def chunk_with(chunks: list[Chunk], text: str) -> Chunk:
    found = [c for c in chunks if text in c.text]
    assert len(found) == 1, f"{text!r} is in {len(found)} chunks"
    return found[0]


def test_each_article_is_its_own_chunk_with_its_section_path() -> None:
    doc = make_doc(
        heading("Reglas de Operación de prueba 2014", 1),
        para("Documento de muestra; no es el texto oficial."),
        heading("Título II. De los requisitos", 2),
        heading("Capítulo III. De los requisitos generales para todos los solicitantes del componente", 3),
        para("Artículo 12. Requisitos generales. Los solicitantes deberán estar registrados."),
        para("Artículo 13. Plazos. Las ventanillas abren en febrero."),
        heading("Capítulo IV. Procedimiento", 3),
        heading("Artículo 14. Ventanillas", 4),
        para("Las solicitudes se reciben en el CADER."),
    )
    chunks = split_document(doc)
    assert [(c.section, c.text) for c in chunks] == [
        ("Reglas de Operación de prueba 2014", "Documento de muestra; no es el texto oficial."),
        (
            "Título II. De los requisitos > Capítulo III. De los requisitos generales para todos los… > Artículo 12",
            "Artículo 12. Requisitos generales. Los solicitantes deberán estar registrados.",
        ),
        (
            "Título II. De los requisitos > Capítulo III. De los requisitos generales para todos los… > Artículo 13",
            "Artículo 13. Plazos. Las ventanillas abren en febrero.",
        ),
        (
            "Título II. De los requisitos > Capítulo IV. Procedimiento > Artículo 14",
            "Artículo 14. Ventanillas\nLas solicitudes se reciben en el CADER.",
        ),
    ]
    assert [c.index for c in chunks] == [0, 1, 2, 3]
    assert all(len(part) <= 60 for c in chunks for part in c.section.split(" > "))


def test_structure_found_in_plain_paragraphs_and_transitorios() -> None:
    doc = make_doc(
        para("TÍTULO PRIMERO"),
        para("Disposiciones generales"),
        para("CAPÍTULO I"),
        para("Objeto"),
        para("Artículo 1o.- Estas reglas regulan el componente."),
        para("Capítulo II. De los requisitos"),
        para("Artículo 5 Bis. Requisitos adicionales. Los grupos deberán tener cinco integrantes."),
        para("TÍTULO SEGUNDO. De los apoyos"),
        para("Artículo 27 de la Ley citada no abre un artículo nuevo: es una referencia."),
        para("Capítulo II de la Ley citada tampoco abre un capítulo."),
        para("TRANSITORIOS"),
        para("PRIMERO.- El presente acuerdo entrará en vigor al día siguiente de su publicación."),
        para("SEGUNDO.- Se derogan las disposiciones anteriores."),
    )
    sections = [c.section for c in split_document(doc)]
    assert sections == [
        "TÍTULO PRIMERO. Disposiciones generales > CAPÍTULO I. Objeto > Artículo 1",
        "TÍTULO PRIMERO. Disposiciones generales > Capítulo II. De los requisitos > Artículo 5 Bis",
        "TÍTULO SEGUNDO. De los apoyos",
        "TRANSITORIOS > Transitorio Primero",
        "TRANSITORIOS > Transitorio Segundo",
    ]


def test_a_heading_alone_is_never_a_chunk() -> None:
    doc = make_doc(
        heading("Capítulo I. Objeto", 2),
        heading("Capítulo II. Requisitos", 2),
        heading("Sección 1. Personas físicas", 3),
        para("Texto breve de la sección."),
        heading("Anexo sin contenido", 2),
    )
    chunks = split_document(doc)
    assert [(c.section, c.text) for c in chunks] == [
        ("Capítulo II. Requisitos > Sección 1. Personas físicas", "Texto breve de la sección.")
    ]


def test_list_stays_whole_with_its_introduction() -> None:
    opening = "Artículo 8. Requisitos. " + "Los solicitantes cumplirán las condiciones del componente. " * 10
    intro = "Además, deberán presentar en la ventanilla los documentos siguientes:"
    items = fracciones(8, words=6)
    closing = "Los documentos se entregan en original y copia."
    doc = make_doc(para(opening), para(intro), *items, para(closing))
    chunks = split_document(doc, max_chars=1200)
    assert len(chunks) == 2
    assert all(len(c.text) <= 1200 for c in chunks)
    listed = chunk_with(chunks, items[0].text)
    assert listed.text.startswith("Artículo 8. Requisitos.\n" + intro)
    assert listed.text.endswith(closing) and all(i.text in listed.text for i in items)
    assert chunks[0].text == opening.strip()
    assert {c.section for c in chunks} == {"Artículo 8"}


def test_long_article_is_split_between_fracciones_repeating_its_lead() -> None:
    intro = "Artículo 12. Requisitos generales. Los solicitantes deberán presentar:"
    items = fracciones(16)
    doc = make_doc(para(intro), *items)
    chunks = split_document(doc, max_chars=700, min_chars=200)
    assert len(chunks) >= 3
    for c in chunks:
        assert c.section == "Artículo 12"
        assert c.text.startswith(intro)  # the short intro is repeated: each chunk stands alone
        assert len(c.text) <= 700 * 1.2
    body = [line for c in chunks for line in c.text.split("\n") if line != intro]
    assert body == [i.text for i in items]  # every fracción once, whole, in order


def test_single_long_block_is_split_at_sentence_boundaries() -> None:
    sentences = [
        f"La regla número {n} establece una condición distinta para el apoyo solicitado." for n in range(40)
    ]
    doc = make_doc(para("Artículo 30. Condiciones. " + " ".join(sentences)))
    chunks = split_document(doc, max_chars=600, min_chars=100)
    assert len(chunks) > 4
    assert chunks[0].text.startswith("Artículo 30. Condiciones. La regla número 0")
    for c in chunks[1:]:
        assert c.text.startswith("Artículo 30. Condiciones.\nLa regla número")
    for c in chunks:
        assert len(c.text) <= 600 and c.text.endswith(".")
    text = " ".join(c.text.split("\n", 1)[-1] if c.index else c.text for c in chunks)
    assert all(s in text for s in sentences)


def test_tiny_chunk_is_merged_with_the_next_chunk_of_the_same_article() -> None:
    doc = make_doc(
        heading("Capítulo II. Requisitos", 2),
        heading("Artículo 8", 3),  # a heading that only names the article, then its text
        para("Artículo 8. Requisitos. Los solicitantes deberán estar inscritos en el padrón."),
        para("Artículo 9. Plazos. Treinta días."),
    )
    chunks = split_document(doc, min_chars=250)
    assert [(c.section, c.text) for c in chunks] == [
        (
            "Capítulo II. Requisitos > Artículo 8",
            "Artículo 8\nArtículo 8. Requisitos. Los solicitantes deberán estar inscritos en el padrón.",
        ),
        (
            "Capítulo II. Requisitos > Artículo 9",
            "Artículo 9. Plazos. Treinta días.",
        ),  # never across articles
    ]


def test_article_title_is_never_left_alone_when_the_article_is_split() -> None:
    long_sentence = (
        "Estas reglas se alinean con el Plan Nacional de Desarrollo "
        + "y con sus programas " * 15
        + "vigentes."
    )
    doc = make_doc(
        para(f"Artículo 3. Fundamento. {long_sentence} " + "Entraron en vigor el 1 de enero. " * 4)
    )
    chunks = split_document(doc, max_chars=400, min_chars=150)
    assert chunks[0].text.startswith(f"Artículo 3. Fundamento. {long_sentence}")
    assert all(len(c.text) <= 400 for c in chunks)
    assert [len(c.text) > 150 for c in chunks] == [True] * len(chunks)


def test_split_article_has_balanced_chunks_not_a_tiny_tail() -> None:
    sentences = [
        f"La regla número {n} establece una condición distinta para el apoyo solicitado." for n in range(16)
    ]
    doc = make_doc(para("Artículo 30. Condiciones. " + " ".join(sentences)))
    sizes = [len(c.text) for c in split_document(doc, max_chars=1200, min_chars=250)]
    assert len(sizes) == 2 and min(sizes) > 400, sizes


def test_table_rows_stay_together_and_the_header_is_repeated() -> None:
    header = "Concepto de apoyo | Unidad | Monto máximo"
    rows = [f"Concepto número {n} de la tabla de apoyos | Por proyecto | {n},000 pesos" for n in range(1, 25)]
    doc = make_doc(
        para("Artículo 7. Montos. Los montos máximos son los de la tabla siguiente:", page=3),
        *[Block(text, "table_row", 3 + n // 12) for n, text in enumerate([header, *rows])],
    )
    chunks = split_document(doc, max_chars=800, min_chars=200)
    assert len(chunks) >= 3
    for c in chunks:
        lines = c.text.split("\n")
        assert header in lines
        assert lines[0].startswith("Artículo 7. Montos.")
    data = [line for c in chunks for line in c.text.split("\n") if line.startswith("Concepto número")]
    assert data == rows
    for c in chunks:  # the page of a chunk is the page of its first block
        first_row = next(line for line in c.text.split("\n") if line.startswith("Concepto número"))
        assert c.page == 3 + (rows.index(first_row) + 1) // 12
    assert chunks[0].page == 3 and chunks[-1].page > 3

    small = make_doc(
        para("Artículo 7. Montos. Son los siguientes:"), *[Block(t, "table_row") for t in [header, *rows[:3]]]
    )
    assert [c.text for c in split_document(small)] == [
        "\n".join(["Artículo 7. Montos. Son los siguientes:", header, *rows[:3]])
    ]


def test_list_items_without_marker_get_one_and_whitespace_is_normalized() -> None:
    doc = make_doc(
        para("  Artículo   2.  Objeto.   Apoyar a:  "),
        item("productores\tde maíz"),
        item("I.   pescadores"),
        para("   "),
    )
    chunks = split_document(doc)
    assert [c.text for c in chunks] == ["Artículo 2. Objeto. Apoyar a:\n- productores de maíz\nI. pescadores"]


def test_split_is_deterministic_and_never_empty() -> None:
    doc = make_doc(para("Artículo 1. Objeto. " + "Texto del artículo. " * 200), *fracciones(30))
    first, second = split_document(doc), split_document(doc)
    assert first == second
    assert all(c.text.strip() and "\n\n" not in c.text for c in first)
    assert split_document(make_doc()) == []


def test_markdown_article_headings_and_bold_articles(tmp_path: Path) -> None:
    path = tmp_path / "reglas.md"
    path.write_text(
        "# Reglas 2014\n\n## Título I. Generales\n\n### Artículo 8. Requisitos\n\nLos solicitantes deberán:\n"
        "I. Registrarse;\nII. Firmar.\n\n**Artículo 9.** Plazos. Treinta días.\n",
        encoding="utf-8",
    )
    chunks = split_document(load_document(path))
    assert [(c.section, c.text) for c in chunks] == [
        (
            "Título I. Generales > Artículo 8",
            "Artículo 8. Requisitos\nLos solicitantes deberán:\nI. Registrarse;\nII. Firmar.",
        ),
        ("Título I. Generales > Artículo 9", "Artículo 9. Plazos. Treinta días."),
    ]


def corpus_documents() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.glob("*.md") if p.read_text(encoding="utf-8").startswith("---"))


def test_corpus_markdown_documents_split_cleanly() -> None:
    documents = corpus_documents()
    if not documents:
        pytest.skip("corpus/ has no Markdown documents with front matter yet")
    max_chars, checked_lists = 1400, 0
    for path in documents:
        doc = load_document(path)
        chunks = split_document(doc, max_chars=max_chars)
        assert chunks, path.name
        for c in chunks:
            assert c.text.strip() and c.section, (path.name, c.index)
            assert len(c.text) <= max_chars * 1.2, (path.name, c.section)
        # A requisitos list that fits with its introduction is never cut.
        blocks = doc.blocks
        for n, block in enumerate(blocks):
            if block.kind != "paragraph" or not re.search(
                r"requisito|deber[áa]n? presentar", block.text, re.I
            ):
                continue
            if not block.text.endswith(":"):
                continue
            items = []
            for following in blocks[n + 1 :]:
                if following.kind != "list_item":
                    break
                items.append(following.text)
            if items and len(block.text) + sum(len(i) + 1 for i in items) <= max_chars:
                holder = [c for c in chunks if items[0] in c.text]
                assert holder and all(i in holder[0].text for i in items), (path.name, block.text[:40])
                checked_lists += 1
    assert checked_lists > 0
