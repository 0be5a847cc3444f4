"""PostgreSQL behind the same `Database` interface as SQLite (`storage.url: postgresql://…`).

The driver is asyncpg: a pool of connections; a transaction takes one of them for the task that
opened it (nested ones join it), other statements take any free one. Within one instance,
transactions run one at a time, as on SQLite, so a use case sees the same behaviour on both;
between instances PostgreSQL's row locks and constraints keep them apart. Statements are
written in SQLite's dialect and translated (bot/store/dialect.py).

The migrations are the same as SQLite's; their version is kept in the table `schema_version`
(SQLite: `PRAGMA user_version`), and an advisory lock lets only one of several instances
starting at once run them.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from urllib.parse import urlsplit

import asyncpg

from bot.store.db import Database, Parameters, Row, StoreUnavailable, Written, until_back
from bot.store.dialect import inserted_table, postgres_schema, postgres_statement

log = logging.getLogger(__name__)

#: how long connecting may take before start-up (or /healthz) gives up
CONNECT_TIMEOUT_SECONDS = 10
#: any number fixed for the advisory lock that the migrations run under
_MIGRATION_LOCK = 0x61766174
_VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"


def _away(error: BaseException) -> bool:
    """Whether an error means the server is away (stopped, restarting, the network gone)."""
    if isinstance(error, asyncpg.InterfaceError):
        return "closed" in str(error)  # a connection the server dropped
    return isinstance(
        error,
        OSError
        | TimeoutError
        | asyncpg.PostgresConnectionError
        | asyncpg.exceptions.OperatorInterventionError,
    )


@contextlib.asynccontextmanager
async def _reachable() -> AsyncIterator[None]:
    """Turn "the server is away" into StoreUnavailable, whatever the driver raised."""
    try:
        yield
    except StoreUnavailable:
        raise
    except Exception as error:
        if not _away(error):
            raise
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise StoreUnavailable(f"the store does not answer: {reason}") from error


def is_postgres_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def describe(url: str) -> str:
    """The URL without its password (for messages and logs)."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


def _reason(error: BaseException, url: str) -> str:
    if isinstance(error, TimeoutError | asyncio.TimeoutError):
        reason = f"no answer within {CONNECT_TIMEOUT_SECONDS} seconds"
    elif isinstance(error, OSError) and error.strerror:
        reason = error.strerror
    else:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    password = urlsplit(url).password
    return reason.replace(password, "***") if password else reason


