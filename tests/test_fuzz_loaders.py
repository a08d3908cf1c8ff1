"""Property-based fuzzing (hypothesis) of the loaders and the splitter.

Loaders: whatever the bytes, ``load_document`` returns a document or raises ``LoaderError`` (never
anything else), within a deadline. Splitter: no empty chunk, every chunk within ``max_chars``, indices
in order, deterministic, and every word of the body text kept (headings live in the section path).
The default run is derandomized and bounded; ``-m slow`` runs the same properties with many more
random examples (docs/reliability.md has the figures).
"""

from __future__ import annotations

import collections
import io
import os
import random
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.loaders import HEADING_LABEL, TRANSITORIOS, Block, LoadedDocument, LoaderError, load_document
from ingestion.splitter import split_document

FAST = settings(
    max_examples=int(os.environ.get("CAMPO_FUZZ_EXAMPLES", "60")),
    deadline=3000,  # ms per example; the slowest real loader call (a PDF page) takes ~50 ms
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
LONG = settings(FAST, max_examples=2000, derandomize=False)

SUFFIXES = [".md", ".txt", ".html", ".pdf", ".docx"]


def load_or_refuse(path: Path) -> LoadedDocument | None:
    """The only acceptable outcomes: a document, or LoaderError with a Spanish reason."""
    try:
        return load_document(path, max_bytes=2 * 1024 * 1024)
    except LoaderError as exc:
        assert str(exc).strip()
        return None


def check_split(doc: LoadedDocument, max_chars: int = 1400, min_chars: int = 250) -> list[str]:
    chunks = split_document(doc, max_chars=max_chars, min_chars=min_chars)
    for chunk in chunks:
        assert chunk.text.strip(), "empty chunk"
        assert len(chunk.text) <= max_chars, (len(chunk.text), max_chars)
        assert chunk.text == chunk.text.strip()
    assert [c.index for c in chunks] == list(range(len(chunks)))
    again = split_document(doc, max_chars=max_chars, min_chars=min_chars)
    assert [(c.text, c.section) for c in again] == [(c.text, c.section) for c in chunks]
    return [c.text for c in chunks]


# --- Strategies ------------------------------------------------------------------------------------

SPANISH_WORDS = [
    "Artículo",
    "Capítulo",
    "Título",
    "Sección",
    "TRANSITORIOS",
    "requisitos",
    "solicitantes",
    "deberán",
    "presentar:",
    "apoyo",
    "8,000",
    "pesos",
    "I.",
    "II.",
    "a)",
    "b)",
    "-",
    "*",
    "|",
    "#",
    "**",
    "`",
    "<b>",
    "</b>",
    "<script>",
    "</script>",
    "---",
    "```",
    ">",
    "[enlace](http://x)",
    "Primero.",
    "Bis",
    "12.",
    "2014",
]
word = st.one_of(
    st.sampled_from(SPANISH_WORDS), st.text(min_size=1, max_size=15), st.from_regex(r"[a-zñáé]{1,12}")
)
line = st.lists(word, max_size=25).map(" ".join)
prefix = st.sampled_from(
    ["", "", "", "# ", "## ", "###### ", "- ", "* ", "1. ", "IV. ", "a) ", "> ", "| ", "    "]
)
markdownish = st.lists(st.tuples(prefix, line), max_size=60).map(
    lambda rows: "\n".join(p + text for p, text in rows)
)
front_matter = st.one_of(
    st.just(""),
    st.just("---\nid: prueba\ntitle: Reglas de prueba\nfiscal_year: 2014\n---\n"),
    st.text(max_size=80).map(lambda t: f"---\n{t}\n---\n"),  # often not YAML, or not a mapping
)
html_tag = st.sampled_from(
    [
        "p",
        "h1",
        "h2",
        "li",
        "ul",
        "ol",
        "table",
        "tr",
        "td",
        "th",
        "div",
        "main",
        "script",
        "style",
        "br",
        "nav",
    ]
)
html_doc = st.lists(st.tuples(html_tag, line, st.booleans()), max_size=40).map(
    lambda parts: (
        "<html><body>"
        + "".join(f"<{t}>{text}" + (f"</{t}>" if close else "") for t, text, close in parts)
        + "</body></html>"
    )
)
encoding = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"])


def write(tmp_path: Path, suffix: str, data: bytes) -> Path:
    path = tmp_path / f"doc{suffix}"
    path.write_bytes(data)
    meta = path.with_name(path.name + ".meta.yaml")  # a sidecar left by an earlier example
    if meta.exists():
        meta.unlink()
    return path


def encode(text: str, enc: str) -> bytes:
    return text.encode(enc, errors="replace")


# --- Loaders: random bytes and random text ----------------------------------------------------------


@FAST
@given(data=st.binary(max_size=4096), suffix=st.sampled_from(SUFFIXES))
def test_random_bytes_load_or_raise_loader_error(tmp_path: Path, data: bytes, suffix: str) -> None:
    doc = load_or_refuse(write(tmp_path, suffix, data))
    if doc is not None:
        check_split(doc)


@FAST
@given(
    data=st.binary(max_size=2048),
    magic=st.sampled_from([b"%PDF-1.7\n", b"PK\x03\x04", b"\xff\xfe", b"\xef\xbb\xbf"]),
)
def test_random_bytes_behind_a_real_magic_number(tmp_path: Path, data: bytes, magic: bytes) -> None:
    suffix = {b"%PDF-1.7\n": ".pdf", b"PK\x03\x04": ".docx"}.get(magic, ".txt")
    doc = load_or_refuse(write(tmp_path, suffix, magic + data))
    if doc is not None:
        check_split(doc)


@FAST
@given(text=st.text(max_size=3000), suffix=st.sampled_from([".md", ".txt", ".html"]), enc=encoding)
def test_random_text_in_any_encoding(tmp_path: Path, text: str, suffix: str, enc: str) -> None:
    doc = load_or_refuse(write(tmp_path, suffix, encode(text, enc)))
    if doc is not None:
        assert doc.blocks and all(b.text.strip() for b in doc.blocks)
        check_split(doc)


@FAST
@given(head=front_matter, body=markdownish, suffix=st.sampled_from([".md", ".txt"]), enc=encoding)
def test_markdown_like_structures(tmp_path: Path, head: str, body: str, suffix: str, enc: str) -> None:
    doc = load_or_refuse(write(tmp_path, suffix, encode(head + body, enc)))
    if doc is not None:
        check_split(doc)
        check_split(doc, max_chars=300, min_chars=0)


@FAST
@given(page=html_doc, enc=st.sampled_from(["utf-8", "cp1252"]))
def test_html_like_structures(tmp_path: Path, page: str, enc: str) -> None:
    doc = load_or_refuse(write(tmp_path, ".html", encode(page, enc)))
    if doc is not None:
        text = " ".join(b.text for b in doc.blocks)
        assert "<script>" not in text.lower() or "<script>" in page.lower()
        check_split(doc)


# --- Loaders: mutated real PDF and DOCX files ---------------------------------------------------------


def _real_pdf() -> bytes:
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    canvas = Canvas(out)
    for page in range(2):
        canvas.drawString(72, 720, f"Artículo {page + 1}. Requisitos del apoyo de 8,000 pesos.")
        canvas.drawString(72, 700, "I. Identificación oficial;   II. Comprobante de domicilio.")
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def _real_docx() -> bytes:
    from docx import Document

    document = Document()
    document.add_heading("Capítulo I. Requisitos", level=1)
    document.add_paragraph("Artículo 1. Los solicitantes deberán presentar:")
    document.add_paragraph("Identificación oficial", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(1, 1).text = "Concepto", "8,000 pesos"
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


REAL = {".pdf": _real_pdf(), ".docx": _real_docx()}


def _mutate(data: bytes, seed: int, flips: int) -> bytes:
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(flips):
        kind = rng.random()
        pos = rng.randrange(len(out))
        if kind < 0.6:
            out[pos] = rng.randrange(256)
        elif kind < 0.8:
            del out[pos : pos + rng.randrange(1, 64)]
        else:
            out[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 32)))
    return bytes(out)


