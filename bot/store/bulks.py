"""Changes to many groups at once: what was asked, and where its progress is shown."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from adapters import PreparedPicture
from bot.domain import Actor, BulkKind, BulkRefusal, BulkStatus, NoUndo, PhotoSource
from bot.i18n import Text, from_renderings, renderings
from bot.store.albums import Album
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
    #: the store ids of the groups the question showed, in the order of `names` (None: asked
    #: before ids were kept)
    group_ids: tuple[int, ...] | None = None
    #: a list with `every …`: its rhythm's words; and the album's photos in the order sent of
    #: one asked before its pictures were kept prepared (bulk_pictures; empty: `file_id`'s)
    rhythm: str | None = None
    album: tuple[PhotoSource, ...] = ()

    @property
    def photos(self) -> tuple[PhotoSource, ...]:
        """The photos it puts up: its album's, else its one photo (none: a removal, an undo)."""
        if self.album or self.file_id is None:
            return self.album
        return (PhotoSource(self.file_id, self.file_size),)


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
        group_ids=tuple(int(i) for i in row["group_ids"].split(",") if i)
        if row["group_ids"] is not None
        else None,
        rhythm=row["rhythm"],
        album=tuple(
            PhotoSource(file_id, size) for file_id, size in json.loads(row["album"] or "[]")
        ),
    )


