"""Who turned their change notifications off."""

from __future__ import annotations

from bot.store.db import Database


class Notifications:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def choose(self, user_id: int, on: bool) -> None:
        if on:
            await self._db.execute("DELETE FROM notify_optouts WHERE user_id = ?", (user_id,))
        else:
            await self._db.execute(
                "INSERT INTO notify_optouts (user_id, at) VALUES (?, ?)"
                " ON CONFLICT (user_id) DO NOTHING",
                (user_id, self._db.clock.stamp()),
            )

    async def opted_out(self) -> set[int]:
        return {
            row["user_id"] for row in await self._db.fetch_all("SELECT user_id FROM notify_optouts")
        }
