"""Reading the admin map from chat: the caller's groups, who manages them, and the audit log.

Everyone sees only what their rights cover; a refused look is audited like any refusal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import NoReturn

from adapters import Capability, Provider
from bot import audit
from bot.notify import Actor
from bot.permissions import Action, Grant, Role, may, role_in
from bot.service import Refusal
from bot.store import AuditEntry, Group, Store
from bot.words import short

DEFAULT_HISTORY = 10
MAX_HISTORY = 20


@dataclass(frozen=True)
class GroupInfo:
    group: Group
    role: Role  # the caller's
    provider: Provider | None  # None when its provider left config.yaml

    def can(self, capability: Capability) -> bool:
        return self.provider is not None and self.provider.can(capability)


@dataclass(frozen=True)
class Managers:
    owners: list[int]
    grants: list[Grant]


class Overview:
    def __init__(
        self, *, store: Store, providers: dict[str, Provider], owners: Iterable[int]
    ) -> None:
        self._store = store
        self._providers = providers
        self._owners = frozenset(owners)

    async def groups(self, actor: Actor) -> list[GroupInfo]:
        """The groups the caller holds a role on, with their provider."""
        grants = await self._store.grants_of(actor.user_id)
        found = []
        for group in await self._store.groups():
            role = role_in(actor.user_id, group.alias, owners=self._owners, grants=grants)
            if role is not None:
                found.append(GroupInfo(group, role, self._providers.get(group.provider)))
        return found

    async def managers(self, actor: Actor, alias: str | None) -> Managers:
        """Who holds which role on `alias`, or on every group the caller may look into."""
        if alias is not None:
            group = await self._store.group(alias.lower())
            if group is None:
                await self._refuse(
                    actor, Action.VIEW_GRANTS, alias, f"there is no group called {short(alias)!r}"
                )
            if not await self._may(actor, Action.VIEW_GRANTS, group.alias):
                await self._refuse(
                    actor,
                    Action.VIEW_GRANTS,
                    group.alias,
                    f"you may not see who manages {group.title}",
                )
            return _managers(self._owners, await self._store.grants_covering(group.alias))
        if await self._may(actor, Action.VIEW_GRANTS, None):
            return _managers(self._owners, await self._store.all_grants())
        visible = await self._visible(actor, Action.VIEW_GRANTS)
        if not visible:
            await self._refuse(
                actor, Action.VIEW_GRANTS, None, "you may not see who manages any group"
            )
        return _managers(
            self._owners, {g for alias in visible for g in await self._store.grants_covering(alias)}
        )

    async def history(self, actor: Actor, alias: str | None, limit: int) -> list[AuditEntry]:
        """The newest audit rows the caller may see: owners everything, the others the rows
        about their groups."""
        limit = max(1, min(limit, MAX_HISTORY))
        if alias is not None:
            alias = alias.lower()
            everything = await self._may(actor, Action.VIEW_HISTORY, None)
            group = await self._store.group(alias)
            if not everything and not (
                group and await self._may(actor, Action.VIEW_HISTORY, alias)
            ):
                await self._refuse(
                    actor,
                    Action.VIEW_HISTORY,
                    alias,
                    f"you may not see the history of {short(alias)!r}",
                )
            return await self._store.audit_log(alias, limit)
        if await self._may(actor, Action.VIEW_HISTORY, None):
            return await self._store.audit_log(None, limit)
        visible = await self._visible(actor, Action.VIEW_HISTORY)
        if not visible:
            await self._refuse(actor, Action.VIEW_HISTORY, None, "you may not see any history")
        return await self._store.audit_of(visible, limit)

    async def allowed(self, actor: Actor, action: Action) -> bool:
        """Whether the caller may take `action` at all (on some group, or account-wide)."""
        return await self._may(actor, action, None) or bool(await self._visible(actor, action))

    async def _visible(self, actor: Actor, action: Action) -> list[str]:
        grants = await self._store.grants_of(actor.user_id)
        return [
            group.alias
            for group in await self._store.groups()
            if may(actor.user_id, action, group.alias, owners=self._owners, grants=grants)
        ]

    async def _may(self, actor: Actor, action: Action, alias: str | None) -> bool:
        grants = await self._store.grants_of(actor.user_id)
        return may(actor.user_id, action, alias, owners=self._owners, grants=grants)

    async def _refuse(
        self, actor: Actor, action: Action, target: str | None, reason: str
    ) -> NoReturn:
        await audit.record(self._store, actor, action.value, target, "refused", reason)
        raise Refusal(reason)


def _managers(owners: Iterable[int], grants: Iterable[Grant]) -> Managers:
    """Grants sorted by scope, then user."""
    return Managers(sorted(owners), sorted(grants, key=lambda g: (g.scope, g.user_id)))
