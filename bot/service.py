"""The avatar service: the picture use cases, from a person's request to an accepted change.

resolve the group -> check the permission and the provider's capability -> fetch and prepare the
picture -> hand the change to bot/changes.py (record, queue, adapter, audit, notify). A
requester's change stops after the picture is prepared and becomes a proposal; once approved it
runs with the approver as the actor. Knows nothing of Telegram types: the handlers give it an
`Actor` and a `PhotoSource`, and word the `Outcome` it returns.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace

from adapters import Capability, PreparedPicture, Provider
from bot import audit
from bot.changes import Change, ChangeRunner, Outcome, Progress, Target
from bot.images import MAX_DOWNLOAD_BYTES, ImageRefused, prepare_picture_async
from bot.notify import Actor, Notifier
from bot.permissions import PROPOSABLE, Action, Grant, may
from bot.proposals import ProposalBox, readable
from bot.store import Group, Proposal, ProposalStatus, Store
from bot.words import short

log = logging.getLogger(__name__)

#: what each action needs from the provider, and how to say that it cannot
_NEEDS: dict[Action, tuple[Capability, str]] = {
    Action.SET_GROUP_PICTURE: (Capability.SET_GROUP, "set a group picture"),
    Action.DELETE_GROUP_PICTURE: (Capability.DELETE_GROUP, "remove a group picture"),
    Action.VIEW_GROUP_PICTURE: (Capability.GET_GROUP, "show a group picture"),
    Action.SET_OWN_PICTURE: (Capability.SET_OWN, "set the account's own picture"),
    Action.VIEW_OWN_PICTURE: (Capability.GET_OWN, "show the account's own picture"),
}
_VERB = {
    Action.SET_GROUP_PICTURE: "change",
    Action.DELETE_GROUP_PICTURE: "remove",
    Action.VIEW_GROUP_PICTURE: "see",
}


class Refusal(Exception):
    """The request is refused before any provider call; `reason` is plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PhotoSource:
    """A picture the user sent, not yet downloaded."""

    file_size: int | None
    download: Callable[[], Awaitable[bytes]]


