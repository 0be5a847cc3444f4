"""Picture history: before and after each change the bot made, the last N per target."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import stamp
from bot.domain import Action, Actor, Before, How, PictureRecord, how_of
from bot.store.db import Database, Row


def _record(row: Row) -> PictureRecord:
    return PictureRecord(
        **{**row, "before_state": Before(row["before_state"]), "how": how_of(row["how"])}
    )


class PictureTable:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def begin(
        self,
        *,
        operation_id: int,
        target_key: str,
        target: str,
        group_id: int | None,
        provider: str,
        action: str,
        how: How | None,
        actor_id: int,
        actor_name: str,
        before_state: Before,
        before_jpeg: bytes | None,
        before_side: int | None,
    ) -> None:
        """Keep what a target had before a change that is about to run (not yet history: it
        counts once `settle` says the change was made). A second call for the same operation
        (a resumed change) keeps the first reading. Readings of changes that never ended (a
        crash, then too old to resume) go after a day."""
        stale = stamp(self._db.clock.now() - timedelta(days=1))
        await self._db.execute("DELETE FROM pictures WHERE done = 0 AND at < ?", (stale,))
        await self._db.execute(
            "INSERT INTO pictures (target_key, target, group_id, provider, operation_id, action,"
            " how, actor_id, actor_name, before_state, before_jpeg, before_side, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (operation_id) DO NOTHING",
            (
                target_key,
                target,
                group_id,
                provider,
                operation_id,
                action,
                how,
                actor_id,
                actor_name,
                before_state.value,
                before_jpeg,
                before_side,
                self._db.clock.stamp(),
            ),
        )

    async def began(self, operation_id: int) -> bool:
        row = await self._db.fetch_one(
            "SELECT 1 AS one FROM pictures WHERE operation_id = ?", (operation_id,)
        )
        return row is not None

    async def settle(
        self,
        operation_id: int,
        *,
        made: bool,
        after_jpeg: bytes | None,
        after_side: int | None,
        after_url: str | None,
        keep: int,
    ) -> None:
        """The change ended: made, it becomes history (and the target's oldest beyond `keep`
        go); not made, its reading is dropped. Join the caller's transaction."""
        async with self._db.transaction():
            if not made:
                await self._db.execute(
                    "DELETE FROM pictures WHERE operation_id = ? AND done = 0", (operation_id,)
                )
                return
            await self._db.execute(
                "UPDATE pictures SET done = 1, after_jpeg = ?, after_side = ?, after_url = ?,"
                " at = ? WHERE operation_id = ?",
                (after_jpeg, after_side, after_url, self._db.clock.stamp(), operation_id),
            )
            row = await self._db.fetch_one(
                "SELECT target_key FROM pictures WHERE operation_id = ?", (operation_id,)
            )
            if row is None:
                return
            await self._keep_last(row["target_key"], keep)

    async def outside(
        self,
        *,
        target_key: str,
        group_id: int | None,
        target: str,
        provider: str,
        action: Action,
        before_state: Before,
        before_jpeg: bytes | None,
        before_side: int | None,
        after_jpeg: bytes | None,
        after_side: int | None,
        by: Actor | None,
        keep: int,
    ) -> int:
        """Keep a change made outside the bot (seen by watching, bot/watch.py), by `by` when
        known, as history, so that undo puts back what it replaced; its row id. It has no
        operation: its operation_id is minus a number no other such row has (ids grow)."""
        async with self._db.transaction():
            written = await self._db.execute(
                "INSERT INTO pictures (target_key, target, group_id, provider, operation_id,"
                " action, how, actor_id, actor_name, before_state, before_jpeg, before_side,"
                " after_jpeg, after_side, done, at)"
                " VALUES (?, ?, ?, ?, (SELECT -1 - COALESCE(MAX(id), 0) FROM pictures),"
                " ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
                (
                    target_key,
                    target,
                    group_id,
                    provider,
                    action.value,
                    How.OUTSIDE.value,
                    by.user_id if by else 0,
                    by.name if by else "",
                    before_state.value,
                    before_jpeg,
                    before_side,
                    after_jpeg,
                    after_side,
                    self._db.clock.stamp(),
                ),
            )
            await self._keep_last(target_key, keep)
            assert written.lastrowid is not None
            return written.lastrowid

    async def outside_since(self, target_key: str, since: str) -> int:
        """How many changes made outside the bot were seen on the target since `since`."""
        row = await self._db.fetch_one(
            "SELECT COUNT(*) AS n FROM pictures WHERE target_key = ? AND how = ? AND done = 1"
            " AND at >= ?",
            (target_key, How.OUTSIDE.value, since),
        )
        return int(row["n"]) if row else 0

    async def _keep_last(self, target_key: str, keep: int) -> None:
        """Drop the target's history beyond its newest `keep` rows."""
        await self._db.execute(
            "DELETE FROM pictures WHERE target_key = ? AND done = 1 AND id NOT IN"
            " (SELECT id FROM pictures WHERE target_key = ? AND done = 1"
            "  ORDER BY id DESC LIMIT ?)",
            (target_key, target_key, keep),
        )

    async def latest(self, target_key: str, limit: int = 1) -> list[PictureRecord]:
        """The target's most recent changes, newest first."""
        rows = await self._db.fetch_all(
            "SELECT * FROM pictures WHERE target_key = ? AND done = 1 ORDER BY id DESC LIMIT ?",
            (target_key, limit),
        )
        return [_record(row) for row in rows]

    async def get(self, record_id: int) -> PictureRecord | None:
        row = await self._db.fetch_one(
            "SELECT * FROM pictures WHERE id = ? AND done = 1", (record_id,)
        )
        return _record(row) if row else None
