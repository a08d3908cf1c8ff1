"""Document loaders: PDF, DOCX, HTML, Markdown and plain text become one shape, a list of `Block`s.

The splitter never cares where a paragraph came from. Bad input raises `LoaderError`, whose message
is a short Spanish reason shown in the ingestion report.
"""

from __future__ import annotations

import io
import logging
import math
import re
import unicodedata
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES: frozenset[str] = frozenset({".pdf", ".docx", ".html", ".htm", ".md", ".markdown", ".txt"})
SIDECAR_SUFFIX = ".meta.yaml"
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
MAX_ZIP_RATIO = 100  # uncompressed/compressed above this (and above 10 MB) is a zip bomb

BlockKind = Literal["heading", "paragraph", "list_item", "table_row"]

_ORDINAL = r"(?:primer|segund|tercer|cuart|quint|sext|s[ée]ptim|octav|noven|d[ée]cim|[úu]nic)[oa]"
# "Título II", "CAPÍTULO PRIMERO", "Sección 3. …" open a division; "Capítulo II de la Ley" does not.
HEADING_LABEL = re.compile(
    rf"^(t[íi]tulo|cap[íi]tulo|secci[óo]n|libro)\s+([IVXLC]+|\d+|{_ORDINAL})\b(?!\s*(?-i:[a-záéíóúñü]))", re.I
)
TRANSITORIOS = re.compile(r"^(?:art[íi]culos\s+)?transitorios?\.?$", re.I)
# "Artículo 12.", "ARTÍCULO 1o.-", "Artículo 5 Bis.", "Artículo Primero." (punct is required for paragraphs)
ARTICLE_START = re.compile(
    rf"^(?:art[íi]culo|art\.)\s+(?P<num>\d+(?:\s?[o°º])?(?:[\s-]?(?:bis|ter|qu[áa]ter))?|{_ORDINAL})"
    r"(?P<punct>\s*[.:\-–—]+)?(?=\s|$)",
    re.I,
)
# Bullets, "1.", "1)", fracciones "IV.", incisos "a)" / "b.".
LIST_MARKER = re.compile(
    r"^(?:[-*+•·▪◦‣–]\s+|\(?\d{1,3}[.)]\s+|[IVXLC]{1,7}[.)]\s+|\(?[a-zñA-Z]\)\s+|[a-z]\.\s+)"
)
_BULLET = re.compile(r"^[-*+•·▪◦‣–]\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u200b-\u200d\u2060\ufeff]")
_ENDS_SENTENCE = re.compile(r"[.;:!?]$")


@dataclass
class Block:
    text: str
    kind: BlockKind
    page: int | None = None
    level: int = 0


@dataclass
class LoadedDocument:
    path: Path
    title: str
    blocks: list[Block]
    metadata: dict[str, Any]
    pages: int | None = None


class LoaderError(Exception):
    """A file that cannot be ingested; ``str(exc)`` is a short Spanish reason."""


def is_sidecar(path: Path) -> bool:
    return Path(path).name.lower().endswith(SIDECAR_SUFFIX)


