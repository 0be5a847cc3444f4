"""How bot/ talks to Telegram on its own initiative (notifications, proposals, reports, and
downloading a photo again after a restart).

bot/ hands a `Messenger` sentences to translate (`Text`, never a plain `str`, so an f-string
meant for a person is a type error) and buttons as typed values; `Speaking`
(bot/languages.py) says both in each chat's language and hands them on to the Telegram side's
`Outbox`, which writes each button's data with the codec of handlers/callbacks.py. So nothing in
bot/ imports telegram, or knows how a button is written on the wire.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.i18n import Text


@dataclass(frozen=True)
class Decision:
    """Approve or Reject on a requester's proposal."""

    proposal_id: int
    approve: bool


@dataclass(frozen=True)
class PutBack:
    """ "Put back the earlier picture" under a picture changed outside the bot: the kept
    picture-history row of that change (bot/watch.py)."""

    record: int


#: what a button bot/ sends does when pressed
Press = Decision | PutBack
#: an inline button: its label and what pressing it does
Button = tuple[Text, Press]
#: a button whose label is said in its reader's language
SaidButton = tuple[str, Press]


class Messenger(Protocol):
    """What bot/ sends through: sentences and labels said later in each chat's language."""

    async def send(self, chat_id: int, text: Text, buttons: Sequence[Button] = ()) -> int:
        """Send plain text (buttons in one row); return the message id."""

    async def send_photo(
        self, chat_id: int, jpeg: bytes, caption: Text, buttons: Sequence[Button] = ()
    ) -> int:
        """Upload a JPEG with a plain-text caption; return the message id."""

    async def set_buttons(self, chat_id: int, message_id: int, buttons: Sequence[Button]) -> None:
        """Replace the buttons of a message the bot sent."""

    async def report(
        self, chat_id: int, message_id: int | None, text: Text, quote: int | None = None
    ) -> None:
        """Show how a change ended: edit the bot's message that showed its progress, or send
        one when there is none (as a reply to message `quote`, when given)."""

    async def send_document(self, chat_id: int, name: str, data: bytes, caption: Text) -> int:
        """Upload a file named `name` with a plain-text caption; return the message id."""

    async def download(self, file_id: str) -> bytes:
        """The bytes of a file a user sent, by its Telegram file id."""


class Outbox(Protocol):
    """The Telegram side that `Speaking` hands said text to (handlers/messenger.py): the
    `Messenger`'s methods, with everything already in the reader's language."""

    async def send(self, chat_id: int, text: str, buttons: Sequence[SaidButton] = ()) -> int: ...

    async def send_photo(
        self, chat_id: int, jpeg: bytes, caption: str, buttons: Sequence[SaidButton] = ()
    ) -> int: ...

    async def set_buttons(
        self, chat_id: int, message_id: int, buttons: Sequence[SaidButton]
    ) -> None: ...

    async def report(
        self, chat_id: int, message_id: int | None, text: str, quote: int | None = None
    ) -> None: ...

    async def send_document(self, chat_id: int, name: str, data: bytes, caption: str) -> int: ...

    async def download(self, file_id: str) -> bytes: ...
