"""The avatar service: the picture use cases, from a person's request to an accepted change.

resolve the group -> check the permission (bot/access.py) and the provider's capability ->
write the change down and hand it to bot/changes.py (fetch and prepare the picture, queue,
adapter, audit, notify). A requester's change stops after the picture is prepared and becomes a
proposal; once approved it runs with the approver as the actor. Knows nothing of Telegram
types: the handlers give it an `Actor` and a `PhotoSource`, and word the `Outcome` it returns.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from adapters import Capability, PreparedPicture, Provider
from bot import audit, texts
from bot.access import Access
from bot.changes import ChangeRunner, check_size
from bot.domain import (
    ACCOUNT_ACTIONS,
    ACCOUNT_PREFIX,
    Action,
    Actor,
    AuditOutcome,
    Before,
    Change,
    Group,
    How,
    NoUndo,
    Outcome,
    PhotoSource,
    PictureRecord,
    Progress,
    Proposal,
    ProposalStatus,
    Refusal,
    Result,
    Target,
    target_key,
)
from bot.i18n import Text
from bot.notify import Notifier
from bot.permissions import PROPOSABLE
from bot.picture_history import PictureHistory, after_picture, before_picture
from bot.proposals import ProposalBox
from bot.store import Store
from bot.words import short

log = logging.getLogger(__name__)

#: what each action needs from the provider, and how to say that it cannot
_NEEDS: dict[Action, Capability] = {
    Action.SET_GROUP_PICTURE: Capability.SET_GROUP,
    Action.DELETE_GROUP_PICTURE: Capability.DELETE_GROUP,
    Action.VIEW_GROUP_PICTURE: Capability.GET_GROUP,
    Action.SET_OWN_PICTURE: Capability.SET_OWN,
    Action.VIEW_OWN_PICTURE: Capability.GET_OWN,
}


class UndoRefused(Exception):
    def __init__(self, why: NoUndo, target: Target) -> None:
        super().__init__(why.value)
        self.why = why
        self.target = target


class AvatarService:
    def __init__(
        self,
        *,
        store: Store,
        access: Access,
        providers: dict[str, Provider],
        notifier: Notifier,
        proposals: ProposalBox,
        changes: ChangeRunner,
        picture_history: PictureHistory,
    ) -> None:
        self.store = store
        self.access = access
        self.providers = providers
        self.notifier = notifier
        self.proposals = proposals
        self.changes = changes
        self.picture_history = picture_history

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
            await self._audit(actor, action, name, None, AuditOutcome.REFUSED, refusal.reason)
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

    async def group_named(self, actor: Actor, action: Action, name: str) -> Group:
        """The group called `name`; raises `Refusal` (saying which names `actor` may use)."""
        return await self._resolve_group(actor, action, name)

    async def target_of(
        self, actor: Actor, action: Action, group: Group, *, may_propose: bool = True
    ) -> Target:
        """`group` as the target of `actor`'s `action`, checked now: their right (or, with
        `may_propose`, their right to propose it) and the provider. Raises `Refusal`."""
        return await self._check(actor, action, self._group_target(group), may_propose=may_propose)

    async def approved_change(self, approver: Actor, proposal: Proposal) -> Change:
        """The change a proposal describes, made by its approver with the picture the admins
        saw; the approver's rights and the provider are checked now. Raises `Refusal`."""
        action = Action(proposal.action)
        group = await self.store.groups.by_id(proposal.group_id)
        if group is None:
            raise Refusal(texts.group_gone(proposal.alias))
        target = await self.target_of(approver, action, group, may_propose=False)
        picture = None
        if proposal.jpeg is not None and proposal.side is not None:
            picture = PreparedPicture(proposal.jpeg, proposal.side)
        requester = Actor(proposal.requested_by, proposal.chat_id, proposal.requester_name)
        return Change(action, target, approver, picture, requester, how=proposal.how)

    async def refused(
        self, actor: Actor, action: Action, name: str | None, refusal: Refusal
    ) -> Outcome:
        """Audit a refusal and say so."""
        await self._audit(actor, action, name, None, AuditOutcome.REFUSED, refusal.reason)
        return Outcome(Result.REFUSED, name or "", reason=refusal.reason)

    async def choices(self, actor: Actor, action: Action) -> list[str]:
        """The names (group aliases or provider names) this user may use for `action`."""
        if action in ACCOUNT_ACTIONS:
            if not await self.access.may(actor.user_id, action):
                return []
            return [p.name for p in self.providers.values() if p.can(_NEEDS[action])]
        return [group.alias for group in await self.access.groups_for(actor.user_id, action)]

    # picture history, undo, restore --------------------------------------------------------

    async def undo(
        self, actor: Actor, action: Action, name: str | None, progress: Progress | None = None
    ) -> tuple[Action, Outcome]:
        """Put back what the target had before the last change made through the bot: an
        ordinary change (set the earlier picture, or remove it), or a proposal for a requester.
        `action` is SET_GROUP_PICTURE or SET_OWN_PICTURE; returns the action the undo took
        and its outcome. Raises `UndoRefused`."""
        try:
            target = await self._authorize(actor, action, name)
        except Refusal as refusal:
            return action, await self.refused(actor, action, name, refusal)
        change = await self.undo_change(actor, target)
        return change.action, await self._prepared(actor, change, progress)

    async def undo_change(self, actor: Actor, target: Target) -> Change:
        """The change that undoes the target's last change; raises `UndoRefused`."""
        records = await self._records(target, 1)
        if not records:
            raise UndoRefused(NoUndo.NOTHING, target)
        return await self._undo_change(actor, target, records[0])

    async def undo_of(self, actor: Actor, target: Target, record: PictureRecord) -> Change:
        """The change that puts back what the target had before `record`'s change; raises
        `UndoRefused`."""
        return await self._undo_change(actor, target, record)

    async def resolve(self, actor: Actor, action: Action, name: str | None) -> Target:
        """`authorize` without auditing a refusal (to show a plan before it is confirmed)."""
        return await self._authorize(actor, action, name)

    async def pictures(self, actor: Actor, alias: str | None) -> tuple[Target, list[PictureRecord]]:
        """The group's kept pictures (those the bot set), newest first. Raises `Refusal`."""
        target = await self.authorize(actor, Action.VIEW_GROUP_PICTURE, alias)
        records = await self._records(target, self.picture_history.keep)
        return target, [record for record in records if record.after_jpeg is not None]

    async def picture_record(self, record_id: int) -> tuple[Group, PictureRecord] | None:
        """A kept picture of a group that is still there."""
        record = await self.store.pictures.get(record_id)
        if record is None or record.group_id is None or record.after_jpeg is None:
            return None
        group = await self.store.groups.by_id(record.group_id)
        return None if group is None else (group, record)

    async def restore(
        self, actor: Actor, record_id: int, progress: Progress | None = None
    ) -> Outcome:
        """Set a kept picture again; rights are checked now (at the press)."""
        found = await self.picture_record(record_id)
        if found is None:
            return await self.refused(
                actor, Action.SET_GROUP_PICTURE, None, Refusal(texts.NO_LONGER_KEPT)
            )
        group, record = found
        try:
            target = await self._authorize(actor, Action.SET_GROUP_PICTURE, group.alias)
        except Refusal as refusal:
            return await self.refused(actor, Action.SET_GROUP_PICTURE, group.alias, refusal)
        picture = after_picture(record)
        change = Change(Action.SET_GROUP_PICTURE, target, actor, picture, how=How.RESTORE)
        return await self._prepared(actor, change, progress)

    async def put_back(
        self, actor: Actor, record_id: int, progress: Progress
    ) -> tuple[Action, Outcome]:
        """Put back the picture a change made outside the bot replaced (the button under its
        notice): an ordinary change with the presser's rights, checked now, written down under
        `progress.request_key` so that the first press wins; the action it took, and its
        outcome. Raises `UndoRefused`."""
        record = await self.store.pictures.get(record_id)
        action, name = await self._seen_on(record)
        if record is None or name is None:
            return action, await self.refused(actor, action, None, Refusal(texts.NO_LONGER_KEPT))
        try:
            target = await self._authorize(actor, action, name)
        except Refusal as refusal:
            return action, await self.refused(actor, action, name, refusal)
        change = await self._undo_change(actor, target, record)
        return change.action, await self._prepared(actor, change, progress)

    async def _seen_on(self, record: PictureRecord | None) -> tuple[Action, str | None]:
        """What a change seen outside the bot was on: the action that puts it back, and the
        group's alias or the provider's name (None: no such change is kept, or the group is
        gone)."""
        if record is None or record.how is not How.OUTSIDE:
            return Action.SET_GROUP_PICTURE, None
        if record.group_id is None:  # an account's own picture
            return Action.SET_OWN_PICTURE, record.target.removeprefix(ACCOUNT_PREFIX)
        group = await self.store.groups.by_id(record.group_id)
        return Action.SET_GROUP_PICTURE, group.alias if group is not None else None

    async def _records(self, target: Target, limit: int) -> list[PictureRecord]:
        if limit < 1:
            return []
        return await self.store.pictures.latest(target_key(target), limit)

    async def _undo_change(self, actor: Actor, target: Target, last: PictureRecord) -> Change:
        if last.before_state is Before.UNKNOWN:
            raise UndoRefused(NoUndo.UNKNOWN, target)
        if last.before_state is Before.NONE:
            if target.group is None or not target.provider.can(Capability.DELETE_GROUP):
                raise UndoRefused(NoUndo.CANNOT_REMOVE, target)
            return Change(Action.DELETE_GROUP_PICTURE, target, actor, None, how=How.UNDO)
        action = Action.SET_GROUP_PICTURE if target.group else Action.SET_OWN_PICTURE
        return Change(action, target, actor, before_picture(last), how=How.UNDO)

    async def _prepared(self, actor: Actor, change: Change, progress: Progress | None) -> Outcome:
        """Run (or, for a requester, propose) a change whose picture is at hand."""
        if change.target.needs_approval:
            return await self.propose(actor, change.action, change.target, change.picture, progress)
        return await self.changes.submit(change, progress)

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
            if photo is not None:
                check_size(photo)
            picture = None
            if photo is not None and target.needs_approval:  # the deciders see it
                picture = await self.changes.fetch(photo.file_id)
        except Refusal as refusal:
            return await self.refused(actor, action, name, refusal)
        if target.needs_approval:
            return await self.propose(actor, action, target, picture, progress)
        return await self.changes.submit(Change(action, target, actor, None), progress, photo)

    async def propose(
        self,
        actor: Actor,
        action: Action,
        target: Target,
        picture: PreparedPicture | None,
        progress: Progress | None,
        times: tuple[str | None, str | None] = (None, None),
        how: How | None = None,
        rhythm: tuple[str, str] | None = None,
        album: Sequence[PreparedPicture] = (),
    ) -> Outcome:
        """Send a requester's change to the deciders (`times`: when to make it and when to
        undo it, for a scheduled one; `how`: an undo for a scheduled undo, worked out at its
        time; `rhythm`: the words and zone of a recurrence, `album` the pictures it rotates)."""
        assert target.group is not None
        request_key = progress.request_key if progress else None
        proposal = await self.proposals.open(
            actor,
            action,
            [target.group],
            picture,
            request_key,
            times,
            how,
            rhythm=rhythm,
            album=album,
        )
        if proposal is None:
            return Outcome(Result.DUPLICATE, target.title)
        if proposal.status is ProposalStatus.PENDING:
            result, reason = Result.PROPOSED, texts.open_until(proposal.expires_at)
        else:
            result, reason = Result.FAILED, texts.NOBODY_TO_APPROVE
        await self._audit(
            actor,
            action,
            target.audit_name,
            target.provider.name,
            AuditOutcome.PROPOSED if result is Result.PROPOSED else AuditOutcome.FAILED,
            f"proposal {proposal.id}: {reason}",
        )
        return Outcome(result, target.title, reason=reason, proposal=proposal.id)

    async def _view(self, actor: Actor, action: Action, name: str | None) -> Outcome:
        try:
            target = await self._authorize(actor, action, name)
        except Refusal as refusal:
            return await self.refused(actor, action, name, refusal)
        if target.group and not target.provider.can(Capability.GET_GROUP):
            return await self._last_set(target)
        if target.group:
            result = await target.provider.get_group_picture(target.group.chat_id)
        else:
            result = await target.provider.get_own_picture()
        self.notifier.provider_answered(target.provider.name, result)
        return Outcome(
            Result.DONE if result.ok else Result.FAILED,
            target.title,
            url=result.url,
            reason=result.reason,
            image=result.image,
        )

    async def _last_set(self, target: Target) -> Outcome:
        """For a provider that cannot read a group's picture (the Cloud API): the last picture
        the bot set there, saying that it is that."""
        why = texts.cannot_read_current(target.provider.label)
        for record in await self._records(target, self.picture_history.keep):
            if record.after_jpeg is not None:
                return Outcome(Result.DONE, target.title, reason=why, image=record.after_jpeg)
        return Outcome(Result.DONE, target.title, reason=texts.none_set_by_bot(why))

    async def _authorize(self, actor: Actor, action: Action, name: str | None) -> Target:
        if action in ACCOUNT_ACTIONS:
            target = self._account_target(action, name)
        else:
            target = self._group_target(await self._resolve_group(actor, action, name))
        return await self._check(actor, action, target)

    async def _check(
        self, actor: Actor, action: Action, target: Target, *, may_propose: bool = True
    ) -> Target:
        """May `actor` take `action` on `target` (or propose it), and can its provider?"""
        group = target.group
        if not await self.access.may(actor.user_id, action, group):
            if (
                may_propose
                and action in PROPOSABLE
                and group is not None
                and await self.access.may(actor.user_id, Action.PROPOSE_CHANGE, group)
            ):
                target = replace(target, needs_approval=True)
            elif group is None:
                raise Refusal(
                    texts.ONLY_OWNERS_SET_ACCOUNT
                    if action is Action.SET_OWN_PICTURE
                    else texts.MAY_NOT_SEE_ACCOUNT
                )
            else:
                raise Refusal(texts.may_not(action, target.title))
        shows_last_set = action is Action.VIEW_GROUP_PICTURE  # see `_last_set`
        if not target.provider.can(_NEEDS[action]) and not shows_last_set:
            raise Refusal(texts.provider_cannot(target.provider.label, action))
        return target

    def _group_target(self, group: Group) -> Target:
        provider = self.providers.get(group.provider)
        if provider is None:  # a group added from chat, whose provider left config.yaml
            raise Refusal(texts.provider_gone(group.title, group.provider))
        return Target(provider=provider, title=group.title, group=group)

    async def _resolve_group(self, actor: Actor, action: Action, alias: str | None) -> Group:
        if alias is None:
            link = await self.store.links.of(actor.chat_id)
            if link is None:
                raise Refusal(await self._which(actor, action, texts.WHICH_GROUP))
            alias = link.alias
        group = await self.store.groups.get(alias.lower())
        if group is None:
            raise Refusal(
                await self._which(actor, action, texts.no_group_called_question(short(alias)))
            )
        return group

    async def _which(self, actor: Actor, action: Action, question: Text) -> str:
        names = await self.choices(actor, action)
        if action in PROPOSABLE:  # a requester may name the groups they may propose for
            names = sorted({*names, *await self.choices(actor, Action.PROPOSE_CHANGE)})
        return texts.which(question, names)

    def _account_target(self, action: Action, name: str | None) -> Target:
        capability = _NEEDS[action]
        if name is None:
            able = [p for p in self.providers.values() if p.can(capability)] or list(
                self.providers.values()
            )
            if len(able) != 1:
                raise Refusal(texts.which_provider([p.name for p in able]))
            provider = able[0]
        else:
            found = self.providers.get(name)
            if found is None:
                raise Refusal(texts.no_provider_called(short(name), list(self.providers)))
            provider = found
        return Target.account(provider)

    async def _audit(
        self,
        actor: Actor,
        action: Action,
        target: str | None,
        provider: str | None,
        outcome: AuditOutcome,
        reason: str | None,
    ) -> None:
        await audit.record(self.store, actor, action, target, outcome, reason, provider=provider)