class PostgresDatabase(Database):
    shared = True
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, pool: asyncpg.Pool, url: str | None = None) -> None:
        self._pool = pool
        self._url = url
        #: connections that hold advisory locks (`exclusive`), apart from the pool of statements
        #: so that holders cannot starve it
        self._holders: asyncpg.Pool | None = None
        self._holders_lock = asyncio.Lock()
        self._lock = asyncio.Lock()
        #: the connection of the transaction the running task holds, with that task
        self._current: contextvars.ContextVar[
            tuple[asyncio.Task[object] | None, asyncpg.Connection] | None
        ] = contextvars.ContextVar("postgres_transaction", default=None)
        #: table -> its INTEGER PRIMARY KEY column, which an INSERT returns as `lastrowid`
        self._row_ids: dict[str, str] = {}

    @classmethod
    async def connect(cls, url: str) -> PostgresDatabase:
        """Connect (and check the server answers); StoreUnavailable, in one line, when not."""
        try:
            pool = await asyncpg.create_pool(
                url, min_size=1, max_size=10, timeout=CONNECT_TIMEOUT_SECONDS
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as error:
            raise StoreUnavailable(
                f"cannot reach the store at {describe(url)}: {_reason(error, url)}"
            ) from None
        return cls(pool, url)

    async def close(self) -> None:
        if self._holders is not None:
            await self._holders.close()
        await self._pool.close()

    @contextlib.asynccontextmanager
    async def exclusive(self, key: int) -> AsyncIterator[None]:
        """A session advisory lock on a connection of its own: the server frees it when the
        block ends, and also when this process dies (its connection goes)."""
        async with self._holders_lock:
            if self._holders is None:
                assert self._url is not None, "connect() knows the URL"
                self._holders = await asyncpg.create_pool(
                    self._url, min_size=0, max_size=32, timeout=CONNECT_TIMEOUT_SECONDS
                )
        holders = self._holders

        async def lock() -> asyncpg.Connection:
            async with _reachable():
                connection = await holders.acquire()
                try:
                    await connection.execute("SELECT pg_advisory_lock($1)", key)
                except BaseException:
                    await holders.release(connection)
                    raise
                return connection

        connection = await until_back(lock)  # the server may be away: it is waited for
        try:
            yield
        finally:
            try:
                await connection.execute("SELECT pg_advisory_unlock($1)", key)
            except Exception as error:  # the server dropped the session, and the lock with it
                log.debug("the lock's session ended before it: %s", error)
            with contextlib.suppress(Exception):  # already given back when its session ended
                await holders.release(connection)

    def _held(self) -> asyncpg.Connection | None:
        held = self._current.get()
        if held is None or held[0] is not asyncio.current_task():
            return None
        return held[1]

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        if self._held() is not None:
            yield
            return
        async with (
            _reachable(),
            self._lock,
            self._pool.acquire() as connection,
            connection.transaction(),
        ):
            token = self._current.set((asyncio.current_task(), connection))
            try:
                yield
            finally:
                self._current.reset(token)

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        held = self._held()
        if held is not None:
            yield held
        else:
            async with _reachable(), self._pool.acquire() as connection:
                yield connection

    async def execute(self, sql: str, parameters: Parameters = ()) -> Written:
        statement = postgres_statement(sql)
        row_id = self._row_ids.get(inserted_table(sql) or "")
        async with self.transaction(), _reachable():
            connection = self._held()
            assert connection is not None
            if row_id is not None:
                rows = await connection.fetch(f"{statement} RETURNING {row_id}", *parameters)
                return Written(len(rows), rows[0][0] if rows else None)
            status = await connection.execute(statement, *parameters)
        count = status.rsplit(" ", 1)[-1]
        return Written(int(count) if count.isdigit() else -1, None)

    async def execute_many(self, sql: str, rows: Iterable[Parameters]) -> None:
        rows = list(rows)
        if not rows:
            return
        async with self.transaction(), _reachable():
            connection = self._held()
            assert connection is not None
            await connection.executemany(postgres_statement(sql), rows)

    async def fetch_all(self, sql: str, parameters: Parameters = ()) -> list[Row]:
        async with self._connection() as connection:
            return [
                dict(row) for row in await connection.fetch(postgres_statement(sql), *parameters)
            ]

    async def fetch_one(self, sql: str, parameters: Parameters = ()) -> Row | None:
        async with self._connection() as connection:
            row = await connection.fetchrow(postgres_statement(sql), *parameters)
        return dict(row) if row is not None else None

    async def schema_version(self) -> int:
        async with self._pool.acquire() as connection:
            if await connection.fetchval("SELECT to_regclass('schema_version')") is None:
                return 0
            found = await connection.fetchval("SELECT MAX(version) FROM schema_version")
        return int(found or 0)

    async def migrate(self, migrations: Sequence[str]) -> None:
        """All missing migrations, each in its own transaction, under an advisory lock so that
        instances starting together run each one once."""
        async with self._pool.acquire() as connection:
            await connection.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
            try:
                await connection.execute(_VERSION_TABLE)
                current = await connection.fetchval(
                    "SELECT COALESCE(MAX(version), 0) FROM schema_version"
                )
                for number, script in enumerate(migrations[current:], start=current + 1):
                    async with connection.transaction():
                        await connection.execute(postgres_schema(script))
                        await _number_after_copied_rows(connection)
                        await connection.execute("DELETE FROM schema_version")
                        await connection.execute(
                            "INSERT INTO schema_version (version) VALUES ($1)", number
                        )
            finally:
                await connection.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
            self._row_ids = await _row_id_columns(connection)


async def _row_id_columns(connection: asyncpg.Connection) -> dict[str, str]:
    """table -> its INTEGER PRIMARY KEY column (an identity column here)."""
    rows = await connection.fetch(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND is_identity = 'YES'"
    )
    return {row["table_name"]: row["column_name"] for row in rows}


async def _number_after_copied_rows(connection: asyncpg.Connection) -> None:
    """A migration may copy rows with their ids; SQLite numbers the next rows after the largest,
    and so does this (an identity column's sequence does not see ids given explicitly)."""
    for table, column in (await _row_id_columns(connection)).items():
        await connection.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'),"
            f" GREATEST(COALESCE((SELECT MAX({column}) FROM {table}), 0), 0) + 1, false)"
        )
