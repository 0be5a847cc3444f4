"""The one access check: "may this person do this to this group?", and "which groups may this
person use for that?". It holds the config's owners and reads the store's grants at the moment
of asking, so a revoked grant counts at once (at a press, at a resume after a restart)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot import permissions
from bot.domain import Action, Grant, Group, Role
from bot.store import Store


class Access:
    def __init__(self, store: Store, owners: Iterable[int]) -> None:
        self._store = store
        self.owners = frozenset(owners)

    def is_owner(self, user_id: int) -> bool:
        return user_id in self.owners

    async def may(self, user_id: int, action: Action, group: Group | None = None) -> bool:
        """Whether `user_id` may take `action` on `group` (None: account-wide)."""
        return permissions.may(
            user_id, action, group, owners=self.owners, grants=await self._grants(user_id)
        )

    async def may_decide(self, user_id: int, action: Action, group: Group) -> bool:
        """Whether `user_id` may approve or reject someone's proposed `action` on `group`."""
        return permissions.may_decide(
            user_id, action, group, owners=self.owners, grants=await self._grants(user_id)
        )

    async def groups_for(self, user_id: int, action: Action) -> list[Group]:
        """The groups `user_id` may take `action` on, by alias."""
        grants = await self._grants(user_id)
        return [
            group
            for group in await self._store.groups.all()
            if permissions.may(user_id, action, group, owners=self.owners, grants=grants)
        ]

    async def roles(self, user_id: int) -> list[tuple[Group, Role]]:
        """Every group `user_id` holds a role on, with the strongest such role."""
        grants = await self._grants(user_id)
        found = []
        for group in await self._store.groups.all():
            role = permissions.role_in(user_id, group, owners=self.owners, grants=grants)
            if role is not None:
                found.append((group, role))
        return found

    async def roles_page(
        self, user_id: int, skip: int, limit: int
    ) -> tuple[int, list[tuple[Group, Role]]]:
        """How many groups `user_id` holds a role on, and `limit` of them (by alias) after the
        first `skip`, with the role: an owner's or a `*` grant's page is read alone, not every
        group."""
        grants = await self._grants(user_id)
        if user_id in self.owners or any(grant.group_id is None for grant in grants):
            total = await self._store.groups.count()
            groups = await self._store.groups.page(skip, limit)
        else:
            found = await self.roles(user_id)
            return len(found), found[skip : skip + limit]
        found = []
        for group in groups:
            role = permissions.role_in(user_id, group, owners=self.owners, grants=grants)
            if role is not None:
                found.append((group, role))
        return total, found

    async def admins_of(self, group: Group) -> set[int]:
        """Who holds the admin role on `group` (owners aside)."""
        return {
            grant.user_id
            for grant in await self._store.grants.covering(group)
            if grant.role is Role.ADMIN
        }

    async def deciders(self, action: Action, groups: Sequence[Group], requester: int) -> set[int]:
        """Who decides a proposal of `action` for `groups` (one or a list): the admins who
        may decide every one of them, else the owners; never the requester."""
        admins: set[int] = set()
        for group in groups:
            admins |= await self.admins_of(group)
        deciders = set()
        for admin in admins:
            grants = await self._grants(admin)
            if all(
                permissions.may_decide(admin, action, group, owners=self.owners, grants=grants)
                for group in groups
            ):
                deciders.add(admin)
        return (deciders or set(self.owners)) - {requester}

    async def _grants(self, user_id: int) -> list[Grant]:
        return await self._store.grants.of(user_id)
