"""The database every table module shares, its transactions, and its two backends.

Table modules speak SQL through `Database` only and get rows back as plain dicts, so the same
table modules run on SQLite (the default: `SQLiteDatabase`, one connection and one write lock)
and on PostgreSQL (`bot/store/postgres.py`). How a table module writes its SQL so that it runs on
both is described in bot/store/dialect.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from bot.clock import Clock

Row = dict[str, Any]
Parameters = Sequence[Any]
T = TypeVar("T")

log = logging.getLogger(__name__)

#: the longest wait between two tries while the store is away
_BACK_MAX_DELAY = 5.0


class StoreUnavailable(Exception):
    """The database cannot be reached or refuses us; one line without the password. Also
    raised by any statement while it is away (PostgreSQL stopped, the SQLite file's disk
    gone); it may come back: the next statement tries again."""


async def until_back(step: Callable[[], Awaitable[T]]) -> T:
    """Run a store step, waiting for the store while it is away: for work already written
    down, which must go on (never lost, never half-done) once the store is back."""
    delay = 0.25
    waited = False
    while True:
        try:
            result = await step()
        except StoreUnavailable as away:
            if not waited:
                log.warning("waiting for the store to come back (%s)", away)
                waited = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, _BACK_MAX_DELAY)
            continue
        if waited:
            log.info("the store is back")
        return result


@dataclass(frozen=True)
class Written:
    rowcount: int
    #: the row id an INSERT gave its row (its INTEGER PRIMARY KEY); None for other statements
    lastrowid: int | None


class Database(ABC):
    """What the table modules use: SQL in SQLite's dialect (see bot/store/dialect.py)."""

    #: whether several instances of the bot may share this database (PostgreSQL)
    shared: bool = False
    #: appended to a SELECT that claims rows: other instances' transactions skip them
    #: (PostgreSQL's `FOR UPDATE SKIP LOCKED`; nothing on SQLite, whose one writer is enough)
    skip_locked: str = ""
    #: where the table modules' timestamps come from (`Store.open` sets the bot's one clock)
    clock: Clock = Clock()

    @abstractmethod
    def transaction(self) -> contextlib.AbstractAsyncContextManager[None]:
        """One write transaction: committed at the end, rolled back on an error. Nested (in the
        same task), it joins the outer one."""

    @abstractmethod
    async def execute(self, sql: str, parameters: Parameters = ()) -> Written: ...

    @abstractmethod
    async def execute_many(self, sql: str, rows: Iterable[Parameters]) -> None: ...

    @abstractmethod
    async def fetch_all(self, sql: str, parameters: Parameters = ()) -> list[Row]: ...

    @abstractmethod
    async def fetch_one(self, sql: str, parameters: Parameters = ()) -> Row | None: ...

    @abstractmethod
    async def schema_version(self) -> int:
        """How many of the migrations this database has run."""

    @abstractmethod
    async def migrate(self, migrations: Sequence[str]) -> None:
        """Run the migrations this database has not run yet, each in its own transaction."""

    @abstractmethod
    async def close(self) -> None: ...

    def exclusive(self, key: int) -> contextlib.AbstractAsyncContextManager[None]:
        """Keep every other instance sharing this database out of `key` until the block ends
        (one instance alone, as on SQLite, has nobody to keep out: its caller already does)."""
        return contextlib.nullcontext()


#: what SQLite says when its file cannot be used for now (disk gone, full, read-only, locked)
_SQLITE_AWAY = ("disk i/o error", "unable to open", "disk is full", "readonly", "locked")


@contextlib.contextmanager
def _sqlite_reachable() -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as error:
        if not any(sign in str(error).lower() for sign in _SQLITE_AWAY):
            raise
        raise StoreUnavailable(f"the store does not answer: {error}") from error


class SQLiteDatabase(Database):
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection
        self._lock = asyncio.Lock()
        #: whether the running task holds the write transaction (so that one use case can
        #: make several tables' writes one transaction)
        self._holding: contextvars.ContextVar[bool] = contextvars.ContextVar(
            "holding", default=False
        )

    @classmethod
    async def connect(cls, path: str | Path) -> SQLiteDatabase:
        """WAL and a busy timeout let the bot and the shell commands write at once; foreign
        keys make a group's grants, links and proposals go with it."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        connection = await aiosqlite.connect(path)
        connection.row_factory = aiosqlite.Row
        await connection.execute("PRAGMA busy_timeout = 5000")
        await connection.execute("PRAGMA journal_mode = WAL")
        await connection.execute("PRAGMA foreign_keys = ON")
        return cls(connection)

    async def close(self) -> None:
        await self._connection.close()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """The connection is shared by every coroutine, so without the lock one's commit could
        commit another's half-done work."""
        if self._holding.get():
            yield
            return
        async with self._lock:
            token = self._holding.set(True)
            try:
                yield
            except BaseException:
                with contextlib.suppress(sqlite3.Error):  # a file that went away: nothing kept
                    await self._connection.rollback()
                raise
            else:
                with _sqlite_reachable():
                    await self._connection.commit()
            finally:
                self._holding.reset(token)

    async def execute(self, sql: str, parameters: Parameters = ()) -> Written:
        async with self.transaction():
            with _sqlite_reachable():
                cursor = await self._connection.execute(sql, parameters)
            return Written(cursor.rowcount, cursor.lastrowid)

    async def execute_many(self, sql: str, rows: Iterable[Parameters]) -> None:
        async with self.transaction():
            with _sqlite_reachable():
                await self._connection.executemany(sql, rows)

    async def fetch_all(self, sql: str, parameters: Parameters = ()) -> list[Row]:
        """One trip to the connection's thread (a cursor read row by row is one trip for each
        chunk, one more for its end and one for closing it: each trip wakes the event loop)."""
        with _sqlite_reachable():
            rows = await self._connection.execute_fetchall(sql, parameters)
        return [dict(row) for row in rows]

    async def fetch_one(self, sql: str, parameters: Parameters = ()) -> Row | None:
        rows = await self.fetch_all(sql, parameters)
        return rows[0] if rows else None

    async def schema_version(self) -> int:
        """SQLite keeps it in `PRAGMA user_version`."""
        row = await self.fetch_one("PRAGMA user_version")
        assert row is not None
        return int(row["user_version"])

    async def migrate(self, migrations: Sequence[str]) -> None:
        """Every step still to take in one transaction: all or none, and one commit (a new
        store took fifteen, each a write to disk)."""
        current = await self.schema_version()
        steps = "".join(
            f"{script}; PRAGMA user_version = {number}; "
            for number, script in enumerate(migrations[current:], start=current + 1)
        )
        if steps:
            async with self._lock:
                await self._connection.executescript(f"BEGIN IMMEDIATE; {steps}COMMIT;")
