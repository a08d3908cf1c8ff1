"""Loaders on real files generated here: PDF (reportlab), DOCX (python-docx), HTML, Markdown, TXT."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from ingestion.loaders import (
    SUPPORTED_SUFFIXES,
    LoaderError,
    is_sidecar,
    load_document,
    read_metadata,
)

PDF_HEADER = "Reglas de Operación de prueba 2014 · Programa de muestra"


def _decorate(canvas, doc) -> None:  # type: ignore[no-untyped-def]
    from reportlab.lib.pagesizes import LETTER
    from reportlab.lib.units import cm

    canvas.saveState()
    canvas.setFont("Helvetica", 8)
    canvas.drawString(2 * cm, LETTER[1] - 1.3 * cm, PDF_HEADER)
    canvas.drawCentredString(LETTER[0] / 2, 1.1 * cm, f"Página {doc.page} de 2")
    canvas.restoreState()


def make_rules_pdf(path: Path) -> Path:
    """Two pages: running header and page-number footer, headings, a wrapped article, a table."""
    from reportlab.lib.pagesizes import LETTER
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Table

    styles = getSampleStyleSheet()
    body, h1, h2 = styles["BodyText"], styles["Heading1"], styles["Heading2"]
    story = [
        Paragraph("Título I. Disposiciones generales", h1),
        Paragraph("Capítulo I. De los requisitos", h2),
        Paragraph(
            "Artículo 1. Objeto. Estas reglas establecen la forma de operar del componente de prueba durante "
            "el ejercicio fiscal 2014, con el fin de apoyar a las unidades de producción del medio rural que "
            "se organizan para vender mejor sus cosechas en los mercados regionales.",
            body,
        ),
        Paragraph(
            "Artículo 2. Población. Podrán participar los pro-<br/>ductores de maíz de temporal, conforme al<br/>"
            "Artículo 35 de la Ley de Desarrollo Rural Sustentable.",
            body,
        ),
        Paragraph("Artículo 3. Requisitos. Los solicitantes deberán presentar:", body),
        Paragraph("I. Identificación oficial vigente;", body),
        Paragraph("II. Comprobante de domicilio.", body),
        PageBreak(),
        Paragraph("Capítulo II. De los apoyos", h2),
        Paragraph("Artículo 4. Montos. Los montos máximos son los siguientes:", body),
        Table(
            [
                ["Concepto", "Monto máximo", "Porcentaje"],
                ["Semilla mejorada", "3,500 pesos", "50%"],
                ["Fertilizante", "2,000 pesos", "30%"],
            ],
            colWidths=[6 * cm, 4 * cm, 3 * cm],
        ),
        Paragraph("Artículo 5. Vigencia. Estas reglas estarán vigentes durante 2014.", body),
    ]
    doc = SimpleDocTemplate(str(path), pagesize=LETTER, title="Reglas de prueba 2014", topMargin=2.2 * cm)
    doc.build(story, onFirstPage=_decorate, onLaterPages=_decorate)
    return path


def make_canvas_pdf(path: Path, pages: list[str]) -> Path:
    from reportlab.pdfgen.canvas import Canvas

    canvas = Canvas(str(path))
    for text in pages:
        if text:
            canvas.drawString(72, 720, text)
        else:
            canvas.rect(72, 400, 300, 300, fill=1)  # an "image": no text at all
        canvas.showPage()
    canvas.save()
    return path


# --- PDF ------------------------------------------------------------------------------------------------


def test_pdf_drops_running_header_and_footer_keeps_pages_and_joins_lines(tmp_path: Path) -> None:
    doc = load_document(make_rules_pdf(tmp_path / "reglas.pdf"))
    texts = [b.text for b in doc.blocks]
    assert doc.pages == 2
    assert doc.title == "Reglas de prueba 2014"
    assert not any("Programa de muestra" in t or "Página" in t for t in texts)
    article_1 = next(b for b in doc.blocks if b.text.startswith("Artículo 1."))
    assert article_1.page == 1 and article_1.kind == "paragraph"
    assert article_1.text.endswith("en los mercados regionales.")  # wrapped lines are one paragraph
    article_2 = "Artículo 2. Población. Podrán participar los productores de maíz de temporal, conforme al "
    assert article_2 + "Artículo 35 de la Ley de Desarrollo Rural Sustentable." in texts  # a reference
    assert not any("pro-" in t for t in texts)
    heading = next(b for b in doc.blocks if b.text == "Capítulo II. De los apoyos")
    assert (heading.kind, heading.page, heading.level) == ("heading", 2, 2)
    items = [b for b in doc.blocks if b.kind == "list_item"]
    assert [b.text for b in items] == ["I. Identificación oficial vigente;", "II. Comprobante de domicilio."]
    assert next(b for b in doc.blocks if b.text.startswith("Artículo 5.")).page == 2


def test_pdf_page_numbers_in_other_styles_are_dropped(tmp_path: Path) -> None:
    from reportlab.pdfgen.canvas import Canvas

    path = tmp_path / "dof.pdf"
    canvas = Canvas(str(path))
    for page in range(1, 4):
        canvas.drawString(72, 760, "DIARIO OFICIAL (Edición Vespertina)")
        canvas.drawString(72, 700, f"Artículo {page}. Texto del artículo número {page} de las reglas.")
        canvas.drawString(300, 40, f"- {page} -" if page < 3 else str(page))
        canvas.showPage()
    canvas.save()
    doc = load_document(path)
    assert [(b.text, b.page) for b in doc.blocks] == [
        (f"Artículo {n}. Texto del artículo número {n} de las reglas.", n) for n in range(1, 4)
    ]


def test_pdf_table_rows_are_readable(tmp_path: Path) -> None:
    doc = load_document(make_rules_pdf(tmp_path / "tabla.pdf"))
    rows = [b for b in doc.blocks if b.kind == "table_row"]
    assert [r.text for r in rows] == [
        "Concepto | Monto máximo | Porcentaje",
        "Semilla mejorada | 3,500 pesos | 50%",
        "Fertilizante | 2,000 pesos | 30%",
    ]
    assert {r.page for r in rows} == {2}


def test_pdf_encrypted_with_password_is_refused(tmp_path: Path) -> None:
    from pypdf import PdfWriter

    source = make_rules_pdf(tmp_path / "fuente.pdf")
    writer = PdfWriter(clone_from=source)
    writer.encrypt(user_password="secreto", owner_password="dueño", algorithm="RC4-128")
    locked = tmp_path / "cifrado.pdf"
    with locked.open("wb") as fh:
        writer.write(fh)
    with pytest.raises(LoaderError, match="PDF cifrado"):
        load_document(locked)


def test_pdf_with_owner_password_only_opens_with_empty_password(tmp_path: Path) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=make_rules_pdf(tmp_path / "fuente.pdf"))
    writer.encrypt(user_password="", owner_password="dueño", algorithm="RC4-128")
    protected = tmp_path / "protegido.pdf"
    with protected.open("wb") as fh:
        writer.write(fh)
    doc = load_document(protected)
    assert any(b.text.startswith("Artículo 4. Montos.") for b in doc.blocks)


@pytest.mark.parametrize(
    "content",
    [b"%PDF-1.4\nesto no es un pdf de verdad", b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R"],
)
def test_pdf_corrupt_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "roto.pdf"
    path.write_bytes(content)
    with pytest.raises(LoaderError):
        load_document(path)


def test_pdf_without_text_is_reported_as_scanned(tmp_path: Path) -> None:
    with pytest.raises(LoaderError, match=r"PDF sin texto extraíble \(¿escaneado\?\)"):
        load_document(make_canvas_pdf(tmp_path / "escaneado.pdf", ["", ""]))


def test_pdf_over_page_limit_is_refused(tmp_path: Path) -> None:
    path = make_canvas_pdf(tmp_path / "largo.pdf", ["uno", "dos", "tres"])
    with pytest.raises(LoaderError, match="3 páginas"):
        load_document(path, max_pdf_pages=2)
    assert load_document(path, max_pdf_pages=3).pages == 3


def test_pdf_in_two_columns_is_read_column_by_column(tmp_path: Path) -> None:
    from reportlab.pdfgen.canvas import Canvas

    path = tmp_path / "columnas.pdf"
    canvas = Canvas(str(path))
    for x, side in ((72, "izquierda"), (320, "derecha")):
        for n in range(10):
            canvas.drawString(x, 720 - 14 * n, f"columna {side} renglón {n} del texto")
    canvas.showPage()
    canvas.save()
    text = " ".join(b.text for b in load_document(path).blocks)
    left = " ".join(f"columna izquierda renglón {n} del texto" for n in range(10))
    right = " ".join(f"columna derecha renglón {n} del texto" for n in range(10))
    assert left in text and right in text


# --- DOCX -----------------------------------------------------------------------------------------------


def make_docx(path: Path) -> Path:
    from docx import Document

    document = Document()
    document.core_properties.title = "Lineamientos de prueba 2014"
    document.add_heading("Lineamientos de prueba", level=0)
    document.add_heading("Capítulo I. Requisitos", level=1)
    document.add_paragraph("Artículo 1. Requisitos. Los solicitantes deberán presentar:")
    document.add_paragraph("Identificación oficial", style="List Bullet")
    document.add_paragraph("CURP", style="List Number")
    document.add_paragraph("II. Comprobante de domicilio.")
    document.add_heading("Sección 1. Montos", level=2)
    document.add_paragraph("Los montos son los de la tabla siguiente:")
    table = document.add_table(rows=3, cols=3)
    for r, row in enumerate(
        [
            ("Concepto", "Unidad", "Monto"),
            ("Semilla", "Hectárea", "1,500 pesos"),
            ("Asesoría", "Mes", "8,000 pesos"),
        ]
    ):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_paragraph("Artículo 2. Vigencia. Durante 2014.")
    document.save(str(path))
    return path


def test_docx_headings_lists_and_table_in_document_order(tmp_path: Path) -> None:
    doc = load_document(make_docx(tmp_path / "lineamientos.docx"))
    assert doc.title == "Lineamientos de prueba 2014"
    summary = [(b.kind, b.level, b.text) for b in doc.blocks]
    assert summary == [
        ("heading", 1, "Lineamientos de prueba"),
        ("heading", 1, "Capítulo I. Requisitos"),
        ("paragraph", 0, "Artículo 1. Requisitos. Los solicitantes deberán presentar:"),
        ("list_item", 0, "Identificación oficial"),
        ("list_item", 0, "CURP"),
        ("list_item", 0, "II. Comprobante de domicilio."),
        ("heading", 2, "Sección 1. Montos"),
        ("paragraph", 0, "Los montos son los de la tabla siguiente:"),
        ("table_row", 0, "Concepto | Unidad | Monto"),
        ("table_row", 0, "Semilla | Hectárea | 1,500 pesos"),
        ("table_row", 0, "Asesoría | Mes | 8,000 pesos"),
        ("paragraph", 0, "Artículo 2. Vigencia. Durante 2014."),
    ]
    assert all(b.page is None for b in doc.blocks)


def test_docx_zip_bomb_is_refused_before_opening(tmp_path: Path) -> None:
    path = tmp_path / "bomba.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        with archive.open("word/media/relleno.bin", "w") as member:
            for _ in range(24):
                member.write(b"\0" * 2**20)
    assert path.stat().st_size < 200_000
    with pytest.raises(LoaderError, match="demasiado grande"):
        load_document(path)


def test_docx_that_is_not_a_word_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "otro.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hola.txt", "no soy un documento de Word")
    with pytest.raises(LoaderError, match=r"no corresponde a la extensión \.docx"):
        load_document(path)


# --- HTML -----------------------------------------------------------------------------------------------

HTML = """<!DOCTYPE html><html lang="es"><head><meta charset="utf-8">
<title>Lineamientos OSC 2014</title><style>body { color: red; }</style>
<script>var rastreo = "no debe aparecer";</script></head>
<body>
<header><p>Portal del gobierno</p></header>
<nav><ul><li><a href="/">Inicio</a></li><li><a href="/programas">Programas</a></li></ul></nav>
<main>
<h1>Lineamientos de la OSC</h1>
<h2>Capítulo I. Requisitos</h2>
<p><strong>Artículo 1.</strong> Requisitos. Las OSC deberán presentar:</p>
<ol><li>I. Acta <em>constitutiva</em>;</li><li>II. CLUNI vigente.<ul><li>copia simple</li></ul></li></ol>
<p>Además:<br>III. Informe anual;<br>IV. Proyecto.</p>
<table><tr><th>Concepto</th><th>Monto</th></tr><tr><td>Capacitación</td><td>350,000 pesos</td></tr></table>
<aside>Publicidad lateral</aside>
<noscript>Active JavaScript</noscript>
</main>
<footer>Todos los derechos reservados</footer>
</body></html>"""


def test_html_keeps_main_content_and_drops_navigation(tmp_path: Path) -> None:
    path = tmp_path / "osc.html"
    path.write_text(HTML, encoding="utf-8")
    doc = load_document(path)
    assert doc.title == "Lineamientos OSC 2014"
    summary = [(b.kind, b.level, b.text) for b in doc.blocks]
    assert summary == [
        ("heading", 1, "Lineamientos de la OSC"),
        ("heading", 2, "Capítulo I. Requisitos"),
        ("paragraph", 0, "Artículo 1. Requisitos. Las OSC deberán presentar:"),
        ("list_item", 0, "I. Acta constitutiva;"),
        ("list_item", 0, "II. CLUNI vigente."),
        ("list_item", 0, "copia simple"),
        ("paragraph", 0, "Además:"),
        ("list_item", 0, "III. Informe anual;"),
        ("list_item", 0, "IV. Proyecto."),
        ("table_row", 0, "Concepto | Monto"),
        ("table_row", 0, "Capacitación | 350,000 pesos"),
    ]
    everything = " ".join(b.text for b in doc.blocks)
    for dropped in ("rastreo", "Inicio", "Portal", "Publicidad", "JavaScript", "derechos", "color"):
        assert dropped not in everything


def test_html_in_windows_1252_without_charset_is_decoded(tmp_path: Path) -> None:
    path = tmp_path / "viejo.htm"
    path.write_bytes(
        "<html><body><h1>Población indígena</h1><p>Año 2014 — señal</p></body></html>".encode("cp1252")
    )
    doc = load_document(path)
    assert [b.text for b in doc.blocks] == ["Población indígena", "Año 2014 — señal"]
    assert doc.title == "Población indígena"


# --- Markdown and TXT -----------------------------------------------------------------------------------

MARKDOWN = """---
id: reglas-prueba-2014
title: "Reglas de prueba 2014 (muestra)"
program: pidr
fiscal_year: 2014
sample: true
---
# Reglas de prueba 2014

