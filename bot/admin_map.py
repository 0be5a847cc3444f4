"""Changing the admin map from chat: grants, groups, chat links, and one's own notifications.

Each change is checked (deny by default), made, audited and announced to the other owners; a
refused attempt is audited too. Results are plain words (`summary`: "granted admin on family to
222"); a refusal raises `Refusal`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from adapters import Provider
from bot import audit
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
            await self._require(actor, Action.MANAGE_GRANTS, "only owners may grant rights")
            await self._check_scope(scope)
            if role.lower() not in _GRANTABLE:
                raise Refusal(f"a role is {' or '.join(_GRANTABLE)}, not {short(role)!r}")
            if self._access.is_owner(user_id):
                raise Refusal(f"{user_id} is an owner (config.yaml) and may do everything")
            new = Role(role.lower())
            old = self._held(await self._store.grants.of(user_id), scope)
            if old is new:
                raise Refusal(f"{user_id} already is {new.value} on {scope}")
            if not await self._store.grants.add(user_id, scope, new, granted_by=actor.user_id):
                raise Refusal(f"there is no group called {short(scope)!r}")
            was = f" (was {old.value})" if old else ""
            grantee = f"{name} ({user_id})" if name else str(user_id)
            return f"granted {new.value} on {scope} to {grantee}{was}"

        return await self._change(actor, MapChange.GRANT, scope, change)

    async def revoke(self, actor: Actor, user_id: int, scope: str) -> str:
        scope = scope.lower()

        async def change() -> str:
            await self._require(actor, Action.MANAGE_GRANTS, "only owners may revoke rights")
            old = self._held(await self._store.grants.of(user_id), scope)
            if old is None:
                raise Refusal(f"{user_id} has no grant on {short(scope)}")
            await self._store.grants.remove(user_id, scope)
            return f"revoked {user_id}'s {old.value} grant on {scope}"

        return await self._change(actor, MapChange.REVOKE, scope, change)

    # groups -----------------------------------------------------------------------------------

    async def add_group(
        self, actor: Actor, alias: str, provider_name: str, chat_id: str, title: str | None
    ) -> str:
        alias = alias.lower()

        async def change() -> str:
            await self._require(actor, Action.MANAGE_GROUPS, "only owners may add groups")
            if not re.match(ALIAS_PATTERN, alias):
                raise Refusal("an alias is 1-32 lowercase letters, digits, - or _")
            provider = self._providers.get(provider_name)
            if provider is None:
                raise Refusal(
                    f"there is no provider called {short(provider_name)!r}. "
                    f"Configured: {', '.join(self._providers)}"
                )
            if problem := provider.check_group_id(chat_id):
                raise Refusal(
                    f"{short(chat_id, 64)!r} is no group id for {provider.label}: {problem}"
                )
            source = await self._store.groups.source(alias)
            if source == "config":
                raise Refusal(f"{alias} is a group of config.yaml; choose another alias")
            if source is not None:
                raise Refusal(f"there already is a group called {alias}")
            if known := await self._store.groups.with_chat_id(chat_id):
                raise Refusal(f"that group is already known as {known.alias}")
            group = Group(alias, provider.name, chat_id, short(title or alias, TITLE_LIMIT))
            await self._store.groups.add(group)
            return f"added the group {alias} ({group.title}: {chat_id} via {provider.name})"

        return await self._change(actor, MapChange.ADD_GROUP, alias, change)

    async def remove_group(self, actor: Actor, alias: str) -> str:
        alias = alias.lower()

        async def change() -> str:
            await self._require(actor, Action.MANAGE_GROUPS, "only owners may remove groups")
            source = await self._store.groups.source(alias)
            if source is None:
                raise Refusal(f"there is no group called {short(alias)!r}")
            if source == "config":
                raise Refusal(f"{alias} comes from config.yaml; remove it there")
            removed = await self._store.groups.remove(alias)
            if removed is not None:
                await self._changes.cancel_group(
                    removed, f"{actor.name} removed the group {alias} before the change ran"
                )
            return f"removed the group {alias} with its grants and chat links"

        return await self._change(actor, MapChange.REMOVE_GROUP, alias, change)

    # chat links -------------------------------------------------------------------------------

    async def link(self, actor: Actor, alias: str) -> str:
        """Make `alias` the default group of the actor's chat."""
        alias = alias.lower()

        async def change() -> str:
            group = await self._store.groups.get(alias)
            if group is None:
                raise Refusal(f"there is no group called {short(alias)!r}")
            await self._require(
                actor, Action.LINK_CHAT, f"you may not link this chat to {group.title}", group
            )
            current = await self._store.links.of(actor.chat_id)
            if current and current.source == "config":
                raise Refusal(
                    f"this chat's link to {current.alias} comes from config.yaml; change it there"
                )
            if current and current.group_id == group.id:
                raise Refusal(f"this chat already is linked to {alias}")
            if current:  # replacing a link takes the right to remove it
                await self._require(
                    actor,
                    Action.LINK_CHAT,
                    f"you may not replace this chat's link to {current.alias}",
                    await self._store.groups.by_id(current.group_id),
                )
            await self._store.links.set(actor.chat_id, group)
            return f"linked the chat {actor.chat_id} to {alias}"

        return await self._change(actor, MapChange.LINK, alias, change)

    async def unlink(self, actor: Actor) -> str:
        current = await self._store.links.of(actor.chat_id)

        async def change() -> str:
            if current is None:
                raise Refusal("this chat is not linked to a group")
            await self._require(
                actor,
                Action.LINK_CHAT,
                f"you may not unlink this chat from {current.alias}",
                await self._store.groups.by_id(current.group_id),
            )
            if current.source == "config":
                raise Refusal(
                    f"this chat's link to {current.alias} comes from config.yaml; change it there"
                )
            await self._store.links.remove(actor.chat_id)
            return f"unlinked the chat {actor.chat_id} from {current.alias}"

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
            "you get no change notifications: they go to owners and group admins",
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
            raise Refusal(f"there is no group called {short(scope)!r}")

    @staticmethod
    def _held(grants: list[Grant], scope: str) -> Role | None:
        return next((grant.role for grant in grants if grant.scope == scope), None)
