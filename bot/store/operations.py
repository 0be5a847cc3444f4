"""Accepted picture changes, written down before they run and closed when they end."""

from __future__ import annotations

from dataclasses import fields

from bot.domain import Operation, OperationStatus
from bot.store.db import Database, Parameters, utc_now

_FIELDS = [field.name for field in fields(Operation) if field.name != "id"]


class Operations:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, operation: Operation) -> int | None:
        """Write an accepted change down; its id, or None when its request key already has
        one (a second press or a redelivered update: checked and recorded in one step)."""
        now = utc_now()
        values = {
            **{name: getattr(operation, name) for name in _FIELDS},
            "status": OperationStatus(operation.status).value,
            "created_at": operation.created_at or now,
            "updated_at": now,
        }
        written = await self._db.execute(
            f"INSERT INTO operations ({', '.join(_FIELDS)})"
            f" VALUES ({', '.join('?' * len(_FIELDS))})"
            " ON CONFLICT (request_key) DO NOTHING",
            [values[name] for name in _FIELDS],
        )
        return written.lastrowid if written.rowcount else None

    async def get(self, operation_id: int) -> Operation | None:
        found = await self._select("WHERE id = ?", (operation_id,))
        return found[0] if found else None

    async def for_request(self, request_key: str) -> Operation | None:
        found = await self._select("WHERE request_key = ?", (request_key,))
        return found[0] if found else None

    async def open(self) -> list[Operation]:
        """Changes not finished (pending, or running when the bot stopped), oldest first."""
        return await self._select("WHERE status IN ('pending', 'running')", ())

    async def set_picture(self, operation_id: int, jpeg: bytes, side: int) -> None:
        """The downloaded and prepared picture of a change written down before it."""
        await self._db.execute(
            "UPDATE operations SET jpeg = ?, side = ?, updated_at = ? WHERE id = ?",
            (jpeg, side, utc_now(), operation_id),
        )

    async def start_attempt(self, operation_id: int) -> None:
        await self._db.execute(
            "UPDATE operations SET status = 'running', attempts = attempts + 1,"
            " updated_at = ? WHERE id = ?",
            (utc_now(), operation_id),
        )

    async def finish(
        self,
        operation_id: int,
        status: OperationStatus,
        *,
        url: str | None = None,
        reason: str | None = None,
    ) -> None:
        """Close a change; its picture is dropped. Callers write its audit row in the same
        transaction (`Store.transaction`)."""
        await self._db.execute(
            "UPDATE operations SET status = ?, url = ?, reason = ?, jpeg = NULL,"
            " updated_at = ? WHERE id = ?",
            (status.value, url, reason, utc_now(), operation_id),
        )

    async def _select(self, where: str, parameters: Parameters) -> list[Operation]:
        rows = await self._db.fetch_all(f"SELECT * FROM operations {where} ORDER BY id", parameters)
        return [Operation(**{**row, "status": OperationStatus(row["status"])}) for row in rows]