Primer párrafo que sigue
en una segunda línea.

## Capítulo II. Requisitos

**Artículo 8.** Requisitos. Los solicitantes deberán presentar:
I. Identificación oficial;
II. CURP;
a) copia simple.
- Documento con [enlace](https://example.org) y `código`

| Concepto | Monto |
|---|---:|
| Huerto familiar | 3,500 pesos |
| Módulo de aves | 4,500 pesos |

Párrafo final.
"""


def test_markdown_front_matter_headings_lists_and_pipe_table(tmp_path: Path) -> None:
    path = tmp_path / "reglas.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    doc = load_document(path)
    assert doc.metadata == {
        "id": "reglas-prueba-2014",
        "title": "Reglas de prueba 2014 (muestra)",
        "program": "pidr",
        "fiscal_year": 2014,
        "sample": True,
    }
    assert doc.title == "Reglas de prueba 2014 (muestra)"
    assert doc.pages is None
    assert [(b.kind, b.level, b.text) for b in doc.blocks] == [
        ("heading", 1, "Reglas de prueba 2014"),
        ("paragraph", 0, "Primer párrafo que sigue en una segunda línea."),
        ("heading", 2, "Capítulo II. Requisitos"),
        ("paragraph", 0, "Artículo 8. Requisitos. Los solicitantes deberán presentar:"),
        ("list_item", 0, "I. Identificación oficial;"),
        ("list_item", 0, "II. CURP;"),
        ("list_item", 0, "a) copia simple."),
        ("list_item", 0, "Documento con enlace y código"),
        ("table_row", 0, "Concepto | Monto"),
        ("table_row", 0, "Huerto familiar | 3,500 pesos"),
        ("table_row", 0, "Módulo de aves | 4,500 pesos"),
        ("paragraph", 0, "Párrafo final."),
    ]
    assert read_metadata(path)["id"] == "reglas-prueba-2014"


def test_txt_in_cp1252_with_bullets_and_no_markdown_headings(tmp_path: Path) -> None:
    text = (
        "# Esto no es un encabezado en TXT\r\n\r\n"
        "La población objetivo\r\nincluye a los productores:\r\n"
        "· Pequeños productores\r\n· Organizaciones\x07 rurales\r\n\r\n"
        "Año fiscal 2014.\r\n"
    )
    path = tmp_path / "presentacion.txt"
    path.write_bytes(text.encode("cp1252"))
    doc = load_document(path)
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("paragraph", "# Esto no es un encabezado en TXT"),
        ("paragraph", "La población objetivo incluye a los productores:"),
        ("list_item", "Pequeños productores"),
        ("list_item", "Organizaciones rurales"),
        ("paragraph", "Año fiscal 2014."),
    ]
    assert doc.title == "presentacion"


def test_text_is_nfc_normalized_without_control_characters(tmp_path: Path) -> None:
    path = tmp_path / "nfd.md"
    path.write_bytes("Poblacio\u0301n\x00 indi\u0301gena\x0b\u200b rural\n".encode())
    assert load_document(path).blocks[0].text == "Población indígena rural"


# --- Metadata -------------------------------------------------------------------------------------------


def test_sidecar_metadata_applies_to_its_document(tmp_path: Path) -> None:
    path = tmp_path / "osc.html"
    path.write_text(HTML, encoding="utf-8")
    sidecar = tmp_path / "osc.html.meta.yaml"
    sidecar.write_text(
        'id: osc-2014\ntitle: "Lineamientos OSC (sidecar)"\nfiscal_year: 2014\n', encoding="utf-8"
    )
    doc = load_document(path)
    assert doc.metadata == {"id": "osc-2014", "title": "Lineamientos OSC (sidecar)", "fiscal_year": 2014}
    assert doc.title == "Lineamientos OSC (sidecar)"
    assert read_metadata(path) == doc.metadata
    assert is_sidecar(sidecar) and not is_sidecar(path)
    assert read_metadata(tmp_path / "sin-metadatos.pdf") == {}
    with pytest.raises(LoaderError, match="formato no soportado"):
        load_document(sidecar)


def test_malformed_metadata_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "doc.md"
    path.write_text("Texto.\n", encoding="utf-8")
    (tmp_path / "doc.md.meta.yaml").write_text("title: [sin cerrar\n", encoding="utf-8")
    with pytest.raises(LoaderError, match="YAML"):
        read_metadata(path)
    with pytest.raises(LoaderError, match="YAML"):
        load_document(path)
    bad_front = tmp_path / "otro.md"
    bad_front.write_text("---\n- una\n- lista\n---\nTexto.\n", encoding="utf-8")
    with pytest.raises(LoaderError, match="clave: valor"):
        load_document(bad_front)


# --- Errors ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"), [("vacio.md", b""), ("blanco.txt", b"  \n\t\r\n "), ("vacio.pdf", b"")]
)
def test_empty_files_are_refused(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LoaderError, match="archivo vacío"):
        load_document(path)


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"


@pytest.mark.parametrize(
    ("name", "content"), [("foto.pdf", PNG), ("foto.md", PNG), ("binario.txt", b"ab\0\0cd" * 50)]
)
def test_content_that_does_not_match_the_extension_is_refused(
    tmp_path: Path, name: str, content: bytes
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LoaderError, match=f"no corresponde a la extensión {path.suffix}"):
        load_document(path)


def test_unsupported_suffix_and_size_limit(tmp_path: Path) -> None:
    assert ".pdf" in SUPPORTED_SUFFIXES and ".xls" not in SUPPORTED_SUFFIXES
    sheet = tmp_path / "hoja.xls"
    sheet.write_bytes(b"\xd0\xcf\x11\xe0 hoja de calculo")
    with pytest.raises(LoaderError, match=r"formato no soportado \(\.xls\)"):
        load_document(sheet)
    big = tmp_path / "grande.txt"
    big.write_text("palabra " * 2000, encoding="utf-8")
    with pytest.raises(LoaderError, match="demasiado grande"):
        load_document(big, max_bytes=1000)
