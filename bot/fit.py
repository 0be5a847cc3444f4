"""Telegram's limits, and fitting what grows with the number of groups, people or entries
into them.

Telegram refuses a message text over 4,096 characters, a caption over 1,024, an inline
keyboard over 100 buttons, callback data over 64 bytes and an alert over 200 characters. A
`Text` is said in several languages, each of its own length, so everything here cuts in
whichever language the text is said: a list keeps the items that fit and says how many more
there are.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.i18n import LANGUAGES, Text, ngettext, say

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_BUTTONS = 100
MAX_CALLBACK_BYTES = 64
MAX_ALERT = 200
#: a title, a person's name or an alias inside a line of a list
NAME = 64
#: a provider's reason (or a URL) inside a line of a list
REASON = 240
#: the room a line of a list may take
LINE = 400


def shorten(text: object, limit: int) -> Text:
    """`text` cut to `limit` characters (an ellipsis at the cut), in whichever language."""

    def render(language: str) -> str:
        said = say(language, text)
        return said if len(said) <= limit else said[: limit - 1] + "…"

    return Text(render)


def _more(count: int) -> Text:
    return ngettext("… and {n} more", "… and {n} more", count)


def names(items: Sequence[object], limit: int) -> Text:
    """ "family, work, school" within `limit` characters: as many as fit, each shortened to
    NAME, then "… and 12 more"."""
    shown = [shorten(item, NAME) for item in items]

    def render(language: str) -> str:
        said = [say(language, item) for item in shown]
        whole = ", ".join(said)
        if len(whole) <= limit:
            return whole
        kept: list[str] = []
        for index, item in enumerate(said):
            tail = " " + say(language, _more(len(said) - index - 1))
            if len(", ".join([*kept, item])) + len(tail) > limit:
                break
            kept.append(item)
        return ", ".join(kept) + " " + say(language, _more(len(said) - len(kept)))

    return Text(render)


def lines(items: Sequence[object], limit: int) -> Text:
    """`items`, one a line (each shortened to LINE), within `limit` characters: the first
    that fit, then "… and 12 more"."""
    shown = [shorten(item, LINE) for item in items]

    def render(language: str) -> str:
        said = [say(language, item) for item in shown]
        kept: list[str] = []
        used = 0
        for index, line in enumerate(said):
            left = len(said) - index - 1
            room = len(say(language, _more(left))) + 1 if left else 0
            if used + len(line) + 1 + room > limit:
                return "\n".join([*kept, say(language, _more(len(said) - len(kept)))])
            kept.append(line)
            used += len(line) + 1
        return "\n".join(kept)

    return Text(render)


def fits(text: object, limit: int = MAX_TEXT) -> bool:
    """Whether `text` is within `limit` characters in every language the bot speaks."""
    return all(len(say(language, text)) <= limit for language in LANGUAGES)


def message(text: object) -> Text:
    """The last guard before a message text leaves: at most MAX_TEXT characters."""
    return shorten(text, MAX_TEXT)


def alert(text: object) -> Text:
    """The text of a button press's answer: at most MAX_ALERT characters."""
    return shorten(text, MAX_ALERT)
