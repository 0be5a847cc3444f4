"""Watching the groups' pictures for changes made outside the bot (`watch:` in the config).

Each provider account that can read a group's picture has one loop: every
`watch.interval_seconds` it reads each of its groups' pictures once, the reads spread evenly
over the interval, each in the account's queue (bot/changes.py `read`: after the changes
queued before it, and a change waits for at most one read). What a read finds is compared
with what the bot last knew (table `watched`): the sha-256 of the picture's bytes, never its
URL (WhatsApp's URLs change while the picture does not). The first read of a group is its
baseline; so is the first read after a change of the bot's own (a picture-history row newer
than the baseline, on any instance), and no read counts while a change of the bot's to the
group is written down and not over, or when one began or ended during the read. A read that
fails, times out or answers garbage is logged and retried at the next turn; while the account
fails authentication its reads wait for the next turn.

A change seen is taken by one compare-and-set on `watched` (so instances sharing a store
report it once), kept in the picture history as made outside the bot (undo puts back what it
replaced), counted (`avatarops_outside_changes_seen`), and then handled as the group's guard
says (the chat's choice, else the config's): `notify` shows the new picture to whoever hears
about the group's changes; `restore` puts back what the bot knew, as an ordinary change made
by the guard (written down in the same transaction, so a crash restores once after the
restart); `off` keeps it in the history only. The fourth change seen on a group within ten
minutes is not put back: the guard becomes `notify` and the owners hear it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
from datetime import timedelta

import httpx

from adapters import Capability, FailureKind, PictureResult, PreparedPicture
from bot import audit, texts
from bot.access import Access
from bot.changes import ChangeRunner
from bot.clock import Clock, stamp
from bot.domain import (
    Action,
    Actor,
    AuditOutcome,
    Before,
    Change,
    Group,
    Guard,
    How,
    MapChange,
    Refusal,
    Target,
)
from bot.i18n import Text
from bot.images import ImageRefused, prepare_picture_async
from bot.messenger import PutBack
from bot.metrics import Metrics
from bot.notify import Notifier
from bot.picture_history import PictureHistory
from bot.store import Store
from bot.store.watched import Known
from bot.words import short

log = logging.getLogger(__name__)

#: the changes seen on one group within `STORM_WINDOW` after which the bot stops restoring
STORM_CHANGES = 4
STORM_WINDOW = timedelta(minutes=10)
#: who makes the changes that put a picture back (audit, history, notices)
GUARD = Actor(user_id=0, chat_id=0, name="guard")


class Guards:
    """Each group's guard: chosen from chat (`/guard`, or set by the bot when it stops
    restoring), else the config's, else notify."""

    def __init__(
        self, store: Store, access: Access, configured: dict[str, Guard], *, watching: bool
    ) -> None:
        self._store = store
        self._access = access
        self._configured = configured
        self._watching = watching

    async def of(self, group: Group) -> Guard:
        assert group.id is not None
        chosen = await self._store.watched.guard(group.id)
        return chosen or self._configured.get(group.alias, Guard.NOTIFY)

    async def shown(self, group: Group) -> Guard | None:
        """The guard /groups shows: none while nothing is watched."""
        return await self.of(group) if self._watching else None

    async def choose(self, actor: Actor, alias: str, guard: Guard | None) -> Text:
        """Show (None) or choose a group's guard: owners and those who may change its picture;
        a choice is audited."""
        group = await self._store.groups.get(alias)
        if group is None or group.id is None:
            raise Refusal(texts.no_group_called(short(alias)))
        if not await self._access.may(actor.user_id, Action.SET_GROUP_PICTURE, group):
            if guard is not None:
                await audit.record(
                    self._store, actor, MapChange.GUARD, alias, AuditOutcome.REFUSED, guard.value
                )
            raise Refusal(texts.may_not_guard(alias))
        if guard is None:
            return texts.guard_is(group.title, await self.of(group), self._watching)
        await self._store.watched.set_guard(group.id, guard)
        await audit.record(
            self._store, actor, MapChange.GUARD, alias, AuditOutcome.DONE, guard.value
        )
        return texts.guard_is(group.title, guard, self._watching)


