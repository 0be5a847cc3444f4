"""Scheduled changes (`at …`, `until …`) and each person's time zone."""

from __future__ import annotations

from dataclasses import fields

from adapters import PreparedPicture
from bot.domain import Phase, ScheduledChange, ScheduleStatus, how_of
from bot.store.albums import Album
from bot.store.db import Database, Parameters

_FIELDS = [field.name for field in fields(ScheduledChange) if field.name != "id"]
#: every column but the picture's bytes
_LISTED = ", ".join(["id", *(name for name in _FIELDS if name != "jpeg")])


class Schedules:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._album = Album(db, "schedule_pictures", "schedule_id")

    async def add(self, entry: ScheduledChange) -> int | None:
        """Keep a scheduled change; its id, or None when its request already has one."""
        values = {name: getattr(entry, name) for name in _FIELDS}
        values["created_at"] = entry.created_at or self._db.clock.stamp()
        written = await self._db.execute(
            f"INSERT INTO schedules ({', '.join(_FIELDS)})"
            f" VALUES ({', '.join('?' * len(_FIELDS))})"
            " ON CONFLICT (request_key) DO NOTHING",
            [values[name] for name in _FIELDS],
        )
        return written.lastrowid if written.rowcount else None

    async def keep_pictures(self, entry_id: int, pictures: list[PreparedPicture]) -> None:
        """A recurrence's pictures, in the order of its rotation."""
        await self._album.keep(entry_id, pictures)

    async def picture(self, entry_id: int, run: int) -> PreparedPicture | None:
        """The picture run number `run` of a recurrence puts up: its rotation's next."""
        count = await self.picture_count(entry_id)
        return await self._album.at(entry_id, run % count) if count else None

    async def picture_count(self, entry_id: int) -> int:
        return await self._album.count(entry_id)

    async def forget_pictures(self, key: int) -> None:
        """Drop the pictures kept under `key` once no recurrence that rotates them is left
        (pending, running or paused): the recurrences of a list share one copy."""
        await self._db.execute(
            "DELETE FROM schedule_pictures WHERE schedule_id = ? AND NOT EXISTS (SELECT 1 FROM"
            " schedules WHERE (id = ? OR album = ?) AND status IN ('pending', 'running',"
            " 'paused'))",
            (key, key, key),
        )

    async def get(self, entry_id: int) -> ScheduledChange | None:
        found = await self._select("WHERE id = ?", (entry_id,))
        return found[0] if found else None

    async def for_request(self, request_key: str) -> ScheduledChange | None:
        found = await self._select("WHERE request_key = ?", (request_key,))
        return found[0] if found else None

    async def pending(
        self, name: str | None = None, skip: int = 0, limit: int | None = None
    ) -> list[ScheduledChange]:
        """What waits for its time, and the paused recurrences, which wait to be resumed (for
        `name` alone, when given), the soonest first, `limit` of them (None: all) after the
        first `skip`, to be listed: without the pictures' bytes (a thousand of them would be
        read for nothing)."""
        where, named = _pending(name)
        if limit is None:
            return await self._select(f"{where} ORDER BY due_at, id", named, listed=True)
        return await self._select(
            f"{where} ORDER BY due_at, id LIMIT ? OFFSET ?", (*named, limit, skip), listed=True
        )

    async def count_pending(self, name: str | None = None) -> int:
        where, named = _pending(name)
        row = await self._db.fetch_one(f"SELECT COUNT(*) AS n FROM schedules {where}", named)
        return int(row["n"]) if row else 0

    async def running(self) -> list[ScheduledChange]:
        """What was running when the bot stopped."""
        return await self._select("WHERE status = 'running' ORDER BY id", ())

    async def next_due(self) -> str | None:
        row = await self._db.fetch_one(
            "SELECT MIN(due_at) AS due FROM schedules WHERE status = 'pending'"
        )
        return row["due"] if row else None

    async def due(self, now: str) -> list[ScheduledChange]:
        return await self._select(
            "WHERE status = 'pending' AND due_at <= ? ORDER BY due_at, id", (now,)
        )

    async def take(self, entry: ScheduledChange) -> bool:
        """Take a due entry to run it, as it was read; False when it changed since: taken,
        cancelled, or its run skipped (moved on to a later one) by someone else first."""
        written = await self._db.execute(
            "UPDATE schedules SET status = 'running' WHERE id = ? AND status = 'pending'"
            " AND due_at = ? AND runs = ?",
            (entry.id, entry.due_at, entry.runs),
        )
        return written.rowcount == 1

    async def claim(
        self,
        entry_id: int,
        status: ScheduleStatus = ScheduleStatus.RUNNING,
        phase: Phase | None = None,
        was: ScheduleStatus = ScheduleStatus.PENDING,
    ) -> bool:
        """Move an entry that `was` pending (or paused) to `status` (running, or cancelled),
        when it waits for `phase` (None: whichever); False when it no longer waits for it
        (taken up, moved on to its next phase, resumed or cancelled, by someone else first)."""
        if phase is None:
            written = await self._db.execute(
                "UPDATE schedules SET status = ? WHERE id = ? AND status = ?",
                (status, entry_id, was),
            )
        else:
            written = await self._db.execute(
                "UPDATE schedules SET status = ? WHERE id = ? AND status = ? AND phase = ?",
                (status, entry_id, was, phase),
            )
        return written.rowcount == 1

    async def draft(self, entry_id: int, actor_id: int) -> ScheduledChange | None:
        """The draft (`asked`) of `actor_id`; None when it is not theirs, or is gone."""
        found = await self._select("WHERE id = ? AND status = 'asked'", (entry_id,))
        return found[0] if found and found[0].actor_id == actor_id else None

    async def forget_draft(self, entry_id: int) -> None:
        await self._db.execute(
            "DELETE FROM schedules WHERE id = ? AND status = 'asked'", (entry_id,)
        )

    async def forget_drafts(self, before: str) -> None:
        """Drop the drafts nobody confirmed since `before` (their question was left alone)."""
        await self._db.execute(
            "DELETE FROM schedules WHERE status = 'asked' AND created_at < ?", (before,)
        )

    async def retry(self, entry_id: int) -> None:
        """A running entry whose change was never written down waits again."""
        await self._db.execute(
            "UPDATE schedules SET status = 'pending' WHERE id = ? AND status = 'running'",
            (entry_id,),
        )

    async def next_phase(self, entry_id: int, due_at: str, operation_id: int | None) -> bool:
        """The change was made; its undo waits for `due_at`. The picture is no longer kept.
        False when the running entry was moved on already (by another instance that also
        waited for its change)."""
        written = await self._db.execute(
            "UPDATE schedules SET phase = 'until', due_at = ?, status = 'pending',"
            " operation_id = ?, jpeg = NULL WHERE id = ? AND status = 'running'",
            (due_at, operation_id, entry_id),
        )
        return written.rowcount == 1

    async def again(self, entry_id: int, due_at: str, failures: int, *, runs: int = 1) -> bool:
        """A recurrence's run (and its restore) ended: it waits for its next run at `due_at`,
        its rotation moved on by `runs` (0: a run missed, not made; 2: one made, and the next
        one skipped while its window was open). False when the running entry was moved on
        already (by another instance)."""
        written = await self._db.execute(
            "UPDATE schedules SET phase = 'at', due_at = ?, status = 'pending', runs = runs + ?,"
            " failures = ?, skips = 0, operation_id = NULL WHERE id = ? AND status = 'running'",
            (due_at, runs, failures, entry_id),
        )
        return written.rowcount == 1

    async def moved(self, entry_id: int, due_at: str) -> None:
        """A running recurrence makes its latest missed run (not the first one it missed)."""
        await self._db.execute(
            "UPDATE schedules SET due_at = ? WHERE id = ? AND status = 'running'",
            (due_at, entry_id),
        )

    async def skip(self, entry_id: int, run: int, due_at: str) -> bool:
        """Skip a recurrence's run number `run` (the next one, waiting for its time): it waits
        for the one after, at `due_at`; False when that run is no longer the next one."""
        written = await self._db.execute(
            "UPDATE schedules SET due_at = ?, runs = runs + 1 WHERE id = ? AND runs = ?"
            " AND status = 'pending' AND phase = 'at' AND rhythm IS NOT NULL",
            (due_at, entry_id, run),
        )
        return written.rowcount == 1

    async def skip_after_window(self, entry_id: int, run: int) -> bool:
        """Skip the start after a recurrence's open window (run number `run`, the next one):
        it is skipped when the window closes; False when that run is no longer the next one,
        or was skipped already."""
        written = await self._db.execute(
            "UPDATE schedules SET skips = 1 WHERE id = ? AND runs + 1 = ? AND skips = 0"
            " AND status = 'pending' AND phase = 'until' AND rhythm IS NOT NULL",
            (entry_id, run),
        )
        return written.rowcount == 1

    async def resume(self, entry_id: int, due_at: str) -> bool:
        """A paused recurrence waits again for its run at `due_at`, its failures forgotten,
        and its rotation past the run that paused it (as after any failed run); False when
        it is no longer paused (resumed or stopped by someone else first)."""
        written = await self._db.execute(
            "UPDATE schedules SET status = 'pending', phase = 'at', due_at = ?, failures = 0,"
            " runs = runs + 1, operation_id = NULL WHERE id = ? AND status = 'paused'",
            (due_at, entry_id),
        )
        return written.rowcount == 1

    async def finish(
        self, entry_id: int, status: ScheduleStatus, reason: str | None = None
    ) -> bool:
        """Close a running entry; False when it was closed already (by another instance)."""
        written = await self._db.execute(
            "UPDATE schedules SET status = ?, reason = ?, jpeg = NULL"
            " WHERE id = ? AND status = 'running'",
            (status, reason, entry_id),
        )
        return written.rowcount == 1

    async def _select(
        self, where: str, parameters: Parameters, *, listed: bool = False
    ) -> list[ScheduledChange]:
        columns = _LISTED if listed else "*"
        rows = await self._db.fetch_all(f"SELECT {columns} FROM schedules {where}", parameters)
        return [
            ScheduledChange(
                **{
                    **row,
                    "phase": Phase(row["phase"]),
                    "status": ScheduleStatus(row["status"]),
                    "how": how_of(row["how"]),
                }
            )
            for row in rows
        ]


def _pending(name: str | None) -> tuple[str, tuple[str, ...]]:
    if name is None:
        return "WHERE status IN ('pending', 'paused')", ()
    return "WHERE status IN ('pending', 'paused') AND name = ?", (name,)


class Timezones:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def of(self, user_id: int) -> str | None:
        row = await self._db.fetch_one("SELECT zone FROM timezones WHERE user_id = ?", (user_id,))
        return row["zone"] if row else None

    async def choose(self, user_id: int, zone: str) -> None:
        await self._db.execute(
            "INSERT INTO timezones (user_id, zone, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET zone = excluded.zone,"
            " updated_at = excluded.updated_at",
            (user_id, zone, self._db.clock.stamp()),
        )
