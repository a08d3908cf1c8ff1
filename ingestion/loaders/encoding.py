"""Text from bytes whatever encoding an office saved it in: byte-order marks, UTF-8, the charset the
document declares, then charset-normalizer's guess among the Western encodings Spanish text is written in,
and latin-1 last (it never fails)."""

from __future__ import annotations

import charset_normalizer

# What Spanish documents are saved in besides UTF-8. Guessing among every encoding mistakes short
# cp1252 text for cp1250 (ñ would read as ń).
WESTERN_ENCODINGS = ["cp1252", "latin_1", "iso8859_15", "cp850", "mac_roman"]


def decode(data: bytes, declared: str | None = None) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", "replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", "replace")
    for encoding in ("utf-8", declared):
        if encoding:
            try:
                return data.decode(encoding)
            except (UnicodeDecodeError, LookupError):
                continue
    guess = charset_normalizer.from_bytes(data, cp_isolation=WESTERN_ENCODINGS).best()
    if guess is not None:
        return str(guess)
    return data.decode("latin-1")
