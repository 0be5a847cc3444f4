"""Requesters' proposals, and the messages that carry their buttons."""

from __future__ import annotations

from bot.domain import Group, How, Proposal, ProposalStatus, how_of
from bot.store.db import Database, Row


def _proposal(row: Row | None) -> Proposal | None:
    if row is None:
        return None
    return Proposal(**{**row, "status": ProposalStatus(row["status"]), "how": how_of(row["how"])})


class Proposals:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        *,
        action: str,
        group: Group,
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
    ) -> Proposal | None:
        """Store a pending proposal; None when `request_key` already made one."""
        async with self._db.transaction():
            written = await self._db.execute(
                "INSERT INTO proposals (action, group_id, alias, title, requested_by,"
                " requester_name, chat_id, jpeg, side, created_at, expires_at, request_key,"
                " run_at, until_at, how)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (request_key) DO NOTHING",
                (
                    action,
                    group.id,
                    group.alias,
                    group.title,
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
                ),
            )
            if not written.rowcount or written.lastrowid is None:
                return None
            return await self.get(written.lastrowid)

    async def get(self, proposal_id: int) -> Proposal | None:
        return _proposal(
            await self._db.fetch_one("SELECT * FROM proposals WHERE id = ?", (proposal_id,))
        )

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
            return await self.get(proposal_id) if written.rowcount else None

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

    async def messages(self, proposal_id: int) -> list[tuple[int, int]]:
        """(chat_id, message_id) of every message that carries this proposal's buttons."""
        rows = await self._db.fetch_all(
            "SELECT chat_id, message_id FROM proposal_messages WHERE proposal_id = ?"
            " ORDER BY chat_id, message_id",
            (proposal_id,),
        )
        return [(row["chat_id"], row["message_id"]) for row in rows]
