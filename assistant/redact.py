"""Personal data out of logs and stored text: CURP, RFC, phone numbers, e-mails."""

from __future__ import annotations

import logging
import re
from typing import Any

_PATTERNS = [
    ("[CURP]", re.compile(r"\b[A-Z][AEIOUX][A-Z]{2}\d{6}[HM][A-Z]{5}[A-Z0-9]\d\b", re.IGNORECASE)),
    ("[RFC]", re.compile(r"\b[A-ZÑ&]{3,4}\d{6}[A-Z0-9]{3}\b", re.IGNORECASE)),
    ("[CORREO]", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    # WhatsApp ids: Mexican mobiles as 52 1 + ten digits, and any international number written with +.
    ("[TELÉFONO]", re.compile(r"(?<![\w.,])\+?521(?:\d[\s.-]?){9}\d(?![\w,]|\.\d)")),
    ("[TELÉFONO]", re.compile(r"(?<![\w+])\+\d{11,15}(?!\w)")),
    ("[TELÉFONO]", re.compile(r"(?<!\w)(?:\+?52[\s-]?)?(?:\(?\d{2,3}\)?[\s.-]?)\d{3,4}[\s.-]?\d{4}(?!\w)")),
    # Ten digits in any grouping ("55 12 34 56 78", "5512-345678"), with or without +52.
    ("[TELÉFONO]", re.compile(r"(?<![\w.,])(?:\+?52[\s.-]?)?(?:\d[\s.-]?){9}\d(?![\w,]|\.\d)")),
]


def redact(text: str) -> str:
    for placeholder, pattern in _PATTERNS:
        text = pattern.sub(placeholder, text)
    return text


_KEEP_TYPES = (int, float, bool, type(None))  # keep their type: "%d" / "%.2f" still format them


def _redact_arg(value: object) -> object:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, _KEEP_TYPES):
        return value
    text = str(value)
    cleaned = redact(text)
    return value if cleaned == text else cleaned


def redact_record(record: logging.LogRecord) -> None:
    """Redact a record in place, keeping the shape of its ``args``.

    Formatters that read ``args`` themselves (uvicorn's access log unpacks five of them) keep working:
    the format string and each argument are redacted separately. Only when personal data still shows in
    the joined message (a number split over two arguments) are ``msg`` and ``args`` folded into one
    redacted string. Tracebacks are formatted and redacted into ``exc_text``.
    """
    if isinstance(record.msg, str):
        record.msg = redact(record.msg)
    if isinstance(record.args, dict):
        record.args = {key: _redact_arg(value) for key, value in record.args.items()}
    elif record.args:
        record.args = tuple(_redact_arg(value) for value in record.args)
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: logging reports it at emit time, as without redaction
        return
    cleaned = redact(message)
    if cleaned != message or not isinstance(record.msg, str):
        record.msg, record.args = cleaned, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        record.exc_info = None
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


class RedactingFilter(logging.Filter):
    """Logging filter that redacts every record it sees (see :func:`redact_record`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def install_log_redaction() -> None:
    """Personal data out of every log record of the process, whatever logger creates it and whatever
    handler writes it (`campo serve`, `uvicorn --factory` workers, the bot, a log file): the record
    factory redacts each record as it is made. Idempotent."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "campo_redacts", False):
        return

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        redact_record(record)
        return record

    make_record.campo_redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(make_record)
