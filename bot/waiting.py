"""Whom the bot waits for a photo from (`/setgrouppic family` alone, then the photo), kept in
the store so that whichever instance gets the photo knows what it is for."""

from __future__ import annotations

from bot.clock import Clock
from bot.domain import Action
from bot.store import Store
from bot.store.waiting import PendingPhoto
from bot.when import When


class PhotoWaits:
    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def wait(
        self,
        chat_id: int,
        user_id: int,
        action: Action,
        name: str | None,
        question_id: int,
        seconds: float,
        when: When | None = None,
    ) -> None:
        """Wait `seconds` for this person's photo in this chat; a reply to the question
        (`question_id`) counts later too. `when`: the change is to be made then, not now."""
        at, until = (when or When()).stored()
        pending = PendingPhoto(
            action.value, name, question_id, self._clock.now().timestamp() + seconds, at, until
        )
        await self._store.pending_photos.wait(chat_id, user_id, pending)

    async def take(
        self, chat_id: int, user_id: int, replied_to: int | None
    ) -> tuple[Action, str | None, When | None] | None:
        """What this person's photo here is for, when the bot waits for one; it no longer does."""
        pending = await self._store.pending_photos.take(chat_id, user_id)
        if pending is None:
            return None
        if replied_to != pending.question_id and self._clock.now().timestamp() > pending.deadline:
            return None
        when = None
        if pending.run_at or pending.until:
            when = When.from_stored(pending.run_at, pending.until)
        return Action(pending.action), pending.name, when

    async def cancel(self, chat_id: int, user_id: int) -> bool:
        """Stop waiting; whether the bot waited."""
        return await self._store.pending_photos.take(chat_id, user_id) is not None
