"""WhatsApp id formats, checked exactly: shared by every adapter that speaks WhatsApp ids.

`re`'s `\\d` matches any Unicode digit, so the patterns spell out ASCII `[0-9]`; no part may start
with 0, because a copy of a known id with a leading zero would pass a duplicate check.
"""

from __future__ import annotations

import re

#: `120363043968066561@g.us` (15 to 20 digits), or the older `<phone>-<unix time>@g.us`
_GROUP_ID = re.compile(r"(?:[1-9][0-9]{14,19}|[1-9][0-9]{7,14}-[1-9][0-9]{8,9})@g\.us")
_PERSON_SUFFIXES = ("@s.whatsapp.net", "@c.us", "@lid")

GROUP_ID_EXAMPLE = (
    "a WhatsApp group id looks like 120363043968066561@g.us"
    " (or 6281234567890-1581234048@g.us for older groups)"
)


def whatsapp_group_id_problem(chat_id: str) -> str | None:
    """What is wrong with a WhatsApp group id, or None when it is well formed."""
    if _GROUP_ID.fullmatch(chat_id):
        return None
    if chat_id.endswith(_PERSON_SUFFIXES):
        return "that is a person's id; a WhatsApp group id ends in @g.us"
    return GROUP_ID_EXAMPLE
