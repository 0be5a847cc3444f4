"""The store: every table the bot keeps, behind one entry point.

    store = await Store.open(path)
    await store.grants.add(user_id, "family", Role.ADMIN, granted_by=owner)
    async with store.transaction():   # several tables' writes as one
        ...

One connection and one write lock (bot/store/db.py) are shared by one small module per table
group, each holding that table's SQL: groups and links, grants, audit, proposals, operations,
notifications, languages, picture history, bulks, schedules and time zones. The schema migrates
itself on open (bot/store/schema.py).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path

from bot.store import schema
from bot.store.audit import AuditTable
from bot.store.bulks import Bulks
from bot.store.db import Database
from bot.store.grants import Grants
from bot.store.groups import Groups, Links
from bot.store.history import PictureHistory
from bot.store.languages import Languages
from bot.store.notifications import Notifications
from bot.store.operations import Operations
from bot.store.proposals import Proposals
from bot.store.schedules import Schedules, Timezones

MIGRATIONS = schema.MIGRATIONS

__all__ = ["MIGRATIONS", "Store"]


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
        self.languages = Languages(db)
        self.history = PictureHistory(db)
        self.bulks = Bulks(db)
        self.schedules = Schedules(db)
        self.timezones = Timezones(db)

    @classmethod
    async def open(cls, path: str | Path) -> Store:
        """Open (creating folders and schema as needed) and migrate the database."""
        db = await Database.connect(path)
        await schema.migrate(db)
        return cls(db)

    async def close(self) -> None:
        await self._db.close()

    def transaction(self) -> AbstractAsyncContextManager[None]:
        """Make the writes inside (to any tables) one transaction."""
        return self._db.transaction()

    async def schema_version(self) -> int:
        return await schema.version(self._db)

    async def ping(self) -> bool:
        return await self._db.fetch_one("SELECT 1 AS one") is not None
