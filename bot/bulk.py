"""Changing many groups at once: `/setgrouppic family,work,school`, `/delgrouppic *`, ...

Asking lists the groups it would change and those it refuses (no right, the provider cannot,
nothing to undo) and is stored, waiting for its confirmation (a recurring list's pictures are
prepared then and kept with it, in `bulk_pictures`, until it is answered or expires). The
confirmation checks the rights again, fetches the picture once (a recurring list's: none), and
writes one ordinary change per group (bot/changes.py) together with the bulk's "running" mark,
in one transaction; so a crash leaves either nothing or every change written down, and the
changes resume like any other. They run in their accounts' queues, side by side across
accounts and each at its account's pace. One message shows the progress (edited at most every
`telegram.edit_interval_seconds`) and, at the end, every group's URL or reason; the end is
claimed once in the store, so the summary and its one notice are told once, whether the bulk
ended in this run or after a restart. A requester's list becomes one proposal over its groups
(bot/proposals.py, decided by bot/approvals.py), and an approved one runs here as the
decider's bulk change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from adapters import PreparedPicture
from bot import audit, results, texts
from bot.clock import stamp
from bot.domain import (
    OPEN_STATUSES,
    Action,
    Actor,
    AuditOutcome,
    BulkKind,
    BulkProgress,
    BulkRefusal,
    BulkResult,
    BulkStatus,
    Change,
    Group,
    How,
    MessageRef,
    NoUndo,
    Operation,
    OperationStatus,
    PhotoSource,
    Proposal,
    ProposalStatus,
    Refusal,
    Target,
)
from bot.i18n import Text, joined
from bot.messenger import Messenger
from bot.notify import Notifier
from bot.permissions import PROPOSABLE
from bot.proposals import ProposalBox, list_kind
from bot.requests import names_in
from bot.rhythm import Rhythm
from bot.service import AvatarService, UndoRefused
from bot.store import Store
from bot.store.bulks import BulkRecord
from bot.when import When
from bot.words import short

if TYPE_CHECKING:
    from bot.schedule import Scheduler


log = logging.getLogger(__name__)


def _listed(names: str) -> str:
    """A stored list of groups ("family,work") as people read it."""
    return ", ".join(names.split(","))


def _timed(bulk: BulkRecord) -> bool:
    """Whether a list has a time: it is kept to be made then, not made at once."""
    return bulk.run_at is not None or bulk.until_at is not None


def _at_their_time(
    kind: BulkKind, targets: list[Target], changes: list[Change], actor: Actor
) -> list[Change]:
    """The changes a list with a time keeps: an undo is worked out at its time (of the change
    last made then), the others are kept as planned."""
    if kind is not BulkKind.UNDO:
        return changes
    return [
        Change(Action.SET_GROUP_PICTURE, target, actor, None, how=How.UNDO) for target in targets
    ]


ACTIONS = {
    BulkKind.SET: Action.SET_GROUP_PICTURE,
    BulkKind.DELETE: Action.DELETE_GROUP_PICTURE,
    BulkKind.UNDO: Action.SET_GROUP_PICTURE,
}


@dataclass(frozen=True)
class Plan:
    kind: BulkKind
    targets: list[Target]
    refused: list[BulkRefusal]
    bulk_id: int | None = None
    #: the actor may only propose these changes: one proposal for the whole list
    proposal: bool = False
    #: confirmed: when a list with a time runs, or that a requester's list went to the
    #: deciders (and when it is to run)
    said: Text | None = None
    #: asked: its time or rhythm, repeated in the question that asks to confirm it
    timing: Text | None = None


#: a group a list names, or why no group has that name
Named = tuple[str, Group | Refusal]


@dataclass(frozen=True)
class Written:
    """A bulk change written down: its id, and each change with its operation's id."""

    bulk_id: int
    changes: list[tuple[int, Change]]


