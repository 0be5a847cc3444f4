"""The bot's one answer to a request for a change.

A change that ends within a moment is answered once, with its outcome; one that takes longer
first shows "Working on it…" (or its place in the queue), edited with the outcome at the end.
That is one Telegram message a change instead of two for most changes, which matters at the
bot's pace toward Telegram (`telegram.messages_per_second`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TypeVar

from telegram import Message

from bot.domain import MessageRef, Progress
from bot.texts import WAITING_FOR_CONFIRMATION
from handlers.replies import WORKING, queued_text, tr

log = logging.getLogger(__name__)

#: a change that ends sooner is answered with its outcome alone
QUICK_SECONDS = 1.0

T = TypeVar("T")


class Answer:
    """The message that answers one request: a reply to `request`, sent when there is first
    something to say, or the `pressed` message (its buttons' question), edited in place."""

    def __init__(self, *, request: Message | None = None, pressed: Message | None = None) -> None:
        if (request is None) == (pressed is None):
            raise ValueError("an answer replies to a request or edits a pressed message")
        self._request = request
        self._message: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        if pressed is not None:
            self._message.set_result(pressed)
        self._spoken = False
        #: what the message shows now, as sent (saying it again changes nothing)
        self._shown: str | None = None
        self._lock = asyncio.Lock()

    async def say(self, text: object, *, unless_spoken: bool = False) -> None:
        """Show `text` (a sentence of bot/texts.py), in the reader's language: the first time
        as the reply, then as an edit of it."""
        async with self._lock:
            if unless_spoken and self._spoken:
                return
            if self._spoken and tr(text) == self._shown:
                return
            self._spoken, self._shown = True, tr(text)
            if self._message.done():
                await self._message.result().edit_text(tr(text))
                return
            assert self._request is not None
            self._message.set_result(await self._request.reply_text(tr(text), do_quote=True))

    async def wait(self, work: Awaitable[T]) -> T:
        """What `work` returns; "Working on it…" shows when that takes longer than a moment."""
        task = asyncio.ensure_future(work)
        try:
            await asyncio.wait({task}, timeout=QUICK_SECONDS)
            if not task.done():
                try:
                    await self.say(WORKING, unless_spoken=True)
                except Exception:  # only a progress line: the outcome is said (or tried) later
                    log.warning("could not say that a change is under way", exc_info=True)
            return await task
        except asyncio.CancelledError:
            task.cancel()
            raise

    @property
    def request_key(self) -> str:
        """ "<chat id>:<message id>" of the request (or of the pressed question): a redelivered
        update or a second press of it is the same request, and runs once."""
        asked = self._request or self._message.result()
        return f"{asked.chat_id}:{asked.message_id}"

    def progress(self) -> Progress:
        """How a change shows its progress here."""

        async def queued(ahead: int) -> None:
            await self.say(queued_text(ahead))

        async def waiting() -> MessageRef:
            await self.say(WAITING_FOR_CONFIRMATION)
            return await self._replied()

        if self._request is None:
            pressed = self._message.result()
            where = MessageRef(pressed.chat_id, pressed.message_id)
            return Progress(where, self.request_key, queued, waiting=waiting)
        return Progress(None, self.request_key, queued, replied=self._replied, waiting=waiting)

    async def _replied(self) -> MessageRef:
        message = await asyncio.shield(self._message)
        return MessageRef(message.chat_id, message.message_id)
