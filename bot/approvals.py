"""Deciding a requester's proposal (one group or a list): Approve / Reject presses, and expiry.

A press is first *claimed*: the proposal must be pending and not past its time (nor past the
time its earlier picture was to come back), and the presser must be allowed, by the admin map
as it is at the press, to make that change on every group of it that is still there (a removed
group is named, the rest decided). Claiming is one transaction that closes the proposal and, for
an approval, writes the changes down (or keeps them for their time): so the first decision wins
even when two presses arrive together, and a crash right after the press leaves changes that
are resumed at start-up, never a decision without its changes. Only then is the decision
*carried out*: every copy's buttons show it (again after a crash: bot/proposals.py), approved
changes run (as the approver, mentioning the requester) and the requester hears the outcome.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from adapters import PreparedPicture
from bot import audit, texts
from bot.access import Access
from bot.bulk import BulkChanges, Written
from bot.domain import (
    Action,
    Actor,
    AuditOutcome,
    BulkRefusal,
    Change,
    Group,
    Outcome,
    Proposal,
    ProposalStatus,
    Refusal,
)
from bot.i18n import Text
from bot.notify import who
from bot.proposals import ProposalBox, list_kind
from bot.schedule import Scheduler
from bot.service import AvatarService
from bot.store import Store


class Verdict(enum.Enum):
    APPROVED = "approved"  # this press decided
    REJECTED = "rejected"  # this press decided
    ALREADY_DECIDED = "already_decided"
    EXPIRED = "expired"
    #: approved after the time its earlier picture was to come back: closed, nothing made
    TOO_LATE = "too_late"
    NOT_ALLOWED = "not_allowed"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Claim:
    verdict: Verdict
    proposal: Proposal | None = None
    decider: Actor | None = None
    #: for NOT_ALLOWED: why, in plain words (a list's: the groups the presser may not decide)
    reason: str | None = None
    #: for APPROVED: the single change written down with the decision (its operation id)
    change: tuple[int, Change] | None = None
    refusal: Refusal | None = None
    #: for APPROVED with times: the changes were kept to be made at their time
    scheduled: bool = False
    #: for an approved list: the bulk change that runs it
    bulk: Written | None = None
    #: the groups of a list that were removed since it was proposed (named, not decided)
    gone: tuple[str, ...] = ()
    #: for an approved recurrence: how many pictures it rotates (read before the decision
    #: moved them from the proposal)
    pictures: int = 1

    @property
    def won(self) -> bool:
        return self.verdict in (Verdict.APPROVED, Verdict.REJECTED)


_CLOSED = {
    ProposalStatus.APPROVED: Verdict.ALREADY_DECIDED,
    ProposalStatus.REJECTED: Verdict.ALREADY_DECIDED,
    ProposalStatus.EXPIRED: Verdict.EXPIRED,
}


class Approvals:
    def __init__(
        self,
        service: AvatarService,
        box: ProposalBox,
        store: Store,
        access: Access,
        scheduler: Scheduler,
        bulks: BulkChanges,
    ) -> None:
        self._service = service
        self._box = box
        self._store = store
        self._access = access
        self._scheduler = scheduler
        self._bulks = bulks

    async def claim(self, actor: Actor, proposal_id: int, approve: bool) -> Claim:
        proposal = await self._store.proposals.get(proposal_id)
        if proposal is None:
            return Claim(Verdict.UNKNOWN)
        if proposal.status is not ProposalStatus.PENDING:
            return Claim(_CLOSED[proposal.status], proposal)
        if self._box.is_due(proposal):
            await self._expire(proposal)
            return Claim(Verdict.EXPIRED, proposal)
        action = Action(proposal.action)
        groups = await self._box.live_groups(proposal)  # not empty: it goes with its last group
        gone = tuple(
            group.alias
            for group in proposal.groups
            if group.group_id not in {live.id for live in groups}
        )
        missing = [
            group
            for group in groups
            if not await self._access.may_decide(actor.user_id, action, group)
        ]
        if missing:
            reason = self._not_allowed(proposal, missing)
            await self._audit(actor, proposal, AuditOutcome.REFUSED, reason)
            return Claim(Verdict.NOT_ALLOWED, proposal, reason=reason)
        if approve and proposal.until_at is not None and proposal.until_at <= self._box.now():
            await self._close(proposal, texts.too_late_until(proposal.until_at))
            return Claim(Verdict.TOO_LATE, proposal)
        if proposal.listed:
            return await self._claim_list(actor, proposal, groups, approve, gone)
        return await self._claim_one(actor, proposal, approve)

    async def _claim_one(self, actor: Actor, proposal: Proposal, approve: bool) -> Claim:
        change, refusal = None, None
        if approve:
            try:
                change = await self._service.approved_change(actor, proposal)
            except Refusal as refused:
                refusal = refused
        album = await self._album(proposal, approve)
        async with self._store.transaction():
            closed = await self._decide(proposal, actor, approve)
            written, scheduled = None, False
            if closed is not None and change is not None and _timed(proposal):
                kept = await self._scheduler.keep_approved(change, proposal, album)
                scheduled = kept is not None
            elif closed is not None and change is not None:
                operation_id = await self._service.changes.record(change)
                assert operation_id is not None  # no request key: never a duplicate
                written = (operation_id, change)
        if closed is None:
            return await self._lost(proposal)
        return Claim(
            _verdict(approve),
            closed,
            actor,
            change=written,
            refusal=refusal,
            scheduled=scheduled,
            pictures=max(1, len(album)),
        )

    async def _claim_list(
        self,
        actor: Actor,
        proposal: Proposal,
        groups: list[Group],
        approve: bool,
        gone: tuple[str, ...],
    ) -> Claim:
        """A list: approved or rejected as one; an approval writes one change per group the
        decider may make now (a bulk change), or keeps them for their time."""
        changes: list[Change] = []
        refused: list[BulkRefusal] = []
        if approve:
            changes, refused = await self._bulks.approved(actor, proposal, groups)
        bulk, scheduled = None, False
        album = await self._album(proposal, approve)
        async with self._store.transaction():
            closed = await self._decide(proposal, actor, approve)
            if closed is not None and approve and _timed(proposal):
                scheduled = bool(changes)
                if changes:
                    await self._scheduler.keep_approved_list(changes, proposal, album)
            elif closed is not None and approve:
                bulk = await self._bulks.record_approved(actor, proposal, changes, refused)
        if closed is None:
            return await self._lost(proposal)
        return Claim(
            _verdict(approve),
            closed,
            actor,
            scheduled=scheduled,
            bulk=bulk,
            gone=gone,
            pictures=max(1, len(album)),
        )

    async def carry_out(self, claim: Claim) -> Outcome | None:
        """Show the decision everywhere; run an approved single change and return its outcome
        (an approved list shows its own progress to the decider and tells the requester)."""
        proposal, decider = claim.proposal, claim.decider
        assert proposal is not None and decider is not None
        await self._box.show_decision(proposal)
        action = Action(proposal.action)
        names = texts.listed(proposal.names) if proposal.listed else proposal.title
        if claim.verdict is Verdict.REJECTED:
            await self._audit(decider, proposal, AuditOutcome.REJECTED)
            await self._box.tell_requester(
                proposal, texts.rejected(action, names, who(decider), proposal.how)
            )
            return None
        if claim.scheduled:
            self._scheduler.wake()
            times = (
                texts.proposed_rhythm(proposal.rhythm, claim.pictures)
                if proposal.rhythm is not None
                else texts.proposed_at(proposal.run_at, proposal.until_at)
            )
            await self._box.tell_requester(
                proposal, texts.approved_for_later(action, names, who(decider), times, proposal.how)
            )
            return None
        if proposal.listed:
            if claim.bulk is not None:
                await self._bulks.run_approved(claim.bulk, decider, list_kind(proposal))
            return None
        if claim.change is not None:
            outcome = await self._service.changes.start(*claim.change)
        else:
            refusal = claim.refusal or Refusal(texts.CANNOT_BE_MADE)
            outcome = await self._service.refused(decider, action, proposal.alias, refusal)
        await self._box.tell_requester(
            proposal, texts.approved(action, proposal.title, who(decider), outcome, proposal.how)
        )
        return outcome

    async def expire_due(self) -> None:
        """Close every pending proposal whose time is up (the periodic sweep)."""
        for proposal_id in await self._store.proposals.due(self._box.now()):
            proposal = await self._store.proposals.get(proposal_id)
            if proposal is not None:
                await self._expire(proposal)

    async def resume(self) -> None:
        """At start-up: finish sending and showing proposals a crash cut off (a proposal that
        then reached nobody is closed and its requester told, as at its start)."""
        for bulk in await self._store.bulks.proposed():
            await self._box.adopt(bulk)
        for proposal in await self._box.resume():
            await self._box.tell_requester(proposal, texts.not_reached(_what(proposal)))

    # ------------------------------------------------------------------------------------------

    async def _decide(self, proposal: Proposal, actor: Actor, approve: bool) -> Proposal | None:
        status = ProposalStatus.APPROVED if approve else ProposalStatus.REJECTED
        return await self._store.proposals.close(
            proposal.id, status, self._box.now(), actor.user_id, actor.name
        )

    async def _album(self, proposal: Proposal, approve: bool) -> list[PreparedPicture]:
        """The rotation an approved proposal carries, read before its decision (which drops
        it from the proposal: a rejected or expired one keeps nothing)."""
        if not approve or proposal.rhythm is None:
            return []
        return await self._store.proposals.pictures(proposal.id)

    async def _lost(self, proposal: Proposal) -> Claim:
        """Someone else's press (or the sweep) came first."""
        latest = await self._store.proposals.get(proposal.id)
        assert latest is not None
        return Claim(_CLOSED[latest.status], latest)

    async def _expire(self, proposal: Proposal) -> None:
        closed = await self._store.proposals.close(
            proposal.id, ProposalStatus.EXPIRED, self._box.now()
        )
        if closed is None:
            return
        await self._audit(None, closed, AuditOutcome.EXPIRED)
        await self._box.show_decision(closed)
        if closed.listed:
            said = texts.bulk_expired(list_kind(closed), closed.names)
        else:
            said = texts.expired(Action(closed.action), closed.title, self._box.ttl, closed.how)
        await self._box.tell_requester(closed, said)

    async def _close(self, proposal: Proposal, why: Text) -> None:
        """Close a proposal nothing can be made of any more (expired), saying why."""
        closed = await self._store.proposals.close(
            proposal.id, ProposalStatus.EXPIRED, self._box.now()
        )
        if closed is None:
            return
        await self._audit(None, closed, AuditOutcome.EXPIRED, why)
        await self._box.show_decision(closed)
        await self._box.tell_requester(closed, texts.closed_because(_what(closed), why))

    def _not_allowed(self, proposal: Proposal, missing: list[Group]) -> str:
        action = Action(proposal.action)
        if proposal.listed:
            return texts.may_not_decide_for(", ".join(group.alias for group in missing))
        return texts.only_deciders(action, proposal.title)

    async def _audit(
        self,
        actor: Actor | None,
        proposal: Proposal,
        outcome: AuditOutcome,
        reason: str | None = None,
    ) -> None:
        """One row per group of the proposal (for the group's history: by its id)."""
        note = f"proposal {proposal.id}" + (f": {reason}" if reason else "")
        for group in proposal.groups:
            await audit.record(
                self._store,
                actor,
                proposal.action,
                group.alias,
                outcome,
                note,
                requested_by=proposal.requested_by,
            )


def _timed(proposal: Proposal) -> bool:
    """Whether an approval keeps the change for later (its times, or its rhythm)."""
    return (
        proposal.run_at is not None or proposal.until_at is not None or proposal.rhythm is not None
    )


def _verdict(approve: bool) -> Verdict:
    return Verdict.APPROVED if approve else Verdict.REJECTED


def _what(proposal: Proposal) -> Text:
    """What a proposal asks for, as its requester reads it."""
    if proposal.listed:
        return texts.bulk_what(list_kind(proposal), proposal.names)
    return texts.what(Action(proposal.action), proposal.title, proposal.how)
