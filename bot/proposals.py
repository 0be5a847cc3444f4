"""A requester's proposal on its way to the people who may decide it, and back.

Opening one stores it with the prepared picture and sends every decider a copy with Approve /
Reject buttons; every copy is remembered so that all of them can show the decision later.
The buttons carry only the proposal's id: who may decide is checked at the press.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from adapters import PreparedPicture
from bot import texts
from bot.access import Access
from bot.clock import Clock, stamp
from bot.domain import Action, Actor, Group, How, Proposal, ProposalStatus
from bot.i18n import Text, joined
from bot.messenger import Button, Decision, Messenger
from bot.notify import who
from bot.store import Store
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
        group: Group,
        provider: str,
        picture: PreparedPicture | None,
        request_key: str | None = None,
        times: tuple[str | None, str | None] = (None, None),
        how: How | None = None,
    ) -> Proposal | None:
        """Store the proposal and send it to the deciders (`how`: How.UNDO for an undo worked
        out at its time); None when `request_key` already made one. Returned closed (expired
        at once) when no copy could be delivered: nobody would ever be able to decide it."""
        now = self.clock.now()
        proposal = await self._store.proposals.add(
            action=action.value,
            group=group,
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
        )
        if proposal is None:
            return None
        text = self._invitation(proposal, requester, provider)
        buttons = decision_buttons(proposal.id)
        delivered = False
        for chat_id in await self._deciders(group, requester):
            try:
                if picture is not None:
                    message_id = await self._messenger.send_photo(
                        chat_id, picture.jpeg, text, buttons
                    )
                else:
                    message_id = await self._messenger.send(chat_id, text, buttons)
            except Exception:  # a decider who blocked the bot must not stop the others
                log.warning(
                    "could not send proposal %s to chat %s", proposal.id, chat_id, exc_info=True
                )
                continue
            await self._store.proposals.add_message(proposal.id, chat_id, message_id)
            delivered = True
        if delivered:
            return proposal
        return await self._store.proposals.close(proposal.id, ProposalStatus.EXPIRED, self.now())

    async def show_decision(self, proposal: Proposal) -> None:
        """Replace the buttons of every copy with one that says who decided (or that it
        expired); pressing it again just says so."""
        label = texts.decided(proposal.status, short(proposal.decided_by_name or ""))
        buttons = [(label, Decision(proposal.id, approve=True))]
        for chat_id, message_id in await self._store.proposals.messages(proposal.id):
            try:
                await self._messenger.set_buttons(chat_id, message_id, buttons)
            except Exception:
                log.warning(
                    "could not update proposal %s in chat %s", proposal.id, chat_id, exc_info=True
                )

    async def tell_requester(self, proposal: Proposal, text: Text) -> None:
        try:
            await self._messenger.send(proposal.chat_id, text)
        except Exception:
            log.warning("could not tell the requester of proposal %s", proposal.id, exc_info=True)

    async def _deciders(self, group: Group, requester: Actor) -> list[int]:
        """The group's admins (the owners when it has none) and the notify chat."""
        admins = await self._access.admins_of(group)
        chats = (admins or set(self._access.owners)) - {requester.user_id}
        if self._notify_chat_id is not None:
            chats.add(self._notify_chat_id)
        return sorted(chats)

    @staticmethod
    def _invitation(proposal: Proposal, requester: Actor, provider: str) -> Text:
        invitation = texts.invitation(
            who(requester),
            proposal.jpeg is not None,
            proposal.title,
            proposal.alias,
            provider,
            proposal.expires_at,
            proposal.how,
        )
        if proposal.run_at is None and proposal.until_at is None:
            return invitation
        return joined("\n", [invitation, texts.proposed_at(proposal.run_at, proposal.until_at)])
