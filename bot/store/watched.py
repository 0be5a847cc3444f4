"""What the bot last knew of each watched group's picture (bot/watch.py)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import Before, Guard
from bot.store.db import Database


@dataclass(frozen=True)
class Known:
    """A watched group's picture as last read: its hash (None: no picture), the picture to put
    back (None when there is none, or it could not be prepared), and the newest picture-history
    row at that read."""

    state: Before
    hash: str | None
    jpeg: bytes | None
    side: int | None
    mark: int
    #: the URL it was read from, when the provider gave one: the same URL is the same picture
    url: str | None = None


class WatchedTable:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, group_id: int) -> Known | None:
        row = await self._db.fetch_one(
            "SELECT state, hash, jpeg, side, mark, url FROM watched WHERE group_id = ?",
            (group_id,),
        )
        if row is None:
            return None
        return Known(**{**row, "state": Before(row["state"])})

    async def state(self, group_id: int) -> tuple[int, bool]:
        """The newest picture-history row of the group (0: none), which grows with every change
        the bot makes to it on any instance, and whether a change of the bot's to it is written
        down and not yet over."""
        row = await self._db.fetch_one(
            "SELECT (SELECT MAX(id) FROM pictures WHERE group_id = ? AND done = 1) AS mark,"
            " EXISTS (SELECT 1 FROM operations WHERE group_id = ?"
            " AND status IN ('pending', 'running')) AS busy",
            (group_id, group_id),
        )
        assert row is not None
        return int(row["mark"] or 0), bool(row["busy"])

    async def baseline(self, group_id: int, known: Known) -> None:
        """What the group has now, not a change (a first read, or after the bot's own change)."""
        await self._db.execute(
            "INSERT INTO watched (group_id, state, hash, jpeg, side, mark, url, seen_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (group_id) DO UPDATE SET"
            " state = excluded.state, hash = excluded.hash, jpeg = excluded.jpeg,"
            " side = excluded.side, mark = excluded.mark, url = excluded.url,"
            " seen_at = excluded.seen_at",
            (group_id, *self._values(known)),
        )

    async def changed(self, group_id: int, was: Known, now: Known) -> bool:
        """Take a change seen outside the bot, when no other reading (an instance sharing the
        store) took it first: what the group had is still `was`."""
        written = await self._db.execute(
            "UPDATE watched SET state = ?, hash = ?, jpeg = ?, side = ?, mark = ?, url = ?,"
            " seen_at = ? WHERE group_id = ? AND mark = ? AND hash IS ?",
            (*self._values(now), group_id, was.mark, was.hash),
        )
        return written.rowcount == 1

    async def seen_url(self, group_id: int, mark: int, url: str | None) -> None:
        """The same picture, now at `url` (WhatsApp re-signs its URLs)."""
        await self._db.execute(
            "UPDATE watched SET url = ? WHERE group_id = ? AND mark = ?", (url, group_id, mark)
        )

    async def guard(self, group_id: int) -> Guard | None:
        """The group's guard as chosen from chat or set by the bot; None: the config's."""
        row = await self._db.fetch_one("SELECT guard FROM groups WHERE id = ?", (group_id,))
        return Guard(row["guard"]) if row and row["guard"] else None

    async def set_guard(self, group_id: int, guard: Guard) -> None:
        await self._db.execute("UPDATE groups SET guard = ? WHERE id = ?", (guard.value, group_id))

    def _values(self, known: Known) -> tuple[object, ...]:
        return (
            known.state.value,
            known.hash,
            known.jpeg,
            known.side,
            known.mark,
            known.url,
            self._db.clock.stamp(),
        )
