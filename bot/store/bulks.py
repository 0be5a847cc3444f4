"""Changes to many groups at once: what was asked, and where its progress is shown."""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.domain import Actor, BulkKind, BulkRefusal, NoUndo
from bot.store.db import Database, Row, utc_now


@dataclass(frozen=True)
class BulkRecord:
    id: int
    kind: BulkKind
    actor: Actor
    names: str
    file_id: str | None
    file_size: int | None
    chat_id: int | None
    message_id: int | None
    refused: tuple[BulkRefusal, ...]
    status: str  # asked | running | done


def _refusals(text: str) -> tuple[BulkRefusal, ...]:
    return tuple(
        BulkRefusal(name, NoUndo(reason) if undo else reason)
        for name, reason, undo in json.loads(text)
    )


def _refusal(refusal: BulkRefusal) -> list[object]:
    """[name, reason, whether the reason is a NoUndo] for the `refused` JSON column."""
    if isinstance(refusal.reason, NoUndo):
        return [refusal.name, refusal.reason.value, True]
    return [refusal.name, refusal.reason, False]


def _record(row: Row) -> BulkRecord:
    return BulkRecord(
        id=row["id"],
        kind=BulkKind(row["action"]),
        actor=Actor(row["actor_id"], row["actor_chat_id"], row["actor_name"]),
        names=row["names"],
        file_id=row["file_id"],
        file_size=row["file_size"],
        chat_id=row["chat_id"],
        message_id=row["message_id"],
        refused=_refusals(row["refused"]),
        status=row["status"],
    )


class Bulks:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self, kind: BulkKind, actor: Actor, names: str, file_id: str | None, file_size: int | None
    ) -> int:
        """A bulk change asked for, waiting for its confirmation."""
        written = await self._db.execute(
            "INSERT INTO bulks (action, actor_id, actor_name, actor_chat_id, names, file_id,"
            " file_size, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                kind.value,
                actor.user_id,
                actor.name,
                actor.chat_id,
                names,
                file_id,
                file_size,
                utc_now(),
            ),
        )
        assert written.lastrowid is not None
        return written.lastrowid

    async def get(self, bulk_id: int) -> BulkRecord | None:
        row = await self._db.fetch_one("SELECT * FROM bulks WHERE id = ?", (bulk_id,))
        return _record(row) if row else None

    async def claim(
        self, bulk_id: int, chat_id: int, message_id: int, refused: list[BulkRefusal]
    ) -> bool:
        """Confirmed: asked -> running, shown in that message; False when it was already
        taken up (a second press). Join the transaction that writes its changes down."""
        encoded = json.dumps(
            [
                [
                    r.name,
                    r.reason.value if isinstance(r.reason, NoUndo) else r.reason,
                    isinstance(r.reason, NoUndo),
                ]
                for r in refused
            ]
        )
        written = await self._db.execute(
            "UPDATE bulks SET status = 'running', chat_id = ?, message_id = ?, refused = ?"
            " WHERE id = ? AND status = 'asked'",
            (chat_id, message_id, encoded, bulk_id),
        )
        return written.rowcount == 1

    async def close(self, bulk_id: int) -> bool:
        """running -> done, once: whoever gets True tells the summary."""
        written = await self._db.execute(
            "UPDATE bulks SET status = 'done' WHERE id = ? AND status = 'running'", (bulk_id,)
        )
        return written.rowcount == 1

    async def running(self) -> list[int]:
        rows = await self._db.fetch_all("SELECT id FROM bulks WHERE status = 'running'")
        return [row["id"] for row in rows]
