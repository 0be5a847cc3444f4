"""No secret reaches a log line, in any spelling a URL gives it."""

from __future__ import annotations

import logging

from bot.logs import AddContext, RedactSecrets, about, json_formatter

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


def json_line(record: logging.LogRecord) -> dict:
    import json

    RedactSecrets([TOKEN, "green-token"]).filter(record)
    AddContext().filter(record)
    return json.loads(json_formatter().format(record))


def test_json_lines_carry_the_change_they_are_about_and_mask_secrets_like_text():
    with about(change_id=7, provider="green", group="family"):
        try:
            raise RuntimeError(f"failed at /bot{TOKEN}/sendMessage")
        except RuntimeError:
            import sys

            line = json_line(
                record("sent %s", "waInstance1/getAvatar/green-token", exc_info=sys.exc_info())
            )
    assert line["message"] == "sent waInstance1/getAvatar/***"
    assert line["level"] == "INFO" and line["logger"] == "httpx" and line["time"]
    assert (line["change_id"], line["provider"], line["group"]) == (7, "green", "family")
    assert "RuntimeError: failed at /bot***/sendMessage" in line["exc_info"]
    assert "ABC-def" not in str(line) and "green-token" not in str(line)


def test_a_line_outside_any_change_has_no_change_keys():
    line = json_line(record("plain"))
    assert set(line) == {"time", "level", "logger", "message"}
