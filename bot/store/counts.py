"""How much waits in the store, for the metrics (bot/metrics.py): read at each scrape."""

from __future__ import annotations

from bot.store.db import Database


class Counts:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def proposals_open(self) -> int:
        """Proposals (for one group or a list) nobody decided yet."""
        return await self._count("SELECT COUNT(*) AS n FROM proposals WHERE status = 'pending'")

    async def scheduled_waiting(self) -> int:
        """Scheduled changes whose next step (at, or until) has not run yet."""
        return await self._count("SELECT COUNT(*) AS n FROM schedules WHERE status = 'pending'")

    async def _count(self, sql: str) -> int:
        row = await self._db.fetch_one(sql)
        return int(row["n"]) if row else 0
