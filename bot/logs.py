"""Logging set-up that never prints a secret (bot token, provider tokens in URL paths...), as
readable text lines (the default) or as one JSON object a line (`logging: {format: json}`)."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
from collections.abc import Iterable, Iterator
from typing import Literal
from urllib.parse import quote, quote_plus

from pythonjsonlogger.json import JsonFormatter

MASK = "***"
#: what a JSON line adds where known: the change a line is about, its provider and group
CONTEXT_KEYS = ("change_id", "provider", "group")

_context: contextvars.ContextVar[tuple[tuple[str, object], ...]] = contextvars.ContextVar(
    "log_context", default=()
)


@contextlib.contextmanager
def about(**fields: object) -> Iterator[None]:
    """Lines logged inside (in this task, and in tasks it starts) carry `fields` as JSON keys:
    `change_id`, `provider`, `group`."""
    token = _context.set(tuple({**dict(_context.get()), **fields}.items()))
    try:
        yield
    finally:
        _context.reset(token)


class RedactSecrets(logging.Filter):
    """Replace every known secret in a record's message, traceback and stack with ***.

    Secrets also appear URL-encoded: PTB downloads files from `.../file/bot123%3AABC/...`.
    The traceback is kept as masked text only (`exc_text`), so that no formatter can render
    it again from the exception itself."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        forms = {form for s in secrets if s for form in (s, quote(s, safe=""), quote_plus(s))}
        ordered = sorted(forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def redact(self, text: str) -> str:
        return self._pattern.sub(MASK, text) if self._pattern else text

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class AddContext(logging.Filter):
    """Copy the fields of `about()` onto each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def json_formatter() -> logging.Formatter:
    """`time`, `level`, `logger`, `message`, the `about()` fields, and `exc_info` (masked)."""
    return JsonFormatter(
        "{asctime}{levelname}{name}{message}",
        style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
        json_ensure_ascii=False,
    )


def configure_logging(
    secrets: Iterable[str], *, debug: bool = False, style: Literal["text", "json"] = "text"
) -> None:
    """Log to stderr through the redacting filter; keep per-request HTTP lines at DEBUG only."""
    handler = logging.StreamHandler()
    if style == "json":
        handler.setFormatter(json_formatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    handler.addFilter(AddContext())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    # httpx logs every request URL at INFO, and Green API's token is in its URL path
    logging.getLogger("httpx").setLevel(logging.DEBUG if debug else logging.WARNING)
    # aiosqlite's DEBUG lines repeat every query's parameters, pictures included
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