class AvatarService:
    def __init__(
        self,
        *,
        store: Store,
        providers: dict[str, Provider],
        owners: Iterable[int],
        notifier: Notifier,
        proposals: ProposalBox,
        changes: ChangeRunner,
    ) -> None:
        self.store = store
        self.providers = providers
        self.owners = frozenset(owners)
        self.notifier = notifier
        self.proposals = proposals
        self.changes = changes

    # the use cases -----------------------------------------------------------------------------

    async def authorize(self, actor: Actor, action: Action, name: str | None) -> Target:
        """Resolve what `name` means for this action and check it may be done; audit a refusal.

        `name` is a group alias for group actions, a provider name for the account's own
        picture; None means "the default" (the chat's linked group, or the only provider).
        A requester's set or delete passes with `needs_approval`.
        """
        try:
            return await self._authorize(actor, action, name)
        except Refusal as refusal:
            await self._audit(actor, action, name, None, "refused", refusal.reason)
            raise

    async def set_group_picture(
        self, actor: Actor, alias: str | None, photo: PhotoSource, progress: Progress | None = None
    ) -> Outcome:
        return await self._change(actor, Action.SET_GROUP_PICTURE, alias, photo, progress)

    async def delete_group_picture(
        self, actor: Actor, alias: str | None, progress: Progress | None = None
    ) -> Outcome:
        return await self._change(actor, Action.DELETE_GROUP_PICTURE, alias, None, progress)

    async def set_own_picture(
        self,
        actor: Actor,
        provider: str | None,
        photo: PhotoSource,
        progress: Progress | None = None,
    ) -> Outcome:
        return await self._change(actor, Action.SET_OWN_PICTURE, provider, photo, progress)

    async def already_requested(self, request_key: str) -> bool:
        """Whether a change was already accepted for this request (a redelivered update)."""
        return await self.changes.already_requested(request_key)

    async def get_group_picture(self, actor: Actor, alias: str | None) -> Outcome:
        return await self._view(actor, Action.VIEW_GROUP_PICTURE, alias)

    async def get_own_picture(self, actor: Actor, provider: str | None) -> Outcome:
        return await self._view(actor, Action.VIEW_OWN_PICTURE, provider)

    async def run_approved(self, approver: Actor, proposal: Proposal) -> Outcome:
        """Make a proposed change with its already prepared picture, as the approver; their
        rights and the provider are checked again now."""
        action = Action(proposal.action)
        try:
            target = await self._authorize(approver, action, proposal.alias, may_propose=False)
        except Refusal as refusal:
            return await self._refused(approver, action, proposal.alias, refusal)
        picture = PreparedPicture(proposal.jpeg, proposal.side) if proposal.jpeg else None
        requester = Actor(proposal.requested_by, proposal.chat_id, proposal.requester_name)
        return await self.changes.submit(Change(action, target, approver, picture, requester))

    async def choices(self, actor: Actor, action: Action) -> list[str]:
        """The names (group aliases or provider names) this user may use for `action`."""
        if action in (Action.SET_OWN_PICTURE, Action.VIEW_OWN_PICTURE):
            if not may(
                actor.user_id,
                action,
                None,
                owners=self.owners,
                grants=await self.store.grants_of(actor.user_id),
            ):
                return []
            return [p.name for p in self.providers.values() if p.can(_NEEDS[action][0])]
        grants = await self.store.grants_of(actor.user_id)
        return [
            group.alias
            for group in await self.store.groups()
            if may(actor.user_id, action, group.alias, owners=self.owners, grants=grants)
        ]

    # the steps ---------------------------------------------------------------------------------

    async def _change(
        self,
        actor: Actor,
        action: Action,
        name: str | None,
        photo: PhotoSource | None,
        progress: Progress | None,
    ) -> Outcome:
        try:
            target = await self._authorize(actor, action, name)
            picture = await self._prepare(photo) if photo else None
        except Refusal as refusal:
            return await self._refused(actor, action, name, refusal)
        if target.needs_approval:
            return await self._propose(actor, action, target, picture)
        return await self.changes.submit(Change(action, target, actor, picture), progress)

    async def _propose(
        self, actor: Actor, action: Action, target: Target, picture: PreparedPicture | None
    ) -> Outcome:
        proposal = await self.proposals.open(
            actor, action, target.group, target.provider.name, picture
        )
        if proposal.status is ProposalStatus.PENDING:
            outcome, reason = "proposed", f"open until {readable(proposal.expires_at)}"
        else:
            outcome, reason = "failed", "I could not reach anyone who may approve it"
        await self._audit(
            actor,
            action,
            target.audit_name,
            target.provider.name,
            outcome,
            f"proposal {proposal.id}: {reason}",
        )
        return Outcome(
            ok=outcome == "proposed", target=target.title, reason=reason, proposal=proposal.id
        )

    async def _view(self, actor: Actor, action: Action, name: str | None) -> Outcome:
        try:
            target = await self._authorize(actor, action, name)
        except Refusal as refusal:
            return await self._refused(actor, action, name, refusal)
        if target.group:
            result = await target.provider.get_group_picture(target.group.chat_id)
        else:
            result = await target.provider.get_own_picture()
        await self.notifier.provider_answered(target.provider.name, result)
        return Outcome(ok=result.ok, target=target.title, url=result.url, reason=result.reason)

    async def _authorize(
        self, actor: Actor, action: Action, name: str | None, *, may_propose: bool = True
    ) -> Target:
        if action in (Action.SET_OWN_PICTURE, Action.VIEW_OWN_PICTURE):
            target = self._account_target(actor, action, name)
            alias = None
        else:
            group = await self._resolve_group(actor, action, name)
            provider = self.providers.get(group.provider)
            if provider is None:  # a group added from chat, whose provider left config.yaml
                raise Refusal(f"the provider of {group.title} ({group.provider}) is gone")
            target = Target(provider=provider, title=group.title, group=group)
            alias = group.alias
        grants = await self.store.grants_of(actor.user_id)
        if not may(actor.user_id, action, alias, owners=self.owners, grants=grants):
            if may_propose and self._may_propose(actor, action, alias, grants):
                target = replace(target, needs_approval=True)
            elif alias is None:
                raise Refusal(
                    "only owners may change the account picture"
                    if action is Action.SET_OWN_PICTURE
                    else "you may not see the account picture"
                )
            else:
                raise Refusal(f"you may not {_VERB[action]} the picture of {target.title}")
        capability, words = _NEEDS[action]
        if not target.provider.can(capability):
            raise Refusal(f"{target.provider.label} cannot {words}, so nothing was changed")
        return target

    def _may_propose(
        self, actor: Actor, action: Action, alias: str | None, grants: list[Grant]
    ) -> bool:
        return (
            action in PROPOSABLE
            and alias is not None
            and may(actor.user_id, Action.PROPOSE_CHANGE, alias, owners=self.owners, grants=grants)
        )

    async def _resolve_group(self, actor: Actor, action: Action, alias: str | None) -> Group:
        if alias is None:
            alias = await self.store.linked_alias(actor.chat_id)
            if alias is None:
                raise Refusal(await self._which(actor, action, "which group?"))
        group = await self.store.group(alias.lower())
        if group is None:
            raise Refusal(
                await self._which(actor, action, f"there is no group called {short(alias)!r}.")
            )
        return group

    async def _which(self, actor: Actor, action: Action, question: str) -> str:
        names = await self.choices(actor, action)
        if action in PROPOSABLE:  # a requester may name the groups they may propose for
            names = sorted({*names, *await self.choices(actor, Action.PROPOSE_CHANGE)})
        if not names:
            return f"{question} You have no groups you may use."
        return f"{question} You may use: {', '.join(names)}."

    def _account_target(self, actor: Actor, action: Action, name: str | None) -> Target:
        capability = _NEEDS[action][0]
        if name is None:
            able = [p for p in self.providers.values() if p.can(capability)] or list(
                self.providers.values()
            )
            if len(able) != 1:
                raise Refusal(f"which provider? Name one of: {', '.join(p.name for p in able)}.")
            provider = able[0]
        else:
            provider = self.providers.get(name)
            if provider is None:
                raise Refusal(
                    f"there is no provider called {short(name)!r}. "
                    f"Configured: {', '.join(self.providers)}."
                )
        return Target.account(provider)

    async def _prepare(self, photo: PhotoSource) -> PreparedPicture:
        if photo.file_size is not None and photo.file_size > MAX_DOWNLOAD_BYTES:
            raise Refusal(
                f"the file is {photo.file_size / 1_000_000:.1f} MB; the limit is "
                f"{MAX_DOWNLOAD_BYTES // (1024 * 1024)} MB"
            )
        try:
            data = await photo.download()
        except Exception:
            log.warning("could not download a photo from Telegram", exc_info=True)
            raise Refusal("I could not download the picture from Telegram; send it again") from None
        try:
            return await prepare_picture_async(data)
        except ImageRefused as refused:
            raise Refusal(refused.reason) from None

    async def _refused(
        self, actor: Actor, action: Action, name: str | None, refusal: Refusal
    ) -> Outcome:
        await self._audit(actor, action, name, None, "refused", refusal.reason)
        return Outcome(ok=False, target=name or "", reason=refusal.reason, refused=True)

    async def _audit(
        self,
        actor: Actor,
        action: Action,
        target: str | None,
        provider: str | None,
        outcome: str,
        reason: str | None,
        url: str | None = None,
        *,
        requested_by: int | None = None,
    ) -> None:
        await audit.record(
            self.store,
            actor,
            action.value,
            target,
            outcome,
            reason,
            provider=provider,
            url=url,
            requested_by=requested_by,
        )
