"""Personal data out of logs and stored text: CURP, RFC, phone numbers, e-mails."""

from __future__ import annotations

import logging
import re

_PATTERNS = [
    ("[CURP]", re.compile(r"\b[A-Z][AEIOUX][A-Z]{2}\d{6}[HM][A-Z]{5}[A-Z0-9]\d\b", re.IGNORECASE)),
    ("[RFC]", re.compile(r"\b[A-ZÑ&]{3,4}\d{6}[A-Z0-9]{3}\b", re.IGNORECASE)),
    ("[CORREO]", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("[TELÉFONO]", re.compile(r"(?<!\w)(?:\+?52[\s-]?)?(?:\(?\d{2,3}\)?[\s.-]?)\d{3,4}[\s.-]?\d{4}(?!\w)")),
    # Ten digits in any grouping ("55 12 34 56 78", "5512-345678"), with or without +52.
    ("[TELÉFONO]", re.compile(r"(?<![\w.,])(?:\+?52[\s.-]?)?(?:\d[\s.-]?){9}\d(?![\w,]|\.\d)")),
]


def redact(text: str) -> str:
    for placeholder, pattern in _PATTERNS:
        text = pattern.sub(placeholder, text)
    return text


class RedactingFilter(logging.Filter):
    """Logging filter that redacts the formatted message (and tracebacks) of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True
