"""Pictures behind media links, when several instances serve them (bot/media.py)."""

from __future__ import annotations

from bot.store.db import Database


class MediaTable:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def put(self, picture_id: str, jpeg: bytes, expires_at: float) -> None:
        await self._db.execute(
            "INSERT INTO media (id, jpeg, expires_at) VALUES (?, ?, ?)",
            (picture_id, jpeg, expires_at),
        )

    async def get(self, picture_id: str, now: float) -> bytes | None:
        row = await self._db.fetch_one(
            "SELECT jpeg FROM media WHERE id = ? AND expires_at > ?", (picture_id, now)
        )
        return bytes(row["jpeg"]) if row else None

    async def purge(self, now: float) -> None:
        """Forget the pictures whose links have expired."""
        await self._db.execute("DELETE FROM media WHERE expires_at <= ?", (now,))
