"""Build the PDF, DOCX and HTML sample documents in corpus/ from their sources in tools/samples/.

    .venv/bin/python tools/build_samples.py           # (re)write corpus/*.pdf|docx|html and their sidecars
    .venv/bin/python tools/build_samples.py --check   # verify sources, outputs and tests/data/sample_questions.yaml

Sources are Markdown-ish text with a YAML front matter: the document metadata (written to the sidecar
``corpus/<file>.meta.yaml``) plus ``format`` (pdf, docx or html) and, for PDF, ``header`` (the line
repeated at the top of every page). Body syntax: ``#`` document title, ``##`` Título, ``###`` Capítulo,
``####`` Sección; ``**bold**``; lines starting with ``- `` (bullets), ``I.`` (fracciones) or ``a)``
(incisos); pipe tables, optionally preceded by a ``TABLA: caption`` line.

Output is deterministic: the same sources give byte-identical files.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import io
import json
import re
import sys
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tools" / "samples"
CORPUS = ROOT / "corpus"
QUESTIONS = ROOT / "tests" / "data" / "sample_questions.yaml"

META_KEYS = [
    "id",
    "title",
    "short_title",
    "program",
    "program_name",
    "component",
    "component_name",
    "fiscal_year",
    "doc_type",
    "sample",
]
PROGRAMS = {"pidr", "pesca", "cdi", "stps", "inca", "general"}
DOC_TYPES = {"reglas", "lineamientos", "guia", "presentacion"}
FIXED_DATE = dt.datetime(2014, 1, 1, 0, 0, 0)

FRACCION = re.compile(r"^([IVXLC]+)\.\s+(.*)$")
INCISO = re.compile(r"^([a-z])\)\s+(.*)$")
BOLD = re.compile(r"\*\*(.+?)\*\*")
ARTICLE_START = re.compile(r"^(?:\*\*)?Artículo (\d+)\.", re.MULTILINE)


# --------------------------------------------------------------------------- parsing


@dataclass
class Item:
    text: str
    level: int  # 1 = fracción or bullet, 2 = inciso under a fracción


@dataclass
class Block:
    kind: str  # heading | para | list | table
    text: str = ""
    level: int = 0
    ordered: bool = True  # list: fracciones/incisos (True) or bullets (False)
    items: list[Item] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    caption: str = ""


@dataclass
class Source:
    path: Path
    meta: dict[str, Any]
    body: str
    blocks: list[Block]

    @property
    def output(self) -> Path:
        return CORPUS / f"{self.path.stem}.{self.meta['format']}"


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    if not text.startswith("---\n"):
        raise ValueError("missing YAML front matter")
    end = text.index("\n---\n", 4)
    return yaml.safe_load(text[4:end]) or {}, text[end + 5 :]


def parse_blocks(body: str) -> list[Block]:
    blocks: list[Block] = []
    for chunk in re.split(r"\n\s*\n", body.strip()):
        lines = [ln.rstrip() for ln in chunk.splitlines() if ln.strip()]
        if not lines:
            continue
        if lines[0].startswith("#"):
            hashes, _, text = lines[0].partition(" ")
            blocks.append(Block("heading", text=text.strip(), level=len(hashes)))
            lines = lines[1:]
        caption = ""
        if lines and lines[0].startswith("TABLA:"):
            caption = lines[0][len("TABLA:") :].strip()
            lines = lines[1:]
        if lines and lines[0].startswith("|"):
            rows = [
                [c.strip() for c in ln.strip().strip("|").split("|")]
                for ln in lines
                if not re.fullmatch(r"\|?[\s:|-]+\|?", ln.strip())
            ]
            blocks.append(Block("table", rows=rows, caption=caption))
            continue
        current: Block | None = None
        for ln in lines:
            s = ln.strip()
            bullet = s.startswith("- ")
            frac, inc = FRACCION.match(s), INCISO.match(s)
            if bullet or frac or inc:
                ordered = not bullet
                if current is None or current.kind != "list" or current.ordered != ordered:
                    current = Block("list", ordered=ordered)
                    blocks.append(current)
                has_parent = any(i.level == 1 and FRACCION.match(i.text) for i in current.items)
                level = 2 if inc and has_parent else 1
                current.items.append(Item(s[2:] if bullet else s, level))
            elif current is not None and current.kind == "para":
                current.text += " " + s
            else:
                current = Block("para", text=s)
                blocks.append(current)
    return blocks


def load_source(path: Path) -> Source:
    meta, body = split_front_matter(path.read_text(encoding="utf-8"))
    return Source(path, meta, body, parse_blocks(body))


def sources() -> list[Source]:
    return [load_source(p) for p in sorted(SAMPLES.glob("*.md"))]


def sidecar_yaml(meta: dict[str, Any]) -> str:
    lines = [
        "# Metadatos del documento de muestra (generado por tools/build_samples.py; edite tools/samples/)."
    ]
    for key in META_KEYS:
        value = meta[key]
        if isinstance(value, bool):
            lines.append(f"{key}: {'true' if value else 'false'}")
        elif isinstance(value, int) or re.fullmatch(r"[a-z0-9-]+", str(value)):
            lines.append(f"{key}: {value}")
        else:
            lines.append(f"{key}: {json.dumps(str(value), ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- PDF (reportlab)


def render_pdf(src: Source) -> bytes:
    from reportlab import rl_config
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import LETTER
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    rl_config.invariant = 1  # no creation date or random document id: byte-identical output
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontName="Helvetica", fontSize=10, leading=13.5)
    styles = {
        1: ParagraphStyle("t", parent=base["Title"], fontSize=15, leading=19, alignment=TA_CENTER),
        2: ParagraphStyle("h1", parent=base["Heading1"], fontSize=13, leading=16, spaceBefore=10),
        3: ParagraphStyle("h2", parent=base["Heading2"], fontSize=11.5, leading=14, spaceBefore=6),
        4: ParagraphStyle("h3", parent=base["Heading3"], fontSize=10.5, leading=13),
    }
    item_styles = {
        1: ParagraphStyle("i1", parent=body, leftIndent=0.8 * cm, spaceBefore=0, spaceAfter=1),
        2: ParagraphStyle("i2", parent=body, leftIndent=1.6 * cm, spaceBefore=0, spaceAfter=1),
    }
    cell = ParagraphStyle("cell", parent=body, fontSize=9, leading=11)
    cell_head = ParagraphStyle("cellh", parent=cell, fontName="Helvetica-Bold")
    caption = ParagraphStyle("cap", parent=body, fontName="Helvetica-Oblique", fontSize=9, spaceBefore=4)

    def inline(text: str) -> str:
        return BOLD.sub(r"<b>\1</b>", html.escape(text, quote=False))

    story: list[Any] = []
    for b in src.blocks:
        if b.kind == "heading":
            story.append(Paragraph(inline(b.text), styles[min(b.level, 4)]))
        elif b.kind == "para":
            story.append(Paragraph(inline(b.text), body))
        elif b.kind == "list":
            for it in b.items:
                text = ("• " + it.text) if not b.ordered else it.text
                story.append(Paragraph(inline(text), item_styles[it.level]))
            story.append(Spacer(1, 4))
        elif b.kind == "table":
            if b.caption:
                story.append(Paragraph(inline(b.caption), caption))
            data = [
                [Paragraph(inline(c), cell_head if r == 0 else cell) for c in row]
                for r, row in enumerate(b.rows)
            ]
            widths = [7.6 * cm, 5.2 * cm, 3.9 * cm][: len(b.rows[0])]
            table = Table(data, colWidths=widths, repeatRows=1)
            table.setStyle(
                TableStyle(
                    [
                        ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dfe8d8")),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ]
                )
            )
            story.extend([table, Spacer(1, 8)])

    header = str(src.meta.get("header") or src.meta["title"])

    def decorate(canvas: Any, doc: Any) -> None:
        width, height = LETTER
        canvas.saveState()
        canvas.setFont("Helvetica", 8)
        canvas.drawString(2 * cm, height - 1.3 * cm, header)
        canvas.line(2 * cm, height - 1.45 * cm, width - 2 * cm, height - 1.45 * cm)
        canvas.line(2 * cm, 1.6 * cm, width - 2 * cm, 1.6 * cm)
        canvas.drawString(2 * cm, 1.1 * cm, "Documento de muestra, no oficial")
        canvas.drawRightString(width - 2 * cm, 1.1 * cm, f"Página {doc.page}")
        canvas.restoreState()

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=LETTER,
        leftMargin=2 * cm,
        rightMargin=2 * cm,
        topMargin=2.2 * cm,
        bottomMargin=2.2 * cm,
        title=src.meta["title"],
        author="Campo — corpus de muestra",
        subject="Documento de muestra para demostración; no es el texto oficial",
    )
    doc.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return out.getvalue()


# --------------------------------------------------------------------------- DOCX (python-docx)


def render_docx(src: Source) -> bytes:
    from docx import Document
    from docx.shared import Cm, Pt

    document = Document()
    props = document.core_properties
    props.title = src.meta["title"]
    props.author = "Campo — corpus de muestra"
    props.last_modified_by = "tools/build_samples.py"
    props.comments = "Documento de muestra para demostración; no es el texto oficial."
    props.created = props.modified = props.last_printed = FIXED_DATE
    props.revision = 1

    def add_runs(paragraph: Any, text: str) -> None:
        for i, part in enumerate(re.split(r"\*\*(.+?)\*\*", text)):
            if part:
                paragraph.add_run(part).bold = i % 2 == 1

    for b in src.blocks:
        if b.kind == "heading":
            if b.level == 1:
                document.add_heading(b.text, level=0)
            else:
                document.add_heading(b.text, level=min(b.level - 1, 3))
        elif b.kind == "para":
            add_runs(document.add_paragraph(), b.text)
        elif b.kind == "list":
            for it in b.items:
                p = document.add_paragraph(style=None if b.ordered else "List Bullet")
                if b.ordered:
                    p.paragraph_format.left_indent = Cm(0.8 * it.level)
                p.paragraph_format.space_after = Pt(2)
                add_runs(p, it.text)
        elif b.kind == "table":
            if b.caption:
                add_runs(document.add_paragraph(style="Caption"), b.caption)
            table = document.add_table(rows=len(b.rows), cols=len(b.rows[0]))
            table.style = "Table Grid"
            for r, row in enumerate(b.rows):
                for c, value in enumerate(row):
                    cell = table.cell(r, c)
                    cell.text = ""
                    run = cell.paragraphs[0].add_run(value)
                    run.bold = r == 0
            document.add_paragraph()

    raw = io.BytesIO()
    document.save(raw)
    return _normalize_zip(raw.getvalue())


def _normalize_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed timestamps so the same content gives the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_DATE.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            zout.writestr(fixed, zin.read(info.filename))
    return out.getvalue()


# --------------------------------------------------------------------------- HTML

HTML_NAV = """<nav aria-label="Navegación del sitio">
  <ul>
    <li><a href="#">Inicio</a></li>
    <li><a href="#">Programas</a></li>
    <li><a href="#">Convocatorias</a></li>
    <li><a href="#">Transparencia</a></li>
    <li><a href="#">Contacto</a></li>
  </ul>
