"""Document metadata: YAML front matter (Markdown/TXT) and the ``<file>.meta.yaml`` sidecar, and the
title a document is shown with."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from ingestion.loaders.base import SIDECAR_SUFFIX, Block, LoaderError, clean_text, squash
from ingestion.loaders.encoding import decode

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


def split_front_matter(text: str, source: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    return _parse_yaml(match.group(1), f"encabezado YAML de {source}"), text[match.end() :]


def sidecar_metadata(path: Path) -> dict[str, Any]:
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    if not sidecar.is_file():
        return {}
    return _parse_yaml(clean_text(decode(sidecar.read_bytes())), sidecar.name)


def read_metadata(path: Path) -> dict[str, Any]:
    """Front matter (Markdown/TXT) updated by the sidecar ``<file>.meta.yaml``; {} if neither."""
    path = Path(path)
    meta: dict[str, Any] = {}
    if path.suffix.lower() in (".md", ".markdown", ".txt") and path.is_file():
        meta.update(split_front_matter(clean_text(decode(path.read_bytes())), path.name)[0])
    meta.update(sidecar_metadata(path))
    return meta


def pick_title(meta: dict[str, Any], format_title: str, blocks: list[Block], path: Path) -> str:
    if isinstance(meta.get("title"), str | int) and squash(str(meta["title"])):
        return squash(str(meta["title"]))
    candidate = squash(format_title)
    junk = re.search(r"\.(docx?|pdf|html?|txt|md)$|^(untitled|sin t[íi]tulo|microsoft word)", candidate, re.I)
    if len(candidate) >= 3 and not junk:
        return candidate
    return next((b.text for b in blocks if b.kind == "heading"), path.stem)
