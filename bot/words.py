"""Plain-words helpers shared by bot/ and handlers/."""

from __future__ import annotations


def short(text: str, limit: int = 32) -> str:
    """`text` cut to `limit` characters, so echoed user input stays short."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
