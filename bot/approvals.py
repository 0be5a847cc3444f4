"""Deciding a requester's proposal: Approve / Reject presses, and expiry.

A press is first *claimed*: the proposal must be pending and not past its time, and the presser
must be allowed, by the admin map as it is at the press, to make that change. Claiming is one
transaction that closes the proposal and, for an approval, writes the change down: so the first
decision wins even when two presses arrive together, and a crash right after the press leaves a
change that is resumed at start-up, never a decision without its change. Only then is the
decision *carried out*: every copy's buttons show it, an approved change runs (as the approver,
mentioning the requester) and the requester hears the outcome.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bot import audit, texts
from bot.access import Access
from bot.domain import (
    Action,
    Actor,
    AuditOutcome,
    Change,
    Outcome,
    Proposal,
    ProposalStatus,
    Refusal,
)
from bot.notify import who
from bot.proposals import ProposalBox
from bot.schedule import Scheduler
from bot.service import AvatarService
from bot.store import Store


class Verdict(enum.Enum):
    APPROVED = "approved"  # this press decided
    REJECTED = "rejected"  # this press decided
    ALREADY_DECIDED = "already_decided"
    EXPIRED = "expired"
    NOT_ALLOWED = "not_allowed"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Claim:
    verdict: Verdict
    proposal: Proposal | None = None
    decider: Actor | None = None
    #: for NOT_ALLOWED: why, in plain words
    reason: str | None = None
    #: for APPROVED: the change written down with the decision (its operation id), or why it
    #: cannot be made
    change: tuple[int, Change] | None = None
    refusal: Refusal | None = None
    #: for APPROVED with times: the change was kept to be made at its time (bot/schedule.py)
    scheduled: bool = False

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
        scheduler: Scheduler | None = None,
    ) -> None:
        self._service = service
        self._box = box
        self._store = store
        self._access = access
        self._scheduler = scheduler

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
        group = await self._store.groups.by_id(proposal.group_id)
        if group is None or not await self._access.may_decide(actor.user_id, action, group):
            reason = texts.only_deciders(action, proposal.title)
            await self._audit(actor, proposal, AuditOutcome.REFUSED, reason)
            return Claim(Verdict.NOT_ALLOWED, proposal, reason=reason)
        change, refusal = None, None
        if approve:
            try:
                change = await self._service.approved_change(actor, proposal)
            except Refusal as refused:
                refusal = refused
        status = ProposalStatus.APPROVED if approve else ProposalStatus.REJECTED
        async with self._store.transaction():
            closed = await self._store.proposals.close(
                proposal.id, status, self._box.now(), actor.user_id, actor.name
            )
            written, scheduled = None, False
            timed = proposal.run_at is not None or proposal.until_at is not None
            if closed is not None and change is not None and timed and self._scheduler:
                scheduled = await self._scheduler.keep_approved(change, proposal) is not None
            elif closed is not None and change is not None:
                operation_id = await self._service.changes.record(change)
                assert operation_id is not None  # no request key: never a duplicate
                written = (operation_id, change)
        if closed is None:  # someone else's press came first
            latest = await self._store.proposals.get(proposal.id)
            assert latest is not None
            return Claim(_CLOSED[latest.status], latest)
        return Claim(
            Verdict(status.value),
            closed,
            actor,
            change=written,
            refusal=refusal,
            scheduled=scheduled,
        )

    async def carry_out(self, claim: Claim) -> Outcome | None:
        """Show the decision everywhere; run an approved change and return its outcome."""
        proposal, decider = claim.proposal, claim.decider
        assert proposal is not None and decider is not None
        await self._box.show_decision(proposal)
        action = Action(proposal.action)
        if claim.verdict is Verdict.REJECTED:
            await self._audit(decider, proposal, AuditOutcome.REJECTED)
            await self._box.tell_requester(
                proposal, texts.rejected(action, proposal.title, who(decider), proposal.how)
            )
            return None
        if claim.scheduled and self._scheduler is not None:
            self._scheduler.wake()
            times = texts.proposed_at(proposal.run_at, proposal.until_at)
            await self._box.tell_requester(
                proposal,
                texts.approved_for_later(action, proposal.title, who(decider), times, proposal.how),
            )
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

    async def _expire(self, proposal: Proposal) -> None:
        closed = await self._store.proposals.close(
            proposal.id, ProposalStatus.EXPIRED, self._box.now()
        )
        if closed is None:
            return
        await self._audit(None, closed, AuditOutcome.EXPIRED)
        await self._box.show_decision(closed)
        await self._box.tell_requester(
            closed,
            texts.expired(Action(closed.action), closed.title, self._box.ttl, closed.how),
        )

    async def _audit(
        self,
        actor: Actor | None,
        proposal: Proposal,
        outcome: AuditOutcome,
        reason: str | None = None,
    ) -> None:
        note = f"proposal {proposal.id}" + (f": {reason}" if reason else "")
        await audit.record(
            self._store,
            actor,
            proposal.action,
            proposal.alias,
            outcome,
            note,
            requested_by=proposal.requested_by,
        )
