"""Accepted picture changes, written down before they run and closed when they end.

Several instances may share the store: each open change is claimed by the instance that runs
it (`claimed_by`) until its lease runs out (`lease_until`, renewed while it runs); another
instance takes over only a change whose lease ran out, and only the instance holding the claim
can close it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from bot.domain import Operation, OperationStatus, how_of
from bot.store.db import Database, Parameters

_FIELDS = [field.name for field in fields(Operation) if field.name != "id"]
_COLUMNS = {field.name for field in fields(Operation)} - {"status", "how"}
_OPEN = "status IN ('pending', 'running')"
_WITHOUT_PICTURE = ", ".join([*sorted(_COLUMNS - {"jpeg"}), "status", "how"])


@dataclass(frozen=True)
class Claim:
    """Who runs a change (an instance's name), and until when at least (a store timestamp)."""

    owner: str
    until: str


class Operations:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, operation: Operation, claim: Claim | None = None) -> int | None:
        """Write an accepted change down (claimed by `claim`'s instance, when given); its id, or
        None when its request key already has one (a second press or a redelivered update:
        checked and recorded in one step)."""
        now = self._db.clock.stamp()
        values = {
            **{name: getattr(operation, name) for name in _FIELDS},
            "status": OperationStatus(operation.status).value,
            "created_at": operation.created_at or now,
            "updated_at": now,
            "claimed_by": claim.owner if claim else None,
            "lease_until": claim.until if claim else None,
        }
        names = [*_FIELDS, "claimed_by", "lease_until"]
        written = await self._db.execute(
            f"INSERT INTO operations ({', '.join(names)})"
            f" VALUES ({', '.join('?' * len(names))})"
            " ON CONFLICT (request_key) DO NOTHING",
            [values[name] for name in names],
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
        return await self._select(f"WHERE {_OPEN}", ())

    async def claim_open(
        self, claim: Claim, *, limit: int, now: str | None = None
    ) -> list[Operation]:
        """Claim up to `limit` open changes, oldest first, whose lease ran out before `now`
        (or that nobody claimed); `now=None` claims every open change, whoever held it (one
        instance alone on its store, at start-up). Instances claiming at once get different
        changes: PostgreSQL skips the rows another transaction locked; SQLite has one writer."""
        expired = "" if now is None else " AND (lease_until IS NULL OR lease_until < ?)"
        after = [] if now is None else [now]
        if now is not None and not await self._db.fetch_one(
            f"SELECT 1 AS one FROM operations WHERE {_OPEN}{expired} LIMIT 1", after
        ):  # the usual answer, every few seconds on every instance: one statement, no locks
            return []
        async with self._db.transaction():
            rows = await self._db.fetch_all(
                f"SELECT id FROM operations WHERE {_OPEN}{expired} ORDER BY id LIMIT ?"
                f"{self._db.skip_locked}",
                [*after, limit],
            )
            ids = [row["id"] for row in rows]
            if not ids:
                return []
            marks = ", ".join("?" * len(ids))
            # checked again as it is written: on SQLite another connection may have claimed
            # some since the SELECT (its write lock is taken by the UPDATE, not the SELECT)
            await self._db.execute(
                "UPDATE operations SET claimed_by = ?, lease_until = ?"
                f" WHERE id IN ({marks}) AND {_OPEN}{expired}",
                [claim.owner, claim.until, *ids, *after],
            )
            return await self._select(
                f"WHERE id IN ({marks}) AND claimed_by = ? AND lease_until = ?",
                [*ids, claim.owner, claim.until],
            )

    async def renew(self, claim: Claim) -> int:
        """Extend the lease of every open change `claim`'s instance holds; how many."""
        written = await self._db.execute(
            f"UPDATE operations SET lease_until = ? WHERE claimed_by = ? AND {_OPEN}",
            (claim.until, claim.owner),
        )
        return written.rowcount

    async def release(self, owner: str, ids: list[int] | None = None) -> None:
        """Let another instance take over at once the open changes `owner` holds (it stops):
        all of them, or those of `ids`."""
        only = f" AND id IN ({', '.join('?' * len(ids))})" if ids is not None else ""
        if ids == []:
            return
        await self._db.execute(
            f"UPDATE operations SET lease_until = NULL WHERE claimed_by = ? AND {_OPEN}{only}",
            (owner, *(ids or [])),
        )

    async def newer_under_way(
        self, operation: int, provider: str, target: str, group_id: int | None
    ) -> str | None:
        """Who asked for the newest change of the same target written down after `operation`
        (ids grow in the order changes are written down) that is done or at a provider; None
        when there is none. The target is the group (by id: an alias may be reused), or else
        the account."""
        same = "group_id = ?" if group_id is not None else "group_id IS NULL AND target = ?"
        row = await self._db.fetch_one(
            f"SELECT actor_name FROM operations WHERE provider = ? AND {same} AND id > ?"
            " AND status IN ('done', 'running') ORDER BY id DESC LIMIT 1",
            (provider, group_id if group_id is not None else target, operation),
        )
        return row["actor_name"] if row else None

    async def of_bulk(self, bulk_id: int) -> list[Operation]:
        """The changes of one bulk change, in the order they were written down, without their
        pictures' bytes: its progress reads a thousand of them every 2 seconds, each holding
        the list's picture (50 MiB at a time, read for nothing)."""
        return await self._select("WHERE bulk_id = ?", (bulk_id,), columns=_WITHOUT_PICTURE)

    async def set_picture(self, operation_id: int, jpeg: bytes, side: int) -> None:
        """The downloaded and prepared picture of a change written down before it."""
        await self._db.execute(
            "UPDATE operations SET jpeg = ?, side = ?, updated_at = ? WHERE id = ?",
            (jpeg, side, self._db.clock.stamp(), operation_id),
        )

    async def set_reply(self, operation_id: int, chat_id: int, message_id: int) -> None:
        """The answer message of a change that is still open (sent when it took longer than
        a moment): a change resumed after a restart edits it."""
        await self._db.execute(
            "UPDATE operations SET reply_chat_id = ?, reply_message_id = ?, updated_at = ?"
            f" WHERE id = ? AND {_OPEN}",
            (chat_id, message_id, self._db.clock.stamp(), operation_id),
        )

    async def await_confirmation(self, operation_id: int, request_id: str, until: str) -> None:
        """The provider accepted the change; it stays open until `request_id` is confirmed or
        `until` passes (an ISO time), and is never sent again."""
        await self._db.execute(
            "UPDATE operations SET awaiting = ?, awaiting_until = ?, updated_at = ?"
            f" WHERE id = ? AND {_OPEN}",
            (request_id, until, self._db.clock.stamp(), operation_id),
        )

    async def start_attempt(self, operation_id: int) -> None:
        await self._db.execute(
            "UPDATE operations SET status = 'running', attempts = attempts + 1,"
            " updated_at = ? WHERE id = ?",
            (self._db.clock.stamp(), operation_id),
        )

    async def finish(
        self,
        operation_id: int,
        status: OperationStatus,
        *,
        owner: str,
        url: str | None = None,
        reason: str | None = None,
    ) -> bool:
        """Close a change `owner` holds the claim of; its picture is dropped. False when it
        does not (another instance took it over, or closed it): then nothing changed, and the
        caller writes no audit row. Callers write the audit row in the same transaction
        (`Store.transaction`)."""
        written = await self._db.execute(
            "UPDATE operations SET status = ?, url = ?, reason = ?, jpeg = NULL,"
            f" updated_at = ? WHERE id = ? AND claimed_by = ? AND {_OPEN}",
            (status.value, url, reason, self._db.clock.stamp(), operation_id, owner),
        )
        return written.rowcount == 1

    async def _select(
        self, where: str, parameters: Parameters, columns: str = "*"
    ) -> list[Operation]:
        rows = await self._db.fetch_all(
            f"SELECT {columns} FROM operations {where} ORDER BY id", parameters
        )
        return [
            Operation(
                **{name: value for name, value in row.items() if name in _COLUMNS},
                status=OperationStatus(row["status"]),
                how=how_of(row["how"]),
            )
            for row in rows
        ]
