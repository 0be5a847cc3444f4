"""Scheduled pictures: a change made at a set time, and undone at another.

`/setgrouppic family at 18:00 until tomorrow 9:00`: the picture is fetched and prepared when
the command is given (a bad one is refused at once), the rights are checked, and the change is
kept in the store (`schedules`) with its times. One task wakes at the next due time and hands
the change to the ordinary change path (bot/changes.py: written down, the account's queue and
pace, retries, audit, notices) under a request key of its own, with the author's rights checked
again; a change whose author lost the right is cancelled and the author told. The `until` phase
is an undo of the change made at `at`: skipped, and the author told why, when the picture was
changed since (by anyone, through the bot, or read back different from what the bot set).

Durable: a change that came due while the bot was down runs at start-up when it is late by less
than `schedule.max_late_minutes`, and fails (author told) otherwise; one that was running when
the bot stopped is found again by its request key (the change engine resumes it; this module
waits for its end to go on to its next phase).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from adapters import Capability, PreparedPicture
from bot import fit, texts
from bot.access import Access
from bot.changes import ChangeRunner, check_size
from bot.clock import Clock, stamp
from bot.domain import (
    OPEN_STATUSES,
    Action,
    Actor,
    Change,
    How,
    MessageRef,
    Operation,
    OperationStatus,
    Outcome,
    Phase,
    PhotoSource,
    Progress,
    Proposal,
    Refusal,
    Result,
    ScheduledChange,
    ScheduleStatus,
    Target,
    target_key,
)
from bot.i18n import Text, joined
from bot.messenger import Messenger
from bot.rhythm import Rhythm, parse
from bot.service import AvatarService, UndoRefused
from bot.store import Store
from bot.when import BadTime, When, zone_named

log = logging.getLogger(__name__)

#: the longest the scheduler sleeps without looking at the store again
MAX_SLEEP_SECONDS = 60.0
#: how often it looks at a change the engine resumed after a restart, until it ends
RESUMED_POLL_SECONDS = 0.2
#: how long a draft waits for its author's confirmation before it is forgotten
DRAFT_TTL = timedelta(days=1)
#: a recurrence that failed this many runs in a row pauses, and the owners are told
PAUSE_AFTER_FAILURES = 3


class Scheduler:
    def __init__(
        self,
        *,
        store: Store,
        access: Access,
        avatars: AvatarService,
        changes: ChangeRunner,
        messenger: Messenger,
        zone: str,
        max_late: timedelta,
        min_every: timedelta,
        clock: Clock,
    ) -> None:
        self._store = store
        self._access = access
        self._avatars = avatars
        self._changes = changes
        self._messenger = messenger
        self.default_zone = zone
        self._max_late = max_late
        #: the shortest period of a recurring change
        self.min_every = min_every
        self._clock = clock
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    # time zones --------------------------------------------------------------------------------

    async def zone_of(self, user_id: int) -> ZoneInfo:
        """The zone a person reads and writes times in: their /timezone, else the bot's."""
        return ZoneInfo(await self._store.timezones.of(user_id) or self.default_zone)

    async def chosen_zone(self, user_id: int) -> str | None:
        return await self._store.timezones.of(user_id)

    async def choose_zone(self, user_id: int, name: str) -> str:
        """Keep a person's zone; raises BadTime for an unknown one."""
        zone = zone_named(name)
        await self._store.timezones.choose(user_id, zone.key)
        return zone.key

    def now(self) -> datetime:
        return self._clock.now()

    # scheduling --------------------------------------------------------------------------------

    async def already(self, request_key: str) -> bool:
        return await self._store.schedules.for_request(request_key) is not None

    async def schedule(
        self,
        actor: Actor,
        action: Action,
        name: str | None,
        photo: PhotoSource | None,
        when: When,
        reply: MessageRef,
        request_key: str,
        *,
        how: How | None = None,
    ) -> Text | None:
        """Check and keep a scheduled change (a requester's: propose it, with its times); the
        sentence that says when it runs (None when it runs at once: its reply shows the
        outcome). Raises `Refusal`."""
        target = await self._avatars.authorize(actor, action, name)
        picture: PreparedPicture | None = None
        if photo is not None:
            check_size(photo)
            picture = await self._changes.fetch(photo.file_id)
        now = self.now()
        zone = await self.zone_of(actor.user_id)
        if target.needs_approval:  # a proposal that carries the times (an undo: worked out then)
            progress = Progress(reply=reply, request_key=request_key)
            outcome = await self._avatars.propose(
                actor, action, target, picture, progress, when.stored(), how
            )
            if outcome.result is Result.DUPLICATE:
                return None
            said = texts.outcome_text(action, outcome)
            if outcome.result is not Result.PROPOSED:
                return said
            if how is How.UNDO:
                said = texts.undo_proposed(outcome.target, outcome.proposal, outcome.reason)
            return joined("\n", [said, await self.proposed_times(actor.user_id, when)])
        entry = _entry(
            Change(action, target, actor, picture, how=how),
            run_at=stamp(when.at) if when.at else None,
            until_at=stamp(when.until) if when.until else None,
            due_at=stamp(when.at or now),
            reply_chat_id=reply.chat_id,
            reply_message_id=reply.message_id,
            request_key=request_key,
        )
        if await self._store.schedules.add(entry) is None:
            return None
        self._wake.set()
        if when.at is None:
            return None
        what = texts.scheduled_what(how or action.value, target.title)
        return self._when_said(what, when, zone, texts.SEE_SCHEDULED)

    async def recur(
        self,
        actor: Actor,
        action: Action,
        name: str | None,
        photos: list[PhotoSource],
        rhythm: Rhythm,
        reply: MessageRef,
        request_key: str,
    ) -> Text | None:
        """Check and keep a recurrence (`every …`): its pictures are prepared now, in the order
        of its rotation (a bad one refuses them all, naming which), and kept in the store with
        it; each run is then an ordinary change. The sentence that says when it first runs;
        None for a request kept already. Raises `Refusal`."""
        target = await self._avatars.authorize(actor, action, name)
        pictures = await self.prepare(photos)
        zone = await self.zone_of(actor.user_id)
        if target.needs_approval:  # a proposal that carries the rhythm and the pictures
            progress = Progress(reply=reply, request_key=request_key)
            outcome = await self._avatars.propose(
                actor,
                action,
                target,
                pictures[0],
                progress,
                rhythm=(rhythm.said, zone.key),
                album=pictures,
            )
            if outcome.result is Result.DUPLICATE:
                return None
            said = texts.outcome_text(action, outcome)
            if outcome.result is not Result.PROPOSED:
                return said
            return joined("\n", [said, texts.proposed_rhythm(rhythm.said, len(pictures))])
        first = rhythm.first(self.now(), zone)
        entry = _entry(
            Change(action, target, actor, None),
            due_at=stamp(first),
            reply_chat_id=reply.chat_id,
            reply_message_id=reply.message_id,
            request_key=request_key,
            rhythm=rhythm.said,
            zone=zone.key,
        )
        async with self._store.transaction():
            entry_id = await self._store.schedules.add(entry)
            if entry_id is None:
                return None
            await self._store.schedules.keep_pictures(entry_id, pictures)
        self._wake.set()
        what = texts.recurring_what(
            texts.scheduled_what(action.value, target.title), rhythm.said, len(pictures)
        )
        return joined(
            "\n",
            [texts.recurring_from(what, texts.local_time(first, zone)), texts.SEE_RECURRING],
        )

    async def prepare(self, photos: Sequence[PhotoSource]) -> list[PreparedPicture]:
        """A recurrence's pictures, prepared in the order of its rotation; a bad one refuses
        them all, naming which (raises `Refusal`)."""
        pictures = []
        for number, photo in enumerate(photos, start=1):
            try:
                check_size(photo)
                pictures.append(await self._changes.fetch(photo.file_id))
            except Refusal as refusal:
                if len(photos) == 1:
                    raise
                raise Refusal(texts.album_refused(number, refusal.reason)) from None
        return pictures

    async def proposed_times(self, user_id: int, when: When, *, confirming: bool = False) -> Text:
        """When a proposed change is to be made (and undone), in its proposer's zone
        (`confirming`: a question its asker confirms to make the change themselves)."""
        zone = await self.zone_of(user_id)
        return texts.proposed_times(
            texts.local_time(when.at, zone) if when.at else None,
            texts.local_time(when.until, zone) if when.until else None,
            confirming=confirming,
        )

    async def draft(
        self, actor: Actor, action: Action, name: str | None, when: When
    ) -> tuple[Target, int, Text]:
        """A scheduled change its author confirms first (a removal): checked now (raises
        `Refusal`) and kept as a draft that nothing runs, so that the button carries only
        its id; the target, the draft's id, and when it is to run (in the author's zone)."""
        target = await self._avatars.authorize(actor, action, name)
        now = self.now()
        await self._store.schedules.forget_drafts(stamp(now - DRAFT_TTL))
        run_at, until_at = when.stored()
        entry = _entry(
            Change(action, target, actor, None),
            run_at=run_at,
            until_at=until_at,
            due_at=run_at or stamp(now),
            status=ScheduleStatus.ASKED,
        )
        draft_id = await self._store.schedules.add(entry)
        assert draft_id is not None  # no request key: never a duplicate
        confirming = not target.needs_approval
        return (
            target,
            draft_id,
            await self.proposed_times(actor.user_id, when, confirming=confirming),
        )

    async def draft_of(self, actor: Actor, draft_id: int) -> ScheduledChange | None:
        """`actor`'s draft; None when it is not theirs, or was confirmed already."""
        return await self._store.schedules.draft(draft_id, actor.user_id)

    async def schedule_draft(
        self, actor: Actor, draft: ScheduledChange, reply: MessageRef, request_key: str
    ) -> Text | None:
        """Keep (or propose) a confirmed draft as `schedule` does, its rights and its times
        checked again now (a time that passed while it waited is refused); None for a second
        confirmation. It is kept under `request_key` (the question's), so a second press, even
        one racing this, is a duplicate; the draft is dropped only after, so a crash in
        between loses nothing."""
        when = When.from_stored(draft.run_at, draft.until_at)
        await self.still_ahead(actor, when)
        action = Action(draft.action)
        said = await self.schedule(actor, action, draft.name, None, when, reply, request_key)
        assert draft.id is not None
        await self._store.schedules.forget_draft(draft.id)
        return said

    async def still_ahead(self, actor: Actor, when: When) -> None:
        """Refuse times that passed while a question waited for its answer (a confirmation,
        like an approval, is refused then, not kept and failed later)."""
        for moment in (when.at, when.until):
            if moment is not None and moment <= self.now():
                zone = await self.zone_of(actor.user_id)
                raise Refusal(texts.time_past(texts.local_time(moment, zone)))

    def _when_said(self, what: Text, when: When, zone: ZoneInfo, see: Text) -> Text:
        """When a scheduled change runs (and its earlier picture comes back), and where to
        see it."""
        now = self.now()
        lines: list[object] = []
        if when.at is not None:
            lines.append(texts.scheduled_for(what, when.at, now, zone))
        if when.until is not None:
            lines.append(texts.comes_back(when.until, now, zone))
        lines.append(see)
        return joined("\n", lines)

    async def keep_list(
        self, changes: list[Change], when: When, chat_id: int, request_key: str
    ) -> Text:
        """Keep one scheduled change per group of a confirmed (or approved) list, joining the
        caller's transaction; the sentence that says when they run. Each group's outcome goes
        to `chat_id` as a message of its own (one message per group, so none overwrites
        another's)."""
        run_at, until_at = when.stored()
        for change in changes:
            await self._store.schedules.add(
                _entry(
                    change,
                    run_at=run_at,
                    until_at=until_at,
                    due_at=run_at or stamp(self.now()),
                    reply_chat_id=chat_id,
                    request_key=f"{request_key}:{change.target.name}",
                )
            )
        self._wake.set()
        first = changes[0]
        title = fit.names([change.target.title for change in changes], texts.NAMES)
        what = texts.scheduled_what(first.how or first.action.value, title)
        zone = await self.zone_of(first.actor.user_id)
        return self._when_said(what, when, zone, texts.SEE_SCHEDULED_LIST)

    async def keep_recurring_list(
        self,
        changes: list[Change],
        words: str,
        zone: ZoneInfo,
        pictures: Sequence[PreparedPicture],
        chat_id: int,
        request_key: str,
    ) -> Text:
        """Keep one recurrence per group of a confirmed (or approved) list, joining the
        caller's transaction: each runs, is checked, skipped, paused and stopped on its own,
        and all share one copy of the pictures (kept under the first: a thousand groups do
        not keep a thousand copies). Each failure goes to `chat_id` as a message of its own;
        the sentence that says when they first run."""
        first = parse(words.split(), timedelta(0)).first(self.now(), zone)
        album: int | None = None
        for change in changes:
            entry_id = await self._store.schedules.add(
                _entry(
                    replace(change, picture=None),
                    due_at=stamp(first),
                    reply_chat_id=chat_id,
                    request_key=f"{request_key}:{change.target.name}",
                    rhythm=words,
                    zone=zone.key,
                    album=album,
                )
            )
            if album is None and entry_id is not None:
                await self._store.schedules.keep_pictures(entry_id, list(pictures))
                album = entry_id
        self._wake.set()
        title = fit.names([change.target.title for change in changes], texts.NAMES)
        what = texts.recurring_what(
            texts.scheduled_what(changes[0].action.value, title), words, len(pictures)
        )
        return joined(
            "\n",
            [texts.recurring_from(what, texts.local_time(first, zone)), texts.SEE_RECURRING_LIST],
        )

    async def keep_approved(
        self, change: Change, proposal: Proposal, album: Sequence[PreparedPicture] = ()
    ) -> int | None:
        """Keep the change an approved proposal with times (or a rhythm, rotating `album`
        when it has one) describes (joining the caller's transaction: the approval and its
        scheduled change are written together); its outcomes go to the requester."""
        if proposal.rhythm is not None:
            return await self._keep_approved_recurrence(change, proposal, proposal.rhythm, album)
        entry = _entry(
            change,
            run_at=proposal.run_at,
            until_at=proposal.until_at,
            due_at=proposal.run_at or stamp(self.now()),
            reply_chat_id=proposal.chat_id,
            request_key=f"proposal:{proposal.id}",
        )
        return await self._store.schedules.add(entry)

    async def _keep_approved_recurrence(
        self, change: Change, proposal: Proposal, words: str, album: Sequence[PreparedPicture]
    ) -> int | None:
        """An approved recurrence: its first run counts from the approval."""
        zone = ZoneInfo(proposal.zone or self.default_zone)
        first = parse(words.split(), timedelta(0)).first(self.now(), zone)
        entry = _entry(
            replace(change, picture=None),
            due_at=stamp(first),
            reply_chat_id=proposal.chat_id,
            request_key=f"proposal:{proposal.id}",
            rhythm=words,
            zone=zone.key,
        )
        entry_id = await self._store.schedules.add(entry)
        pictures = _rotation(album, change)
        if entry_id is not None and pictures:
            await self._store.schedules.keep_pictures(entry_id, pictures)
        return entry_id

    async def keep_approved_list(
        self, changes: list[Change], proposal: Proposal, album: Sequence[PreparedPicture] = ()
    ) -> None:
        """Keep what an approved list with times (or a rhythm, rotating `album`) describes,
        one entry per group, joining the caller's transaction."""
        key = f"proposal:{proposal.id}"
        if proposal.rhythm is None:
            when = When.from_stored(proposal.run_at, proposal.until_at)
            await self.keep_list(changes, when, proposal.chat_id, key)
            return
        zone = ZoneInfo(proposal.zone or self.default_zone)
        pictures = _rotation(album, changes[0])
        await self.keep_recurring_list(
            changes, proposal.rhythm, zone, pictures, proposal.chat_id, key
        )

    def wake(self) -> None:
        """Look at the store again (a change was kept outside `schedule`)."""
        self._wake.set()

    # seeing and cancelling ---------------------------------------------------------------------

    async def visible(self, actor: Actor, alias: str | None = None) -> list[ScheduledChange]:
        """The pending changes `actor` may see and cancel: owners all, admins theirs and their
        groups', everyone else their own."""
        shown = []
        for entry in await self._store.schedules.pending(alias.lower() if alias else None):
            if await self._may_handle(actor, entry):
                shown.append(entry)
        return shown

    async def visible_page(
        self, actor: Actor, alias: str | None, skip: int, limit: int
    ) -> tuple[int, list[ScheduledChange]]:
        """How many pending changes `actor` may see (see `visible`), and `limit` of them after
        the first `skip`: an owner, who sees them all, has the page read alone."""
        name = alias.lower() if alias else None
        if not self._access.is_owner(actor.user_id):
            shown = await self.visible(actor, alias)
            return len(shown), shown[skip : skip + limit]
        total = await self._store.schedules.count_pending(name)
        return total, await self._store.schedules.pending(name, skip, limit)

    async def pictures_of(self, entry: ScheduledChange) -> int:
        """How many pictures a recurrence rotates (1 for a change made once)."""
        if entry.rhythm is None or entry.pictures_key is None:
            return 1
        return await self._store.schedules.picture_count(entry.pictures_key)

    async def cancel(self, actor: Actor, entry_id: int, phase: Phase | None = None) -> Text:
        """Cancel a pending change while it waits for `phase`, the step the button showed
        (None: a button from before buttons named it); rights checked now; what to tell the
        person pressing. A step that ran meanwhile is no longer waiting: the next one (the
        restore of an `until`) is not cancelled by a button that showed the first."""
        entry = await self._store.schedules.get(entry_id)
        if entry is None or entry.status not in (ScheduleStatus.PENDING, ScheduleStatus.PAUSED):
            return texts.SCHEDULE_GONE
        if phase is not None and phase != entry.phase:
            return texts.SCHEDULE_GONE
        if not await self._may_handle(actor, entry):
            return texts.MAY_NOT_CANCEL
        if not await self._store.schedules.claim(
            entry_id, ScheduleStatus.CANCELLED, phase, was=entry.status
        ):
            return texts.SCHEDULE_GONE
        if entry.rhythm is not None:
            await self._store.schedules.forget_pictures(entry.pictures_key or entry_id)
            said = texts.recurrence_stopped(actor.name, describe(entry))
        else:
            said = texts.schedule_cancelled(actor.name, describe(entry))
        await self._tell(entry, said)
        if actor.user_id != entry.actor_id:
            await self._notify_author(entry, said)
        return said

    async def skip(self, actor: Actor, entry_id: int, run: int) -> Text:
        """Skip a recurrence's next run, the one the button showed (run number `run`): it is
        not made, and a rotation puts up at the run after the picture it would have. While
        its window is open, the next run is the start after the window: it is skipped when
        the window closes (its restore is made as usual). Rights checked now; what to tell
        the person pressing."""
        entry = await self._store.schedules.get(entry_id)
        if (
            entry is None
            or entry.rhythm is None
            or entry.status is not ScheduleStatus.PENDING
            or entry.next_run != run
        ):
            return texts.SCHEDULE_GONE
        if not await self._may_handle(actor, entry):
            return texts.MAY_NOT_CANCEL
        rhythm, zone = _rhythm_of(entry, self.default_zone)
        if entry.phase is Phase.AT:
            after = rhythm.following(due(entry), zone)
            skipped = await self._store.schedules.skip(entry_id, run, stamp(after))
        else:  # due(entry) is the window's end: the next start is the one after it
            after = rhythm.following(rhythm.following(due(entry), zone), zone)
            skipped = await self._store.schedules.skip_after_window(entry_id, run)
        if not skipped:
            return texts.SCHEDULE_GONE
        self._wake.set()
        what = describe(replace(entry, phase=Phase.AT))
        said = texts.run_skipped(actor.name, what, texts.local_time(after, zone))
        if actor.user_id != _listener(entry):  # told once: only one press skips this run
            await self._say(entry, said)
        return said

    async def resume(self, actor: Actor, entry_id: int) -> Text:
        """Resume a paused recurrence from its next regular run (the runs it missed while
        paused are not made up); rights checked now; what to tell the person pressing. Its
        author hears who resumed it, unless that is them."""
        entry = await self._store.schedules.get(entry_id)
        if entry is None or entry.rhythm is None:
            return texts.SCHEDULE_GONE
        if entry.status in (ScheduleStatus.PENDING, ScheduleStatus.RUNNING):
            return texts.NOT_PAUSED
        if entry.status is not ScheduleStatus.PAUSED:
            return texts.RECURRENCE_ENDED
        if not await self._may_handle(actor, entry):
            return texts.MAY_NOT_RESUME
        rhythm, zone = _rhythm_of(entry, self.default_zone)
        now = self.now()
        following = rhythm.following(rhythm.latest(due(entry), now, zone), zone)
        if not await self._store.schedules.resume(entry_id, stamp(following)):
            latest = await self._store.schedules.get(entry_id)
            resumed = latest is not None and latest.status is not ScheduleStatus.CANCELLED
            return texts.NOT_PAUSED if resumed else texts.RECURRENCE_ENDED
        self._wake.set()
        what = describe(entry, await self.pictures_of(entry))
        said = texts.recurrence_resumed(actor.name, what, texts.local_time(following, zone))
        if actor.user_id != _listener(entry):
            await self._say(entry, said)
        return said

    async def _may_handle(self, actor: Actor, entry: ScheduledChange) -> bool:
        if actor.user_id in (entry.actor_id, entry.requester_id):
            return True
        group = await self._store.groups.by_id(entry.group_id) if entry.group_id else None
        if entry.group_id is not None and group is None:
            return self._access.is_owner(actor.user_id)  # its group is gone
        return await self._access.may(actor.user_id, Action(entry.action), group)

    # running -----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Take up what was running when the bot stopped, then wait for what is due."""
        for entry in await self._store.schedules.running():
            operation = await self._store.operations.for_request(entry.run_key)
            if operation is None:  # stopped before its change was written down
                await self._store.schedules.retry(entry.id or 0)
            else:
                self._spawn(self._adopt(entry, operation))
        self._loop = asyncio.create_task(self._run_loop())

    async def close(self) -> None:
        """Stop waiting (the loop ends at its next look) and stop the changes being handed
        over; what did not end stays in the store and goes on after the next start."""
        self._closing = True
        self._wake.set()
        if self._loop is not None:
            await self._loop
            self._loop = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run_loop(self) -> None:
        while not self._closing:
            self._wake.clear()
            # also the next try when the store does not answer
            wake_at = self.now() + timedelta(seconds=MAX_SLEEP_SECONDS)
            try:
                await self._take_due()
                next_due = await self._store.schedules.next_due()
                if next_due is not None:
                    wake_at = min(wake_at, datetime.fromisoformat(next_due))
            except Exception:
                log.exception("could not run the scheduled changes that are due")
            if self._closing:
                return
            await self._sleep_until(wake_at)

    async def _sleep_until(self, moment: datetime) -> None:
        """Until the clock reads `moment`, or something is scheduled or closes (`_wake`)."""
        waits = [
            asyncio.ensure_future(self._clock.sleep_until(moment)),
            asyncio.ensure_future(self._wake.wait()),
        ]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    async def _take_due(self) -> None:
        for entry in await self._store.schedules.due(stamp(self.now())):
            if self._closing:
                return
            if entry.id is not None and await self._store.schedules.take(entry):
                self._spawn(self._run(entry))

    def _spawn(self, work: object) -> None:
        task: asyncio.Task[None] = asyncio.create_task(work)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, entry: ScheduledChange) -> None:
        try:
            await self._run_phase(entry)
        except Exception:
            log.exception("scheduled change %s failed", entry.id)
            await self._end(entry, ScheduleStatus.FAILED, texts.FAILED, texts.FAILED)

    async def _run_phase(self, entry: ScheduledChange) -> None:
        if entry.rhythm is not None and entry.phase is Phase.AT:
            latest = await self._latest_run(entry)
            if latest is None:
                return
            entry = latest
        due_at = datetime.fromisoformat(entry.due_at)
        late = self.now() - due_at
        if late > self._max_late:
            limit = self._max_late.total_seconds() / 60
            kept_late = datetime.fromisoformat(entry.created_at or entry.due_at) - due_at
            if entry.requester_id is not None and kept_late > self._max_late:
                # a proposal approved after its time (not a bot that was down at it)
                reason = texts.too_late(kept_late.total_seconds() / 60, limit, approved=True)
            else:
                reason = texts.too_late(late.total_seconds() / 60, limit)
            await self._end(entry, ScheduleStatus.FAILED, reason, texts.not_made(reason))
            return
        action = Action(entry.action)
        lost = texts.may_no_longer(entry.actor_name, action, entry.title)
        try:
            target = await self._avatars.resolve(entry.actor, action, entry.name)
            if target.needs_approval:
                raise Refusal(lost)
            if target.group is not None and target.group.id != entry.group_id:
                raise Refusal(lost)  # another group under its alias now: not the one meant
        except Refusal:
            reason = lost
            if entry.group_id and not await self._store.groups.by_id(entry.group_id):
                reason = texts.group_gone(entry.name)
            await self._end(entry, ScheduleStatus.CANCELLED, reason, texts.not_made(reason))
            return
        change = await self._change(entry, target)
        if isinstance(change, Text):
            await self._end(entry, ScheduleStatus.SKIPPED, change, change)
            return
        progress = Progress(reply=_reply(entry), request_key=entry.run_key)
        outcome = await self._changes.submit(change, progress)
        operation = await self._store.operations.for_request(entry.run_key)
        await self._advance(entry, change.action, outcome, operation)

    async def _latest_run(self, entry: ScheduledChange) -> ScheduledChange | None:
        """The run a recurrence makes now: the latest one due (runs missed while the bot was
        down are not made up one after another); None when even that one is later than
        `max_late` allows: it is skipped, and the recurrence waits for its next run."""
        assert entry.id is not None
        rhythm, zone = _rhythm_of(entry, self.default_zone)
        now = self.now()
        latest = rhythm.latest(due(entry), now, zone)
        if now - latest > self._max_late:
            log.info("recurring change %s missed its runs while the bot was down", entry.id)
            following = stamp(rhythm.following(latest, zone))
            if await self._store.schedules.again(entry.id, following, entry.failures, runs=0):
                self._wake.set()
            return None
        if latest != due(entry):
            await self._store.schedules.moved(entry.id, stamp(latest))
            entry = replace(entry, due_at=stamp(latest))
        return entry

    async def _change(self, entry: ScheduledChange, target: Target) -> Change | Text:
        """The change this phase makes, or why it is skipped."""
        actor = entry.actor
        if entry.phase is Phase.AT and entry.how is not How.UNDO:
            picture = None
            if entry.rhythm is not None and entry.pictures_key is not None:
                picture = await self._store.schedules.picture(entry.pictures_key, entry.runs)
                if picture is None:
                    return texts.PICTURE_LOST
            elif entry.jpeg is not None and entry.side is not None:
                picture = PreparedPicture(entry.jpeg, entry.side)
            return Change(Action(entry.action), target, actor, picture, entry.requester)
        records = await self._store.pictures.latest(target_key(target), 1)
        if entry.phase is Phase.AT:  # a scheduled undo: of whatever was changed last
            if not records:
                return texts.cannot_put_back(target.title)
        elif not records or records[0].operation_id != entry.operation_id:
            name = records[0].actor_name if records else texts.SOMEONE
            return texts.not_put_back(target.title, name)
        elif await self._changed_outside(target, records[0].after_url):
            return texts.not_put_back(target.title, texts.SOMEONE)
        try:
            undo = await self._avatars.undo_of(actor, target, records[0])
        except UndoRefused:
            return texts.cannot_put_back(target.title)
        return replace(undo, requester=entry.requester)

    async def _changed_outside(self, target: Target, url: str | None) -> bool:
        """Whether the picture now differs from the one the bot set (read back where the
        provider can; not knowing counts as unchanged)."""
        provider, group = target.provider, target.group
        if url is None or group is None or not provider.can(Capability.GET_GROUP):
            return False
        try:
            result = await provider.get_group_picture(group.chat_id)
        except Exception:
            log.info("could not read the picture of %s back", target.name, exc_info=True)
            return False
        return result.ok and bool(result.url) and result.url != url

    async def _adopt(self, entry: ScheduledChange, operation: Operation) -> None:
        """A phase whose change the engine resumed after a restart: wait for its end."""
        assert operation.id is not None
        while operation.status in OPEN_STATUSES:
            await asyncio.sleep(RESUMED_POLL_SECONDS)
            found = await self._store.operations.get(operation.id)
            if found is None:
                return
            operation = found
        result = Result.DONE if operation.status is OperationStatus.DONE else Result.FAILED
        outcome = Outcome(result, entry.title, url=operation.url, reason=operation.reason)
        await self._advance(entry, Action(operation.action), outcome, operation)

    async def _advance(
        self,
        entry: ScheduledChange,
        action: Action,
        outcome: Outcome,
        operation: Operation | None,
    ) -> None:
        """A phase's change ended: say so on the author's message, and wait for the undo."""
        said = texts.outcome_text(action, replace(outcome, resumed=False))
        status = ScheduleStatus.DONE if outcome.result is Result.DONE else ScheduleStatus.FAILED
        until = self._until(entry)
        if entry.phase is Phase.AT and until is not None and entry.id is not None:
            if outcome.result is Result.DONE:
                if not await self._store.schedules.next_phase(
                    entry.id, stamp(until), operation.id if operation else None
                ):
                    return  # another instance, waiting for the same change, told the author
                self._wake.set()
                if entry.rhythm is None:  # a recurrence's author hears only of failures
                    zone = await self.zone_of(entry.actor_id)
                    back = texts.comes_back(until, self.now(), zone)
                    await self._say(entry, joined("\n", [said, back]))
                return
            said = joined("\n", [said, texts.NOT_MADE_NO_UNTIL])
        await self._end(entry, status, outcome.reason, said)

    def _until(self, entry: ScheduledChange) -> datetime | None:
        """When the earlier picture comes back after this entry's change (None: it does not)."""
        if entry.rhythm is None:
            return datetime.fromisoformat(entry.until_at) if entry.until_at else None
        rhythm, zone = _rhythm_of(entry, self.default_zone)
        return rhythm.end_after(due(entry), zone) if rhythm.window else None

    async def _end(
        self, entry: ScheduledChange, status: ScheduleStatus, reason: str | None, said: Text
    ) -> None:
        """A phase ended: the entry is closed and its author told (a recurrence, unless it
        stopped, waits for its next run instead)."""
        if entry.rhythm is not None and status is not ScheduleStatus.CANCELLED:
            await self._recur(entry, status, reason, said)
            return
        if entry.id is not None and not await self._store.schedules.finish(
            entry.id, status, reason
        ):
            return  # closed already, and its author told, by another instance
        if entry.rhythm is not None and entry.pictures_key is not None:
            await self._store.schedules.forget_pictures(entry.pictures_key)
        await self._say(entry, said)

    async def _recur(
        self, entry: ScheduledChange, status: ScheduleStatus, reason: str | None, said: Text
    ) -> None:
        """A recurrence's run (or its restore) ended: it waits for its next run. Its author
        hears only what did not go as asked; after `PAUSE_AFTER_FAILURES` failed runs in a row
        it pauses, and the owners are told once."""
        assert entry.id is not None
        failed = entry.phase is Phase.AT and status is ScheduleStatus.FAILED
        failures = entry.failures + 1 if failed else 0
        if failures >= PAUSE_AFTER_FAILURES:
            if await self._store.schedules.finish(entry.id, ScheduleStatus.PAUSED, reason):
                await self._say(entry, said)
                alert = texts.recurrence_paused(describe(entry), failures, reason or "")
                for owner in sorted(self._access.owners):
                    await self._say_to(owner, alert)
            return
        rhythm, zone = _rhythm_of(entry, self.default_zone)
        following = rhythm.following(due(entry), zone)
        runs = 1
        if entry.phase is Phase.UNTIL and await self._skips_after_window(entry.id):
            following, runs = rhythm.following(following, zone), 2
        if not await self._store.schedules.again(entry.id, stamp(following), failures, runs=runs):
            return  # moved on already, and its author told, by another instance
        self._wake.set()
        if status is not ScheduleStatus.DONE:
            await self._say(entry, said)

    async def _skips_after_window(self, entry_id: int) -> bool:
        """Whether the start after a window that just closed was skipped (read again now:
        a Skip may have come after this run read its entry, and before it took it)."""
        latest = await self._store.schedules.get(entry_id)
        return latest is not None and latest.skips > 0

    async def _say(self, entry: ScheduledChange, text: Text) -> None:
        try:
            await self._tell(entry, text)
        except Exception:  # the author blocked the bot, the message is gone...
            log.warning("could not tell how scheduled change %s went", entry.id, exc_info=True)

    async def _say_to(self, chat_id: int, text: Text) -> None:
        try:
            await self._messenger.report(chat_id, None, text)
        except Exception:
            log.warning("could not tell chat %s about a recurring change", chat_id, exc_info=True)

    async def _tell(self, entry: ScheduledChange, text: Text) -> None:
        """On the author's message (its reply), else in the author's chat; a recurrence's
        news as a message of its own, answering the one that said it was kept."""
        if entry.rhythm is not None:
            chat = entry.reply_chat_id or entry.actor_chat_id
            await self._messenger.report(chat, None, text, quote=entry.reply_message_id)
        elif entry.reply_chat_id is not None:
            await self._messenger.report(entry.reply_chat_id, entry.reply_message_id, text)
        else:
            await self._messenger.report(entry.actor_chat_id, None, text)

    async def _notify_author(self, entry: ScheduledChange, text: Text) -> None:
        if entry.reply_chat_id != entry.actor_chat_id:
            await self._messenger.report(entry.actor_chat_id, None, text)


