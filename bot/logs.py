"""Logging set-up that never prints a secret (bot token, provider tokens in URL paths...)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"


class RedactSecrets(logging.Filter):
    """Replace every known secret in a record's message and traceback with ***.

    Secrets also appear URL-encoded: PTB downloads files from `.../file/bot123%3AABC/...`."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        forms = {form for s in secrets if s for form in (s, quote(s, safe=""), quote_plus(s))}
        ordered = sorted(forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def redact(self, text: str) -> str:
        return self._pattern.sub(MASK, text) if self._pattern else text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._pattern is None:
            return True
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def configure_logging(secrets: Iterable[str], *, debug: bool = False) -> None:
    """Log to stderr through the redacting filter; keep per-request HTTP lines at DEBUG only."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    # httpx logs every request URL at INFO, and Green API's token is in its URL path
    logging.getLogger("httpx").setLevel(logging.DEBUG if debug else logging.WARNING)
    # aiosqlite's DEBUG lines repeat every query's parameters, pictures included
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
