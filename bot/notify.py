"""Who hears about an executed change, and telling them without breaking the change."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from adapters import PictureResult
from bot.permissions import Action, Role
from bot.store import Store

log = logging.getLogger(__name__)

#: sends one plain-text message to a Telegram chat (injected by the Telegram side)
Send = Callable[[int, str], Awaitable[object]]

_DONE = {
    Action.SET_GROUP_PICTURE: "changed the picture of",
    Action.DELETE_GROUP_PICTURE: "removed the picture of",
    Action.SET_OWN_PICTURE: "changed the picture of",
}
_TRIED = {
    Action.SET_GROUP_PICTURE: "tried to change the picture of",
    Action.DELETE_GROUP_PICTURE: "tried to remove the picture of",
    Action.SET_OWN_PICTURE: "tried to change the picture of",
}


@dataclass(frozen=True)
class Actor:
    """Who asked, and where: the Telegram user and chat."""

    user_id: int
    chat_id: int
    name: str


@dataclass(frozen=True)
class ChangeEvent:
    actor: Actor
    action: Action
    alias: str | None  # None for the account's own picture
    target: str  # what people read: "Family", "the WhatsApp account (green)"
    provider: str
    result: PictureResult


def describe(event: ChangeEvent) -> str:
    """The notification text: who, what, which provider, the outcome and URL or reason."""
    verbs = _DONE if event.result.ok else _TRIED
    line = f"{event.actor.name} ({event.actor.user_id}) {verbs[event.action]} {event.target}"
    line += f" via {event.provider}"
    if event.result.ok:
        return line + (f".\nNew picture: {event.result.url}" if event.result.url else ".")
    return line + f", but it failed: {event.result.reason}"


class Notifier:
    def __init__(
        self, send: Send, store: Store, owners: Iterable[int], notify_chat_id: int | None
    ) -> None:
        self._send = send
        self._store = store
        self._owners = frozenset(owners)
        self._notify_chat_id = notify_chat_id

    async def recipients(self, event: ChangeEvent) -> list[int]:
        """Owners, the group's admins and the notify chat; never the actor's own chat twice."""
        chats = set(self._owners)
        if event.alias is not None:
            chats |= {
                grant.user_id
                for grant in await self._store.grants_covering(event.alias)
                if grant.role is Role.ADMIN
            }
        if self._notify_chat_id is not None:
            chats.add(self._notify_chat_id)
        chats -= {event.actor.user_id, event.actor.chat_id}
        return sorted(chats)

    async def change_executed(self, event: ChangeEvent) -> None:
        text = describe(event)
        for chat_id in await self.recipients(event):
            try:
                await self._send(chat_id, text)
            except Exception:  # a blocked bot or a gone chat must not break the change
                log.warning("could not notify chat %s", chat_id, exc_info=True)
