"""Grants: one role per person per scope (a group, or every group)."""

from __future__ import annotations

from bot.domain import ANY_GROUP, Grant, Group, Role
from bot.store.db import Database, Parameters

_SELECT = (
    "SELECT grants.user_id, IFNULL(groups.alias, '*') AS scope, grants.role,"
    " grants.granted_by, grants.granted_at, grants.group_id"
    " FROM grants LEFT JOIN groups ON groups.id = grants.group_id"
)


class Grants:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, user_id: int, scope: str, role: Role, granted_by: int | None) -> bool:
        """Give `user_id` `role` on the group now called `scope` (or on every group: `*`),
        replacing the role they held there; False when there is no such group."""
        group_id = None
        async with self._db.transaction():
            if scope != ANY_GROUP:
                row = await self._db.fetch_one("SELECT id FROM groups WHERE alias = ?", (scope,))
                if row is None:
                    return False
                group_id = row["id"]
            await self._db.execute(
                "DELETE FROM grants WHERE user_id = ? AND group_id IS ?", (user_id, group_id)
            )
            await self._db.execute(
                "INSERT INTO grants (user_id, group_id, role, granted_by, granted_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (user_id, group_id, role.value, granted_by, self._db.clock.stamp()),
            )
        return True

    async def remove(self, user_id: int, scope: str) -> bool:
        parameters: tuple[object, ...] = (user_id,)
        if scope == ANY_GROUP:
            sql = "group_id IS NULL"
        else:
            sql, parameters = "group_id = (SELECT id FROM groups WHERE alias = ?)", (user_id, scope)
        written = await self._db.execute(
            f"DELETE FROM grants WHERE user_id = ? AND {sql}", parameters
        )
        return written.rowcount > 0

    async def of(self, user_id: int) -> list[Grant]:
        return await self._select("WHERE grants.user_id = ?", (user_id,))

    async def all(self) -> list[Grant]:
        return await self._select("", ())

    async def covering(self, group: Group) -> list[Grant]:
        """Grants whose scope includes this group (its own, or `*`)."""
        return await self._select(
            "WHERE grants.group_id = ? OR grants.group_id IS NULL", (group.id,)
        )

    async def _select(self, where: str, parameters: Parameters) -> list[Grant]:
        rows = await self._db.fetch_all(f"{_SELECT} {where} ORDER BY user_id, scope", parameters)
        return [Grant(**{**row, "role": Role(row["role"])}) for row in rows]