def _entry(change: Change, **times_and_reply: Any) -> ScheduledChange:
    """A scheduled change that makes `change`, at the times (and answering where) given; an
    approved one's requester can see and cancel it."""
    target, picture, actor = change.target, change.picture, change.actor
    requester = change.requester
    return ScheduledChange(
        action=change.action.value,
        how=change.how,
        name=target.name,
        title=target.title,
        group_id=target.group.id if target.group else None,
        provider=target.provider.name,
        jpeg=picture.jpeg if picture else None,
        side=picture.side if picture else None,
        actor_id=actor.user_id,
        actor_name=actor.name,
        actor_chat_id=actor.chat_id,
        requester_id=requester.user_id if requester else None,
        requester_name=requester.name if requester else None,
        requester_chat_id=requester.chat_id if requester else None,
        **times_and_reply,
    )


def describe(entry: ScheduledChange, pictures: int = 1) -> Text:
    """What a scheduled change does in its current phase (a recurrence: and its rhythm, and
    how many `pictures` it rotates)."""
    if entry.phase is Phase.UNTIL:
        what = texts.scheduled_what(How.UNDO, entry.title)
    else:
        what = texts.scheduled_what(entry.how or entry.action, entry.title)
    if entry.rhythm is None:
        return what
    return texts.recurring_what(what, entry.rhythm, pictures)


def _rhythm_of(entry: ScheduledChange, default_zone: str) -> tuple[Rhythm, ZoneInfo]:
    """A recurrence's rhythm, read again from its words, and the zone it is read in."""
    assert entry.rhythm is not None
    return parse(entry.rhythm.split(), timedelta(0)), ZoneInfo(entry.zone or default_zone)


def _rotation(album: Sequence[PreparedPicture], change: Change) -> list[PreparedPicture]:
    """What an approved recurrence rotates: the proposal's album, else its one picture."""
    return list(album) or ([change.picture] if change.picture is not None else [])


def _listener(entry: ScheduledChange) -> int:
    """Who hears a recurrence's news: the requester of an approved one, else its author."""
    return entry.requester_id if entry.requester_id is not None else entry.actor_id


def due(entry: ScheduledChange) -> datetime:
    return datetime.fromisoformat(entry.due_at)


def _reply(entry: ScheduledChange) -> MessageRef | None:
    if entry.reply_chat_id is None or entry.reply_message_id is None:
        return None
    return MessageRef(entry.reply_chat_id, entry.reply_message_id)


__all__ = ["BadTime", "Scheduler", "describe", "due"]
