"""Who hears about an executed change, and telling them without holding up anyone.

Notices go out in the background, one after the other, in the order they were given: the
person who acted has their answer first. At shutdown the notices still waiting are sent
(`drain`, bounded). Also: the admin map's changes (to the owners), and one alert per provider
whose credentials stop working (to the owners, again only once it has worked in between).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from adapters import FailureKind, PictureResult
from bot import texts
from bot.access import Access
from bot.domain import Action, Actor, BulkProgress, Group
from bot.i18n import Text
from bot.messenger import Button, Messenger
from bot.metrics import Metrics
from bot.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChangeEvent:
    actor: Actor
    action: Action
    group: Group | None  # None for the account's own picture
    target: str  # what people read: "Family", "the WhatsApp account (green)"
    provider: str
    result: PictureResult
    #: who proposed the change, when `actor` approved it
    requester: Actor | None = None


def who(person: Actor) -> str:
    return texts.who(person.name, person.user_id)


def describe(event: ChangeEvent) -> Text:
    """The notification text: who, what, which provider, the outcome and URL or reason."""
    actor, target, provider = who(event.actor), event.target, event.provider
    requester = who(event.requester) if event.requester is not None else None
    if event.result.ok:
        return texts.notice(actor, event.action, target, provider, event.result.url, requester)
    return texts.failed_notice(
        actor, event.action, target, provider, event.result.reason, requester
    )


class Notifier:
    def __init__(
        self,
        messenger: Messenger,
        store: Store,
        access: Access,
        notify_chat_id: int | None,
        metrics: Metrics,
    ) -> None:
        self._messenger = messenger
        self._metrics = metrics
        self._store = store
        self._access = access
        self._notify_chat_id = notify_chat_id
        #: providers whose last answer was an authentication failure (already alerted)
        self._failing_auth: set[str] = set()
        self._notices: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None

    async def recipients(self, event: ChangeEvent) -> list[int]:
        """Owners, the group's admins and the notify chat, less those who opted out; never the
        actor's (or the requester's) own chat: they hear the outcome anyway."""
        chats = await self._audience([event.group] if event.group is not None else [])
        for person in (event.actor, event.requester):
            if person is not None:
                chats -= {person.user_id, person.chat_id}
        return sorted(chats)

    @property
    def owners(self) -> frozenset[int]:
        return frozenset(self._access.owners)

    async def _audience(self, groups: Iterable[Group]) -> set[int]:
        """Who hears about changes to `groups`: the owners and their admins, less those who
        opted out, and the notify chat."""
        people = set(self._access.owners)
        for group in groups:
            people |= await self._access.admins_of(group)
        chats = people - await self._store.notifications.opted_out()
        if self._notify_chat_id is not None:
            chats.add(self._notify_chat_id)
        return chats

    def outside_change(
        self,
        group: Group | None,
        jpeg: bytes | None,
        caption: Text,
        buttons: Sequence[Button] = (),
    ) -> None:
        """Show a picture changed outside the bot (bot/watch.py) to whoever hears about the
        group's changes (None: an account's own picture, the owners' business): the new
        picture as a photo, or the caption alone for a removal, with `buttons` (Put back the
        earlier picture)."""

        async def notice() -> None:
            for chat_id in sorted(await self._audience([group] if group else [])):
                if jpeg is None:
                    sent = self._messenger.send(chat_id, caption, buttons)
                else:
                    sent = self._messenger.send_photo(chat_id, jpeg, caption, buttons)
                await self._deliver(chat_id, sent)

        self._later(notice)

    def change_executed(self, event: ChangeEvent) -> None:
        async def notice() -> None:
            await self._tell_now(await self.recipients(event), describe(event))

        self._later(notice)

    def bulk_executed(
        self,
        actor: Actor,
        progress: BulkProgress,
        groups: list[Group],
        also: Actor | None = None,
    ) -> None:
        """One notice for a whole bulk change, to everyone who would hear of any of its groups
        (not to `actor`, nor to `also`, the requester of an approved list)."""

        async def notice() -> None:
            chats = await self._audience(groups)
            for person in (actor, also):  # they hear the summary anyway
                if person is not None:
                    chats -= {person.user_id, person.chat_id}
            await self._tell_now(sorted(chats), texts.bulk_notice(who(actor), progress))

        self._later(notice)

    def map_changed(self, actor: Actor, summary: str) -> None:
        """Tell the other owners about a change to the admin map (no opting out of these)."""
        self.tell(
            sorted(self._access.owners - {actor.user_id}), texts.map_changed(who(actor), summary)
        )

    def provider_answered(self, provider: str, result: PictureResult) -> None:
        """Alert the owners when a provider starts failing authentication, not on every
        attempt; tell them once more when it works again."""
        owners = sorted(self._access.owners)
        if self._store.shared:  # several instances: whether the owners know is in the store
            self._later(lambda: self._auth_state_shared(provider, result, owners))
            return
        if result.kind is FailureKind.AUTH and provider not in self._failing_auth:
            self._failing_auth.add(provider)
            self.tell(owners, texts.auth_alert(provider, result.reason))
        elif result.ok and provider in self._failing_auth:
            self._failing_auth.discard(provider)
            self.tell(owners, texts.works_again(provider))

    async def _auth_state_shared(
        self, provider: str, result: PictureResult, owners: list[int]
    ) -> None:
        alerts = self._store.auth_alerts
        if result.kind is FailureKind.AUTH:
            if await alerts.start(provider):
                await self._tell_now(owners, texts.auth_alert(provider, result.reason))
        elif result.ok and await alerts.end(provider):
            await self._tell_now(owners, texts.works_again(provider))

    def tell(self, chats: Iterable[int], text: Text) -> None:
        """Send `text` to each chat, in the background."""
        chats = list(chats)
        self._later(lambda: self._tell_now(chats, text))

    async def sent(self) -> None:
        """Wait until every notice given so far has been sent (or failed)."""
        await self._notices.join()

    async def drain(self, timeout: float) -> None:
        """At shutdown: send what is still waiting, for at most `timeout` seconds."""
        try:
            await asyncio.wait_for(self._notices.join(), timeout)
        except TimeoutError:
            log.warning("%d notices were not sent before shutdown", self._notices.qsize())
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None

    def _later(self, notice: Callable[[], Awaitable[None]]) -> None:
        self._notices.put_nowait(notice)
        if self._worker is None:
            self._worker = asyncio.create_task(self._work())

    async def _work(self) -> None:
        while True:
            notice = await self._notices.get()
            try:
                await notice()
            except Exception:
                log.exception("could not send a notice")
            finally:
                self._notices.task_done()

    async def _tell_now(self, chats: Iterable[int], text: Text) -> None:
        for chat_id in chats:
            await self._deliver(chat_id, self._messenger.send(chat_id, text))

    async def _deliver(self, chat_id: int, sending: Awaitable[object]) -> None:
        try:
            await sending
        except Exception as error:  # a blocked bot or a gone chat must not break the change
            self._metrics.notices.labels(outcome="failed").inc()
            log.warning("could not notify chat %s: %s", chat_id, error)
        else:
            self._metrics.notices.labels(outcome="sent").inc()
