"""The instances of the bot running on one shared store (PostgreSQL), with the fingerprint of
their config, so that an instance whose config.yaml differs can refuse to start
(bot/agreement.py). Each row lives while its instance renews it."""

from __future__ import annotations

import json
from contextlib import AbstractAsyncContextManager

from bot.store.db import Database

#: any number fixed for the advisory lock that joining runs under
_JOIN_LOCK = 0x6A6F696E


class Instances:
    def __init__(self, db: Database) -> None:
        self._db = db

    def joining(self) -> AbstractAsyncContextManager[None]:
        """One instance at a time between reading the others and writing itself down."""
        return self._db.exclusive(_JOIN_LOCK)

    async def others(self, name: str, now: str) -> dict[str, dict[str, str]]:
        """Instance name -> its config fingerprint, for every other instance alive at `now`."""
        rows = await self._db.fetch_all(
            "SELECT name, config FROM instances WHERE name <> ? AND seen_until >= ? ORDER BY name",
            (name, now),
        )
        return {row["name"]: json.loads(row["config"]) for row in rows}

    async def join(self, name: str, fingerprint: dict[str, str], now: str, until: str) -> None:
        """Write an instance down (and forget those that stopped renewing before `now`)."""
        await self._db.execute("DELETE FROM instances WHERE seen_until < ?", (now,))
        await self._db.execute(
            "INSERT INTO instances (name, config, seen_until) VALUES (?, ?, ?)"
            " ON CONFLICT (name) DO UPDATE SET config = excluded.config,"
            " seen_until = excluded.seen_until",
            (name, json.dumps(fingerprint, sort_keys=True), until),
        )

    async def renew(self, name: str, until: str) -> None:
        await self._db.execute("UPDATE instances SET seen_until = ? WHERE name = ?", (until, name))

    async def leave(self, name: str) -> None:
        await self._db.execute("DELETE FROM instances WHERE name = ?", (name,))
