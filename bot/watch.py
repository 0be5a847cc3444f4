"""Watching the pictures of the groups, and of each account itself, for changes made outside
the bot (`watch:` in the config).

Each provider account that can read a group's picture or its own has one loop: every
`watch.interval_seconds` it reads each of its groups' pictures once, then its own, the reads
spread evenly over the interval, each in the account's queue (bot/changes.py `read`: after the
changes queued before it, and a change waits for at most one read). What a read finds is
compared with what the bot last knew (table `watched`): the sha-256 of the picture's bytes,
never its URL (WhatsApp's URLs change while the picture does not). The first read of a group is
its baseline; so is the first read after a change of the bot's own (a picture-history row newer
than the baseline, on any instance), and no read counts while a change of the bot's to the
group is written down and not over, or when one began or ended during the read. A read that
fails, times out or answers garbage is logged and retried at the next turn; while the account
fails authentication its reads wait for the next turn. A provider's event (bot/hooks.py) or
Telegram's service message about a chat's photo (handlers/watching.py) makes the bot read that
group at once, the same way (`heard`).

A change seen is taken by one compare-and-set on `watched` (so instances sharing a store
report it once), kept in the picture history as made outside the bot (undo puts back what it
replaced), counted (`avatarops_outside_changes_seen`), and then handled as the group's guard
says (the chat's choice, else the config's): `notify` shows the new picture to whoever hears
about the group's changes; `restore` puts back what the bot knew, as an ordinary change made
by the guard (written down in the same transaction, so a crash restores once after the
restart); `off` keeps it in the history only. The fourth change seen on a group within ten
minutes is not put back: the guard becomes `notify` and the owners hear it once. An account's
own picture is handled the same way, for the owners only (its guard: the provider entry's,
or `/guard <provider>`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
from collections.abc import Mapping
from datetime import timedelta

import httpx

from adapters import Capability, FailureKind, PictureResult, PreparedPicture, Provider
from bot import audit, texts
from bot.access import Access
from bot.changes import ChangeRunner
from bot.clock import Clock, stamp
from bot.domain import (
    GUARD,
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
from bot.store.watched import Known, Spot
from bot.words import short

log = logging.getLogger(__name__)

#: the changes seen on one group within `STORM_WINDOW` after which the bot stops restoring
STORM_CHANGES = 4
STORM_WINDOW = timedelta(minutes=10)


class Guards:
    """Each watched picture's guard: chosen from chat (`/guard`, or set by the bot when it stops
    restoring), else the config's (the group's, or the provider entry's for the account's own
    picture), else notify."""

    def __init__(
        self,
        store: Store,
        access: Access,
        providers: Mapping[str, Provider],
        configured: Mapping[str, Guard],
        *,
        watching: bool,
    ) -> None:
        self._store = store
        self._access = access
        self._providers = providers
        #: group alias, or account:<provider> for its own picture -> the config's guard
        self._configured = configured
        self._watching = watching

    async def of(self, target: Target) -> Guard:
        chosen = await self._store.watched.guard(Spot.of(target))
        return chosen or self._configured.get(target.audit_name, Guard.NOTIFY)

    async def shown(self, group: Group) -> Guard | None:
        """The guard /groups shows: none while nothing is watched."""
        if not self._watching:
            return None
        return await self.of(self._group_target(group))

    async def of_accounts(self, actor: Actor) -> list[tuple[str, Guard]]:
        """The guards /groups shows an owner for the accounts' own pictures, by provider name:
        none while nothing is watched, and none for anyone else."""
        if not self._watching or not await self._access.may(actor.user_id, Action.SET_OWN_PICTURE):
            return []
        return [
            (name, await self.of(Target.account(provider)))
            for name, provider in sorted(self._providers.items())
            if provider.can(Capability.GET_OWN)
        ]

    async def choose(self, actor: Actor, name: str, guard: Guard | None) -> Text:
        """Show (None) or choose a guard: a group's (owners and those who may change its
        picture), or an account's own picture's, by its provider's name (owners); a choice is
        audited."""
        target = await self._target(name)
        group = target.group
        action = Action.SET_GROUP_PICTURE if group is not None else Action.SET_OWN_PICTURE
        if not await self._access.may(actor.user_id, action, group):
            if guard is not None:
                await audit.record(
                    self._store,
                    actor,
                    MapChange.GUARD,
                    target.audit_name,
                    AuditOutcome.REFUSED,
                    guard.value,
                )
            raise Refusal(texts.may_not_guard(name) if group else texts.ONLY_OWNERS_GUARD_ACCOUNT)
        if guard is None:
            return texts.guard_is(target.title, await self.of(target), self._watching)
        await self._store.watched.set_guard(Spot.of(target), guard)
        await audit.record(
            self._store, actor, MapChange.GUARD, target.audit_name, AuditOutcome.DONE, guard.value
        )
        return texts.guard_is(target.title, guard, self._watching)

    async def _target(self, name: str) -> Target:
        """The group called `name`, else the own picture of the account of that provider (when
        it can read it)."""
        group = await self._store.groups.get(name)
        if group is not None and group.id is not None:
            return self._group_target(group)
        provider = self._providers.get(name)
        if provider is not None and provider.can(Capability.GET_OWN):
            return Target.account(provider)
        raise Refusal(texts.no_group_called(short(name)))

    def _group_target(self, group: Group) -> Target:
        return Target(provider=self._providers[group.provider], title=group.title, group=group)


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
        """One loop per account that can read its groups' pictures or its own."""
        for provider in self._changes.providers.values():
            if provider.can(Capability.GET_GROUP) or provider.can(Capability.GET_OWN):
                self._loops.append(asyncio.create_task(self._watch(provider)))

    async def close(self) -> None:
        """Stop reading; a restore written down and not yet run resumes after the restart."""
        tasks = [*self._loops, *self._restores]
        self._loops.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watch(self, provider: Provider) -> None:
        """Turn after turn, each `interval` after the one before: a turn woken late keeps its
        place, so the reads keep their spacing; one a whole interval late starts from now."""
        start = self._clock.now()
        while True:
            targets = await self._targets(provider)
            step = self._interval / max(len(targets), 1)
            for index, target in enumerate(targets):
                await self._clock.sleep_until(start + step * index)
                try:
                    failed = await self.look(target)
                except Exception:
                    log.exception("watching %s: could not look at %s", provider.name, target.name)
                    failed = None
                finally:
                    self.looks += 1
                if failed is FailureKind.AUTH:
                    break  # the account's credentials fail: try again at the next turn
            start += self._interval
            await self._clock.sleep_until(start)
            if self._clock.now() - start >= self._interval:
                start = self._clock.now()

    async def _targets(self, provider: Provider) -> list[Target]:
        """What one turn reads: the account's groups, then its own picture (where it can)."""
        targets: list[Target] = []
        if provider.can(Capability.GET_GROUP):
            try:
                groups = await self._store.groups.of_provider(provider.name)
            except Exception:
                log.warning("watching %s: could not read its groups", provider.name, exc_info=True)
                groups = []
            targets = [self._changes.target_of(group) for group in groups]
        if provider.can(Capability.GET_OWN):
            targets.append(Target.account(provider))
        return targets

    async def heard(self, provider: str, chat_id: str, by: Actor | None = None) -> None:
        """A provider's webhook (or Telegram's service message) says a group's picture may have
        changed, made by `by` when it says who: read it now (in the background), unless the
        bot does not manage that group there. A poll and an event seeing one change report it
        once (the compare-and-set of `_changed`)."""
        group = await self._store.groups.with_chat_id(chat_id)
        if group is None or group.provider != provider:
            log.info("watching: %s told of a group the bot does not manage", provider)
            return
        target = self._changes.target_of(group)
        task: asyncio.Task[object] = asyncio.create_task(self._look_logged(target, by))
        self._restores.add(task)
        task.add_done_callback(self._restores.discard)

    async def _look_logged(self, target: Target, by: Actor | None) -> None:
        try:
            await self.look(target, by)
        except Exception:
            log.exception("watching: could not look at %s", target.name)

    async def look(self, target: Target, by: Actor | None = None) -> FailureKind | None:
        """Read the picture once and act on a change seen (made by `by`, when an event said
        who); the failure of a read that failed (to be tried again at the next turn)."""
        watched, spot = self._store.watched, Spot.of(target)
        mark, busy, known = await watched.looked(spot)
        result = await self._changes.read(target)
        if not result.ok:
            log.info("watching: could not read the picture of %s: %s", target.name, result.reason)
            return result.kind or FailureKind.UNAVAILABLE
        if known is not None and known.mark == mark and result.url and result.url == known.url:
            return None  # the URL read last time: the same picture (a new one may be too)
        try:
            data = await self._bytes(result)
        except (httpx.HTTPError, ValueError) as error:
            log.info("watching: could not download the picture of %s: %s", target.name, error)
            return FailureKind.UNAVAILABLE
        if busy or await watched.state(spot) != (mark, False):
            return None  # the bot's own change is under way, or ended during the read
        digest = hashlib.sha256(data).hexdigest() if data else None
        if known is not None and known.mark == mark and known.hash == digest:
            await watched.seen_url(spot, mark, result.url)
            return None
        if data is None and known is not None and known.mark == mark and await self._has(target):
            return None  # "none" once, then a picture: some providers say none when unsure
        now = await self._known(target, data, digest, mark, result.url)
        if known is None or known.mark != mark:
            await watched.baseline(spot, now)
        else:
            await self._changed(target, known, now, by)
        return None

    async def _has(self, target: Target) -> bool:
        """Read again before taking a removal: Evolution answers "no picture" for one it could
        not read, and a hidden picture reads as none; a read that fails proves nothing."""
        again = await self._changes.read(target)
        return not again.ok or bool(again.url or again.image)

    async def _bytes(self, result: PictureResult) -> bytes | None:
        """The picture's bytes (None: it has none); raises what a failed download raises."""
        if result.image is not None:
            return result.image
        if not result.url:
            return None
        return await self._history.download(result.url)

    async def _known(
        self, target: Target, data: bytes | None, digest: str | None, mark: int, url: str | None
    ) -> Known:
        if data is None:
            return Known(Before.NONE, None, None, None, mark, url)
        try:
            picture: PreparedPicture | None = await prepare_picture_async(data)
        except ImageRefused as refused:  # still a change; only it cannot be put back later
            log.info("watching: the picture of %s cannot be kept: %s", target.name, refused)
            picture = None
        return Known(
            Before.PICTURE,
            digest,
            picture.jpeg if picture else None,
            picture.side if picture else None,
            mark,
            url,
        )

    async def _changed(self, target: Target, was: Known, now: Known, by: Actor | None) -> None:
        guard = await self._guards.of(target)
        spot = Spot.of(target)
        restore: Change | None = None
        restore_id: int | None = None
        stopped = False
        async with self._store.transaction():
            if not await self._store.watched.changed(spot, was, now):
                return  # another instance saw it first
            record = await self._store.pictures.outside(
                target_key=spot.key,
                group_id=spot.group_id,
                target=target.audit_name,
                provider=spot.provider,
                action=_seen(target, now),
                before_state=was.state if was.state is Before.NONE or was.jpeg else Before.UNKNOWN,
                before_jpeg=was.jpeg,
                before_side=was.side,
                after_jpeg=now.jpeg,
                after_side=now.side,
                by=by,
                keep=self._history.keep,
            )
            await self._store.watched.baseline(spot, _marked(now, record))
            if guard is Guard.RESTORE:
                since = stamp(self._clock.now() - STORM_WINDOW)
                if await self._store.pictures.outside_since(spot.key, since) >= STORM_CHANGES:
                    await self._store.watched.set_guard(spot, Guard.NOTIFY)
                    stopped = True
                else:
                    restore = _putting_back(target, was)
                    if restore is not None:
                        restore_id = await self._changes.record(restore)
        self._metrics.outside_changes.labels(provider=spot.provider).inc()
        log.info("watching: the picture of %s was changed outside the bot", target.name)
        if stopped:
            self._notifier.tell(
                sorted(self._notifier.owners),
                texts.guard_stopped(
                    target.title,
                    target.name,
                    STORM_CHANGES,
                    int(STORM_WINDOW.total_seconds() // 60),
                ),
            )
        if restore is not None and restore_id is not None:
            self._run_restore(restore_id, restore)
        elif guard is not Guard.OFF:
            self._tell(target, was, now, record, by)

    def _tell(self, target: Target, was: Known, now: Known, record: int, by: Actor | None) -> None:
        """The notice of a change seen, with a button that puts back the earlier picture when
        the bot knows it (rights checked at the press: bot/service.py `put_back`)."""
        caption = texts.outside_change(
            target.title,
            _undo_command(target),
            self._clock.now(),
            removed=now.state is Before.NONE,
            by=by.name if by else None,
        )
        known = was.jpeg is not None or (was.state is Before.NONE and target.group is not None)
        buttons = [(texts.PUT_BACK, PutBack(record))] if known else []
        self._notifier.outside_change(target.group, now.jpeg, caption, buttons)

    def _run_restore(self, operation_id: int, change: Change) -> None:
        """Run the change that puts the picture back (written down already); its outcome is
        told like any change's."""
        task: asyncio.Task[object] = asyncio.create_task(self._changes.start(operation_id, change))
        self._restores.add(task)
        task.add_done_callback(self._restores.discard)


def _marked(known: Known, mark: int) -> Known:
    return dataclasses.replace(known, mark=mark)


def _seen(target: Target, now: Known) -> Action:
    """The action a change seen outside the bot is kept as (an account's own picture removed
    is kept as set to none: the bot has no action that removes one)."""
    if target.group is None:
        return Action.SET_OWN_PICTURE
    if now.state is Before.NONE:
        return Action.DELETE_GROUP_PICTURE
    return Action.SET_GROUP_PICTURE


def _undo_command(target: Target) -> str:
    """The command that puts the earlier picture back."""
    if target.group is None:
        return f"/undoprofilepic {target.name}"
    return f"/undogrouppic {target.name}"


def _putting_back(target: Target, was: Known) -> Change | None:
    """The change that puts back what the picture was (None when that cannot be done: it was
    never kept, or it was none and the provider cannot remove one; the bot removes no
    account's own picture)."""
    if was.state is Before.NONE:
        if target.group is None or not target.provider.can(Capability.DELETE_GROUP):
            return None
        return Change(Action.DELETE_GROUP_PICTURE, target, GUARD, None, how=How.UNDO)
    if was.jpeg is None or was.side is None:
        return None
    picture = PreparedPicture(was.jpeg, was.side)
    action = Action.SET_GROUP_PICTURE if target.group else Action.SET_OWN_PICTURE
    return Change(action, target, GUARD, picture, how=How.UNDO)
