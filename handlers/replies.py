"""How the bot words its answers. Plain text only: nothing a user typed can become markup.

The sentences themselves live in bot/texts.py (translated through bot/locale/); `tr()` says one
in the language of the person whose update is being handled.
"""

from __future__ import annotations

from bot import texts
from bot.i18n import sentence, tr
from bot.texts import (
    ANONYMOUS,
    NO_PICTURE_IN_REPLY,
    NOT_A_PICTURE,
    WORKING,
    outcome_text,
    sorry,
)
from bot.texts import queued as queued_text

__all__ = [
    "ANONYMOUS",
    "NOT_A_PICTURE",
    "NO_PICTURE_IN_REPLY",
    "WORKING",
    "outcome_text",
    "queued_text",
    "sentence",
    "sorry",
    "texts",
    "tr",
]
