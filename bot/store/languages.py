"""The language each person speaks with the bot: their /language choice, and the one their
Telegram app showed last."""

from __future__ import annotations

from bot.store.db import Database


class LanguageTable:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def of(self, user_id: int) -> tuple[str | None, str | None]:
        """(chosen, seen) for `user_id`; None where there is none."""
        row = await self._db.fetch_one(
            "SELECT chosen, seen FROM languages WHERE user_id = ?", (user_id,)
        )
        return (row["chosen"], row["seen"]) if row else (None, None)

    async def choose(self, user_id: int, language: str | None) -> None:
        """Keep `language` as the person's choice (None: follow their Telegram app again)."""
        await self._db.execute(
            "INSERT INTO languages (user_id, chosen, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET chosen = excluded.chosen,"
            " updated_at = excluded.updated_at",
            (user_id, language, self._db.clock.stamp()),
        )

    async def saw(self, user_id: int, language: str) -> None:
        """Keep the language the person's Telegram app showed last."""
        await self._db.execute(
            "INSERT INTO languages (user_id, seen, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET seen = excluded.seen,"
            " updated_at = excluded.updated_at",
            (user_id, language, self._db.clock.stamp()),
        )
