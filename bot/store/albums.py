"""Prepared pictures kept in their order with what they belong to: a list's question
(`bulk_pictures`), a proposed rotation (`proposal_pictures`), a recurrence
(`schedule_pictures`). Each is its own table of one shape (owner id, position, jpeg, side), so
each goes with its owner's rows."""

from __future__ import annotations

from collections.abc import Sequence

from adapters import PreparedPicture
from bot.store.db import Database


class Album:
    def __init__(self, db: Database, table: str, owner: str) -> None:
        """`table` and `owner` (its owner-id column) are this module's callers' constants."""
        self._db = db
        self._table = table
        self._owner = owner

    async def keep(self, owner_id: int, pictures: Sequence[PreparedPicture]) -> None:
        """In the order given (join the transaction that writes the owner)."""
        await self._db.execute_many(
            f"INSERT INTO {self._table} ({self._owner}, position, jpeg, side) VALUES (?, ?, ?, ?)",
            [(owner_id, n, picture.jpeg, picture.side) for n, picture in enumerate(pictures)],
        )

    async def pictures(self, owner_id: int) -> list[PreparedPicture]:
        rows = await self._db.fetch_all(
            f"SELECT jpeg, side FROM {self._table} WHERE {self._owner} = ? ORDER BY position",
            (owner_id,),
        )
        return [PreparedPicture(bytes(row["jpeg"]), int(row["side"])) for row in rows]

    async def at(self, owner_id: int, position: int) -> PreparedPicture | None:
        row = await self._db.fetch_one(
            f"SELECT jpeg, side FROM {self._table} WHERE {self._owner} = ? AND position = ?",
            (owner_id, position),
        )
        return PreparedPicture(bytes(row["jpeg"]), int(row["side"])) if row else None

    async def count(self, owner_id: int) -> int:
        row = await self._db.fetch_one(
            f"SELECT COUNT(*) AS n FROM {self._table} WHERE {self._owner} = ?", (owner_id,)
        )
        return int(row["n"]) if row else 0
