"""Changes to many groups at once: what was asked, and where its progress is shown."""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.domain import Actor, BulkKind, BulkRefusal, BulkStatus, NoUndo
from bot.i18n import Text, from_renderings, renderings
from bot.store.db import Database, Row


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
    status: BulkStatus
    created_at: str
    #: a requester's list: the picture the deciders saw, and who decided
    jpeg: bytes | None = None
    side: int | None = None
    decided_by: int | None = None
    decided_by_name: str | None = None
    #: a list with a time (ISO, UTC): one scheduled change per group once confirmed
    run_at: str | None = None
    until_at: str | None = None


def _refusals(text: str) -> tuple[BulkRefusal, ...]:
    return tuple(
        BulkRefusal(name, NoUndo(reason) if undo else _reason(reason))
        for name, reason, undo in json.loads(text)
    )


def _reason(kept: str | dict[str, str]) -> str:
    """A kept reason: a sentence in each language, or words kept as they are (a provider's)."""
    return from_renderings(kept) if isinstance(kept, dict) else kept


def _refusal(refusal: BulkRefusal) -> list[object]:
    """[name, reason, whether the reason is a NoUndo] for the `refused` JSON column; a
    sentence is kept in every language, for whoever reads the summary after a restart."""
    reason = refusal.reason
    if isinstance(reason, NoUndo):
        return [refusal.name, reason.value, True]
    return [refusal.name, renderings(reason) if isinstance(reason, Text) else reason, False]


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
        status=BulkStatus(row["status"]),
        created_at=row["created_at"],
        jpeg=row["jpeg"],
        side=row["side"],
        decided_by=row["decided_by"],
        decided_by_name=row["decided_by_name"],
        run_at=row["run_at"],
        until_at=row["until_at"],
    )


class Bulks:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        kind: BulkKind,
        actor: Actor,
        names: str,
        file_id: str | None,
        file_size: int | None,
        times: tuple[str | None, str | None] = (None, None),
    ) -> int:
        """A bulk change asked for, waiting for its confirmation; `times` (run_at, until_at)
        when it is to be scheduled."""
        written = await self._db.execute(
            "INSERT INTO bulks (action, actor_id, actor_name, actor_chat_id, names, file_id,"
            " file_size, created_at, run_at, until_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                kind.value,
                actor.user_id,
                actor.name,
                actor.chat_id,
                names,
                file_id,
                file_size,
                self._db.clock.stamp(),
                *times,
            ),
        )
        assert written.lastrowid is not None
        return written.lastrowid

    async def get(self, bulk_id: int) -> BulkRecord | None:
        row = await self._db.fetch_one("SELECT * FROM bulks WHERE id = ?", (bulk_id,))
        return _record(row) if row else None

    async def claim(
        self, bulk_id: int, chat_id: int | None, message_id: int | None, refused: list[BulkRefusal]
    ) -> bool:
        """Confirmed: asked -> running, shown in that message; False when it was already
        taken up (a second press). Join the transaction that writes its changes down."""
        encoded = json.dumps([_refusal(r) for r in refused])
        written = await self._db.execute(
            "UPDATE bulks SET status = 'running', chat_id = ?, message_id = ?, refused = ?"
            " WHERE id = ? AND status = 'asked'",
            (chat_id, message_id, encoded, bulk_id),
        )
        return written.rowcount == 1

    async def propose(
        self,
        bulk_id: int,
        names: str,
        jpeg: bytes | None,
        side: int | None,
        refused: list[BulkRefusal],
    ) -> bool:
        """A requester confirmed their list: asked -> proposed, for exactly these groups, with
        the picture the deciders will see; False when it was taken up already."""
        written = await self._db.execute(
            "UPDATE bulks SET status = 'proposed', names = ?, jpeg = ?, side = ?, refused = ?"
            " WHERE id = ? AND status = 'asked'",
            (names, jpeg, side, json.dumps([_refusal(r) for r in refused]), bulk_id),
        )
        return written.rowcount == 1

    async def decide(self, bulk_id: int, status: BulkStatus, decider: Actor | None) -> bool:
        """The first decision on a proposed list: proposed -> running (approved), rejected or
        expired; False when another came first. Join the transaction that writes the changes."""
        written = await self._db.execute(
            "UPDATE bulks SET status = ?, decided_by = ?, decided_by_name = ?"
            " WHERE id = ? AND status = 'proposed'",
            (
                status,
                decider.user_id if decider else None,
                decider.name if decider else None,
                bulk_id,
            ),
        )
        return written.rowcount == 1

    async def show_in(self, bulk_id: int, chat_id: int, message_id: int) -> None:
        """The message that shows an approved list's progress."""
        await self._db.execute(
            "UPDATE bulks SET chat_id = ?, message_id = ? WHERE id = ?",
            (chat_id, message_id, bulk_id),
        )

    async def add_message(self, bulk_id: int, chat_id: int, message_id: int) -> None:
        await self._db.execute(
            "INSERT OR IGNORE INTO bulk_messages (bulk_id, chat_id, message_id) VALUES (?, ?, ?)",
            (bulk_id, chat_id, message_id),
        )

    async def messages(self, bulk_id: int) -> list[tuple[int, int]]:
        rows = await self._db.fetch_all(
            "SELECT chat_id, message_id FROM bulk_messages WHERE bulk_id = ?", (bulk_id,)
        )
        return [(row["chat_id"], row["message_id"]) for row in rows]

    async def close(self, bulk_id: int) -> bool:
        """running -> done, once: whoever gets True tells the summary."""
        written = await self._db.execute(
            "UPDATE bulks SET status = 'done' WHERE id = ? AND status = 'running'", (bulk_id,)
        )
        return written.rowcount == 1

    async def proposed_before(self, cutoff: str) -> list[int]:
        """The proposed lists asked for before `cutoff` (undecided for too long)."""
        rows = await self._db.fetch_all(
            "SELECT id FROM bulks WHERE status = 'proposed' AND created_at <= ? ORDER BY id",
            (cutoff,),
        )
        return [row["id"] for row in rows]

    async def running(self) -> list[int]:
        rows = await self._db.fetch_all("SELECT id FROM bulks WHERE status = 'running'")
        return [row["id"] for row in rows]