def clean_text(text: str) -> str:
    """NFC, Unix newlines, no control or zero-width characters, no soft hyphens."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.replace("\u00ad\n", "-\n").replace("\t", " ").replace("\xa0", " ")
    return _CONTROL.sub("", text)


def squash(text: str) -> str:
    return " ".join(text.split())


# --- Metadata -----------------------------------------------------------------------------------

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)^(?:---|\.\.\.)[ \t]*$\n?", re.S | re.M)


def _parse_yaml(text: str, source: str) -> dict[str, Any]:
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise LoaderError(f"metadatos YAML mal formados ({source})") from exc
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise LoaderError(f"los metadatos de {source} deben ser pares «clave: valor»")
    return {str(k): v for k, v in value.items()}


def _split_front_matter(text: str, source: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    return _parse_yaml(match.group(1), f"encabezado YAML de {source}"), text[match.end() :]


def _sidecar_metadata(path: Path) -> dict[str, Any]:
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    if not sidecar.is_file():
        return {}
    return _parse_yaml(clean_text(_decode(sidecar.read_bytes())), sidecar.name)


def read_metadata(path: Path) -> dict[str, Any]:
    """Front matter (Markdown/TXT) updated by the sidecar ``<file>.meta.yaml``; {} if neither."""
    path = Path(path)
    meta: dict[str, Any] = {}
    if path.suffix.lower() in (".md", ".markdown", ".txt") and path.is_file():
        meta.update(_split_front_matter(clean_text(_decode(path.read_bytes())), path.name)[0])
    meta.update(_sidecar_metadata(path))
    return meta


# --- Entry point ----------------------------------------------------------------------------------


def load_document(
    path: Path, *, max_pdf_pages: int = 1500, max_bytes: int = 20 * 1024 * 1024
) -> LoadedDocument:
    """Read one file into typed blocks; raise `LoaderError` with a Spanish reason on bad input."""
    path = Path(path)
    suffix = path.suffix.lower()
    if is_sidecar(path) or suffix not in SUPPORTED_SUFFIXES:
        raise LoaderError(f"formato no soportado ({suffix or 'sin extensión'})")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise LoaderError(
                f"archivo demasiado grande ({size / 2**20:.1f} MB; máximo {max_bytes / 2**20:.0f} MB)"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise LoaderError("no se pudo leer el archivo") from exc
    if not data.strip():
        raise LoaderError("archivo vacío")
    metadata: dict[str, Any] = {}
    pages: int | None = None
    try:
        _sniff(data, suffix)
        if suffix == ".pdf":
            blocks, format_title, pages = _load_pdf(data, max_pdf_pages)
        elif suffix == ".docx":
            blocks, format_title = _load_docx(data)
        elif suffix in (".html", ".htm"):
            blocks, format_title = _load_html(data)
        else:
            text = clean_text(_decode(data))
            metadata, body = _split_front_matter(text, path.name)
            if not body.strip() and not metadata:
                raise LoaderError("archivo vacío")
            blocks, format_title = _text_blocks(body, markdown=suffix != ".txt"), ""
    except LoaderError:
        raise
    except Exception as exc:  # a parser tripped on damaged input (fuzzing: NotImplementedError from zipfile)
        log.warning("unexpected %s reading %s", type(exc).__name__, path.name, exc_info=True)
        raise LoaderError("archivo dañado o ilegible") from exc
    metadata.update(_sidecar_metadata(path))
    if not blocks:
        raise LoaderError("el documento no tiene texto utilizable")
    return LoadedDocument(path, _pick_title(metadata, format_title, blocks, path), blocks, metadata, pages)


def _pick_title(meta: dict[str, Any], format_title: str, blocks: list[Block], path: Path) -> str:
    if isinstance(meta.get("title"), str | int) and squash(str(meta["title"])):
        return squash(str(meta["title"]))
    candidate = squash(format_title)
    junk = re.search(r"\.(docx?|pdf|html?|txt|md)$|^(untitled|sin t[íi]tulo|microsoft word)", candidate, re.I)
    if len(candidate) >= 3 and not junk:
        return candidate
    return next((b.text for b in blocks if b.kind == "heading"), path.stem)


_BINARY_MAGIC = (b"%PDF", b"PK\x03\x04", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"\xd0\xcf\x11\xe0")


def _sniff(data: bytes, suffix: str) -> None:
    mismatch = LoaderError(f"el contenido no corresponde a la extensión {suffix}")
    if suffix == ".pdf":
        if b"%PDF-" not in data[:1024]:
            raise mismatch
    elif suffix == ".docx":
        _check_zip(data, mismatch)
    elif not data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 text has NULs by design
        head = data[:8192]
        controls = sum(1 for b in head if b < 9 or 14 <= b < 32)  # a stray NUL is cleaned, many are binary
        if head.startswith(_BINARY_MAGIC) or controls > max(2, len(head) // 50):
            raise mismatch


def _decode(data: bytes, declared: str | None = None) -> str:
    """Text from bytes: BOM, then UTF-8, the declared charset, cp1252 and latin-1 (never fails)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    for encoding in ("utf-8", declared, "cp1252"):
        if encoding:
            try:
                return data.decode(encoding)
            except (UnicodeDecodeError, LookupError):
                continue
    return data.decode("latin-1")


# --- PDF ----------------------------------------------------------------------------------------------

_PAGE_NUMBER = re.compile(
    r"^(?:p[áa]g(?:ina|\.)?\s*)?[-–—]?\s*\d{1,4}\s*[-–—]?(?:\s*(?:de|/)\s*\d{1,4})?$", re.I
)
_CELL = re.compile(r"\S+(?: {1,2}\S+)*")  # words separated by at most two spaces; wider gaps split cells


