"""Reading the admin map from chat: the caller's groups, who manages them, and the audit log.

Everyone sees only what their rights cover; a refused look is audited like any refusal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NoReturn

from adapters import Capability, Provider
from bot import audit, texts
from bot.access import Access
from bot.domain import (
    Action,
    Actor,
    AuditEntry,
    AuditOutcome,
    Grant,
    Group,
    Guard,
    Refusal,
    Role,
)
from bot.store import Store
from bot.watch import Guards
from bot.words import short

DEFAULT_HISTORY = 10
#: how long /groups waits for a provider to say whether a group's picture may change now
TROUBLE_TIMEOUT_SECONDS = 5.0
#: how many of those questions are asked at once (a thousand Telegram chats, one by eight)
TROUBLE_CHECKS_AT_ONCE = 8
MAX_HISTORY = 20


@dataclass(frozen=True)
class GroupInfo:
    group: Group
    role: Role  # the caller's
    provider: Provider | None  # None when its provider left config.yaml
    #: why its picture cannot be changed now, where the provider tells (bot not admin...)
    trouble: str | None = None
    #: what the bot does about a change made outside it (None: nothing is watched)
    guard: Guard | None = None

    def can(self, capability: Capability) -> bool:
        return self.provider is not None and self.provider.can(capability)


@dataclass(frozen=True)
class Managers:
    owners: list[int]
    grants: list[Grant]


class Overview:
    def __init__(
        self, *, store: Store, access: Access, providers: dict[str, Provider], guards: Guards
    ) -> None:
        self._store = store
        self._access = access
        self._providers = providers
        self._guards = guards

    async def groups(self, actor: Actor, skip: int, limit: int) -> tuple[int, list[GroupInfo]]:
        """How many groups the caller holds a role on, and `limit` of them after the first
        `skip` (by alias), with their provider and what stops a change of their picture now,
        where the provider can tell (asked side by side, for this page only)."""
        total, roles = await self._access.roles_page(actor.user_id, skip, limit)
        asking = asyncio.Semaphore(TROUBLE_CHECKS_AT_ONCE)
        troubles = await asyncio.gather(*(self._trouble(group, asking) for group, _ in roles))
        guards = [await self._guards.shown(group) for group, _ in roles]
        return total, [
            GroupInfo(group, role, self._providers.get(group.provider), trouble, guard)
            for (group, role), trouble, guard in zip(roles, troubles, guards, strict=True)
        ]

    async def _trouble(self, group: Group, asking: asyncio.Semaphore) -> str | None:
        provider = self._providers.get(group.provider)
        if provider is None:
            return None
        try:
            async with asking, asyncio.timeout(TROUBLE_TIMEOUT_SECONDS):
                checked = await provider.check_group(group.chat_id)
        except TimeoutError:  # /groups answers anyway; the change itself will tell
            return None
        return checked.reason if checked is not None and not checked.ok else None

    async def managers(self, actor: Actor, alias: str | None) -> Managers:
        """Who holds which role on `alias`, or on every group the caller may look into."""
        if alias is not None:
            group = await self._store.groups.get(alias.lower())
            if group is None:
                await self._refuse(
                    actor, Action.VIEW_GRANTS, alias, texts.no_group_called(short(alias))
                )
            if not await self._access.may(actor.user_id, Action.VIEW_GRANTS, group):
                await self._refuse(
                    actor,
                    Action.VIEW_GRANTS,
                    group.alias,
                    texts.may_not_see_managers(group.title),
                )
            return self._managers(await self._store.grants.covering(group))
        if await self._access.may(actor.user_id, Action.VIEW_GRANTS):
            return self._managers(await self._store.grants.all())
        visible = await self._access.groups_for(actor.user_id, Action.VIEW_GRANTS)
        if not visible:
            await self._refuse(actor, Action.VIEW_GRANTS, None, texts.MAY_NOT_SEE_ANY_MANAGERS)
        return self._managers(
            {grant for group in visible for grant in await self._store.grants.covering(group)}
        )

    async def audit_log(
        self, actor: Actor, alias: str | None, limit: int, skip: int = 0
    ) -> list[AuditEntry]:
        """The newest audit rows the caller may see (after the `skip` newest): owners
        everything, the others the rows about their groups."""
        limit = max(1, min(limit, MAX_HISTORY))
        everything = await self._access.may(actor.user_id, Action.VIEW_HISTORY)
        if alias is not None:
            alias = alias.lower()
            group = await self._store.groups.get(alias)
            if not everything and not (
                group and await self._access.may(actor.user_id, Action.VIEW_HISTORY, group)
            ):
                await self._refuse(
                    actor,
                    Action.VIEW_HISTORY,
                    alias,
                    texts.may_not_see_audit(short(alias)),
                )
            if group is None:  # an owner asking about a name no group has now
                return await self._store.audit.latest(alias, limit, skip)
            assert group.id is not None
            return await self._store.audit.about([group.id], limit, skip)
        if everything:
            return await self._store.audit.latest(None, limit, skip)
        visible = await self._access.groups_for(actor.user_id, Action.VIEW_HISTORY)
        if not visible:
            await self._refuse(actor, Action.VIEW_HISTORY, None, texts.MAY_NOT_SEE_HISTORY)
        return await self._store.audit.about(
            [g.id for g in visible if g.id is not None], limit, skip
        )

    async def allowed(self, actor: Actor, action: Action) -> bool:
        """Whether the caller may take `action` at all (on some group, or account-wide)."""
        return await self._access.may(actor.user_id, action) or bool(
            await self._access.groups_for(actor.user_id, action)
        )

    def _managers(self, grants: Iterable[Grant]) -> Managers:
        """Grants sorted by scope, then user."""
        return Managers(
            sorted(self._access.owners), sorted(grants, key=lambda g: (g.scope, g.user_id))
        )

    async def _refuse(
        self, actor: Actor, action: Action, target: str | None, reason: str
    ) -> NoReturn:
        await audit.record(self._store, actor, action, target, AuditOutcome.REFUSED, reason)
        raise Refusal(reason)
