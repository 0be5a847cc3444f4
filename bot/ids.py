"""Telegram ids, checked in one place: the command line, /grant and /revoke, button data.

Telegram promises that ids have at most 52 significant bits; anything bigger is a typo or an
attack, and SQLite would refuse numbers past 64 bits with an error nobody can read.
"""

from __future__ import annotations

import re

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
        raise ValueError("a user id is a positive number; a negative one is a group or channel")
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"a user id is a number, such as 222222222; {_quoted(text)} is not one")
    if int(text) == 0 or text.startswith("0"):
        raise ValueError("a user id does not start with 0")
    raise ValueError(
        f"{_quoted(text)} is too big for a Telegram user id (they fit in 52 bits:"
        f" at most {ID_LIMIT - 1})"
    )


def _quoted(text: str) -> str:
    return repr(text if len(text) <= 24 else text[:23] + "…")
