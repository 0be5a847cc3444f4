"""What keeping leases costs the store: statements a second from idle instances on PostgreSQL.

Run from the project root:

    .venv/bin/python benchmarks/idle_store.py [--instances 2 --seconds 60]

It starts a PostgreSQL server of its own (tests/postgres.py), the fake Bot API and a fake Green
API, and that many bot processes on one database in webhook mode with the default
`reliability` settings, as the README's "Several instances" runs them; then, with nobody
sending anything, it has PostgreSQL log every statement (`log_statement = all`) for
`--seconds` and counts them, and reads the transactions the server committed meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.bot_process import bot_env, free_port, spawn_bot, stop_bot, write_config
from tests.conftest import BOT_TOKEN, FAMILY, GREEN_ID, GREEN_TOKEN, raw_config
from tests.fakes.greenapi import FakeGreenApi
from tests.fakes.serve import serve
from tests.fakes.telegram import FakeTelegram
from tests.postgres import running_server

#: a statement in PostgreSQL's log: simple protocol, or an extended protocol's execute step
_STATEMENT = re.compile(r"LOG:  (statement|execute [^:]*):")


async def main(instances: int, seconds: float) -> None:
    with running_server() as server, tempfile.TemporaryDirectory() as folder:
        url = server.new_database()
        admin = await asyncpg.connect(server.url())
        log = Path(await admin.fetchval("SHOW data_directory")).parent / "log"
        telegram = FakeTelegram(token=BOT_TOKEN)
        green = FakeGreenApi(id_instance=GREEN_ID, token=GREEN_TOKEN, groups={FAMILY})
        async with AsyncExitStack() as stack:
            api = await stack.enter_async_context(serve(telegram.app))
            green_url = await stack.enter_async_context(serve(green.app))
            raw = raw_config(Path(folder), green_url)
            raw["telegram"] = {"token": BOT_TOKEN, "api_base_url": api, "mode": "webhook"}
            raw["storage"] = {"url": url}
            raw["server"] = {
                "listen": "127.0.0.1:${AVATAROPS_PORT}",
                "public_url": "http://127.0.0.1:9",  # nothing is delivered here
                "webhook_secret": "webhook-secret",
            }
            del raw["reliability"]  # the defaults
            config = write_config(Path(folder), raw)
            bots = [
                await spawn_bot(
                    config, telegram, bot_env(AVATAROPS_PORT=str(free_port())), debug=False
                )
                for _ in range(instances)
            ]
            try:
                await asyncio.sleep(5)  # past start-up
                await admin.execute("ALTER SYSTEM SET log_statement = 'all'")
                await admin.execute("SELECT pg_reload_conf()")
                before_size = log.stat().st_size
                database = url.rsplit("/", 1)[1]
                before = await _commits(admin, database)
                started = time.monotonic()
                await asyncio.sleep(seconds)
                elapsed = time.monotonic() - started
                after = await _commits(admin, database)
                await admin.execute("ALTER SYSTEM RESET log_statement")
                await admin.execute("SELECT pg_reload_conf()")
                with log.open("rb") as lines:
                    lines.seek(before_size)
                    text = lines.read().decode(errors="replace")
            finally:
                for bot in bots:
                    await stop_bot(bot, telegram)
        await admin.close()
    # the two probes of `_commits` and the ALTER/reload above are this script's, not the bots'
    statements = len(_STATEMENT.findall(text)) - 4
    print(f"{instances} idle instances, {elapsed:.0f} s, default leases (10 s):")
    print(f"  statements: {statements} ({statements / elapsed:.2f}/s)")
    committed = after - before
    print(f"  transactions committed: {committed} ({committed / elapsed:.2f}/s)")


async def _commits(admin: asyncpg.Connection, database: str) -> int:
    """Transactions committed in the bots' database so far (autocommitted statements too)."""
    return int(
        await admin.fetchval(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = $1", database
        )
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    asyncio.run(main(args.instances, args.seconds))
