"""Changing many groups at once: `/setgrouppic family,work,school`, `/delgrouppic *`, ...

Asking lists the groups it would change and those it refuses (no right, the provider cannot,
nothing to undo) and is stored, waiting for its confirmation. The confirmation checks the
rights again, fetches the picture once, and writes one ordinary change per group (bot/changes.py)
together with the bulk's "running" mark, in one transaction; so a crash leaves either nothing
or every change written down, and the changes resume like any other. They run in their
accounts' queues, side by side across accounts and each at its account's pace. One message
shows the progress (edited at most every PROGRESS_SECONDS) and, at the end, every group's URL or
reason; the end is claimed once in the store, so the summary and its one notice are told once,
whether the bulk ended in this run or after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from adapters import PreparedPicture
from bot import audit, results, texts
from bot.approvals import Verdict
from bot.domain import (
    OPEN_STATUSES,
    Action,
    Actor,
    AuditOutcome,
    BulkKind,
    BulkProgress,
    BulkRefusal,
    BulkResult,
    Change,
    Group,
    MessageRef,
    Operation,
    OperationStatus,
    PhotoSource,
    Refusal,
    Target,
)
from bot.i18n import Text, joined, moment
from bot.messenger import Button, Messenger
from bot.notify import Notifier, who
from bot.permissions import PROPOSABLE
from bot.proposals import ProposalBox
from bot.service import AvatarService, UndoRefused
from bot.store import Store
from bot.store.bulks import BulkRecord
from bot.store.db import stamp
from bot.when import When
from bot.words import short

if TYPE_CHECKING:
    from bot.schedule import Scheduler

UNDO = "undo"

log = logging.getLogger(__name__)

#: the progress message is edited no more often than this
PROGRESS_SECONDS = 2.0
#: the data of the Approve / Reject buttons of a proposed list: `bap:<bulk>` / `brj:<bulk>`
APPROVE_BULK, REJECT_BULK = "bap", "brj"


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
    return [Change(Action.SET_GROUP_PICTURE, target, actor, None, how=UNDO) for target in targets]


def bulk_buttons(bulk_id: int) -> list[Button]:
    return [
        (texts.APPROVE, f"{APPROVE_BULK}:{bulk_id}"),
        (texts.REJECT, f"{REJECT_BULK}:{bulk_id}"),
    ]


ACTIONS = {
    BulkKind.SET: Action.SET_GROUP_PICTURE,
    BulkKind.DELETE: Action.DELETE_GROUP_PICTURE,
    BulkKind.UNDO: Action.SET_GROUP_PICTURE,
}


def names_in(text: str) -> list[str] | None:
    """The groups a command names when it names several (`family,work` or `*`), else None."""
    if text.strip() == "*":
        return ["*"]
    if "," not in text:
        return None
    return [name.strip().lower() for name in text.split(",") if name.strip()]


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


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    #: who decided first (ALREADY_DECIDED), or the groups the presser may not decide
    who: str | None = None
    #: APPROVED: runs the list, or tells that it was scheduled (after the press is answered)
    run: Callable[[], Awaitable[None]] | None = None
    #: APPROVED: a list with a time, kept to be made then
    scheduled: bool = False


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
        notify_chat_id: int | None,
    ) -> None:
        self._service = service
        self._store = store
        self._notifier = notifier
        self._messenger = messenger
        self._box = box
        self._notify_chat_id = notify_chat_id
        self._shown: dict[int, _Shown] = {}
        #: keeps the scheduled changes of a list with a time (set once the scheduler exists)
        self.scheduler: Scheduler | None = None

    async def ask(
        self,
        actor: Actor,
        kind: BulkKind,
        names: str,
        photo: PhotoSource | None,
        when: When | None = None,
    ) -> Plan:
        """The plan for a list of groups; stored (waiting for a confirmation) when it would
        change any, with its times (a requester's list: proposed with them)."""
        plan, _ = await self._plan(actor, kind, names, final=False)
        if not plan.targets:
            return plan
        times = when.stored() if when is not None else (None, None)
        bulk_id = await self._store.bulks.add(
            kind,
            actor,
            names,
            photo.file_id if photo else None,
            photo.file_size if photo else None,
            times,
        )
        return replace(plan, bulk_id=bulk_id)

    async def confirm(self, actor: Actor, bulk_id: int, message: MessageRef) -> Plan | None:
        """Run a confirmed bulk change, shown in `message`; None when it was taken up already
        (or is not this actor's). Rights are checked again now; refusals are audited. Raises
        `Refusal` when its picture cannot be had."""
        bulk = await self._store.bulks.get(bulk_id)
        if bulk is None or bulk.status != "asked" or bulk.actor.user_id != actor.user_id:
            return None
        plan, changes = await self._plan(actor, bulk.kind, bulk.names, final=True)
        picture = None
        if bulk.kind is BulkKind.SET and changes:
            if bulk.file_id is None:
                raise Refusal(texts.BULK_PICTURE_LOST)
            picture = await self._service.changes.fetch(bulk.file_id)
            changes = [replace(change, picture=picture) for change in changes]
        if plan.proposal:
            return await self._propose(bulk, plan, picture)
        if _timed(bulk):
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
        assert self.scheduler is not None, "the scheduler keeps a list with a time"
        changes = _at_their_time(bulk.kind, plan.targets, changes, bulk.actor)
        when = When.from_stored(bulk.run_at, bulk.until_at)
        async with self._store.transaction():
            if not await self._store.bulks.claim(bulk.id, message.chat_id, None, plan.refused):
                return None
            await self._store.bulks.close(bulk.id)
            said = await self.scheduler.keep_list(changes, when, message.chat_id, f"bulk:{bulk.id}")
        return replace(plan, bulk_id=bulk.id, said=said)

    async def decide(self, decider: Actor, bulk_id: int, approve: bool) -> Decision:
        """A press on Approve / Reject of a proposed list: the first decision counts, by the
        admin map at the press, for every group of the list (approved or rejected as one).
        An approved list runs as the decider's bulk change (with the requester named), shown
        in a new message to the decider (`Decision.run`); the requester hears the outcome.
        One with a time is kept instead: one scheduled change per group, as the decider's for
        the requester, whose outcomes go to the requester."""
        bulk = await self._store.bulks.get(bulk_id)
        if bulk is None:
            return Decision(Verdict.UNKNOWN)
        if bulk.status != "proposed":
            return self._closed(bulk)
        if bulk.created_at <= self._expired_before():
            await self._expire(bulk)
            return Decision(Verdict.EXPIRED)
        action = ACTIONS[bulk.kind]
        missing = []
        for name in bulk.names.split(","):
            group = await self._store.groups.get(name)
            if group is None or not await self._service.access.may_decide(
                decider.user_id, action, group
            ):
                missing.append(name)
        if missing:
            return Decision(Verdict.NOT_ALLOWED, ", ".join(missing))
        if not approve:
            if not await self._store.bulks.decide(bulk_id, "rejected", decider):
                return self._closed(await self._store.bulks.get(bulk_id) or bulk)
            await self._audit_decision(bulk, decider, AuditOutcome.REJECTED)
            await self._show_decision(bulk_id)
            await self._tell(
                bulk.actor, texts.bulk_rejected(bulk.kind, _listed(bulk.names), who(decider))
            )
            return Decision(Verdict.REJECTED)
        plan, changes = await self._plan(decider, bulk.kind, bulk.names, final=True)
        if bulk.kind is BulkKind.SET and bulk.jpeg is not None and bulk.side is not None:
            picture = PreparedPicture(bulk.jpeg, bulk.side)
            changes = [replace(change, picture=picture) for change in changes]
        if _timed(bulk):
            changes = _at_their_time(bulk.kind, plan.targets, changes, decider)
        changes = [replace(change, requester=bulk.actor) for change in changes]
        if _timed(bulk):
            return await self._keep_approved(bulk, decider, changes)
        async with self._store.transaction():
            claimed = await self._store.bulks.decide(bulk_id, "running", decider)
            written = await self._record(bulk_id, changes) if claimed else None
        if written is None:
            return self._closed(await self._store.bulks.get(bulk_id) or bulk)

        async def run() -> None:
            await self._show_decision(bulk_id)
            message_id = await self._messenger.send(decider.chat_id, texts.bulk_working(bulk.kind))
            await self._store.bulks.show_in(bulk_id, decider.chat_id, message_id)
            await self._run_all(bulk_id, written)

        return Decision(Verdict.APPROVED, run=run)

    async def _keep_approved(
        self, bulk: BulkRecord, decider: Actor, changes: list[Change]
    ) -> Decision:
        """An approved list with a time: one scheduled change per group, kept with the
        decision (one transaction, so a second press keeps nothing); the requester hears when
        they run, and each group's outcome later."""
        assert self.scheduler is not None, "the scheduler keeps a list with a time"
        scheduler = self.scheduler
        async with self._store.transaction():
            claimed = await self._store.bulks.decide(bulk.id, "running", decider)
            if claimed:
                await self._store.bulks.close(bulk.id)
                if changes:
                    await scheduler.keep_list(
                        changes,
                        When.from_stored(bulk.run_at, bulk.until_at),
                        bulk.actor.chat_id,
                        f"bulk:{bulk.id}",
                    )
        if not claimed:
            return self._closed(await self._store.bulks.get(bulk.id) or bulk)

        async def told() -> None:
            await self._show_decision(bulk.id)
            times = texts.proposed_at(bulk.run_at, bulk.until_at)
            what = ", ".join(change.target.name for change in changes) or _listed(bulk.names)
            how = UNDO if bulk.kind is BulkKind.UNDO else None
            await self._tell(
                bulk.actor,
                texts.approved_for_later(ACTIONS[bulk.kind], what, who(decider), times, how),
            )

        return Decision(Verdict.APPROVED, run=told, scheduled=True)

    async def expire_due(self) -> None:
        """Close every proposed list nobody decided in time (the periodic sweep, beside the
        single proposals'): its copies say so, the requester hears it once, each group's
        audit row says expired."""
        for bulk_id in await self._store.bulks.proposed_before(self._expired_before()):
            bulk = await self._store.bulks.get(bulk_id)
            if bulk is not None:
                await self._expire(bulk)

    # ------------------------------------------------------------------------------------------

    def _expired_before(self) -> str:
        """Lists proposed (asked for) before this moment are expired."""
        return stamp(self._box_now() - self._box.ttl)

    async def _expire(self, bulk: BulkRecord) -> None:
        if not await self._store.bulks.decide(bulk.id, "expired", None):
            return  # decided, or expired by another press or sweep, meanwhile
        await self._audit_decision(bulk, None, AuditOutcome.EXPIRED)
        await self._show_decision(bulk.id)
        await self._tell(bulk.actor, texts.bulk_expired(bulk.kind, _listed(bulk.names)))

    async def _audit_decision(
        self, bulk: BulkRecord, decider: Actor | None, outcome: AuditOutcome
    ) -> None:
        """One audit row per group of a proposed list that was rejected or expired (`decider`
        None: by the bot)."""
        for name in bulk.names.split(","):
            await audit.record(
                self._store,
                decider,
                ACTIONS[bulk.kind].value,
                name,
                outcome,
                f"bulk proposal {bulk.id}",
                requested_by=bulk.actor.user_id,
            )

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
        await self._finish(bulk_id)

    async def _propose(
        self, bulk: BulkRecord, plan: Plan, picture: PreparedPicture | None
    ) -> Plan | None:
        """A requester's confirmed list: one proposal (with its times), sent to everyone who
        may decide any of its groups (each decider must be allowed for all of them at the
        press)."""
        bulk_id, requester = bulk.id, bulk.actor
        names = ",".join(target.name for target in plan.targets)
        proposed = await self._store.bulks.propose(
            bulk_id,
            names,
            picture.jpeg if picture else None,
            picture.side if picture else None,
            plan.refused,
        )
        if not proposed:
            return None
        text = texts.bulk_invitation(
            who(requester),
            plan.kind,
            names.split(","),
            moment(stamp(self._box_now() + self._box.ttl)),
        )
        said = texts.bulk_proposed(plan.kind, _listed(names))
        if _timed(bulk):
            text = joined("\n", [text, texts.proposed_at(bulk.run_at, bulk.until_at)])
            assert self.scheduler is not None, "the scheduler says when, in the requester's zone"
            when = When.from_stored(bulk.run_at, bulk.until_at)
            said = joined(
                "\n", [said, await self.scheduler.proposed_times(requester.user_id, when)]
            )
        buttons = bulk_buttons(bulk_id)
        for chat_id in await self._deciders(plan.kind, plan.targets, requester):
            try:
                if picture is not None:
                    sent = await self._messenger.send_photo(chat_id, picture.jpeg, text, buttons)
                else:
                    sent = await self._messenger.send(chat_id, text, buttons)
            except Exception:  # a decider who blocked the bot must not stop the others
                log.warning("could not send bulk proposal %s to %s", bulk_id, chat_id)
                continue
            await self._store.bulks.add_message(bulk_id, chat_id, sent)
        for target in plan.targets:
            await audit.record(
                self._store,
                requester,
                ACTIONS[plan.kind].value,
                target.name,
                AuditOutcome.PROPOSED,
                f"bulk proposal {bulk_id}",
                provider=target.provider.name,
            )
        return replace(plan, bulk_id=bulk_id, said=said)

    async def _deciders(self, kind: BulkKind, targets: list[Target], requester: Actor) -> list[int]:
        """Those who may decide the whole list: the admins who may decide for each of its
        groups (the owners when none may), and the notify chat."""
        access = self._service.access
        action = ACTIONS[kind]
        admins: set[int] = set()
        for target in targets:
            assert target.group is not None
            admins |= await access.admins_of(target.group)
        chats = set()
        for admin in admins:
            for target in targets:
                assert target.group is not None
                if not await access.may_decide(admin, action, target.group):
                    break
            else:
                chats.add(admin)
        chats = (chats or set(access.owners)) - {requester.user_id}
        if self._notify_chat_id is not None:
            chats.add(self._notify_chat_id)
        return sorted(chats)

    def _box_now(self) -> datetime:
        return datetime.fromisoformat(self._box.now())

    def _closed(self, bulk: BulkRecord) -> Decision:
        if bulk.status == "expired":
            return Decision(Verdict.EXPIRED)
        if bulk.status == "asked":
            return Decision(Verdict.UNKNOWN)
        return Decision(Verdict.ALREADY_DECIDED, f"{bulk.decided_by_name} ({bulk.decided_by})")

    async def _show_decision(self, bulk_id: int) -> None:
        bulk = await self._store.bulks.get(bulk_id)
        if bulk is None:
            return
        label = texts.bulk_decided(bulk.status, bulk.decided_by_name)
        for chat_id, message_id in await self._store.bulks.messages(bulk_id):
            try:
                await self._messenger.set_buttons(
                    chat_id, message_id, [(label, bulk_buttons(bulk_id)[0][1])]
                )
            except Exception:
                log.warning("could not show the decision on bulk %s in %s", bulk_id, chat_id)

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

    async def _tell(self, person: Actor, text: str) -> None:
        try:
            await self._messenger.send(person.chat_id, text)
        except Exception:
            log.warning("could not tell %s about a bulk proposal", person.user_id)

    async def resumed(self, operation: Operation) -> None:
        """A change of a bulk ended after a restart: show it; end the bulk after its last."""
        assert operation.bulk_id is not None
        await self._progressed(operation.bulk_id)
        operations = await self._store.operations.of_bulk(operation.bulk_id)
        if all(op.status not in OPEN_STATUSES for op in operations):
            await self._finish(operation.bulk_id)

    async def resume(self) -> None:
        """At start-up, after the changes resumed: end the bulks whose changes all ended
        before the restart (the crash came between their last change and their summary)."""
        for bulk_id in await self._store.bulks.running():
            operations = await self._store.operations.of_bulk(bulk_id)
            if all(op.status not in OPEN_STATUSES for op in operations):
                await self._finish(bulk_id)

    async def close(self) -> None:
        for shown in self._shown.values():
            if shown.later is not None:
                shown.later.cancel()

    # ------------------------------------------------------------------------------------------

    async def _plan(
        self, actor: Actor, kind: BulkKind, names: str, *, final: bool
    ) -> tuple[Plan, list[Change]]:
        """Which groups it changes (and how), and which it refuses and why; at the press
        (`final`) refusals are audited."""
        action = ACTIONS[kind]
        listed = names_in(names) or [names]
        if listed == ["*"]:
            listed = await self._every_group(actor, action)
        targets, refused, changes = [], [], []
        proposing = None  # whether the list is a proposal: set by its first group
        unknown = False  # whether a name named no group (its refusal lists the names to use)
        for name in dict.fromkeys(listed):  # each once, in the order named
            try:
                target = await self._service.resolve(actor, action, name)
                if proposing is None:
                    proposing = target.needs_approval
                if target.needs_approval is not proposing:
                    # a list must be all changes one may make, or all proposals
                    raise Refusal(
                        texts.ONLY_PROPOSE if target.needs_approval else texts.ONLY_DIRECT
                    )
                if kind is BulkKind.UNDO:
                    change = await self._service.undo_change(actor, target)
                else:
                    change = Change(action, target, actor, None)
            except Refusal as refusal:
                if final:
                    await self._service.refused(actor, action, name, refusal)
                reason = refusal.reason
                if await self._store.groups.get(name) is None:
                    if unknown:  # the first unknown name's refusal said "You may use: …"
                        reason = texts.no_group_called(short(name))
                    unknown = True
                refused.append(BulkRefusal(name, reason))
                continue
            except UndoRefused as no_undo:
                refused.append(BulkRefusal(name, no_undo.why))
                continue
            targets.append(target)
            changes.append(change)
        return Plan(kind, targets, refused, proposal=bool(proposing)), changes

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
        """Edit the progress message now, or once PROGRESS_SECONDS have passed since the last
        edit (one edit waits at most)."""
        shown = self._shown.setdefault(bulk_id, _Shown())
        if shown.later is not None:
            return  # the waiting edit will show this too
        wait = shown.at + PROGRESS_SECONDS - time.monotonic()
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
        """The last edit and the one notice, told once (claimed in the store)."""
        if not await self._store.bulks.close(bulk_id):
            return
        shown = self._shown.pop(bulk_id, _Shown())
        if shown.later is not None:
            shown.later.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await shown.later
        wait = shown.at + PROGRESS_SECONDS - time.monotonic()
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