def _mutated_docx_member(data: bytes, seed: int) -> bytes:
    """A well-formed zip whose word/document.xml is damaged (past the zip layer, into the XML parser)."""
    rng = random.Random(seed)
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename in ("word/document.xml", "word/styles.xml", "[Content_Types].xml"):
                content = _mutate(content, rng.randrange(2**32), rng.randrange(1, 20))
            target.writestr(info.filename, content)
    return out.getvalue()


@FAST
@given(suffix=st.sampled_from([".pdf", ".docx"]), seed=st.integers(0, 2**32 - 1), flips=st.integers(1, 40))
def test_mutated_pdf_and_docx_files(tmp_path: Path, suffix: str, seed: int, flips: int) -> None:
    doc = load_or_refuse(write(tmp_path, suffix, _mutate(REAL[suffix], seed, flips)))
    if doc is not None:
        check_split(doc)


@FAST
@given(seed=st.integers(0, 2**32 - 1))
def test_docx_with_damaged_xml_inside_a_valid_zip(tmp_path: Path, seed: int) -> None:
    doc = load_or_refuse(write(tmp_path, ".docx", _mutated_docx_member(REAL[".docx"], seed)))
    if doc is not None:
        check_split(doc)


# --- Splitter: blocks straight in --------------------------------------------------------------------

