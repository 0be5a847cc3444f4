"""How bot/ talks to Telegram on its own initiative (notifications, proposals, reports, and
downloading a photo again after a restart).

The Telegram side injects an implementation, so that nothing in bot/ imports telegram.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

#: an inline button: (label, callback_data); callback_data stays far below Telegram's 64 bytes
Button = tuple[str, str]


class Messenger(Protocol):
    async def send(self, chat_id: int, text: str, buttons: Sequence[Button] = ()) -> int:
        """Send plain text (buttons in one row); return the message id."""

    async def send_photo(
        self, chat_id: int, jpeg: bytes, caption: str, buttons: Sequence[Button] = ()
    ) -> int:
        """Upload a JPEG with a plain-text caption; return the message id."""

    async def set_buttons(self, chat_id: int, message_id: int, buttons: Sequence[Button]) -> None:
        """Replace the buttons of a message the bot sent."""

    async def report(
        self, chat_id: int, message_id: int | None, text: str, quote: int | None = None
    ) -> None:
        """Show how a change ended: edit the bot's message that showed its progress, or send
        one when there is none (as a reply to message `quote`, when given)."""

    async def send_document(self, chat_id: int, name: str, data: bytes, caption: str) -> int:
        """Upload a file named `name` with a plain-text caption; return the message id."""

    async def download(self, file_id: str) -> bytes:
        """The bytes of a file a user sent, by its Telegram file id."""
