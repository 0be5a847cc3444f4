"""The SQLite store (aiosqlite): the only module that speaks SQL.

The schema is versioned with `PRAGMA user_version` and migrates itself on open. WAL mode and a
busy timeout let the bot and the shell commands (`python -m bot grant ...`) write at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
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
]


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Group:
    alias: str
    provider: str
    chat_id: str
    title: str


@dataclass(frozen=True)
class AuditEntry:
    user_id: int | None
    chat_id: int | None
    action: str
    target: str | None
    outcome: str  # done | failed | refused
    provider: str | None = None
    reason: str | None = None
    url: str | None = None
    at: str = ""
    id: int | None = None


class Store:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._db = connection

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
        await self._db.commit()

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

    async def linked_alias(self, telegram_chat_id: int) -> str | None:
        async with self._db.execute(
            "SELECT alias FROM links WHERE telegram_chat_id = ?", (telegram_chat_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return row["alias"] if row else None

    # grants -----------------------------------------------------------------------------------

    async def grant(self, user_id: int, scope: str, role: Role, granted_by: int | None) -> None:
        await self._db.execute(
            "INSERT INTO grants (user_id, scope, role, granted_by, granted_at)"
            " VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (user_id, scope) DO UPDATE SET role = excluded.role,"
            " granted_by = excluded.granted_by, granted_at = excluded.granted_at",
            (user_id, scope, role.value, granted_by, utc_now()),
        )
        await self._db.commit()

    async def revoke(self, user_id: int, scope: str) -> bool:
        cursor = await self._db.execute(
            "DELETE FROM grants WHERE user_id = ? AND scope = ?", (user_id, scope)
        )
        await self._db.commit()
        return cursor.rowcount > 0

    async def grants_of(self, user_id: int) -> list[Grant]:
        return await self._grants("WHERE user_id = ?", (user_id,))

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

    # audit ------------------------------------------------------------------------------------

    async def record(self, entry: AuditEntry) -> int:
        cursor = await self._db.execute(
            "INSERT INTO audit (at, user_id, chat_id, action, target, provider, outcome,"
            " reason, url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
            ),
        )
        await self._db.commit()
        return cursor.lastrowid

    async def audit_log(self, target: str | None = None, limit: int = 10) -> list[AuditEntry]:
        """The newest audit rows first, optionally for one target."""
        where, parameters = ("WHERE target = ?", (target, limit)) if target else ("", (limit,))
        async with self._db.execute(
            f"SELECT * FROM audit {where} ORDER BY id DESC LIMIT ?", parameters
        ) as cursor:
            return [AuditEntry(**row) async for row in cursor]
