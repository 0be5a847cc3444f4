"""Telegram ids, checked in one place: the command line, /grant and /revoke, button data.

Telegram promises that ids have at most 52 significant bits; anything bigger is a typo or an
attack, and SQLite would refuse numbers past 64 bits with an error nobody can read.
"""

from __future__ import annotations

import re

from bot import texts

#: every Telegram user id (and every id the bot makes itself) is below this
ID_LIMIT = 2**52
_NUMBER = re.compile(r"[1-9][0-9]*")  # ASCII only: `\d` and str.isdecimal() take any digit


def positive_id(text: str) -> int | None:
    """`text` as an id (1 to 2**52 - 1, plain ASCII digits, no sign, no leading zero), or None."""
    if len(text) > len(str(ID_LIMIT)) or not _NUMBER.fullmatch(text):
        return None
    number = int(text)
    return number if number < ID_LIMIT else None


def parse_user_id(text: str) -> int:
    """A Telegram user id typed by a person; ValueError says plainly what is wrong."""
    number = positive_id(text)
    if number is not None:
        return number
    if text.startswith("-") and positive_id(text[1:]) is not None:
        raise ValueError(texts.NEGATIVE_ID)
    if not text.isascii() or not text.isdigit():
        raise ValueError(texts.not_a_number(_quoted(text)))
    if int(text) == 0 or text.startswith("0"):
        raise ValueError(texts.LEADING_ZERO)
    raise ValueError(texts.id_too_big(_quoted(text), ID_LIMIT - 1))


def _quoted(text: str) -> str:
    return repr(text if len(text) <= 24 else text[:23] + "…")
