"""The SQLite store (aiosqlite): the only module that speaks SQL.

The schema is versioned with `PRAGMA user_version` and migrates itself on open. WAL mode and a
busy timeout let the bot and the shell commands (`python -m bot grant ...`) write at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import AsyncIterator, Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from bot.permissions import Grant, Role

MIGRATIONS: list[str] = [
    # 1: the admin map, the groups, chat links and the audit log
    """
    CREATE TABLE groups (
        alias    TEXT PRIMARY KEY,
        provider TEXT NOT NULL,
        chat_id  TEXT NOT NULL,
        title    TEXT NOT NULL,
        source   TEXT NOT NULL DEFAULT 'config'
    );
    CREATE TABLE grants (
        user_id    INTEGER NOT NULL,
        scope      TEXT NOT NULL,
        role       TEXT NOT NULL,
        granted_by INTEGER,
        granted_at TEXT NOT NULL,
        PRIMARY KEY (user_id, scope)
    );
    CREATE TABLE links (
        telegram_chat_id INTEGER PRIMARY KEY,
        alias            TEXT NOT NULL,
        source           TEXT NOT NULL DEFAULT 'config'
    );
    CREATE TABLE audit (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        at       TEXT NOT NULL,
        user_id  INTEGER,
        chat_id  INTEGER,
        action   TEXT NOT NULL,
        target   TEXT,
        provider TEXT,
        outcome  TEXT NOT NULL,
        reason   TEXT,
        url      TEXT
    );
    CREATE INDEX audit_by_target ON audit (target, id);
    """,
    # 2: running the map from chat: notification opt-outs, requesters' proposals and the
    # messages that carry their buttons, and on whose behalf an approved change was made
    """
    ALTER TABLE audit ADD COLUMN requested_by INTEGER;
    CREATE TABLE notify_optouts (
        user_id INTEGER PRIMARY KEY,
        at      TEXT NOT NULL
    );
    CREATE TABLE proposals (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        action          TEXT NOT NULL,
        alias           TEXT NOT NULL,
        title           TEXT NOT NULL,
        requested_by    INTEGER NOT NULL,
        requester_name  TEXT NOT NULL,
        chat_id         INTEGER NOT NULL,
        jpeg            BLOB,
        side            INTEGER,
        status          TEXT NOT NULL DEFAULT 'pending',
        created_at      TEXT NOT NULL,
        expires_at      TEXT NOT NULL,
        decided_by      INTEGER,
        decided_by_name TEXT,
        decided_at      TEXT
    );
    CREATE INDEX proposals_due ON proposals (status, expires_at);
    CREATE TABLE proposal_messages (
        proposal_id INTEGER NOT NULL REFERENCES proposals (id),
        chat_id     INTEGER NOT NULL,
        message_id  INTEGER NOT NULL,
        PRIMARY KEY (proposal_id, chat_id, message_id)
    );
    """,
    # 3: durable changes: each accepted change is written down, with its picture, before it runs
    """
    CREATE TABLE operations (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        action           TEXT NOT NULL,
        target           TEXT NOT NULL,
        provider         TEXT NOT NULL,
        actor_id         INTEGER NOT NULL,
        actor_name       TEXT NOT NULL,
        actor_chat_id    INTEGER NOT NULL,
        requester_id     INTEGER,
        requester_name   TEXT,
        requester_chat_id INTEGER,
        request_key      TEXT UNIQUE,
        reply_chat_id    INTEGER,
        reply_message_id INTEGER,
        jpeg             BLOB,
        side             INTEGER,
        status           TEXT NOT NULL DEFAULT 'pending',
        attempts         INTEGER NOT NULL DEFAULT 0,
        url              TEXT,
        reason           TEXT,
        created_at       TEXT NOT NULL,
        updated_at       TEXT NOT NULL
    );
    CREATE INDEX operations_open ON operations (status) WHERE status IN ('pending', 'running');
    """,
]


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Group:
    alias: str
    provider: str
    chat_id: str
    title: str


@dataclass(frozen=True)
class Link:
    telegram_chat_id: int
    alias: str
    source: str  # config | chat


@dataclass(frozen=True)
class AuditEntry:
    user_id: int | None
    chat_id: int | None
    action: str
    target: str | None
    outcome: str  # done | failed | refused | proposed | rejected | expired
    provider: str | None = None
    reason: str | None = None
    url: str | None = None
    at: str = ""
    id: int | None = None
    #: who proposed a change that `user_id` approved (or rejected)
    requested_by: int | None = None


class ProposalStatus(str, enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Proposal:
    """A requester's change waiting for (or past) an admin's decision."""

    id: int
    action: str
    alias: str
    title: str  # the group's title when proposed
    requested_by: int
    requester_name: str
    chat_id: int  # where the requester asked, and hears the outcome
    jpeg: bytes | None  # the prepared picture; None for a removal
    side: int | None
    status: ProposalStatus
    created_at: str
    expires_at: str
    decided_by: int | None = None
    decided_by_name: str | None = None
    decided_at: str | None = None


class OperationStatus(str, enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SUPERSEDED = "superseded"


OPEN_STATUSES = (OperationStatus.PENDING, OperationStatus.RUNNING)


@dataclass(frozen=True)
class Operation:
    """One accepted picture change, written down before it runs."""

    action: str
    target: str  # a group alias, or account:<provider>
    provider: str
    actor_id: int
    actor_name: str
    actor_chat_id: int
    requester_id: int | None = None
    requester_name: str | None = None
    requester_chat_id: int | None = None
    #: what asked for it ("<chat>:<message>"): a redelivered update finds it and does nothing
    request_key: str | None = None
    #: the bot's message that shows the change's progress and final answer
    reply_chat_id: int | None = None
    reply_message_id: int | None = None
    jpeg: bytes | None = None
    side: int | None = None
    status: OperationStatus = OperationStatus.PENDING
    attempts: int = 0
    url: str | None = None
    reason: str | None = None
    created_at: str = ""
    updated_at: str = ""
    id: int | None = None


_OPERATION_FIELDS = [name for name in Operation.__dataclass_fields__ if name != "id"]


class Store:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._db = connection
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str | Path) -> Store:
        """Open (creating folders and schema as needed) and migrate the database."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connection = await aiosqlite.connect(path)
        connection.row_factory = aiosqlite.Row
        await connection.execute("PRAGMA busy_timeout = 5000")
        await connection.execute("PRAGMA journal_mode = WAL")
        store = cls(connection)
        await store._migrate()
        return store

    async def close(self) -> None:
        await self._db.close()

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[None]:
        """One write transaction at a time. The connection is shared by every coroutine, so
        without the lock one's commit could commit another's half-done transaction."""
        async with self._write_lock:
            try:
                yield
            except BaseException:
                await self._db.rollback()
                raise
            await self._db.commit()

    async def _migrate(self) -> None:
        async with self._db.execute("PRAGMA user_version") as cursor:
            (version,) = await cursor.fetchone()
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            await self._db.executescript(
                f"BEGIN IMMEDIATE; {script}; PRAGMA user_version = {number}; COMMIT;"
            )

    async def schema_version(self) -> int:
        async with self._db.execute("PRAGMA user_version") as cursor:
            (version,) = await cursor.fetchone()
        return version

    async def ping(self) -> bool:
        async with self._db.execute("SELECT 1") as cursor:
            return (await cursor.fetchone()) is not None

    # groups and links -------------------------------------------------------------------------

    async def sync_config(self, groups: Iterable[Group], links: dict[int, str]) -> None:
        """Make the config's groups and links the store's config-sourced rows."""
        async with self._writing():
            groups = list(groups)
            await self._db.execute("DELETE FROM groups WHERE source = 'config'")
            await self._db.executemany(
                "INSERT INTO groups (alias, provider, chat_id, title, source)"
                " VALUES (?, ?, ?, ?, 'config')"
                " ON CONFLICT (alias) DO UPDATE SET provider = excluded.provider,"
                " chat_id = excluded.chat_id, title = excluded.title, source = 'config'",
                [(g.alias, g.provider, g.chat_id, g.title) for g in groups],
            )
            await self._db.execute("DELETE FROM links WHERE source = 'config'")
            await self._db.executemany(
                "INSERT INTO links (telegram_chat_id, alias, source) VALUES (?, ?, 'config')"
                " ON CONFLICT (telegram_chat_id) DO UPDATE SET alias = excluded.alias,"
                " source = 'config'",
                list(links.items()),
            )

    async def group(self, alias: str) -> Group | None:
        async with self._db.execute(
            "SELECT alias, provider, chat_id, title FROM groups WHERE alias = ?", (alias,)
        ) as cursor:
            row = await cursor.fetchone()
        return Group(**row) if row else None

    async def groups(self) -> list[Group]:
        async with self._db.execute(
            "SELECT alias, provider, chat_id, title FROM groups ORDER BY alias"
        ) as cursor:
            return [Group(**row) async for row in cursor]

    async def group_source(self, alias: str) -> str | None:
        """'config' or 'chat' (added with /addgroup); None when there is no such group."""
        async with self._db.execute(
            "SELECT source FROM groups WHERE alias = ?", (alias,)
        ) as cursor:
            row = await cursor.fetchone()
        return row["source"] if row else None

    async def group_with_chat_id(self, chat_id: str) -> Group | None:
        async with self._db.execute(
            "SELECT alias, provider, chat_id, title FROM groups WHERE chat_id = ?", (chat_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return Group(**row) if row else None

    async def add_group(self, group: Group) -> bool:
        """Add a chat-sourced group; False (and nothing changed) when the alias is taken."""
        async with self._writing():
            cursor = await self._db.execute(
                "INSERT INTO groups (alias, provider, chat_id, title, source)"
                " VALUES (?, ?, ?, ?, 'chat') ON CONFLICT (alias) DO NOTHING",
                (group.alias, group.provider, group.chat_id, group.title),
            )
        return cursor.rowcount > 0

    async def remove_group(self, alias: str) -> bool:
        """Remove a chat-sourced group with its grants and links, so that none of them comes
        back to life if the alias is added again; False when there is no such chat group."""
        async with self._writing():
            cursor = await self._db.execute(
                "DELETE FROM groups WHERE alias = ? AND source = 'chat'", (alias,)
            )
            removed = cursor.rowcount > 0
            if removed:
                await self._db.execute("DELETE FROM grants WHERE scope = ?", (alias,))
                await self._db.execute("DELETE FROM links WHERE alias = ?", (alias,))
        return removed

    async def linked_alias(self, telegram_chat_id: int) -> str | None:
        link = await self.link_of(telegram_chat_id)
        return link.alias if link else None

    async def link_of(self, telegram_chat_id: int) -> Link | None:
        async with self._db.execute(
            "SELECT telegram_chat_id, alias, source FROM links WHERE telegram_chat_id = ?",
            (telegram_chat_id,),
        ) as cursor:
            row = await cursor.fetchone()
        return Link(**row) if row else None

    async def set_link(self, telegram_chat_id: int, alias: str) -> None:
        async with self._writing():
            await self._db.execute(
                "INSERT INTO links (telegram_chat_id, alias, source) VALUES (?, ?, 'chat')"
                " ON CONFLICT (telegram_chat_id) DO UPDATE SET alias = excluded.alias,"
                " source = 'chat'",
                (telegram_chat_id, alias),
            )

    async def remove_link(self, telegram_chat_id: int) -> bool:
        async with self._writing():
            cursor = await self._db.execute(
                "DELETE FROM links WHERE telegram_chat_id = ?", (telegram_chat_id,)
            )
        return cursor.rowcount > 0

    # grants -----------------------------------------------------------------------------------

    async def grant(self, user_id: int, scope: str, role: Role, granted_by: int | None) -> None:
        async with self._writing():
            await self._db.execute(
                "INSERT INTO grants (user_id, scope, role, granted_by, granted_at)"
                " VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (user_id, scope) DO UPDATE SET role = excluded.role,"
                " granted_by = excluded.granted_by, granted_at = excluded.granted_at",
                (user_id, scope, role.value, granted_by, utc_now()),
            )

    async def revoke(self, user_id: int, scope: str) -> bool:
        async with self._writing():
            cursor = await self._db.execute(
                "DELETE FROM grants WHERE user_id = ? AND scope = ?", (user_id, scope)
            )
        return cursor.rowcount > 0

    async def grants_of(self, user_id: int) -> list[Grant]:
        return await self._grants("WHERE user_id = ?", (user_id,))

    async def all_grants(self) -> list[Grant]:
        return await self._grants("", ())

    async def grants_covering(self, alias: str) -> list[Grant]:
        """Grants whose scope includes this group (its own alias, or `*`)."""
        return await self._grants("WHERE scope IN (?, '*')", (alias,))

    async def _grants(self, where: str, parameters: tuple) -> list[Grant]:
        async with self._db.execute(
            "SELECT user_id, scope, role, granted_by, granted_at FROM grants "
            f"{where} ORDER BY user_id, scope",
            parameters,
        ) as cursor:
            return [
                Grant(
                    user_id=row["user_id"],
                    scope=row["scope"],
                    role=Role(row["role"]),
                    granted_by=row["granted_by"],
                    granted_at=row["granted_at"],
                )
                async for row in cursor
            ]

    # notifications ----------------------------------------------------------------------------

    async def set_notifications(self, user_id: int, on: bool) -> None:
        async with self._writing():
            if on:
                await self._db.execute("DELETE FROM notify_optouts WHERE user_id = ?", (user_id,))
            else:
                await self._db.execute(
                    "INSERT INTO notify_optouts (user_id, at) VALUES (?, ?)"
                    " ON CONFLICT (user_id) DO NOTHING",
                    (user_id, utc_now()),
                )

    async def opted_out(self) -> set[int]:
        """The users who turned their change notifications off."""
        async with self._db.execute("SELECT user_id FROM notify_optouts") as cursor:
            return {row["user_id"] async for row in cursor}

    # proposals --------------------------------------------------------------------------------

    async def add_proposal(
        self,
        *,
        action: str,
        alias: str,
        title: str,
        requested_by: int,
        requester_name: str,
        chat_id: int,
        jpeg: bytes | None,
        side: int | None,
        created_at: str,
        expires_at: str,
    ) -> Proposal:
        async with self._writing():
            cursor = await self._db.execute(
                "INSERT INTO proposals (action, alias, title, requested_by, requester_name,"
                " chat_id, jpeg, side, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    action,
                    alias,
                    title,
                    requested_by,
                    requester_name,
                    chat_id,
                    jpeg,
                    side,
                    created_at,
                    expires_at,
                ),
            )
        return await self.proposal(cursor.lastrowid)

    async def proposal(self, proposal_id: int) -> Proposal | None:
        async with self._db.execute(
            "SELECT * FROM proposals WHERE id = ?", (proposal_id,)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return None
        return Proposal(**{**dict(row), "status": ProposalStatus(row["status"])})

    async def close_proposal(
        self,
        proposal_id: int,
        status: ProposalStatus,
        at: str,
        decided_by: int | None = None,
        decided_by_name: str | None = None,
    ) -> Proposal | None:
        """Move a pending proposal to `status`; None when it was no longer pending (the first
        decision wins, even when two presses arrive at once)."""
        async with self._writing():
            cursor = await self._db.execute(
                "UPDATE proposals SET status = ?, decided_at = ?, decided_by = ?,"
                " decided_by_name = ? WHERE id = ? AND status = 'pending'",
                (status.value, at, decided_by, decided_by_name, proposal_id),
            )
        return await self.proposal(proposal_id) if cursor.rowcount else None

    async def due_proposals(self, now: str) -> list[int]:
        """Pending proposals whose time is up."""
        async with self._db.execute(
            "SELECT id FROM proposals WHERE status = 'pending' AND expires_at <= ? ORDER BY id",
            (now,),
        ) as cursor:
            return [row["id"] async for row in cursor]

    async def add_proposal_message(self, proposal_id: int, chat_id: int, message_id: int) -> None:
        async with self._writing():
            await self._db.execute(
                "INSERT INTO proposal_messages (proposal_id, chat_id, message_id) VALUES (?, ?, ?)",
                (proposal_id, chat_id, message_id),
            )

    async def proposal_messages(self, proposal_id: int) -> list[tuple[int, int]]:
        """(chat_id, message_id) of every message that carries this proposal's buttons."""
        async with self._db.execute(
            "SELECT chat_id, message_id FROM proposal_messages WHERE proposal_id = ?"
            " ORDER BY chat_id, message_id",
            (proposal_id,),
        ) as cursor:
            return [(row["chat_id"], row["message_id"]) async for row in cursor]

    # audit ------------------------------------------------------------------------------------

    async def record(self, entry: AuditEntry) -> int:
        async with self._writing():
            return await self._insert_audit(entry)

    async def _insert_audit(self, entry: AuditEntry) -> int:
        cursor = await self._db.execute(
            "INSERT INTO audit (at, user_id, chat_id, action, target, provider, outcome,"
            " reason, url, requested_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.at or utc_now(),
                entry.user_id,
                entry.chat_id,
                entry.action,
                entry.target,
                entry.provider,
                entry.outcome,
                entry.reason,
                entry.url,
                entry.requested_by,
            ),
        )
        return cursor.lastrowid

    async def audit_log(self, target: str | None = None, limit: int = 10) -> list[AuditEntry]:
        """The newest audit rows first, optionally for one target."""
        where, parameters = ("WHERE target = ?", (target, limit)) if target else ("", (limit,))
        async with self._db.execute(
            f"SELECT * FROM audit {where} ORDER BY id DESC LIMIT ?", parameters
        ) as cursor:
            return [AuditEntry(**row) async for row in cursor]

    async def audit_of(self, targets: Collection[str], limit: int = 10) -> list[AuditEntry]:
        """The newest audit rows about any of `targets` first."""
        marks = ", ".join("?" * len(targets))
        async with self._db.execute(
            f"SELECT * FROM audit WHERE target IN ({marks}) ORDER BY id DESC LIMIT ?",
            (*targets, limit),
        ) as cursor:
            return [AuditEntry(**row) async for row in cursor]

    # operations -------------------------------------------------------------------------------

    async def add_operation(self, operation: Operation) -> int:
        """Write an accepted change down; its id."""
        now = utc_now()
        values = {
            **operation.__dict__,
            "created_at": operation.created_at or now,
            "updated_at": now,
        }
        values["status"] = OperationStatus(values["status"]).value
        async with self._writing():
            cursor = await self._db.execute(
                f"INSERT INTO operations ({', '.join(_OPERATION_FIELDS)})"
                f" VALUES ({', '.join('?' * len(_OPERATION_FIELDS))})",
                [values[name] for name in _OPERATION_FIELDS],
            )
        return cursor.lastrowid

    async def operation(self, operation_id: int) -> Operation | None:
        found = await self._operations("WHERE id = ?", (operation_id,))
        return found[0] if found else None

    async def operation_for_request(self, request_key: str) -> Operation | None:
        found = await self._operations("WHERE request_key = ?", (request_key,))
        return found[0] if found else None

    async def open_operations(self) -> list[Operation]:
        """Changes not finished (pending, or running when the bot stopped), oldest first."""
        return await self._operations("WHERE status IN ('pending', 'running')", ())

    async def start_attempt(self, operation_id: int) -> None:
        async with self._writing():
            await self._db.execute(
                "UPDATE operations SET status = 'running', attempts = attempts + 1,"
                " updated_at = ? WHERE id = ?",
                (utc_now(), operation_id),
            )

    async def finish_operation(
        self,
        operation_id: int,
        status: OperationStatus,
        audit: AuditEntry,
        *,
        url: str | None = None,
        reason: str | None = None,
    ) -> None:
        """Close a change and write its audit row in one transaction; the picture is dropped."""
        async with self._writing():
            await self._db.execute(
                "UPDATE operations SET status = ?, url = ?, reason = ?, jpeg = NULL,"
                " updated_at = ? WHERE id = ?",
                (status.value, url, reason, utc_now(), operation_id),
            )
            await self._insert_audit(audit)

    async def _operations(self, where: str, parameters: tuple) -> list[Operation]:
        async with self._db.execute(
            f"SELECT * FROM operations {where} ORDER BY id", parameters
        ) as cursor:
            return [
                Operation(**{**dict(row), "status": OperationStatus(row["status"])})
                async for row in cursor
            ]
