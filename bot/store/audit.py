"""The audit log's table. Rows are written through bot/audit.py only."""

from __future__ import annotations

from collections.abc import Collection

from bot.domain import AuditEntry, AuditOutcome
from bot.store.db import Database, Row


def _entry(row: Row) -> AuditEntry:
    return AuditEntry(**{**row, "outcome": AuditOutcome(row["outcome"])})


class AuditTable:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, entry: AuditEntry) -> int:
        written = await self._db.execute(
            "INSERT INTO audit (at, user_id, chat_id, action, target, provider, outcome,"
            " reason, url, requested_by, group_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " (SELECT id FROM groups WHERE alias = ?))",
            (
                entry.at or self._db.clock.stamp(),
                entry.user_id,
                entry.chat_id,
                entry.action,
                entry.target,
                entry.provider,
                AuditOutcome(entry.outcome).value,
                entry.reason,
                entry.url,
                entry.requested_by,
                entry.target,
            ),
        )
        assert written.lastrowid is not None
        return written.lastrowid

    async def latest(
        self, target: str | None = None, limit: int = 10, skip: int = 0
    ) -> list[AuditEntry]:
        """The newest rows first (after the `skip` newest), optionally for one target."""
        if target is None:
            rows = await self._db.fetch_all(
                "SELECT * FROM audit ORDER BY id DESC LIMIT ? OFFSET ?", (limit, skip)
            )
        else:
            rows = await self._db.fetch_all(
                "SELECT * FROM audit WHERE target = ? ORDER BY id DESC LIMIT ? OFFSET ?",
                (target, limit, skip),
            )
        return [_entry(row) for row in rows]

    async def about(
        self, group_ids: Collection[int], limit: int = 10, skip: int = 0
    ) -> list[AuditEntry]:
        """The newest rows about any of these groups first (after the `skip` newest; by id:
        what an earlier group of the same alias did is not theirs)."""
        marks = ", ".join("?" * len(group_ids))
        rows = await self._db.fetch_all(
            f"SELECT * FROM audit WHERE group_id IN ({marks}) ORDER BY id DESC LIMIT ? OFFSET ?",
            (*group_ids, limit, skip),
        )
        return [_entry(row) for row in rows]
