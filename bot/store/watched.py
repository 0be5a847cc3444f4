"""What the bot last knew of each watched picture (bot/watch.py): a group's, or an account's
own."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import Before, Guard, Target, target_key
from bot.store.db import Database


@dataclass(frozen=True)
class Known:
    """A watched picture as last read: its hash (None: no picture), the picture to put back
    (None when there is none, or it could not be prepared), and the newest picture-history row
    at that read."""

    state: Before
    hash: str | None
    jpeg: bytes | None
    side: int | None
    mark: int
    #: the URL it was read from, when the provider gave one: the same URL is the same picture
    url: str | None = None


@dataclass(frozen=True)
class Spot:
    """A watched picture: a group's (by its store id, as an alias may be reused) or the own
    picture of a provider's account."""

    #: its picture-history key: group:<group id> or account:<provider>
    key: str
    group_id: int | None
    provider: str

    @classmethod
    def of(cls, target: Target) -> Spot:
        group_id = target.group.id if target.group is not None else None
        return cls(target_key(target), group_id, target.provider.name)


class WatchedTable:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, spot: Spot) -> Known | None:
        return (await self.looked(spot))[2]

    async def state(self, spot: Spot) -> tuple[int, bool]:
        """The newest picture-history row of the picture (0: none), which grows with every
        change the bot makes to it on any instance, and whether a change of the bot's to it is
        written down and not yet over."""
        mark, busy, _ = await self.looked(spot)
        return mark, busy

    async def looked(self, spot: Spot) -> tuple[int, bool, Known | None]:
        """`state` and what the bot last knew of the picture, in one question (each read of
        a watched picture begins with both)."""
        about: int | str
        if spot.group_id is not None:
            changing, about = "group_id = ?", spot.group_id
        else:
            changing, about = "group_id IS NULL AND target = ?", spot.key
        row = await self._db.fetch_one(
            "SELECT (SELECT MAX(id) FROM pictures WHERE target_key = ? AND done = 1) AS now_mark,"
            f" EXISTS (SELECT 1 FROM operations WHERE {changing}"
            " AND status IN ('pending', 'running')) AS busy,"
            " w.state, w.hash, w.jpeg, w.side, w.mark, w.url"
            " FROM (SELECT 1 AS one) AS here LEFT JOIN watched AS w ON w.target_key = ?",
            (spot.key, about, spot.key),
        )
        assert row is not None
        known = None
        if row["state"] is not None:
            known = Known(
                Before(row["state"]),
                row["hash"],
                row["jpeg"],
                row["side"],
                row["mark"],
                row["url"],
            )
        return int(row["now_mark"] or 0), bool(row["busy"]), known

    async def baseline(self, spot: Spot, known: Known) -> None:
        """What the picture is now, not a change (a first read, or after the bot's own change)."""
        await self._db.execute(
            "INSERT INTO watched (target_key, group_id, state, hash, jpeg, side, mark, url,"
            " seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (target_key) DO UPDATE SET"
            " state = excluded.state, hash = excluded.hash, jpeg = excluded.jpeg,"
            " side = excluded.side, mark = excluded.mark, url = excluded.url,"
            " seen_at = excluded.seen_at",
            (spot.key, spot.group_id, *self._values(known)),
        )

    async def changed(self, spot: Spot, was: Known, now: Known) -> bool:
        """Take a change seen outside the bot, when no other reading (an instance sharing the
        store) took it first: what the picture was is still `was`."""
        written = await self._db.execute(
            "UPDATE watched SET state = ?, hash = ?, jpeg = ?, side = ?, mark = ?, url = ?,"
            " seen_at = ? WHERE target_key = ? AND mark = ? AND hash IS ?",
            (*self._values(now), spot.key, was.mark, was.hash),
        )
        return written.rowcount == 1

    async def seen_url(self, spot: Spot, mark: int, url: str | None) -> None:
        """The same picture, now at `url` (WhatsApp re-signs its URLs)."""
        await self._db.execute(
            "UPDATE watched SET url = ? WHERE target_key = ? AND mark = ?", (url, spot.key, mark)
        )

    async def guard(self, spot: Spot) -> Guard | None:
        """The guard chosen from chat or set by the bot; None: the config's."""
        if spot.group_id is not None:
            row = await self._db.fetch_one(
                "SELECT guard FROM groups WHERE id = ?", (spot.group_id,)
            )
        else:
            row = await self._db.fetch_one(
                "SELECT guard FROM account_guards WHERE provider = ?", (spot.provider,)
            )
        return Guard(row["guard"]) if row and row["guard"] else None

    async def set_guard(self, spot: Spot, guard: Guard) -> None:
        if spot.group_id is not None:
            await self._db.execute(
                "UPDATE groups SET guard = ? WHERE id = ?", (guard.value, spot.group_id)
            )
            return
        await self._db.execute(
            "INSERT INTO account_guards (provider, guard) VALUES (?, ?)"
            " ON CONFLICT (provider) DO UPDATE SET guard = excluded.guard",
            (spot.provider, guard.value),
        )

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