def _load_pdf(data: bytes, max_pages: int) -> tuple[list[Block], str, int]:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = bool(reader.decrypt(""))
            except Exception:  # AES without the crypto extra, bad encryption dictionary
                opened = False
            if not opened:
                raise LoaderError("PDF cifrado: no se puede leer")
        count = len(reader.pages)
        title = str(reader.metadata.title or "") if reader.metadata else ""
    except LoaderError:
        raise
    except Exception as exc:
        raise LoaderError("PDF dañado o ilegible") from exc
    if count > max_pages:
        raise LoaderError(f"el PDF tiene {count} páginas; el máximo es {max_pages}")
    pages: list[list[str]] = []
    for number in range(count):
        text = ""
        for mode in ("layout", "plain"):  # layout keeps table cells apart; plain reads columns in order
            try:
                text = reader.pages[number].extract_text(extraction_mode=mode)
            except Exception:
                log.debug("pypdf %s extraction failed on page %d", mode, number + 1, exc_info=True)
            if text.strip() and not (mode == "layout" and _two_columns(text)):
                break
        pages.append(clean_text(text).split("\n"))
    _drop_page_furniture(pages)
    blocks = _pdf_blocks(pages)
    if not any(ch.isalnum() for b in blocks for ch in b.text):
        raise LoaderError("PDF sin texto extraíble (¿escaneado?)")
    return blocks, title, count


