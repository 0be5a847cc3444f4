"""Changing the admin map from chat: grants, groups, chat links, and one's own notifications.

Each change is checked (deny by default), made, audited and announced to the other owners; a
refused attempt is audited too. Results are plain words (`summary`: "granted admin on family to
222"); a refusal raises `Refusal`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from adapters import Provider
from bot import audit, texts
from bot.access import Access
from bot.changes import ChangeRunner
from bot.config import ALIAS_PATTERN
from bot.domain import (
    ANY_GROUP,
    Action,
    Actor,
    AuditOutcome,
    Grant,
    Group,
    MapChange,
    Refusal,
    Role,
)
from bot.notify import Notifier
from bot.store import Store
from bot.words import short

TITLE_LIMIT = 64
_GRANTABLE = (Role.ADMIN.value, Role.REQUESTER.value)


class AdminMap:
    def __init__(
        self,
        *,
        store: Store,
        access: Access,
        providers: dict[str, Provider],
        notifier: Notifier,
        changes: ChangeRunner,
    ) -> None:
        self._store = store
        self._access = access
        self._providers = providers
        self._notifier = notifier
        self._changes = changes

    # grants -----------------------------------------------------------------------------------

    async def grant(
        self, actor: Actor, user_id: int, scope: str, role: str, *, name: str | None = None
    ) -> str:
        """`name`: the grantee's name as Telegram shows it, when known, for the summary."""
        scope = scope.lower()

        async def change() -> str:
            await self._require(actor, Action.MANAGE_GRANTS, texts.ONLY_OWNERS_GRANT)
            await self._check_scope(scope)
            if role.lower() not in _GRANTABLE:
                raise Refusal(texts.not_a_role(list(_GRANTABLE), short(role)))
            if self._access.is_owner(user_id):
                raise Refusal(texts.is_owner(user_id))
            new = Role(role.lower())
            old = self._held(await self._store.grants.of(user_id), scope)
            if old is new:
                raise Refusal(texts.already_role(user_id, new.value, scope))
            if not await self._store.grants.add(user_id, scope, new, granted_by=actor.user_id):
                raise Refusal(texts.no_group_called(short(scope)))
            grantee = texts.who(name, user_id) if name else str(user_id)
            return texts.granted(new.value, scope, grantee, old.value if old else None)

        return await self._change(actor, MapChange.GRANT, scope, change)

    async def revoke(self, actor: Actor, user_id: int, scope: str) -> str:
        scope = scope.lower()

        async def change() -> str:
            await self._require(actor, Action.MANAGE_GRANTS, texts.ONLY_OWNERS_REVOKE)
            old = self._held(await self._store.grants.of(user_id), scope)
            if old is None:
                raise Refusal(texts.no_grant(user_id, short(scope)))
            await self._store.grants.remove(user_id, scope)
            return texts.revoked(user_id, old.value, scope)

        return await self._change(actor, MapChange.REVOKE, scope, change)

    # groups -----------------------------------------------------------------------------------

    async def add_group(
        self, actor: Actor, alias: str, provider_name: str, chat_id: str, title: str | None
    ) -> str:
        alias = alias.lower()

        async def change() -> str:
            await self._require(actor, Action.MANAGE_GROUPS, texts.ONLY_OWNERS_ADD)
            if not re.match(ALIAS_PATTERN, alias):
                raise Refusal(texts.BAD_ALIAS)
            provider = self._providers.get(provider_name)
            if provider is None:
                raise Refusal(texts.no_provider_called(short(provider_name), list(self._providers)))
            if problem := provider.check_group_id(chat_id):
                raise Refusal(texts.no_group_id(short(chat_id, 64), provider.label, problem))
            source = await self._store.groups.source(alias)
            if source == "config":
                raise Refusal(texts.config_alias(alias))
            if source is not None:
                raise Refusal(texts.alias_taken(alias))
            if known := await self._store.groups.with_chat_id(chat_id):
                raise Refusal(texts.known_as(known.alias))
            group = Group(alias, provider.name, chat_id, short(title or alias, TITLE_LIMIT))
            await self._store.groups.add(group)
            return texts.group_added(alias, group.title, chat_id, provider.name)

        return await self._change(actor, MapChange.ADD_GROUP, alias, change)

    async def remove_group(self, actor: Actor, alias: str) -> str:
        alias = alias.lower()

        async def change() -> str:
            await self._require(actor, Action.MANAGE_GROUPS, texts.ONLY_OWNERS_REMOVE)
            source = await self._store.groups.source(alias)
            if source is None:
                raise Refusal(texts.no_group_called(short(alias)))
            if source == "config":
                raise Refusal(texts.from_config(alias))
            removed = await self._store.groups.remove(alias)
            if removed is not None:
                await self._changes.cancel_group(removed, texts.removed_by(actor.name, alias))
            return texts.group_removed(alias)

        return await self._change(actor, MapChange.REMOVE_GROUP, alias, change)

    # chat links -------------------------------------------------------------------------------

    async def link(self, actor: Actor, alias: str) -> str:
        """Make `alias` the default group of the actor's chat."""
        alias = alias.lower()

        async def change() -> str:
            group = await self._store.groups.get(alias)
            if group is None:
                raise Refusal(texts.no_group_called(short(alias)))
            await self._require(actor, Action.LINK_CHAT, texts.may_not_link(group.title), group)
            current = await self._store.links.of(actor.chat_id)
            if current and current.source == "config":
                raise Refusal(texts.link_from_config(current.alias))
            if current and current.group_id == group.id:
                raise Refusal(texts.already_linked(alias))
            if current:  # replacing a link takes the right to remove it
                await self._require(
                    actor,
                    Action.LINK_CHAT,
                    texts.may_not_replace_link(current.alias),
                    await self._store.groups.by_id(current.group_id),
                )
            await self._store.links.set(actor.chat_id, group)
            return texts.linked(actor.chat_id, alias)

        return await self._change(actor, MapChange.LINK, alias, change)

    async def unlink(self, actor: Actor) -> str:
        current = await self._store.links.of(actor.chat_id)

        async def change() -> str:
            if current is None:
                raise Refusal(texts.NOT_LINKED)
            await self._require(
                actor,
                Action.LINK_CHAT,
                texts.may_not_unlink(current.alias),
                await self._store.groups.by_id(current.group_id),
            )
            if current.source == "config":
                raise Refusal(texts.link_from_config(current.alias))
            await self._store.links.remove(actor.chat_id)
            return texts.unlinked(actor.chat_id, current.alias)

        return await self._change(
            actor, MapChange.UNLINK, current.alias if current else None, change
        )

    # one's own notifications ------------------------------------------------------------------

    async def notifications(self, actor: Actor, on: bool | None = None) -> bool:
        """Turn the actor's change notifications on or off (None: leave them); whether they
        are on now. Not part of the map: neither audited nor announced."""
        await self._require(
            actor,
            Action.CHOOSE_NOTIFICATIONS,
            texts.NO_NOTIFICATIONS,
        )
        if on is not None:
            await self._store.notifications.choose(actor.user_id, on)
        return actor.user_id not in await self._store.notifications.opted_out()

    # the steps --------------------------------------------------------------------------------

    async def _change(
        self,
        actor: Actor,
        kind: MapChange,
        target: str | None,
        change: Callable[[], Awaitable[str]],
    ) -> str:
        try:
            summary = await change()
        except Refusal as refusal:
            await audit.record(
                self._store, actor, kind, target, AuditOutcome.REFUSED, refusal.reason
            )
            raise
        await audit.record(self._store, actor, kind, target, AuditOutcome.DONE, summary)
        self._notifier.map_changed(actor, summary)
        return summary

    async def _require(
        self, actor: Actor, action: Action, refusal: str, group: Group | None = None
    ) -> None:
        if not await self._access.may(actor.user_id, action, group):
            raise Refusal(refusal)

    async def _check_scope(self, scope: str) -> None:
        if scope != ANY_GROUP and await self._store.groups.get(scope) is None:
            raise Refusal(texts.no_group_called(short(scope)))

    @staticmethod
    def _held(grants: list[Grant], scope: str) -> Role | None:
        return next((grant.role for grant in grants if grant.scope == scope), None)
