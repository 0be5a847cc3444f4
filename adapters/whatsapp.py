"""What every adapter that speaks to WhatsApp shares: its id formats and its own error words.

Ids are checked exactly: `re`'s `\\d` matches any Unicode digit, so the patterns spell out ASCII
`[0-9]`; no part may start with 0, because a copy of a known id with a leading zero would pass a
duplicate check.

WhatsApp Web answers a refused change with one word (`rate-overlimit`, `not-authorized`, ...),
which WAHA, GOWA and Evolution API pass on inside their own HTTP 500 bodies.
"""

from __future__ import annotations

import re

from adapters.base import FailureKind, PictureResult

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


def whatsapp_refusal(
    said: str, group_id: str | None, *, editing: bool = True
) -> PictureResult | None:
    """WhatsApp's own error word in a provider's message, as a result; None when it holds none.

    `group_id` None means the account's own picture; `editing` False means a read.
    """
    lowered = said.lower()
    if "rate-overlimit" in lowered:
        return PictureResult.failure(
            FailureKind.RATE_LIMITED,
            "WhatsApp is refusing picture changes for now (rate-overlimit):"
            " wait a few minutes, then try again",
        )
    if "not-authorized" in lowered or "forbidden" in lowered:
        return PictureResult.failure(FailureKind.NOT_ALLOWED, not_allowed(group_id, editing))
    if "not-acceptable" in lowered:
        return PictureResult.failure(
            FailureKind.BAD_IMAGE, "WhatsApp refused the picture (not-acceptable)"
        )
    if "item-not-found" in lowered and group_id:
        return PictureResult.failure(
            FailureKind.NOT_FOUND,
            f"WhatsApp does not know group {group_id}, or this account is not a member",
        )
    return None


def not_allowed(group_id: str | None, editing: bool = True) -> str:
    """Why WhatsApp refuses this account a group's (None: its own) picture, in plain words."""
    if group_id and editing:
        return (
            f"WhatsApp does not allow this account to edit group {group_id}:"
            " it is not an admin of the group, and only admins may edit its info"
        )
    if group_id:
        return f"WhatsApp does not let this account see the picture of group {group_id}"
    verb = "change" if editing else "see"
    return f"WhatsApp does not allow this account to {verb} its own picture"
