"""Text from bytes whatever the encoding a producer's office saved it in."""

from __future__ import annotations


def decode(data: bytes, declared: str | None = None) -> str:
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
