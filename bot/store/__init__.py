"""The store: every table the bot keeps, behind one entry point.

    store = await Store.open(path)          # SQLite (the default)
    store = await Store.open("postgresql://user:password@host:5432/avatarops")
    await store.grants.add(user_id, "family", Role.ADMIN, granted_by=owner)
    async with store.transaction():   # several tables' writes as one
        ...

One database (bot/store/db.py: SQLite, or PostgreSQL in bot/store/postgres.py) is shared by one
small module per table group, each holding that table's SQL: groups and links, grants, audit,
proposals, operations, notifications, languages, picture history, bulks, schedules and time
zones, the pace, waiting and media of several instances. Their SQL is SQLite's, written so that
it also runs on PostgreSQL (bot/store/dialect.py says how). The schema migrates itself on open
(bot/store/schema.py).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path

from bot.clock import Clock
from bot.store import schema
from bot.store.audit import AuditTable
from bot.store.bulks import Bulks
from bot.store.counts import Counts
from bot.store.db import Database, SQLiteDatabase, StoreUnavailable, until_back
from bot.store.grants import Grants
from bot.store.groups import Groups, Links
from bot.store.instances import Instances
from bot.store.languages import LanguageTable
from bot.store.media import MediaTable
from bot.store.notifications import Notifications
from bot.store.operations import Operations
from bot.store.pace import AccountPace
from bot.store.pictures import PictureTable
from bot.store.postgres import PostgresDatabase, is_postgres_url
from bot.store.proposals import Proposals
from bot.store.schedules import Schedules, Timezones
from bot.store.waiting import AuthAlerts, PendingPhotos
from bot.store.watched import WatchedTable

MIGRATIONS = schema.MIGRATIONS
StoreTooNew = schema.StoreTooNew

__all__ = ["MIGRATIONS", "Store", "StoreTooNew", "StoreUnavailable", "connect", "until_back"]


async def connect(target: str | Path) -> Database:
    """The database (not yet migrated) at a SQLite path or a `postgresql://` URL."""
    if is_postgres_url(target):
        return await PostgresDatabase.connect(str(target))
    return await SQLiteDatabase.connect(target)


class Store:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.groups = Groups(db)
        self.links = Links(db)
        self.grants = Grants(db)
        self.audit = AuditTable(db)
        self.proposals = Proposals(db)
        self.operations = Operations(db)
        self.notifications = Notifications(db)
        self.languages = LanguageTable(db)
        self.pictures = PictureTable(db)
        self.watched = WatchedTable(db)
        self.bulks = Bulks(db)
        self.pace = AccountPace(db)
        self.pending_photos = PendingPhotos(db)
        self.auth_alerts = AuthAlerts(db)
        self.media = MediaTable(db)
        self.schedules = Schedules(db)
        self.timezones = Timezones(db)
        self.counts = Counts(db)
        self.instances = Instances(db)

    @classmethod
    async def open(cls, target: str | Path, clock: Clock | None = None) -> Store:
        """Open and migrate the database: a SQLite file's path (its folders and schema are made
        as needed), or a `postgresql://` URL (StoreUnavailable when it cannot be reached).
        `clock` writes its timestamps (the wall clock when none is given)."""
        db = await connect(target)
        if clock is not None:
            db.clock = clock
        try:
            await schema.migrate(db)
        except BaseException:
            await db.close()
            raise
        return cls(db)

    async def close(self) -> None:
        await self._db.close()

    def transaction(self) -> AbstractAsyncContextManager[None]:
        """Make the writes inside (to any tables) one transaction."""
        return self._db.transaction()

    async def schema_version(self) -> int:
        return await schema.version(self._db)

    @property
    def shared(self) -> bool:
        """Whether several instances of the bot may share this store (PostgreSQL)."""
        return self._db.shared

    async def ping(self) -> bool:
        return await self._db.fetch_one("SELECT 1 AS one") is not None