@dataclass
class _Shown:
    """When the progress message was last edited, and the edit waiting for its turn."""

    at: float = float("-inf")
    later: asyncio.Task[None] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class BulkChanges:
    def __init__(
        self,
        service: AvatarService,
        store: Store,
        notifier: Notifier,
        messenger: Messenger,
        box: ProposalBox,
        scheduler: Scheduler,
        edit_interval: float,
    ) -> None:
        self._service = service
        self._store = store
        self._notifier = notifier
        self._messenger = messenger
        self._box = box
        self._shown: dict[int, _Shown] = {}
        #: the least seconds between two edits of one progress message
        self._edit_interval = edit_interval
        #: keeps the scheduled changes of a list with a time
        self.scheduler = scheduler

    async def ask(
        self,
        actor: Actor,
        kind: BulkKind,
        names: str,
        photo: PhotoSource | None,
        when: When | None = None,
        every: Rhythm | None = None,
        album: Sequence[PhotoSource] = (),
    ) -> Plan:
        """The plan for a list of groups; stored (waiting for a confirmation) when it would
        change any, with its times or its rhythm and album (a requester's list: proposed
        with them)."""
        plan, _ = await self._plan(actor, kind, await self._named(actor, kind, names), final=False)
        if not plan.targets:
            return plan
        pictures: list[PreparedPicture] = []
        if every is not None and kind is BulkKind.SET:
            # prepared now, as one group's recurrence: a bad picture refuses the whole album,
            # naming which, and nothing is kept (raises `Refusal`)
            pictures = await self.scheduler.prepare(list(album) or ([photo] if photo else []))
        times = when.stored() if when is not None else (None, None)
        async with self._store.transaction():
            bulk_id = await self._store.bulks.add(
                kind,
                actor,
                ",".join(target.name for target in plan.targets),
                photo.file_id if photo else None,
                photo.file_size if photo else None,
                times,
                [target.group.id for target in plan.targets if target.group and target.group.id],
                plan.refused,
                every.said if every is not None else None,
            )
            await self._store.bulks.keep_pictures(bulk_id, pictures)
        timing = await self._timing(actor, plan.proposal, when, every, len(album) or 1)
        return replace(plan, bulk_id=bulk_id, timing=timing)

    async def _timing(
        self, actor: Actor, proposal: bool, when: When | None, every: Rhythm | None, pictures: int
    ) -> Text | None:
        """A list's time or rhythm (and how many pictures it rotates), as the question that
        asks to confirm it repeats it: the asker confirms what they will see made."""
        if every is not None and proposal:
            return texts.proposed_rhythm(every.said, pictures)
        if every is not None:
            return texts.planned_rhythm(every.said, pictures)
        if when is not None:
            return await self.scheduler.proposed_times(actor.user_id, when, confirming=not proposal)
        return None

    async def _planned(self, actor: Actor, bulk: BulkRecord) -> tuple[Plan, list[Change]]:
        """The plan of a confirmed list: the groups it showed, by id (one removed since is
        left alone as gone; an alias reused meanwhile names another group, not this one),
        with the rights checked again now; the groups it left alone at the question stay
        so. Refusals are audited."""
        if bulk.group_ids is None:  # asked before lists kept their groups' ids
            named = await self._named(actor, bulk.kind, bulk.names)
        else:
            named = []
            for group_id, name in zip(bulk.group_ids, bulk.names.split(","), strict=True):
                group = await self._store.groups.by_id(group_id)
                gone = Refusal(texts.group_gone(name))
                named.append((group.alias, group) if group else (name, gone))
        plan, changes = await self._plan(actor, bulk.kind, named, final=True)
        action = ACTIONS[bulk.kind]
        for earlier in bulk.refused:
            if not isinstance(earlier.reason, NoUndo):
                await self._service.refused(actor, action, earlier.name, Refusal(earlier.reason))
        return replace(plan, refused=[*bulk.refused, *plan.refused]), changes

    async def confirm(self, actor: Actor, bulk_id: int, message: MessageRef) -> Plan | None:
        """Run a confirmed bulk change, shown in `message`; None when it was taken up already
        (or is not this actor's). Rights are checked again now; refusals are audited. Raises
        `Refusal` when its picture cannot be had."""
        bulk = await self._store.bulks.get(bulk_id)
        if bulk is None or bulk.actor.user_id != actor.user_id:
            return None
        if bulk.status is BulkStatus.EXPIRED:
            raise Refusal(texts.BULK_QUESTION_EXPIRED)
        if bulk.status is not BulkStatus.ASKED:
            return None
        ran = await self._answer(actor, bulk, message)
        await self._store.bulks.drop_pictures(bulk_id)  # what it became keeps its own copy
        return ran

    async def _answer(self, actor: Actor, bulk: BulkRecord, message: MessageRef) -> Plan | None:
        """The confirmed list made, scheduled, kept recurring or proposed; None for a second
        press."""
        bulk_id = bulk.id
        if _timed(bulk):
            await self.scheduler.still_ahead(actor, When.from_stored(bulk.run_at, bulk.until_at))
        plan, changes = await self._planned(actor, bulk)
        pictures: list[PreparedPicture] = []
        if bulk.kind is BulkKind.SET and changes:
            # a recurring list's were prepared at the command; another's (or one asked before
            # they were kept) are prepared now
            pictures = await self._store.bulks.pictures(bulk_id)
            if not pictures and not bulk.photos:
                raise Refusal(texts.BULK_PICTURE_LOST)
            pictures = pictures or await self.scheduler.prepare(bulk.photos)
            changes = [replace(change, picture=pictures[0]) for change in changes]
        if plan.proposal:
            return await self._propose(bulk, plan, pictures)
        # a list whose every group was refused at the press keeps nothing: its summary says why
        if bulk.rhythm is not None and changes:
            return await self._recur(bulk, plan, changes, pictures, message)
        if _timed(bulk) and changes:
            return await self._schedule(bulk, plan, changes, message)
        async with self._store.transaction():
            claimed = await self._store.bulks.claim(
                bulk_id, message.chat_id, message.message_id, plan.refused
            )
            written = await self._record(bulk_id, changes) if claimed else None
        if written is None:
            return None
        await self._run_all(bulk_id, written)
        return replace(plan, bulk_id=bulk_id)

    async def _schedule(
        self, bulk: BulkRecord, plan: Plan, changes: list[Change], message: MessageRef
    ) -> Plan | None:
        """A confirmed list with a time: one scheduled change per group (bot/schedule.py),
        written with the bulk's end, so a second press schedules nothing."""
        changes = _at_their_time(bulk.kind, plan.targets, changes, bulk.actor)
        when = When.from_stored(bulk.run_at, bulk.until_at)
        async with self._store.transaction():
            if not await self._store.bulks.claim(
                bulk.id, message.chat_id, None, plan.refused, status="done"
            ):
                return None
            said = await self.scheduler.keep_list(changes, when, message.chat_id, f"bulk:{bulk.id}")
        return replace(plan, bulk_id=bulk.id, said=said)

    async def _recur(
        self,
        bulk: BulkRecord,
        plan: Plan,
        changes: list[Change],
        pictures: list[PreparedPicture],
        message: MessageRef,
    ) -> Plan | None:
        """A confirmed list with `every …`: one recurrence per group (bot/schedule.py),
        written with the bulk's end, so a second press keeps nothing more. The rhythm is
        read in the author's zone now, as for one group."""
        assert bulk.rhythm is not None
        zone = await self.scheduler.zone_of(bulk.actor.user_id)
        async with self._store.transaction():
            if not await self._store.bulks.claim(
                bulk.id, message.chat_id, None, plan.refused, status="done"
            ):
                return None
            said = await self.scheduler.keep_recurring_list(
                changes, bulk.rhythm, zone, pictures, message.chat_id, f"bulk:{bulk.id}"
            )
        return replace(plan, bulk_id=bulk.id, said=said)

    async def approved(
        self, decider: Actor, proposal: Proposal, groups: list[Group]
    ) -> tuple[list[Change], list[BulkRefusal]]:
        """The changes an approved list makes: one per group the decider may make now (by the
        group's id), with the picture the deciders saw, for the requester; refusals audited."""
        kind = list_kind(proposal)
        named: list[Named] = [(group.alias, group) for group in groups]
        plan, changes = await self._plan(decider, kind, named, final=True, deciding=True)
        if proposal.jpeg is not None and proposal.side is not None:
            picture = PreparedPicture(proposal.jpeg, proposal.side)
            changes = [replace(change, picture=picture) for change in changes]
        if proposal.run_at is not None or proposal.until_at is not None:
            changes = _at_their_time(kind, plan.targets, changes, decider)
        requester = Actor(proposal.requested_by, proposal.chat_id, proposal.requester_name)
        return [replace(change, requester=requester) for change in changes], plan.refused

    async def record_approved(
        self,
        decider: Actor,
        proposal: Proposal,
        changes: list[Change],
        refused: list[BulkRefusal],
    ) -> Written:
        """Write an approved list down as the requester's bulk change decided by `decider`
        (joining the caller's transaction, which closes the proposal)."""
        requester = Actor(proposal.requested_by, proposal.chat_id, proposal.requester_name)
        bulk_id = await self._store.bulks.add_approved(
            list_kind(proposal), requester, proposal.names, decider, refused
        )
        return Written(bulk_id, await self._record(bulk_id, changes))

    async def run_approved(self, written: Written, decider: Actor, kind: BulkKind) -> None:
        """Run an approved list, its progress in a new message to the decider (the requester
        gets the summary)."""
        message_id = await self._messenger.send(decider.chat_id, texts.bulk_working(kind))
        await self._store.bulks.show_in(written.bulk_id, decider.chat_id, message_id)
        await self._run_all(written.bulk_id, written.changes)

    async def _record(self, bulk_id: int, changes: list[Change]) -> list[tuple[int, Change]]:
        """Write every change of a bulk down (in the caller's transaction)."""
        written = []
        for change in changes:
            change = replace(change, bulk_id=bulk_id)
            operation_id = await self._service.changes.record(change)
            assert operation_id is not None  # no request key: never a duplicate
            written.append((operation_id, change))
        return written

    async def _run_all(self, bulk_id: int, written: list[tuple[int, Change]]) -> None:
        await self._progressed(bulk_id)

        async def one(operation_id: int, change: Change) -> None:
            await self._service.changes.start(operation_id, change)
            await self._progressed(bulk_id)

        await asyncio.gather(*(one(*entry) for entry in written))
        operations = await self._store.operations.of_bulk(bulk_id)
        if all(op.status not in OPEN_STATUSES for op in operations):
            await self._finish(bulk_id)
        # else a provider confirms a change later (the Cloud API): `resumed` ends the bulk

    async def _propose(
        self, bulk: BulkRecord, plan: Plan, pictures: list[PreparedPicture]
    ) -> Plan | None:
        """A requester's confirmed list: one proposal (with its times, or its rhythm and
        pictures) for its groups, by id, decided by the one proposal machinery
        (bot/proposals.py, bot/approvals.py)."""
        requester, action = bulk.actor, ACTIONS[plan.kind]
        groups = [target.group for target in plan.targets if target.group is not None]
        rhythm = None
        if bulk.rhythm is not None:
            rhythm = (bulk.rhythm, (await self.scheduler.zone_of(requester.user_id)).key)
        proposal = await self._box.open(
            requester,
            action,
            groups,
            pictures[0] if pictures else None,
            f"bulk:{bulk.id}",
            (bulk.run_at, bulk.until_at),
            How.UNDO if plan.kind is BulkKind.UNDO else None,
            listed=True,
            rhythm=rhythm,
            album=pictures,
        )
        if proposal is None or not await self._store.bulks.moved(bulk.id):
            return None  # a second press
        names = _listed(",".join(target.name for target in plan.targets))
        if proposal.status is not ProposalStatus.PENDING:
            said: Text = texts.not_reached(texts.bulk_what(plan.kind, names))
            outcome = AuditOutcome.FAILED
        else:
            said = texts.bulk_proposed(plan.kind, names)
            outcome = AuditOutcome.PROPOSED
            if bulk.rhythm is not None:
                said = joined("\n", [said, texts.proposed_rhythm(bulk.rhythm, len(pictures))])
            elif _timed(bulk):
                when = When.from_stored(bulk.run_at, bulk.until_at)
                said = joined(
                    "\n", [said, await self.scheduler.proposed_times(requester.user_id, when)]
                )
        for target in plan.targets:
            await audit.record(
                self._store,
                requester,
                action.value,
                target.name,
                outcome,
                f"proposal {proposal.id}",
                provider=target.provider.name,
            )
        return replace(plan, bulk_id=bulk.id, said=said)

    async def _show(self, chat_id: int, message_id: int | None, progress: BulkProgress) -> None:
        """The progress (or, at the end, the summary) in its message (a new one when None),
        said in the chat's language by the messenger."""
        await self._messenger.report(chat_id, message_id, texts.bulk_progress(progress))

    async def _send_results(self, chat_id: int, progress: BulkProgress) -> None:
        try:
            await self._messenger.send_document(
                chat_id, results.NAME, results.results_csv(progress), texts.BULK_RESULTS_CAPTION
            )
        except Exception:
            log.warning("could not send the results of a bulk change to %s", chat_id)

    async def resumed(self, operation: Operation) -> None:
        """A change of a bulk ended after a restart: show it; end the bulk after its last."""
        assert operation.bulk_id is not None
        await self._progressed(operation.bulk_id)
        operations = await self._store.operations.of_bulk(operation.bulk_id)
        if all(op.status not in OPEN_STATUSES for op in operations):
            await self._finish(operation.bulk_id)

    async def keep(self, actor: Actor, bulk_id: int) -> None:
        """Its asker answered Keep them: the question is closed and its pictures go."""
        await self._store.bulks.kept(bulk_id, actor.user_id)

    async def expire(self) -> None:
        """Close the recurring lists nobody answered within a proposal's time to live, so
        their kept pictures go (a press then says the question expired)."""
        await self._store.bulks.expire_asked(stamp(self._box.clock.now() - self._box.ttl))

    async def resume(self) -> None:
        """At start-up, after the changes resumed: end the bulks whose changes all ended
        before the restart (the crash came between their last change and their summary)."""
        for bulk_id in await self._store.bulks.running():
            operations = await self._store.operations.of_bulk(bulk_id)
            if all(op.status not in OPEN_STATUSES for op in operations):
                await self._finish(bulk_id)
        for bulk_id in await self._store.bulks.ending_ones():  # the crash came while it ended
            await self._end(bulk_id)

    async def close(self) -> None:
        for shown in self._shown.values():
            if shown.later is not None:
                shown.later.cancel()

    # ------------------------------------------------------------------------------------------

    async def _named(self, actor: Actor, kind: BulkKind, names: str) -> list[Named]:
        """The groups a list names (`*`: every group the actor may change or propose for),
        each once, in the order named: the group, or why there is none by that name."""
        action = ACTIONS[kind]
        listed = names_in(names) or [names]
        if listed == ["*"]:
            listed = await self._every_group(actor, action)
        named: list[Named] = []
        unknown = False  # the first unknown name's refusal says "You may use: …", once
        for name in dict.fromkeys(listed):
            try:
                named.append((name, await self._service.group_named(actor, action, name)))
            except Refusal as refusal:
                said = Refusal(texts.no_group_called(short(name))) if unknown else refusal
                unknown = True
                named.append((name, said))
        return named

    async def _plan(
        self,
        actor: Actor,
        kind: BulkKind,
        named: Sequence[Named],
        *,
        final: bool,
        deciding: bool = False,
    ) -> tuple[Plan, list[Change]]:
        """Which groups it changes (and how), and which it refuses and why; at the press
        (`final`) refusals are audited. A list is all changes the actor makes, or all
        proposals (`deciding`: the approver's own changes, never proposals): when it mixes
        them, the larger part wins (on a tie, the changes the actor may make) and each group
        of the smaller part is left alone with a reason that says so."""
        action = ACTIONS[kind]
        checked: list[tuple[str, Target | Refusal]] = []
        for name, group in named:
            if isinstance(group, Refusal):
                checked.append((name, group))
                continue
            try:
                target = await self._service.target_of(
                    actor, action, group, may_propose=not deciding
                )
            except Refusal as refusal:
                checked.append((name, refusal))
                continue
            checked.append((name, target))
        targets_of = [t for _, t in checked if isinstance(t, Target)]
        proposals = sum(target.needs_approval for target in targets_of)
        proposing = proposals > len(targets_of) - proposals
        targets, refused, changes = [], [], []
        for name, found in checked:
            try:
                if isinstance(found, Refusal):
                    raise found
                if found.needs_approval is not proposing:
                    raise Refusal(texts.ONLY_DIRECT if proposing else texts.ONLY_PROPOSE)
                if kind is BulkKind.UNDO:
                    change = await self._service.undo_change(actor, found)
                else:
                    change = Change(action, found, actor, None)
            except Refusal as refusal:
                if final:
                    await self._service.refused(actor, action, name, refusal)
                refused.append(BulkRefusal(name, refusal.reason))
                continue
            except UndoRefused as no_undo:
                refused.append(BulkRefusal(name, no_undo.why))
                continue
            targets.append(found)
            changes.append(change)
        return Plan(kind, targets, refused, proposal=proposing), changes

    async def _every_group(self, actor: Actor, action: Action) -> list[str]:
        """`*`: the groups the actor may change (or propose a change for)."""
        groups: list[Group] = await self._service.access.groups_for(actor.user_id, action)
        if action in PROPOSABLE:
            groups += await self._service.access.groups_for(actor.user_id, Action.PROPOSE_CHANGE)
        return sorted({group.alias for group in groups})

    async def _progress(self, bulk_id: int, *, final: bool) -> BulkProgress | None:
        bulk = await self._store.bulks.get(bulk_id)
        if bulk is None:
            return None
        operations = await self._store.operations.of_bulk(bulk_id)
        finished = [op for op in operations if op.status not in OPEN_STATUSES]
        return BulkProgress(
            kind=bulk.kind,
            total=len(operations) + len(bulk.refused),
            finished=len(finished) + len(bulk.refused),
            failed=sum(op.status is not OperationStatus.DONE for op in finished)
            + len(bulk.refused),
            waiting=sum(op.status is OperationStatus.PENDING for op in operations),
            final=final,
            results=tuple(BulkResult(op.target, op.status, op.url, op.reason) for op in operations)
            if final
            else (),
            refused=bulk.refused if final else (),  # kept in every language
        )

    async def _progressed(self, bulk_id: int) -> None:
        """Edit the progress message now, or once the edit interval has passed since the last
        edit (one edit waits at most)."""
        shown = self._shown.setdefault(bulk_id, _Shown())
        if shown.later is not None:
            return  # the waiting edit will show this too
        wait = shown.at + self._edit_interval - time.monotonic()
        if wait <= 0:
            # the turn is taken now, before the edit's reads: changes of twenty accounts that
            # end together would otherwise all find it free and edit at once
            shown.at = time.monotonic()
            await self._edit(bulk_id, shown, final=False)
            return

        async def later() -> None:
            await asyncio.sleep(wait)
            shown.later, shown.at = None, time.monotonic()  # the turn, taken (see above)
            await self._edit(bulk_id, shown, final=False)

        shown.later = asyncio.create_task(later())

    async def _edit(self, bulk_id: int, shown: _Shown, *, final: bool) -> BulkProgress | None:
        async with shown.lock:
            progress = await self._progress(bulk_id, final=final)
            if progress is None:
                return None
            bulk = await self._store.bulks.get(bulk_id)
            assert bulk is not None
            if not final and (self._store_says_done(progress) or bulk.message_id is None):
                return progress  # the final edit follows
            shown.at = time.monotonic()
            # a crash before an approved list had its message: the summary goes to the approver
            chat_id = bulk.chat_id or bulk.decided_by or bulk.actor.chat_id
            try:
                await self._show(chat_id, bulk.message_id, progress)
            except Exception:  # an unchanged text, a deleted message: the bulk goes on
                log.warning("could not show the progress of bulk %s", bulk_id, exc_info=True)
            return progress

    @staticmethod
    def _store_says_done(progress: BulkProgress) -> bool:
        return progress.finished == progress.total

    async def _finish(self, bulk_id: int) -> None:
        """The last edit and the one notice, told once: the end is claimed in the store
        (running -> ending), and the bulk is done only once they were shown, so a crash in
        between shows them after the restart."""
        if await self._store.bulks.ending(bulk_id):
            await self._end(bulk_id)

    async def _end(self, bulk_id: int) -> None:
        shown = self._shown.pop(bulk_id, _Shown())
        if shown.later is not None:
            shown.later.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await shown.later
        wait = shown.at + self._edit_interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        progress = await self._edit(bulk_id, shown, final=True)
        bulk = await self._store.bulks.get(bulk_id)
        if progress is None or bulk is None:
            return
        complete = texts.bulk_summary_fits(progress)  # else it names what went wrong first
        if not complete:  # and every group's outcome follows as a document
            await self._send_results(
                bulk.chat_id or bulk.decided_by or bulk.actor.chat_id, progress
            )
        await self._store.bulks.close(bulk_id)
        groups = [
            group
            for op in await self._store.operations.of_bulk(bulk_id)
            if op.group_id is not None
            and (group := await self._store.groups.by_id(op.group_id)) is not None
        ]
        if bulk.decided_by is not None:  # an approved list: its requester hears the outcome
            decider = Actor(bulk.decided_by, bulk.decided_by, bulk.decided_by_name or "")
            with contextlib.suppress(Exception):
                await self._show(bulk.actor.chat_id, None, progress)
            if not complete:
                await self._send_results(bulk.actor.chat_id, progress)
            self._notifier.bulk_executed(decider, progress, groups, also=bulk.actor)
            return
        self._notifier.bulk_executed(bulk.actor, progress, groups)
