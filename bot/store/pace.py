"""When each provider account's last change of each pace ended, for instances sharing it.

Only used on a store several instances share (PostgreSQL): `hold` keeps the other instances
out of one account's pace class while this one waits out the interval and runs its change.
"""

from __future__ import annotations

import hashlib
from contextlib import AbstractAsyncContextManager

from bot.store.db import Database


def lock_key(account: str, pace: str) -> int:
    """A stable 64-bit number for one account's pace class (an advisory lock's key)."""
    digest = hashlib.blake2b(f"avatarops-pace:{account}:{pace}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


class AccountPace:
    def __init__(self, db: Database) -> None:
        self._db = db

    def hold(self, account: str, pace: str) -> AbstractAsyncContextManager[None]:
        """The account's pace class to this instance alone, until the block ends."""
        return self._db.exclusive(lock_key(account, pace))

    async def last_end(self, account: str, pace: str) -> float | None:
        row = await self._db.fetch_one(
            "SELECT last_end FROM account_pace WHERE account = ? AND pace = ?", (account, pace)
        )
        return float(row["last_end"]) if row else None

    async def ended(self, account: str, pace: str, at: float) -> None:
        await self._db.execute(
            "INSERT INTO account_pace (account, pace, last_end) VALUES (?, ?, ?)"
            " ON CONFLICT (account, pace) DO UPDATE SET last_end = excluded.last_end",
            (account, pace, at),
        )