class Watcher:
    def __init__(
        self,
        *,
        store: Store,
        changes: ChangeRunner,
        picture_history: PictureHistory,
        notifier: Notifier,
        metrics: Metrics,
        clock: Clock,
        interval: float,
        guards: Guards,
    ) -> None:
        self._store = store
        self._changes = changes
        self._history = picture_history
        self._notifier = notifier
        self._metrics = metrics
        self._clock = clock
        self._interval = timedelta(seconds=interval)
        self._guards = guards
        #: how many looks ended so far, however they ended (tests and the benchmark wait on it)
        self.looks = 0
        self._loops: list[asyncio.Task[None]] = []
        self._restores: set[asyncio.Task[object]] = set()

    def start(self) -> None:
        """One loop per account that can read its groups' pictures."""
        for name, provider in self._changes.providers.items():
            if provider.can(Capability.GET_GROUP):
                self._loops.append(asyncio.create_task(self._watch(name)))

    async def close(self) -> None:
        """Stop reading; a restore written down and not yet run resumes after the restart."""
        tasks = [*self._loops, *self._restores]
        self._loops.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watch(self, account: str) -> None:
        while True:
            start = self._clock.now()
            try:
                groups = [g for g in await self._store.groups.all() if g.provider == account]
            except Exception:
                log.warning("watching %s: could not read its groups", account, exc_info=True)
                groups = []
            step = self._interval / max(len(groups), 1)
            for index, group in enumerate(groups):
                await self._clock.sleep_until(start + step * index)
                try:
                    failed = await self.look(group)
                except Exception:
                    log.exception("watching %s: could not look at %s", account, group.alias)
                    failed = None
                finally:
                    self.looks += 1
                if failed is FailureKind.AUTH:
                    break  # the account's credentials fail: try again at the next turn
            await self._clock.sleep_until(start + self._interval)

    async def heard(self, provider: str, chat_id: str, by: Actor | None = None) -> None:
        """A provider's webhook (or Telegram's service message) says a group's picture may have
        changed, made by `by` when it says who: read it now (in the background), unless the
        bot does not manage that group there. A poll and an event seeing one change report it
        once (the compare-and-set of `_changed`)."""
        group = await self._store.groups.with_chat_id(chat_id)
        if group is None or group.provider != provider:
            log.info("watching: %s told of a group the bot does not manage", provider)
            return
        task: asyncio.Task[object] = asyncio.create_task(self._look_logged(group, by))
        self._restores.add(task)
        task.add_done_callback(self._restores.discard)

    async def _look_logged(self, group: Group, by: Actor | None) -> None:
        try:
            await self.look(group, by)
        except Exception:
            log.exception("watching: could not look at %s", group.alias)

    async def look(self, group: Group, by: Actor | None = None) -> FailureKind | None:
        """Read the group's picture once and act on a change seen (made by `by`, when an event
        said who); the failure of a read that failed (to be tried again at the next turn)."""
        assert group.id is not None
        watched = self._store.watched
        mark, busy = await watched.state(group.id)
        known = await watched.get(group.id)
        result = await self._changes.read(group)
        if not result.ok:
            log.info("watching: could not read the picture of %s: %s", group.alias, result.reason)
            return result.kind or FailureKind.UNAVAILABLE
        if known is not None and known.mark == mark and result.url and result.url == known.url:
            return None  # the URL read last time: the same picture (a new one may be too)
        try:
            data = await self._bytes(result)
        except (httpx.HTTPError, ValueError) as error:
            log.info("watching: could not download the picture of %s: %s", group.alias, error)
            return FailureKind.UNAVAILABLE
        if busy or await watched.state(group.id) != (mark, False):
            return None  # the bot's own change is under way, or ended during the read
        digest = hashlib.sha256(data).hexdigest() if data else None
        if known is not None and known.mark == mark and known.hash == digest:
            await watched.seen_url(group.id, mark, result.url)
            return None
        if data is None and known is not None and known.mark == mark and await self._has(group):
            return None  # "none" once, then a picture: some providers say none when unsure
        now = await self._known(group, data, digest, mark, result.url)
        if known is None or known.mark != mark:
            await watched.baseline(group.id, now)
        else:
            await self._changed(group, known, now, by)
        return None

    async def _has(self, group: Group) -> bool:
        """Read again before taking a removal: Evolution answers "no picture" for one it could
        not read, and a hidden picture reads as none; a read that fails proves nothing."""
        again = await self._changes.read(group)
        return not again.ok or bool(again.url or again.image)

    async def _bytes(self, result: PictureResult) -> bytes | None:
        """The picture's bytes (None: it has none); raises what a failed download raises."""
        if result.image is not None:
            return result.image
        if not result.url:
            return None
        return await self._history.download(result.url)

    async def _known(
        self, group: Group, data: bytes | None, digest: str | None, mark: int, url: str | None
    ) -> Known:
        if data is None:
            return Known(Before.NONE, None, None, None, mark, url)
        try:
            picture: PreparedPicture | None = await prepare_picture_async(data)
        except ImageRefused as refused:  # still a change; only it cannot be put back later
            log.info("watching: the picture of %s cannot be kept: %s", group.alias, refused)
            picture = None
        return Known(
            Before.PICTURE,
            digest,
            picture.jpeg if picture else None,
            picture.side if picture else None,
            mark,
            url,
        )

    async def _changed(self, group: Group, was: Known, now: Known, by: Actor | None) -> None:
        assert group.id is not None
        guard = await self._guards.of(group)
        target = self._changes.target_of(group)
        restore: Change | None = None
        restore_id: int | None = None
        stopped = False
        async with self._store.transaction():
            if not await self._store.watched.changed(group.id, was, now):
                return  # another instance saw it first
            record = await self._store.pictures.outside(
                group_id=group.id,
                target=group.alias,
                provider=group.provider,
                before_state=was.state if was.state is Before.NONE or was.jpeg else Before.UNKNOWN,
                before_jpeg=was.jpeg,
                before_side=was.side,
                after_jpeg=now.jpeg,
                after_side=now.side,
                by=by,
                keep=self._history.keep,
            )
            await self._store.watched.baseline(group.id, _marked(now, record))
            if guard is Guard.RESTORE:
                since = stamp(self._clock.now() - STORM_WINDOW)
                if await self._store.pictures.outside_since(group.id, since) >= STORM_CHANGES:
                    await self._store.watched.set_guard(group.id, Guard.NOTIFY)
                    stopped = True
                else:
                    restore = _putting_back(target, was)
                    if restore is not None:
                        restore_id = await self._changes.record(restore)
        self._metrics.outside_changes.labels(provider=group.provider).inc()
        log.info("watching: the picture of %s was changed outside the bot", group.alias)
        if stopped:
            self._notifier.tell(
                sorted(self._notifier.owners),
                texts.guard_stopped(
                    group.title, group.alias, STORM_CHANGES, int(STORM_WINDOW.total_seconds() // 60)
                ),
            )
        if restore is not None and restore_id is not None:
            self._run_restore(restore_id, restore)
        elif guard is not Guard.OFF:
            self._tell(group, was, now, record, by)

    def _tell(self, group: Group, was: Known, now: Known, record: int, by: Actor | None) -> None:
        """The notice of a change seen, with a button that puts back the earlier picture when
        the bot knows it (rights checked at the press: bot/service.py `put_back`)."""
        caption = texts.outside_change(
            group.title,
            group.alias,
            self._clock.now(),
            removed=now.state is Before.NONE,
            by=by.name if by else None,
        )
        known = was.jpeg is not None or was.state is Before.NONE
        buttons = [(texts.PUT_BACK, PutBack(record))] if known else []
        self._notifier.outside_change(group, now.jpeg, caption, buttons)

    def _run_restore(self, operation_id: int, change: Change) -> None:
        """Run the change that puts the picture back (written down already); its outcome is
        told like any change's."""
        task: asyncio.Task[object] = asyncio.create_task(self._changes.start(operation_id, change))
        self._restores.add(task)
        task.add_done_callback(self._restores.discard)


def _marked(known: Known, mark: int) -> Known:
    return dataclasses.replace(known, mark=mark)


def _putting_back(target: Target, was: Known) -> Change | None:
    """The change that puts back what the group had (None when that cannot be done: its
    picture was never kept, or the provider cannot remove one)."""
    if was.state is Before.NONE:
        if not target.provider.can(Capability.DELETE_GROUP):
            return None
        return Change(Action.DELETE_GROUP_PICTURE, target, GUARD, None, how=How.UNDO)
    if was.jpeg is None or was.side is None:
        return None
    picture = PreparedPicture(was.jpeg, was.side)
    return Change(Action.SET_GROUP_PICTURE, target, GUARD, picture, how=How.UNDO)
