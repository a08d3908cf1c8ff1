"""HTML (BeautifulSoup + lxml): the main text with its headings, lists and tables."""

from __future__ import annotations

import re
import warnings

from assistant.legal import BULLET, LIST_MARKER
from ingestion.loaders.base import Block, BlockKind, LoaderError, Parsed, clean_text, squash
from ingestion.loaders.encoding import decode

_HTML_DROP = re.compile(r"^(script|style|nav|header|footer|aside|form|noscript|template|iframe|svg)$")
_HTML_HEADING = re.compile(r"^h[1-6]$")
_HTML_PARAGRAPH = re.compile(r"^(p|dt|figcaption|pre|summary|legend|address|caption)$")
_HTML_BLOCK = re.compile(  # what ends a run of inline text
    r"^(h[1-6]|p|dt|figcaption|pre|summary|legend|address|caption|ul|ol|li|table|tr|td|th|hr|div|section"
    r"|article|main|body|html|blockquote|figure|dl|dd|center|details|fieldset)$"
)


def load_html(data: bytes) -> Parsed:
    """The main content (``<main>``, ``<article>`` or ``<body>``) without navigation, scripts or forms."""
    from bs4 import BeautifulSoup, NavigableString, Tag
    from bs4.element import PreformattedString

    declared = re.search(rb"<meta[^>]+charset=[\"']?([A-Za-z0-9_.:-]+)", data[:4096], re.I)
    text = clean_text(decode(data, declared.group(1).decode("ascii") if declared else None))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. XMLParsedAsHTMLWarning: we parse it as HTML on purpose
        soup = BeautifulSoup(text, "lxml")
    root = soup.find("main") or soup.find("article") or soup.body or soup
    if not isinstance(root, Tag):
        return Parsed([])
    for tag in root.find_all(_HTML_DROP):
        if not tag.decomposed and not (tag.name == "header" and tag.find_parent(["main", "article"])):
            tag.decompose()
    blocks: list[Block] = []

    def emit(kind: BlockKind, raw: str, level: int = 0) -> None:
        if kind != "paragraph":
            if value := squash(raw):
                blocks.append(
                    Block(BULLET.sub("", value) if kind == "list_item" else value, kind, level=level)
                )
            return
        growing = False  # whether blocks[-1] is this paragraph, still taking lines
        for part in filter(None, map(squash, raw.split("\n"))):  # lines split by <br>
            if LIST_MARKER.match(part):  # fracciones written one per line inside a <p>
                blocks.append(Block(BULLET.sub("", part), "list_item"))
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
    return Parsed(
        blocks, squash(title) or next((b.text for b in blocks if b.kind == "heading" and b.level == 1), "")
    )