KINDS = ["heading", "paragraph", "list_item", "table_row"]
plain_word = st.from_regex(r"[A-Za-zñáéíóú0-9,;:]{1,20}", fullmatch=True) | st.sampled_from(
    ["Artículo", "5.", "I.", "a)", "-", "|", "Requisitos:", "Tabla", "presentar:", "Primero.", "2014"]
)
any_block = st.builds(
    lambda kind, words, level, page: Block(" ".join(words), kind, page, level),
    st.sampled_from(KINDS),
    st.lists(word | st.text(alphabet="abcdefghij ", min_size=40, max_size=900), max_size=40),
    st.integers(0, 6),
    st.none() | st.integers(1, 500),
)


@FAST
@given(
    blocks=st.lists(any_block, max_size=30),
    max_chars=st.integers(200, 3000),
    min_chars=st.integers(0, 600),
)
def test_splitter_invariants_on_arbitrary_blocks(blocks: list[Block], max_chars: int, min_chars: int) -> None:
    doc = LoadedDocument(Path("x.md"), "Reglas", blocks, {})
    check_split(doc, max_chars=max_chars, min_chars=min_chars)
    for chunk in split_document(doc, max_chars=max_chars, min_chars=min_chars):
        assert chunk.page is None or chunk.page in {b.page for b in blocks}


def _not_structural(text: str) -> bool:
    first = text.strip()
    return not (HEADING_LABEL.match(first) or TRANSITORIOS.match(first))


body_block = st.builds(
    lambda kind, words: Block(" ".join(words), kind),
    st.sampled_from(["paragraph", "list_item", "table_row"]),
    st.lists(plain_word, min_size=1, max_size=120),
).filter(lambda b: _not_structural(b.text))
title_block = st.builds(
    lambda words, level: Block(" ".join(words), "heading", level=level),
    st.lists(plain_word, min_size=1, max_size=8),
    st.integers(1, 6),
).filter(lambda b: _not_structural(b.text))


@FAST
@given(
    blocks=st.lists(body_block | title_block, max_size=40),
    max_chars=st.integers(300, 3000),
    min_chars=st.integers(0, 600),
)
def test_splitter_keeps_every_word_of_the_body(blocks: list[Block], max_chars: int, min_chars: int) -> None:
    """Body text is never lost (headings go to the section path; leads may repeat, so ≥, not =)."""
    doc = LoadedDocument(Path("x.md"), "Reglas", blocks, {})
    texts = check_split(doc, max_chars=max_chars, min_chars=min_chars)
    expected = collections.Counter(w for b in blocks if b.kind != "heading" for w in b.text.split())
    found = collections.Counter(w for t in texts for w in t.split())
    missing = expected - found
    assert not missing, f"words lost: {dict(list(missing.items())[:10])}"


# --- The same properties, long and random (pytest -m slow) -------------------------------------------


@pytest.mark.slow
@LONG
@given(
    blocks=st.lists(body_block | title_block | any_block, max_size=60),
    max_chars=st.integers(200, 3000),
    min_chars=st.integers(0, 600),
)
def test_long_random_splitter_run(blocks: list[Block], max_chars: int, min_chars: int) -> None:
    check_split(LoadedDocument(Path("x.md"), "Reglas", blocks, {}), max_chars=max_chars, min_chars=min_chars)


@pytest.mark.slow
@LONG
@given(text=markdownish | html_doc | st.text(max_size=5000), suffix=st.sampled_from([".md", ".txt", ".html"]))
def test_long_random_text_loader_run(tmp_path: Path, text: str, suffix: str) -> None:
    doc = load_or_refuse(write(tmp_path, suffix, text.encode("utf-8", errors="replace")))
    if doc is not None:
        check_split(doc)


@pytest.mark.slow
@LONG
@given(suffix=st.sampled_from([".pdf", ".docx"]), seed=st.integers(0, 2**32 - 1), flips=st.integers(1, 200))
def test_long_random_mutation_run(tmp_path: Path, suffix: str, seed: int, flips: int) -> None:
    doc = load_or_refuse(write(tmp_path, suffix, _mutate(REAL[suffix], seed, flips)))
    if doc is not None:
        check_split(doc)