class Bulks:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._album = Album(db, "bulk_pictures", "bulk_id")

    async def add(
        self,
        kind: BulkKind,
        actor: Actor,
        names: str,
        file_id: str | None,
        file_size: int | None,
        times: tuple[str | None, str | None] = (None, None),
        group_ids: Sequence[int] = (),
        refused: Sequence[BulkRefusal] = (),
        rhythm: str | None = None,
    ) -> int:
        """A bulk change asked for, waiting for its confirmation: the groups it would change
        (`names`, and their ids in the same order) and those it leaves alone; `times`
        (run_at, until_at) when it is to be scheduled, or its `rhythm` when it recurs (its
        pictures: `keep_pictures`)."""
        written = await self._db.execute(
            "INSERT INTO bulks (action, actor_id, actor_name, actor_chat_id, names, file_id,"
            " file_size, created_at, run_at, until_at, group_ids, refused, rhythm)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                ",".join(str(i) for i in group_ids),
                json.dumps([_refusal(r) for r in refused]),
                rhythm,
            ),
        )
        assert written.lastrowid is not None
        return written.lastrowid

    async def keep_pictures(self, bulk_id: int, pictures: Sequence[PreparedPicture]) -> None:
        """A recurring list's pictures, prepared at the command, in the order of its rotation
        (join the transaction that adds the list)."""
        await self._album.keep(bulk_id, pictures)

    async def pictures(self, bulk_id: int) -> list[PreparedPicture]:
        """The pictures kept with a list's question (none: it kept none, or they were dropped)."""
        return await self._album.pictures(bulk_id)

    async def drop_pictures(self, bulk_id: int) -> None:
        """Its question was answered (it is no longer asked): what it became keeps its own
        copy, or nothing."""
        await self._db.execute(
            "DELETE FROM bulk_pictures WHERE bulk_id = ?"
            " AND bulk_id IN (SELECT id FROM bulks WHERE status <> 'asked')",
            (bulk_id,),
        )

    async def kept(self, bulk_id: int, actor_id: int) -> None:
        """Its asker answered Keep them: asked -> kept, its pictures dropped."""
        async with self._db.transaction():
            await self._db.execute(
                "UPDATE bulks SET status = 'kept'"
                " WHERE id = ? AND actor_id = ? AND status = 'asked'",
                (bulk_id, actor_id),
            )
            await self.drop_pictures(bulk_id)

    async def expire_asked(self, before: str) -> None:
        """Recurring lists asked before `before` and never answered expire, and their kept
        pictures go; so do those of any question a crash left answered with its pictures."""
        async with self._db.transaction():
            await self._db.execute(
                "UPDATE bulks SET status = 'expired'"
                " WHERE status = 'asked' AND rhythm IS NOT NULL AND created_at < ?",
                (before,),
            )
            await self._db.execute(
                "DELETE FROM bulk_pictures WHERE bulk_id IN"
                " (SELECT id FROM bulks WHERE status <> 'asked')"
            )

    async def get(self, bulk_id: int) -> BulkRecord | None:
        row = await self._db.fetch_one("SELECT * FROM bulks WHERE id = ?", (bulk_id,))
        return _record(row) if row else None

    async def claim(
        self,
        bulk_id: int,
        chat_id: int | None,
        message_id: int | None,
        refused: list[BulkRefusal],
        status: str = "running",
    ) -> bool:
        """Confirmed: asked -> running (or done: a list with a time, whose changes are
        scheduled), shown in that message; False when it was already taken up (a second
        press). Join the transaction that writes its changes down."""
        encoded = json.dumps([_refusal(r) for r in refused])
        written = await self._db.execute(
            "UPDATE bulks SET status = ?, chat_id = ?, message_id = ?, refused = ?"
            " WHERE id = ? AND status = 'asked'",
            (status, chat_id, message_id, encoded, bulk_id),
        )
        return written.rowcount == 1

    async def moved(self, bulk_id: int) -> bool:
        """A requester confirmed their list, which is now a proposal (bot/proposals.py):
        asked -> moved; False when it was taken up already."""
        written = await self._db.execute(
            "UPDATE bulks SET status = 'moved' WHERE id = ? AND status = 'asked'", (bulk_id,)
        )
        return written.rowcount == 1

    async def add_approved(
        self,
        kind: BulkKind,
        requester: Actor,
        names: str,
        decider: Actor,
        refused: list[BulkRefusal],
    ) -> int:
        """An approved list proposal, running as `decider`'s bulk change for `requester`
        (join the transaction that closes the proposal and writes its changes)."""
        written = await self._db.execute(
            "INSERT INTO bulks (action, actor_id, actor_name, actor_chat_id, names, status,"
            " refused, created_at, decided_by, decided_by_name)"
            " VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?, ?)",
            (
                kind.value,
                requester.user_id,
                requester.name,
                requester.chat_id,
                names,
                json.dumps([_refusal(r) for r in refused]),
                self._db.clock.stamp(),
                decider.user_id,
                decider.name,
            ),
        )
        assert written.lastrowid is not None
        return written.lastrowid

    async def show_in(self, bulk_id: int, chat_id: int, message_id: int) -> None:
        """The message that shows an approved list's progress."""
        await self._db.execute(
            "UPDATE bulks SET chat_id = ?, message_id = ? WHERE id = ?",
            (chat_id, message_id, bulk_id),
        )

    async def ending(self, bulk_id: int) -> bool:
        """running -> ending, once: whoever gets True tells the summary, then closes it."""
        written = await self._db.execute(
            "UPDATE bulks SET status = 'ending' WHERE id = ? AND status = 'running'", (bulk_id,)
        )
        return written.rowcount == 1

    async def close(self, bulk_id: int) -> None:
        """ending -> done: its summary was shown."""
        await self._db.execute(
            "UPDATE bulks SET status = 'done' WHERE id = ? AND status = 'ending'", (bulk_id,)
        )

    async def ending_ones(self) -> list[int]:
        """Bulks whose summary a crash cut off."""
        rows = await self._db.fetch_all("SELECT id FROM bulks WHERE status = 'ending'")
        return [row["id"] for row in rows]

    async def proposed(self) -> list[BulkRecord]:
        """Requesters' lists proposed before lists were proposals (migration 11)."""
        rows = await self._db.fetch_all("SELECT * FROM bulks WHERE status = 'proposed'")
        return [_record(row) for row in rows]

    async def running(self) -> list[int]:
        rows = await self._db.fetch_all("SELECT id FROM bulks WHERE status = 'running'")
        return [row["id"] for row in rows]
