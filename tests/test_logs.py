"""No secret reaches a log line, in any spelling a URL gives it."""

from __future__ import annotations

import logging

from bot.logs import RedactSecrets

TOKEN = "123456:ABC-def/ghi+jkl"


def formatted(record: logging.LogRecord) -> str:
    RedactSecrets([TOKEN, "green-token"]).filter(record)
    return logging.Formatter("%(message)s").format(record)


def record(message: str, *args: object, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("httpx", logging.INFO, __file__, 1, message, args, exc_info)


def test_plain_and_url_encoded_secrets_are_masked():
    line = formatted(
        record(
            "GET %s/bot%s/getMe, %s/file/bot%s/x.jpg, %s",
            "http://api",
            TOKEN,
            "http://api",
            "123456%3AABC-def%2Fghi%2Bjkl",
            "waInstance1/getAvatar/green-token",
        )
    )
    assert (
        line
        == "GET http://api/bot***/getMe, http://api/file/bot***/x.jpg, waInstance1/getAvatar/***"
    )


def test_tracebacks_are_masked_too():
    try:
        raise RuntimeError(f"failed at /bot{TOKEN}/sendMessage")
    except RuntimeError:
        import sys

        line = formatted(record("update failed", exc_info=sys.exc_info()))
    assert "ABC-def" not in line and "RuntimeError: failed at /bot***/sendMessage" in line