def _two_columns(text: str) -> bool:
    """A page set in two columns: layout mode would interleave them line by line."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    split = [line for line in lines if len(_CELL.findall(line)) == 2]
    return len(lines) >= 6 and len(split) > 0.4 * len(lines)


def _drop_page_furniture(pages: list[list[str]]) -> None:
    """Blank out running headers/footers: page numbers, and lines repeated at the edge of most pages."""

    def key(line: str) -> str:
        return re.sub(r"\d+", "#", squash(line).casefold())

    zones = []
    for lines in pages:
        filled = [i for i, line in enumerate(lines) if line.strip()]
        edge = max(1, min(3, len(filled) // 3))  # a short page is mostly body text
        zones.append(sorted(set(filled[:edge] + filled[-edge:])))
    counts = Counter(
        k for lines, zone in zip(pages, zones, strict=True) for k in {key(lines[i]) for i in zone}
    )
    needed = max(2, math.ceil(len(pages) * 0.5))
    for lines, zone in zip(pages, zones, strict=True):
        for i in zone:
            if _PAGE_NUMBER.match(squash(lines[i])) or (len(pages) > 1 and counts[key(lines[i])] >= needed):
                lines[i] = ""


def join_line(text: str, line: str) -> str:
    """Append a wrapped line: 'pro-' + 'ductores' -> 'productores', '2013-' + '2018' -> '2013-2018'."""
    if not text:
        return line
    if re.search(r"[^\W\d_]-$", text) and line[:1].islower():
        return text[:-1] + line
    if re.search(r"\w[-/]$", text):
        return text + line
    return f"{text} {line}"


def _pdf_blocks(pages: list[list[str]]) -> list[Block]:
    blocks: list[Block] = []
    cur: Block | None = None
    header: str | None = None  # last table's header row, to drop its repetition on the next page

    def flush() -> None:
        nonlocal cur
        if cur is not None and cur.text:
            blocks.append(cur)
        cur = None

    for page_no, raw_lines in enumerate(pages, 1):
        lines = [line.rstrip() for line in raw_lines]
        while lines and not lines[-1].strip():
            lines.pop()
        width = max((len(line.strip()) for line in lines), default=0)
        page_start, previous = True, ""
        i = 0
        while i < len(lines):
            raw, line = lines[i], squash(lines[i])
            if not line:
                if not page_start:
                    flush()
                i += 1
                continue
            if len(_CELL.findall(raw)) >= 3 and len((table := _pdf_table(lines, i))[0]) >= 2:
                flush()
                rows, i = table
                if page_start and blocks and blocks[-1].kind == "table_row" and rows[0] == header:
                    rows = rows[1:]  # the header row repeated on top of the next page
                else:
                    header = rows[0]
                blocks.extend(Block(row, "table_row", page_no) for row in rows)
                page_start, previous = False, ""
                continue
            ended = cur is None or cur.kind == "heading" or bool(_ENDS_SENTENCE.search(cur.text))
            opens = bool(LIST_MARKER.match(line) or _opens_article(line) or (ended and _heading_level(line)))
            short_prev = bool(previous) and len(previous) < 0.6 * width
            if (
                cur is None
                or cur.kind == "heading"
                or opens
                or (ended and line[:1].isupper() and (page_start or short_prev))
            ):
                flush()
                if level := _heading_level(line):
                    cur = Block(line, "heading", page_no, level)
                elif LIST_MARKER.match(line):
                    cur = Block(_BULLET.sub("", line), "list_item", page_no)
                else:
                    cur = Block(line, "paragraph", page_no)
            else:
                cur.text = join_line(cur.text, line)
            page_start, previous = False, line
            i += 1
    flush()
    return blocks


def _opens_article(line: str) -> bool:
    """'Artículo 12. …' opens an article; 'Artículo 35 de la Ley…' on a wrapped line does not."""
    match = ARTICLE_START.match(line)
    return bool(match and match.group("punct") and line[:1].isupper())


def _heading_level(line: str) -> int:
    """1 for Título/Libro/Transitorios, 2 for Capítulo, 3 for Sección; 0 if the line is no heading."""
    if TRANSITORIOS.match(line):
        return 1
    match = HEADING_LABEL.match(line)
    if not match or len(line) > 120 or not line[:1].isupper():
        return 0
    return {"c": 2, "s": 3}.get(match.group(1)[:1].lower(), 1)


def _pdf_table(lines: list[str], i: int) -> tuple[list[str], int]:
    """Rows of a layout-mode table starting at line i; wrapped cell lines join their row."""
    columns = [m.start() for m in _CELL.finditer(lines[i])]

    def column(pos: int) -> int:
        return min(range(len(columns)), key=lambda k: abs(columns[k] - pos))

    rows: list[list[str]] = []
    while i < len(lines) and lines[i].strip():
        cells = [(m.start(), m.group()) for m in _CELL.finditer(lines[i])]
        aligned = all(abs(columns[column(pos)] - pos) <= 2 for pos, _ in cells)
        if len(cells) >= 3 and (aligned or not rows):
            rows.append([""] * len(columns))
            for pos, text in cells:
                rows[-1][column(pos)] = squash(f"{rows[-1][column(pos)]} {text}")
        elif rows and aligned and not (LIST_MARKER.match(cells[0][1]) or _opens_article(cells[0][1])):
            for pos, text in cells:
                rows[-1][column(pos)] = join_line(rows[-1][column(pos)], squash(text))
        else:
            break
        i += 1
    return [" | ".join(row) for row in rows], i


# --- DOCX ---------------------------------------------------------------------------------------------

_DOCX_HEADING = re.compile(r"^(?:heading|t[íi]tulo|encabezado)\s*([1-9])$", re.I)


def _check_zip(data: bytes, mismatch: LoaderError) -> None:
    if not data.startswith(b"PK\x03\x04"):
        raise mismatch
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise LoaderError("DOCX dañado o ilegible") from exc
    if "word/document.xml" not in {info.filename for info in infos}:
        raise mismatch
    total = sum(info.file_size for info in infos)
    too_big = total > MAX_UNZIPPED_BYTES or (total > 10 * 2**20 and total > MAX_ZIP_RATIO * len(data))
    if too_big or len(infos) > 10_000:
        raise LoaderError("DOCX sospechoso: su contenido descomprimido es demasiado grande")


def _load_docx(data: bytes) -> tuple[list[Block], str]:
    import docx
    from docx.oxml.ns import qn
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise LoaderError("DOCX dañado o ilegible") from exc
    blocks: list[Block] = []

    def text_of(element: Any) -> str:
        return squash(clean_text(Paragraph(element, document).text))  # type: ignore[arg-type]

    def style_of(element: Any) -> str:
        try:
            return str(Paragraph(element, document).style.name or "").lower()  # type: ignore[arg-type, union-attr]
        except Exception:  # a style id missing from styles.xml
            return ""

    def walk(parent: Any) -> None:
        for element in parent.iterchildren():
            if element.tag == qn("w:p") and (text := text_of(element)):
                style, ppr = style_of(element), element.pPr
                outline = ppr.find(qn("w:outlineLvl")) if ppr is not None else None
                level = str(outline.get(qn("w:val"))) if outline is not None else ""
                if match := _DOCX_HEADING.match(style):
                    blocks.append(Block(text, "heading", level=min(int(match.group(1)), 6)))
                elif style in ("title", "título", "titulo") or (level.isdigit() and int(level) < 6):
                    blocks.append(Block(text, "heading", level=int(level) + 1 if level.isdigit() else 1))
                elif style.startswith(("list", "lista", "párrafo de lista")) or LIST_MARKER.match(text):
                    blocks.append(Block(_BULLET.sub("", text), "list_item"))
                elif ppr is not None and ppr.numPr is not None:
                    blocks.append(Block(text, "list_item"))
                else:
                    blocks.append(Block(text, "paragraph"))
            elif element.tag == qn("w:tbl"):
                for row in element.iterchildren(qn("w:tr")):
                    cells = [
                        " ".join(map(text_of, c.iterchildren(qn("w:p"))))
                        for c in row.iterchildren(qn("w:tc"))
                    ]
                    if any(cells):
                        blocks.append(Block(squash(" | ".join(cells)), "table_row"))
            elif element.tag == qn("w:sdt") and (content := element.find(qn("w:sdtContent"))) is not None:
                walk(content)

    walk(document.element.body)
    return blocks, document.core_properties.title or ""


# --- HTML ---------------------------------------------------------------------------------------------

_HTML_DROP = re.compile(r"^(script|style|nav|header|footer|aside|form|noscript|template|iframe|svg)$")
_HTML_HEADING = re.compile(r"^h[1-6]$")
_HTML_PARAGRAPH = re.compile(r"^(p|dt|figcaption|pre|summary|legend|address|caption)$")
_HTML_BLOCK = re.compile(  # what ends a run of inline text
    r"^(h[1-6]|p|dt|figcaption|pre|summary|legend|address|caption|ul|ol|li|table|tr|td|th|hr|div|section"
    r"|article|main|body|html|blockquote|figure|dl|dd|center|details|fieldset)$"
)


def _load_html(data: bytes) -> tuple[list[Block], str]:
    from bs4 import BeautifulSoup, NavigableString, Tag
    from bs4.element import PreformattedString

    declared = re.search(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_.:-]+)", data[:4096], re.I)
    text = clean_text(_decode(data, declared.group(1).decode("ascii") if declared else None))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. XMLParsedAsHTMLWarning: we parse it as HTML on purpose
        soup = BeautifulSoup(text, "lxml")
    root = soup.find("main") or soup.find("article") or soup.body or soup
    if not isinstance(root, Tag):
        return [], ""
    for tag in root.find_all(_HTML_DROP):
        if not tag.decomposed and not (tag.name == "header" and tag.find_parent(["main", "article"])):
            tag.decompose()
    blocks: list[Block] = []

    def emit(kind: BlockKind, raw: str, level: int = 0) -> None:
        if kind != "paragraph":
            if value := squash(raw):
                blocks.append(
                    Block(_BULLET.sub("", value) if kind == "list_item" else value, kind, level=level)
                )
            return
        growing = False  # whether blocks[-1] is this paragraph, still taking lines
        for part in filter(None, map(squash, raw.split("\n"))):  # lines split by <br>
            if LIST_MARKER.match(part):  # fracciones written one per line inside a <p>
                blocks.append(Block(_BULLET.sub("", part), "list_item"))
                growing = False
            elif growing:
                blocks[-1].text += f" {part}"
            else:
                blocks.append(Block(part, "paragraph"))
                growing = True

    def text_of(node: Tag, skip: tuple[str, ...] = ()) -> str:
        parts = []
        for child in node.children:
            if isinstance(child, Tag) and child.name not in skip:
                gap = "\n" if child.name == "br" else " " if _HTML_BLOCK.match(child.name) else ""
                parts.append(gap + text_of(child, skip) + gap)
            elif isinstance(child, NavigableString) and not isinstance(child, PreformattedString):
                parts.append(str(child))
        return "".join(parts)

    def walk(node: Tag) -> None:
        buffer: list[str] = []
        for child in node.children:
            if not isinstance(child, Tag):
                if isinstance(child, NavigableString) and not isinstance(child, PreformattedString):
                    buffer.append(str(child))
            elif not _HTML_BLOCK.match(child.name) and child.find(_HTML_BLOCK) is None:
                buffer.append("\n" if child.name == "br" else text_of(child))
            else:
                emit("paragraph", "".join(buffer))
                buffer = []
                if _HTML_HEADING.match(child.name):
                    emit("heading", text_of(child), int(child.name[1]))
                elif _HTML_PARAGRAPH.match(child.name):
                    emit("paragraph", text_of(child))
                elif child.name == "li":  # its own text, then the lists and tables nested in it
                    emit("list_item", text_of(child, ("ul", "ol", "table")))
                    for sub in child.find_all(["ul", "ol", "table"]):
                        if sub.find_parent(["li", "table"]) is child:
                            table(sub) if sub.name == "table" else walk(sub)
                elif child.name == "table":
                    table(child)
                elif child.name != "hr":
                    walk(child)
        emit("paragraph", "".join(buffer))

    def table(node: Tag) -> None:
        if node.caption:
            emit("paragraph", text_of(node.caption))
        for row in node.find_all("tr"):
            cells = [squash(text_of(cell)) for cell in row.find_all(["td", "th"], recursive=False)]
            if row.find_parent("table") is node and any(cells):
                emit("table_row", " | ".join(cells))

    try:
        walk(root)
        if not blocks and soup.body is not None and root is not soup.body:
            walk(soup.body)  # an empty <main>: the content is elsewhere
    except RecursionError as exc:
        raise LoaderError("HTML con demasiados niveles de anidamiento") from exc
    title = soup.title.get_text() if soup.title else ""
    return blocks, squash(title) or next((b.text for b in blocks if b.kind == "heading" and b.level == 1), "")


# --- Markdown and plain text -----------------------------------------------------------------------

_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_MD_RULE = re.compile(r"^\s{0,3}([-*_])(?:\s*\1){2,}\s*$")
_MD_TABLE_SEP = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
# Raw HTML whose content is never shown as text (CommonMark HTML blocks run to the closing tag or to the
# end of the document); without this, a script embedded in Markdown became chunk text.
_MD_HIDDEN_HTML = re.compile(
    r"<(script|style|noscript|template|iframe|object|textarea|svg)\b[^>]*>.*?(?:</\1\s*>|\Z)|<!--.*?(?:-->|\Z)",
    re.I | re.S,
)
_MD_INLINE: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"<!--.*?-->"), ""),
    (re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*\\])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<![\w\\])_(?=\S)([^_]+?)(?<=\S)_(?!\w)"), r"\1"),
    (re.compile(r"`([^`]*)`"), r"\1"),
    (re.compile(r"</?[A-Za-z][^>]*>"), " "),
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>])"), r"\1"),
]


def markdown_inline(text: str) -> str:
    """Plain text of one line of Markdown: no emphasis, links, code marks, tags or escapes."""
    for pattern, replacement in _MD_INLINE:
        text = pattern.sub(replacement, text)
    return squash(text)


def _text_blocks(text: str, *, markdown: bool) -> list[Block]:
    blocks: list[Block] = []
    lines: list[str] = []
    kind: BlockKind = "paragraph"
    inline: Callable[[str], str] = markdown_inline if markdown else squash
    in_table = fenced = False

    def flush() -> None:
        nonlocal lines
        if lines and (value := inline(" ".join(lines))):
            blocks.append(Block(value, kind))
        lines = []

    if markdown:
        text = _MD_HIDDEN_HTML.sub(" ", text)
    raw_lines = text.split("\n")
    for i, raw in enumerate(raw_lines):
        line = raw.strip()
        if markdown and line.startswith(("```", "~~~")):
            flush()
            fenced = not fenced
            continue
        if not line or fenced:
            flush() if not line else lines.append(line)
            in_table = False
            continue
        if markdown and line.startswith(">"):
            line = line.lstrip("> ").strip()
        next_line = raw_lines[i + 1] if i + 1 < len(raw_lines) else ""
        if "|" in line and (in_table or line.startswith("|") or _MD_TABLE_SEP.match(next_line)):
            flush()
            in_table = True
            if not _MD_TABLE_SEP.match(line):
                cells = [
                    inline(c)
                    for c in re.split(r"(?<!\\)\|", line.strip().removeprefix("|").removesuffix("|"))
                ]
                if any(cells):  # a row of empty cells ("|", "| |") is no text
                    blocks.append(Block(" | ".join(cells), "table_row"))
            continue
        in_table = False
        if markdown and (match := _MD_HEADING.match(raw)):
            flush()
            if heading := inline(match.group(2)):
                blocks.append(Block(heading, "heading", level=len(match.group(1))))
        elif markdown and _MD_RULE.match(raw):
            flush()
        elif LIST_MARKER.match(line):
            flush()
            kind, lines = "list_item", [_BULLET.sub("", line)]
        else:
            # An unindented sentence after a finished list item opens a paragraph ("Los talleres se…").
            item_done = lines and kind == "list_item" and re.search(r"[.!?]$", lines[-1])
            if item_done and not raw[:1].isspace() and line[:1].isupper():
                flush()
            if not lines:
                kind = "paragraph"
            lines.append(line)
    flush()
    return blocks
