"""A requester's proposal, for one group or a list of groups, on its way to the people who may
decide it, and back.

Opening one stores it (with the prepared picture and its groups by id) and then sends every
decider a copy with Approve / Reject buttons; every copy is remembered so that all of them can
show the decision later. Write down, then send, then mark sent: a crash while the copies go out
leaves the proposal unsent, and the next start sends the rest; a crash between a decision and
its edits leaves copies that do not show it, and the next start shows it. The buttons carry
only `ap:<id>` / `rj:<id>`: who may decide is checked at the press.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from adapters import PreparedPicture
from bot import texts
from bot.access import Access
from bot.clock import Clock, stamp
from bot.domain import Action, Actor, BulkKind, Group, How, Proposal, ProposalStatus
from bot.i18n import Text, joined, moment
from bot.messenger import Button, Decision, Messenger
from bot.store import Store
from bot.store.bulks import BulkRecord
from bot.words import short

log = logging.getLogger(__name__)


def decision_buttons(proposal_id: int) -> list[Button]:
    return [
        (texts.APPROVE, Decision(proposal_id, approve=True)),
        (texts.REJECT, Decision(proposal_id, approve=False)),
    ]


class ProposalBox:
    def __init__(
        self,
        store: Store,
        messenger: Messenger,
        *,
        access: Access,
        notify_chat_id: int | None,
        ttl: timedelta,
        clock: Clock,
    ) -> None:
        self._store = store
        self._messenger = messenger
        self._access = access
        self._notify_chat_id = notify_chat_id
        self.ttl = ttl
        self.clock = clock

    def now(self) -> str:
        return self.clock.stamp()

    def is_due(self, proposal: Proposal) -> bool:
        return proposal.expires_at <= self.now()

    async def open(
        self,
        requester: Actor,
        action: Action,
        groups: Sequence[Group],
        picture: PreparedPicture | None,
        request_key: str | None = None,
        times: tuple[str | None, str | None] = (None, None),
        how: How | None = None,
        *,
        listed: bool = False,
        rhythm: tuple[str, str] | None = None,
        album: Sequence[PreparedPicture] = (),
    ) -> Proposal | None:
        """Store the proposal and send it to the deciders (`how`: How.UNDO for an undo worked
        out at its time; `listed`: asked as a list, worded as one; `album`: a rotation's
        pictures, `picture` being its first); None when `request_key` already made one.
        Returned closed (expired at once) when no copy could be delivered: nobody would ever
        be able to decide it."""
        now = self.clock.now()
        async with self._store.transaction():  # a rotation: with its pictures, or not at all
            proposal = await self._store.proposals.add(
                action=action.value,
                groups=groups,
                requested_by=requester.user_id,
                requester_name=short(requester.name),
                chat_id=requester.chat_id,
                jpeg=picture.jpeg if picture else None,
                side=picture.side if picture else None,
                created_at=stamp(now),
                expires_at=stamp(now + self.ttl),
                request_key=request_key,
                run_at=times[0],
                until_at=times[1],
                how=how,
                listed=listed,
                rhythm=rhythm,
            )
            if proposal is not None and len(album) > 1:
                await self._store.proposals.keep_pictures(proposal.id, album)
        if proposal is None:
            return None
        return await self._deliver(proposal)

    async def _deliver(self, proposal: Proposal) -> Proposal:
        """Send a copy to every decider who has none yet, then mark the proposal sent; closed
        when nobody has a copy."""
        groups = await self.live_groups(proposal)
        have = {chat_id for chat_id, _ in await self._store.proposals.messages(proposal.id)}
        pictures = max(1, await self._store.proposals.picture_count(proposal.id))
        text = self._invitation(proposal, groups, pictures)
        buttons = decision_buttons(proposal.id)
        for chat_id in await self._deciders(proposal, groups):
            if chat_id in have:
                continue
            try:
                if proposal.jpeg is not None:
                    message_id = await self._messenger.send_photo(
                        chat_id, proposal.jpeg, text, buttons
                    )
                else:
                    message_id = await self._messenger.send(chat_id, text, buttons)
            except Exception:  # a decider who blocked the bot must not stop the others
                log.warning(
                    "could not send proposal %s to chat %s", proposal.id, chat_id, exc_info=True
                )
                continue
            await self._store.proposals.add_message(proposal.id, chat_id, message_id)
            have.add(chat_id)
        await self._store.proposals.sent(proposal.id)
        if have:
            return proposal
        closed = await self._store.proposals.close(proposal.id, ProposalStatus.EXPIRED, self.now())
        return closed or proposal

    async def live_groups(self, proposal: Proposal) -> list[Group]:
        """The proposal's groups still in the store (by id: a reused alias is another group)."""
        found = [await self._store.groups.by_id(group.group_id) for group in proposal.groups]
        return [group for group in found if group is not None]

    async def resume(self) -> list[Proposal]:
        """At start-up: send the copies a crash cut off, and show every decision a copy does
        not show yet. Returns the proposals that reached nobody (closed now): their
        requesters are told by the caller."""
        unreached = []
        for proposal_id in await self._store.proposals.unsent():
            proposal = await self._store.proposals.get(proposal_id)
            if proposal is not None:
                delivered = await self._deliver(proposal)
                if delivered.status is not ProposalStatus.PENDING:
                    unreached.append(delivered)
        for proposal_id in await self._store.proposals.not_shown():
            proposal = await self._store.proposals.get(proposal_id)
            if proposal is not None:
                await self.show_decision(proposal, stale_only=True)
        return unreached

    async def adopt(self, bulk: BulkRecord) -> None:
        """A requester's list proposed by a version that kept lists apart: the same proposal
        here (its groups by their aliases now, its time counted from now), its copies kept;
        the next `resume` gives them this proposal's buttons."""
        groups = [await self._store.groups.get(name) for name in bulk.names.split(",")]
        found = [group for group in groups if group is not None]
        proposal = None
        if found:
            proposal = await self._store.proposals.add(
                action=list_action(bulk.kind).value,
                groups=found,
                requested_by=bulk.actor.user_id,
                requester_name=short(bulk.actor.name),
                chat_id=bulk.actor.chat_id,
                jpeg=bulk.jpeg,
                side=bulk.side,
                created_at=self.now(),
                expires_at=stamp(self.clock.now() + self.ttl),
                request_key=f"bulk:{bulk.id}",
                run_at=bulk.run_at,
                until_at=bulk.until_at,
                how=How.UNDO if bulk.kind is BulkKind.UNDO else None,
                listed=True,
            )
        await self._store.proposals.adopt_list(bulk.id, proposal)

    async def show_decision(self, proposal: Proposal, *, stale_only: bool = False) -> None:
        """Make every copy (`stale_only`: every copy that does not yet) show the proposal's
        status: Approve / Reject while it is pending, else one button that says who decided
        (or that it expired); pressing it again just says so."""
        if proposal.status is ProposalStatus.PENDING:
            buttons = decision_buttons(proposal.id)
        else:
            label = texts.decided(proposal.status, short(proposal.decided_by_name or ""))
            buttons = [(label, Decision(proposal.id, approve=True))]
        copies = await self._store.proposals.messages(proposal.id, stale_for=stale_only)
        for chat_id, message_id in copies:
            try:
                await self._messenger.set_buttons(chat_id, message_id, buttons)
            except Exception:
                log.warning(
                    "could not update proposal %s in chat %s", proposal.id, chat_id, exc_info=True
                )
            await self._store.proposals.shown(
                proposal.id, chat_id, message_id, proposal.status.value
            )

    async def tell_requester(self, proposal: Proposal, text: Text) -> None:
        try:
            await self._messenger.send(proposal.chat_id, text)
        except Exception:
            log.warning("could not tell the requester of proposal %s", proposal.id, exc_info=True)

    async def _deciders(self, proposal: Proposal, groups: Sequence[Group]) -> list[int]:
        """Who may decide all its groups (bot/access.py), and the notify chat."""
        chats = await self._access.deciders(Action(proposal.action), groups, proposal.requested_by)
        if self._notify_chat_id is not None:
            chats.add(self._notify_chat_id)
        return sorted(chats)

    def _invitation(self, proposal: Proposal, groups: Sequence[Group], pictures: int) -> Text:
        """What a decider's copy says (a rotation: the first picture is the copy's photo,
        and the sentence says how many it rotates)."""
        requester = texts.who(proposal.requester_name, proposal.requested_by)
        if proposal.listed:
            invitation = texts.bulk_invitation(
                requester,
                list_kind(proposal),
                [group.alias for group in proposal.groups],
                moment(proposal.expires_at),
            )
        else:
            provider = groups[0].provider if groups else ""
            invitation = texts.invitation(
                requester,
                proposal.jpeg is not None,
                proposal.title,
                proposal.alias,
                provider,
                proposal.expires_at,
                proposal.how,
            )
        if proposal.rhythm is not None:
            return joined(
                "\n",
                [invitation, texts.proposed_rhythm(proposal.rhythm, pictures, first_shown=True)],
            )
        if proposal.run_at is None and proposal.until_at is None:
            return invitation
        return joined("\n", [invitation, texts.proposed_at(proposal.run_at, proposal.until_at)])


def list_action(kind: BulkKind) -> Action:
    return Action.DELETE_GROUP_PICTURE if kind is BulkKind.DELETE else Action.SET_GROUP_PICTURE


def list_kind(proposal: Proposal) -> BulkKind:
    """What a proposed list does to each of its groups."""
    if proposal.action == Action.DELETE_GROUP_PICTURE.value:
        return BulkKind.DELETE
    return BulkKind.UNDO if proposal.how is How.UNDO else BulkKind.SET
