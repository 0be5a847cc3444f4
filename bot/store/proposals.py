"""Requesters' proposals, and the messages that carry their buttons."""

from __future__ import annotations

from collections.abc import Sequence

from adapters import PreparedPicture
from bot.domain import Group, How, Proposal, ProposalStatus, ProposedGroup, how_of
from bot.store.albums import Album
from bot.store.db import Database, Row


def _proposal(row: Row, groups: tuple[ProposedGroup, ...]) -> Proposal:
    return Proposal(
        **{
            **row,
            "status": ProposalStatus(row["status"]),
            "how": how_of(row["how"]),
            "groups": groups,
        }
    )


class Proposals:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._album = Album(db, "proposal_pictures", "proposal_id")

    async def add(
        self,
        *,
        action: str,
        groups: Sequence[Group],
        requested_by: int,
        requester_name: str,
        chat_id: int,
        jpeg: bytes | None,
        side: int | None,
        created_at: str,
        expires_at: str,
        request_key: str | None = None,
        run_at: str | None = None,
        until_at: str | None = None,
        how: How | None = None,
        listed: bool = False,
        rhythm: tuple[str, str] | None = None,
    ) -> Proposal | None:
        """Store a pending proposal for `groups`, its copies not sent yet; None when
        `request_key` already made one."""
        first = groups[0]
        async with self._db.transaction():
            written = await self._db.execute(
                "INSERT INTO proposals (action, group_id, alias, title, requested_by,"
                " requester_name, chat_id, jpeg, side, created_at, expires_at, request_key,"
                " run_at, until_at, how, listed, rhythm, zone, sent)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)"
                " ON CONFLICT (request_key) DO NOTHING",
                (
                    action,
                    first.id,
                    first.alias,
                    first.title,
                    requested_by,
                    requester_name,
                    chat_id,
                    jpeg,
                    side,
                    created_at,
                    expires_at,
                    request_key,
                    run_at,
                    until_at,
                    how,
                    int(listed),
                    rhythm[0] if rhythm else None,
                    rhythm[1] if rhythm else None,
                ),
            )
            if not written.rowcount or written.lastrowid is None:
                return None
            proposal_id = written.lastrowid
            await self._db.execute_many(
                "INSERT INTO proposal_groups (proposal_id, position, group_id, alias, title)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (proposal_id, position, group.id, group.alias, group.title)
                    for position, group in enumerate(groups)
                ],
            )
            return await self.get(proposal_id)

    async def get(self, proposal_id: int) -> Proposal | None:
        row = await self._db.fetch_one("SELECT * FROM proposals WHERE id = ?", (proposal_id,))
        if row is None:
            return None
        groups = await self._db.fetch_all(
            "SELECT group_id, alias, title FROM proposal_groups WHERE proposal_id = ?"
            " ORDER BY position",
            (proposal_id,),
        )
        return _proposal(row, tuple(ProposedGroup(**group) for group in groups))

    async def sent(self, proposal_id: int) -> None:
        """Every copy went out (or none could): a restart sends nothing more."""
        await self._db.execute("UPDATE proposals SET sent = 1 WHERE id = ?", (proposal_id,))

    async def unsent(self) -> list[int]:
        """Pending proposals whose copies a crash cut off while they went out."""
        rows = await self._db.fetch_all(
            "SELECT id FROM proposals WHERE status = 'pending' AND sent = 0 ORDER BY id"
        )
        return [row["id"] for row in rows]

    async def close(
        self,
        proposal_id: int,
        status: ProposalStatus,
        at: str,
        decided_by: int | None = None,
        decided_by_name: str | None = None,
    ) -> Proposal | None:
        """Move a pending proposal to `status`; None when it was no longer pending (the first
        decision wins, even when two presses arrive at once)."""
        async with self._db.transaction():
            written = await self._db.execute(
                "UPDATE proposals SET status = ?, decided_at = ?, decided_by = ?,"
                " decided_by_name = ? WHERE id = ? AND status = 'pending'",
                (status.value, at, decided_by, decided_by_name, proposal_id),
            )
            if not written.rowcount:
                return None
            # decided: an approval read its rotation before (bot/approvals.py)
            await self._db.execute(
                "DELETE FROM proposal_pictures WHERE proposal_id = ?", (proposal_id,)
            )
            return await self.get(proposal_id)

    async def keep_pictures(self, proposal_id: int, pictures: Sequence[PreparedPicture]) -> None:
        """A proposed rotation's pictures, in its order (the first is the proposal's own)."""
        await self._album.keep(proposal_id, pictures)

    async def pictures(self, proposal_id: int) -> list[PreparedPicture]:
        """A proposed rotation's pictures (none: it proposes one picture at most)."""
        return await self._album.pictures(proposal_id)

    async def picture_count(self, proposal_id: int) -> int:
        return await self._album.count(proposal_id)

    async def shown(self, proposal_id: int, chat_id: int, message_id: int, status: str) -> None:
        """A copy's buttons now show `status`."""
        await self._db.execute(
            "UPDATE proposal_messages SET shown = ?"
            " WHERE proposal_id = ? AND chat_id = ? AND message_id = ?",
            (status, proposal_id, chat_id, message_id),
        )

    async def not_shown(self) -> list[int]:
        """Proposals with a copy whose buttons do not show its status yet (a crash came
        between the decision and the edits, or its buttons are of an older version)."""
        rows = await self._db.fetch_all(
            "SELECT DISTINCT p.id FROM proposals AS p JOIN proposal_messages AS m"
            " ON m.proposal_id = p.id WHERE m.shown <> p.status ORDER BY p.id"
        )
        return [row["id"] for row in rows]

    async def due(self, now: str) -> list[int]:
        """Pending proposals whose time is up."""
        rows = await self._db.fetch_all(
            "SELECT id FROM proposals WHERE status = 'pending' AND expires_at <= ? ORDER BY id",
            (now,),
        )
        return [row["id"] for row in rows]

    async def add_message(self, proposal_id: int, chat_id: int, message_id: int) -> None:
        await self._db.execute(
            "INSERT INTO proposal_messages (proposal_id, chat_id, message_id) VALUES (?, ?, ?)",
            (proposal_id, chat_id, message_id),
        )

    async def messages(self, proposal_id: int, *, stale_for: bool = False) -> list[tuple[int, int]]:
        """(chat_id, message_id) of every message that carries this proposal's buttons
        (`stale_for`: of those whose buttons do not show its status yet)."""
        stale = " AND shown <> (SELECT status FROM proposals WHERE id = ?)" if stale_for else ""
        rows = await self._db.fetch_all(
            "SELECT chat_id, message_id FROM proposal_messages WHERE proposal_id = ?"
            f"{stale} ORDER BY chat_id, message_id",
            (proposal_id, proposal_id) if stale_for else (proposal_id,),
        )
        return [(row["chat_id"], row["message_id"]) for row in rows]

    async def adopt_list(self, bulk_id: int, proposal: Proposal | None) -> None:
        """A list proposed before lists were proposals (migration 11): its copies now belong
        to `proposal` (their buttons are shown anew), and the old record is closed."""
        if proposal is not None:
            await self._db.execute(
                "INSERT INTO proposal_messages (proposal_id, chat_id, message_id, shown)"
                " SELECT ?, chat_id, message_id, 'legacy' FROM bulk_messages WHERE bulk_id = ?",
                (proposal.id, bulk_id),
            )
            await self.sent(proposal.id)
        await self._db.execute(
            "UPDATE bulks SET status = 'moved' WHERE id = ? AND status = 'proposed'",
            (bulk_id,),
        )
