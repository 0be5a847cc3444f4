"""Albums: Telegram sends an album of 2-10 photos as one message per photo, sharing a
`media_group_id`, with the caption on one of them, in any order. The photos without the
caption are noted as they come; the one with the command waits a moment for the rest, then
takes the album in the order sent (by message id). Kept in memory only: the album is read
when the command is given, and its pictures are kept in the store from then on."""

from __future__ import annotations

import asyncio
import time

from telegram import Message
from telegram.ext import ContextTypes

from bot.domain import PhotoSource
from handlers.common import photo_source

#: how long the captioned photo waits for the others of its album (Telegram sends them together)
WAIT_SECONDS = 1.5
#: how long a photo of an album nobody asked about is kept
FORGET_SECONDS = 60.0
#: the most photos an album holds
MOST = 10
_KEY = "avatarops.albums"


class Albums:
    def __init__(self) -> None:
        #: (chat, media group) -> when first seen, and its photos by message id
        self._seen: dict[tuple[int, str], tuple[float, dict[int, PhotoSource]]] = {}

    def note(self, message: Message) -> None:
        """A photo of an album (captioned or not)."""
        source = photo_source(message)
        if message.media_group_id is None or source is None:
            return
        now = time.monotonic()
        for key in [key for key, (seen, _) in self._seen.items() if now - seen > FORGET_SECONDS]:
            del self._seen[key]
        key = (message.chat_id, message.media_group_id)
        self._seen.setdefault(key, (now, {}))[1][message.message_id] = source

    async def collect(self, message: Message) -> list[PhotoSource]:
        """The album `message` (its captioned photo) belongs to, in the order sent, once the
        rest had a moment to come; more than `MOST` photos are none (no album holds them)."""
        self.note(message)
        await asyncio.sleep(WAIT_SECONDS)
        assert message.media_group_id is not None
        _, photos = self._seen.pop((message.chat_id, message.media_group_id), (0.0, {}))
        return [photos[number] for number in sorted(photos)] if len(photos) <= MOST else []


def albums_of(context: ContextTypes.DEFAULT_TYPE) -> Albums:
    found = context.application.bot_data.setdefault(_KEY, Albums())
    assert isinstance(found, Albums)
    return found