</nav>"""

HTML_FOOTER = """<footer>
  <p>Sitio de demostración del proyecto Campo. Todos los derechos reservados.</p>
  <p><a href="#">Aviso de privacidad</a> · <a href="#">Términos de uso</a> · <a href="#">Mapa del sitio</a></p>
</footer>"""

HTML_STYLE = """body { font-family: sans-serif; max-width: 52rem; margin: auto; line-height: 1.45; }
nav ul { list-style: none; display: flex; gap: 1rem; padding: 0; }
ol.fracciones, ol.incisos { list-style: none; padding-left: 1.5rem; }
table { border-collapse: collapse; } th, td { border: 1px solid #999; padding: .3rem .5rem; }
footer { font-size: .8rem; color: #555; border-top: 1px solid #ccc; margin-top: 2rem; }"""


def render_html(src: Source) -> bytes:
    def inline(text: str) -> str:
        return BOLD.sub(r"<strong>\1</strong>", html.escape(text, quote=False))

    parts: list[str] = []
    for b in src.blocks:
        if b.kind == "heading":
            level = min(b.level, 6)
            parts.append(f"<h{level}>{inline(b.text)}</h{level}>")
        elif b.kind == "para":
            parts.append(f"<p>{inline(b.text)}</p>")
        elif b.kind == "list" and not b.ordered:
            parts.append("<ul>\n" + "\n".join(f"  <li>{inline(i.text)}</li>" for i in b.items) + "\n</ul>")
        elif b.kind == "list":
            lines = ['<ol class="fracciones">']
            open_li = open_sub = False
            for it in b.items:
                if it.level == 2:
                    if not open_sub:
                        lines.append('    <ol class="incisos">')
                        open_sub = True
                    lines.append(f"      <li>{inline(it.text)}</li>")
                    continue
                if open_sub:
                    lines.append("    </ol>")
                    open_sub = False
                if open_li:
                    lines.append("  </li>")
                lines.append(f"  <li>{inline(it.text)}")
                open_li = True
            if open_sub:
                lines.append("    </ol>")
            if open_li:
                lines.append("  </li>")
            lines.append("</ol>")
            # Close simple items on their own line: <li>I. ...</li>
            lines = re.sub(r"(<li>[^\n]*)\n  </li>", r"\1</li>", "\n".join(lines)).split("\n")
            parts.append("\n".join(lines))
        elif b.kind == "table":
            rows = [f"<table>\n  <caption>{inline(b.caption)}</caption>" if b.caption else "<table>"]
            head, *tail = b.rows
            rows.append("  <thead><tr>" + "".join(f"<th>{inline(c)}</th>" for c in head) + "</tr></thead>")
            rows.append("  <tbody>")
            rows += ["    <tr>" + "".join(f"<td>{inline(c)}</td>" for c in r) + "</tr>" for r in tail]
            rows.append("  </tbody>\n</table>")
            parts.append("\n".join(rows))
    title = html.escape(src.meta["title"])
    page = f"""<!DOCTYPE html>
<html lang="es">
<head>
<meta charset="utf-8">
<title>{title}</title>
<meta name="description" content="Documento de muestra para demostración; no es el texto oficial.">
<style>
{HTML_STYLE}
</style>
</head>
<body>
{HTML_NAV}
<main>
<article>
{chr(10).join(parts)}
</article>
</main>
{HTML_FOOTER}
</body>
</html>
"""
    return page.encode("utf-8")


RENDERERS = {"pdf": render_pdf, "docx": render_docx, "html": render_html}


def build() -> None:
    CORPUS.mkdir(exist_ok=True)
    for src in sources():
        data = RENDERERS[src.meta["format"]](src)
        src.output.write_bytes(data)
        sidecar = src.output.with_name(src.output.name + ".meta.yaml")
        sidecar.write_text(sidecar_yaml(src.meta), encoding="utf-8")
        print(f"wrote {src.output.relative_to(ROOT)} ({len(data):,} bytes) and {sidecar.name}")


# --------------------------------------------------------------------------- checks


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return re.sub(r"\s+", " ", "".join(c for c in decomposed if not unicodedata.combining(c)))


def plain(body: str) -> str:
    """Source text without Markdown marks: what a loader would read."""
    body = body.replace("**", "")
    body = re.sub(r"^#+\s*", "", body, flags=re.MULTILINE)
    return re.sub(r"^TABLA:\s*", "", body, flags=re.MULTILINE)


def extracted_text(path: Path) -> str:
    """Text of a built file, read back the way a loader would."""
    if path.suffix == ".pdf":
        from pypdf import PdfReader

        return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)
    if path.suffix == ".docx":
        from docx import Document

        d = Document(str(path))
        cells = [c.text for t in d.tables for r in t.rows for c in r.cells]
        return "\n".join([p.text for p in d.paragraphs] + cells)
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    for tag in soup(["nav", "footer", "style", "script"]):
        tag.decompose()
    return soup.get_text(" ")


def article_text(text: str, section: str) -> str | None:
    """The text of 'Artículo N' (up to the next article), or None if the section is not an article."""
    m = re.fullmatch(r"Artículo (\d+)", section.strip())
    if not m:
        return None
    starts = [(int(x.group(1)), x.start()) for x in ARTICLE_START.finditer(text)]
    for i, (num, pos) in enumerate(starts):
        if num == int(m.group(1)):
            end = starts[i + 1][1] if i + 1 < len(starts) else len(text)
            return text[pos:end]
    return ""


def corpus_documents(problems: list[str]) -> dict[str, dict[str, Any]]:
    """id -> {meta, texts: [source/plain text, extracted text...], path} for every corpus document."""
    docs: dict[str, dict[str, Any]] = {}
    for path in sorted(CORPUS.iterdir()):
        if path.suffix in (".md", ".txt") and path.name.lower() != "readme.md":
            meta, body = split_front_matter(path.read_text(encoding="utf-8"))
            texts = [plain(body)]
            source_body = body
        elif path.suffix in (".pdf", ".docx", ".html"):
            sidecar = path.with_name(path.name + ".meta.yaml")
            if not sidecar.exists():
                problems.append(f"{path.name}: missing sidecar {sidecar.name}")
                continue
            meta = yaml.safe_load(sidecar.read_text(encoding="utf-8"))
            src_path = SAMPLES / f"{path.stem}.md"
            if not src_path.exists():
                problems.append(f"{path.name}: no source in tools/samples/")
                continue
            src = load_source(src_path)
            source_body = src.body
            texts = [plain(src.body), extracted_text(path)]
            if RENDERERS[path.suffix[1:]](src) != path.read_bytes():
                problems.append(f"{path.name}: out of date or not deterministic; run tools/build_samples.py")
        else:
            continue
        missing = [k for k in META_KEYS if k not in meta]
        if missing:
            problems.append(f"{path.name}: metadata keys missing: {missing}")
            continue
        if meta["program"] not in PROGRAMS or meta["doc_type"] not in DOC_TYPES:
            problems.append(f"{path.name}: bad program or doc_type")
        if meta["id"] in docs:
            problems.append(f"{path.name}: duplicate id {meta['id']}")
        numbers = [int(n) for n in ARTICLE_START.findall(source_body)]
        if meta["sample"]:
            if numbers != list(range(1, len(numbers) + 1)) or not numbers:
                problems.append(f"{path.name}: articles not numbered 1..n: {numbers}")
            if "Documento de muestra elaborado para demostración" not in source_body[:600]:
                problems.append(f"{path.name}: sample disclaimer missing after the title")
        words = len(plain(source_body).split())
        docs[meta["id"]] = {"meta": meta, "texts": texts, "path": path, "words": words}
    return docs


def check_questions(docs: dict[str, dict[str, Any]], problems: list[str]) -> tuple[int, int]:
    items = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
    in_scope = out_scope = 0
    for n, q in enumerate(items, 1):
        label = f"question {n} ({q.get('q', '')[:50]!r})"
        if not q.get("q"):
            problems.append(f"{label}: empty question")
        if q.get("out_of_scope"):
            out_scope += 1
            if q.get("document") or q.get("answer"):
                problems.append(f"{label}: out-of-scope questions take no document or answer")
            continue
        in_scope += 1
        doc = docs.get(q.get("document", ""))
        if doc is None:
            problems.append(f"{label}: unknown document {q.get('document')!r}")
            continue
        section, answer = str(q.get("section", "")), str(q.get("answer", ""))
        if not section or not answer:
            problems.append(f"{label}: section and answer are required")
            continue
        # The answer must sit inside the named article of the source text, and appear in the text read
        # back from the built PDF/DOCX/HTML (where layout may move tables, so anywhere in the document).
        for i, text in enumerate(doc["texts"]):
            folded = fold(text)
            if not re.search(re.escape(fold(section)) + r"(?!\d)", folded):
                problems.append(f"{label}: section {section!r} not in {doc['path'].name}")
                break
            scope = article_text(text, section) if i == 0 else None
            where = folded if scope is None else fold(scope)
            if fold(answer).strip() not in where:
                kind = "source" if i == 0 else "extracted text"
                problems.append(f"{label}: answer {answer!r} not in {section} ({kind}) of {doc['path'].name}")
                break
    if in_scope + out_scope < 45:
        problems.append(f"only {in_scope + out_scope} questions (need at least 45)")
    if out_scope < 8:
        problems.append(f"only {out_scope} out-of-scope questions (need at least 8)")
    return in_scope, out_scope


def check() -> int:
    problems: list[str] = []
    docs = corpus_documents(problems)
    in_scope, out_scope = check_questions(docs, problems)
    for doc_id, d in sorted(docs.items()):
        print(f"{doc_id:52} {d['path'].suffix[1:]:5} {d['words']:6,} words")
    print(f"{len(docs)} documents; {in_scope} in-scope and {out_scope} out-of-scope questions")
    for p in problems:
        print("PROBLEM:", p, file=sys.stderr)
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="verify corpus, outputs and sample questions")
    args = parser.parse_args(argv)
    if args.check:
        return check()
    build()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
