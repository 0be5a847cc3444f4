"""Scale benchmark: thousands of groups, through the real bot process. It prints figures and
asserts nothing.

Run from the project root (each part alone with `--only startup|bulk|views|instances`):

    .venv/bin/python benchmarks/scale.py [--groups 5000 --accounts 50 --samples 30]

- startup: `--groups` groups on `--accounts` Green API accounts in config.yaml: the seconds
  from `python -m bot` to ready (its command menu set and asking for updates) on an empty
  store (it writes the groups) and again on the store it left, and the peak RSS (VmHWM);
- bulk: `/setgrouppic *` over 1,000 groups on 20 accounts at a 1 s pace, fake providers
  answering 429 to a call faster than the pace (benchmarks/bulk.py, which prints its figures);
- views: with 100,000 audit rows, 10,000 kept pictures and 1,000 scheduled changes in the
  store (written straight into it before the bot starts), the time from sending `/groups`,
  `/history` and `/scheduled` to the bot's answer, `--samples` of each in turn (p50, p90), on
  SQLite and then on PostgreSQL (started by the script, as tests/postgres.py does; skipped
  where it is not installed);
- instances: benchmarks/load.py at `--pace 0` (more load than one instance can take): one
  instance on SQLite, one on PostgreSQL set up as several are (`--postgres`: webhook mode,
  behind the balancer) and two (`--instances 2`): the changes answered a second by each.

The kept pictures and the scheduled changes carry a small JPEG (a few KB; real ones are 30 to
70 KB), which keeps the store of 10,000 pictures small on a shared machine: the reads measured
here skip the pictures' bytes, so their size matters little.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import bulk  # noqa: E402
from benchmarks.load import (  # noqa: E402
    BOT_TOKEN,
    OWNER_ID,
    Group,
    Settings,
    bot_config,
    make_accounts,
    make_groups,
)
from bot.clock import stamp  # noqa: E402
from bot.store import Store  # noqa: E402
from tests.bot_process import BotProcess, bot_env, spawn_bot, stop_bot  # noqa: E402
from tests.fakes.serve import serve  # noqa: E402
from tests.fakes.telegram import BotMessage, FakeTelegram, FakeUser  # noqa: E402
from tests.fleet import FakeAccount, serving  # noqa: E402
from tests.postgres import PASSWORD, running_server  # noqa: E402

AUDIT_ROWS, KEPT_PICTURES, SCHEDULED = 100_000, 10_000, 1_000
VIEWS = ("/groups", "/history", "/scheduled")
#: load.py offered more than one instance takes: no pace, as fast as it can send
LOAD = ("--pace", "0", "--telegram-rate", "0", "--rate", "0", "--changes", "600", "--instances")


def small_jpeg() -> bytes:
    out = io.BytesIO()
    Image.effect_noise((64, 64), 40).convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()


def peak_rss_mib(bot: BotProcess) -> float:
    status = Path(f"/proc/{bot.process.pid}/status").read_text().splitlines()
    return int(next(line for line in status if line.startswith("VmHWM:")).split()[1]) / 1024


def green_accounts(groups_count: int, accounts_count: int) -> tuple[list[Group], list[FakeAccount]]:
    """`groups_count` groups spread over `accounts_count` fake Green API accounts, unpaced."""
    settings = Settings(
        changes=1,
        users=0,
        groups=groups_count,
        accounts=accounts_count,
        rate=0,
        pace=0,
        timeout=60,
        providers=("greenapi",),
    )
    groups = make_groups(groups_count, accounts_count)
    return groups, make_accounts(settings, groups)


@asynccontextmanager
async def world(
    groups_count: int, accounts_count: int, storage: dict[str, str] | None = None
) -> AsyncIterator[tuple[FakeTelegram, Path, dict[str, str]]]:
    """The fake Bot API and Green API accounts served, and a config.yaml for them."""
    groups, accounts = green_accounts(groups_count, accounts_count)
    telegram = FakeTelegram(BOT_TOKEN)
    secrets = {key: value for account in accounts for key, value in account.env.items()}
    env = bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, PG_PASSWORD=PASSWORD, **secrets)
    with tempfile.TemporaryDirectory(prefix="avatarops-scale-") as folder:
        async with (
            serve(telegram.app) as telegram_url,
            serving(accounts, group_interval_seconds=0) as sections,
        ):
            config = bot_config(Path(folder), telegram_url, sections, groups, telegram_rate=0)
            if storage is not None:
                raw = yaml.safe_load(config.read_text())
                raw["storage"] = storage
                config.write_text(yaml.safe_dump(raw))
            yield telegram, config, env


async def timed_start(config: Path, telegram: FakeTelegram, env: dict[str, str]) -> BotProcess:
    started = time.monotonic()
    bot = await spawn_bot(config, telegram, env, debug=False)
    took = time.monotonic() - started
    print(f"    ready after {took:.2f} s, peak RSS {peak_rss_mib(bot):.1f} MiB")
    return bot


async def startup(groups_count: int, accounts_count: int) -> None:
    print(f"start-up: {groups_count} groups on {accounts_count} accounts (SQLite)")
    async with world(groups_count, accounts_count) as (telegram, config, env):
        for store in ("an empty store", "the store it left"):
            print(f"  on {store}")
            bot = await timed_start(config, telegram, env)
            await stop_bot(bot, telegram)


async def seed(target: str) -> None:
    """100,000 audit rows, 10,000 kept pictures and 1,000 scheduled changes over the groups
    the bot wrote at its first start."""
    store = await Store.open(target)
    db = store._db  # the benchmark writes rows in bulk, as no use case does
    groups = await db.fetch_all("SELECT id, alias, provider FROM groups ORDER BY id", ())
    jpeg, now = small_jpeg(), datetime.now(UTC)
    later, created = now + timedelta(days=1), stamp(now)

    def audit_row(n: int, g: dict[str, Any]) -> tuple[Any, ...]:
        url = f"https://pps.whatsapp.net/v/t61.24694-24/{n}_n.jpg?oh=fake&oe=fake"
        when = stamp(now - timedelta(seconds=AUDIT_ROWS - n))
        return (when, OWNER_ID, OWNER_ID, "set_group_picture", g["alias"], g["provider"], url)

    def picture_row(n: int, g: dict[str, Any]) -> tuple[Any, ...]:
        key, when = f"group:{g['id']}", stamp(now - timedelta(seconds=n))
        return (key, g["alias"], g["id"], g["provider"], 10_000_000 + n, OWNER_ID, jpeg, when)

    def schedule_row(n: int, g: dict[str, Any]) -> tuple[Any, ...]:
        when = stamp(later + timedelta(minutes=n))
        title = f"Group {g['alias']}"
        return (g["alias"], title, g["id"], g["provider"], jpeg, OWNER_ID, when, when, created)

    def rows(count: int, row: Callable[[int, dict[str, Any]], tuple[Any, ...]]) -> list[Any]:
        return [row(n, groups[n % len(groups)]) for n in range(count)]

    await db.execute_many(
        "INSERT INTO audit (at, user_id, chat_id, action, target, provider, outcome, url)"
        " VALUES (?, ?, ?, ?, ?, ?, 'done', ?)",
        rows(AUDIT_ROWS, audit_row),
    )
    await db.execute_many(
        "INSERT INTO pictures (target_key, target, group_id, provider, operation_id, action,"
        " actor_id, actor_name, before_state, after_jpeg, after_side, at, done)"
        " VALUES (?, ?, ?, ?, ?, 'set_group_picture', ?, 'Owner', 'unknown', ?, 64, ?, 1)",
        rows(KEPT_PICTURES, picture_row),
    )
    await db.execute_many(
        "INSERT INTO schedules (action, name, title, group_id, provider, jpeg, side, actor_id,"
        " actor_name, actor_chat_id, run_at, due_at, created_at)"
        " VALUES ('set_group_picture', ?, ?, ?, ?, ?, 64, ?, 'Owner', ?, ?, ?, ?)",
        [(*row[:6], OWNER_ID, *row[6:]) for row in rows(SCHEDULED, schedule_row)],
    )
    await store.close()


async def answer_times(
    telegram: FakeTelegram, owner: FakeUser, text: str, samples: int
) -> list[float]:
    times = []
    for _ in range(samples):
        last = max((m.message_id for m in telegram.bot_messages(owner)), default=0)
        sent = time.monotonic()
        await owner.send(text)

        def answered(message: BotMessage, after: int = last) -> bool:
            return message.message_id > after

        await telegram.wait_for_bot_message(owner, predicate=answered, timeout=30)
        times.append(time.monotonic() - sent)
    return times


async def views(groups_count: int, accounts_count: int, samples: int, postgres: bool) -> None:
    name = "PostgreSQL" if postgres else "SQLite"
    print(
        f"views on {name}: {groups_count} groups, {AUDIT_ROWS} audit rows,"
        f" {KEPT_PICTURES} kept pictures, {SCHEDULED} scheduled changes"
    )
    async with AsyncExitStack() as stack:
        storage, target = None, None
        if postgres:
            server = stack.enter_context(running_server())
            target = server.new_database()
            storage = {"url": target.replace(PASSWORD, "${PG_PASSWORD}")}
        telegram, config, env = await stack.enter_async_context(
            world(groups_count, accounts_count, storage)
        )
        target = target or str(config.parent / "avatarops.sqlite3")
        bot = await spawn_bot(config, telegram, env, debug=False)  # writes the groups
        await stop_bot(bot, telegram)
        await seed(target)
        bot = await spawn_bot(config, telegram, env, debug=False)
        owner = telegram.user(OWNER_ID, "Owner")
        try:
            for text in VIEWS:
                took = sorted(await answer_times(telegram, owner, text, samples))
                p50 = statistics.median(took) * 1000
                p90 = took[int(len(took) * 0.9) - 1] * 1000
                print(f"  {text:<11} p50 {p50:6.1f} ms   p90 {p90:6.1f} ms")
            print(f"  bot peak RSS {peak_rss_mib(bot):.1f} MiB")
        finally:
            await stop_bot(bot, telegram)


def instances() -> None:
    """benchmarks/load.py at pace 0: one instance on SQLite, then one and two on PostgreSQL
    (webhook mode, behind the balancer)."""
    for how in (["1"], ["1", "--postgres"], ["2"]):
        print(f"load.py {' '.join(LOAD)} {' '.join(how)}")
        done = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / "load.py"), *LOAD, *how],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        wanted = ("throughput", "answered", "lost", "duplicated", "bot CPU", "bot peak")
        for line in done.stdout.splitlines():
            if any(word in line for word in wanted):
                print("  " + line.strip())
        if done.returncode:
            print(f"  (load.py exited with {done.returncode})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--groups", type=int, default=5000)
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--only", choices=("startup", "bulk", "views", "instances"))
    args = parser.parse_args()
    if args.only in (None, "startup"):
        asyncio.run(startup(args.groups, args.accounts))
    if args.only in (None, "bulk"):
        bulk.report(asyncio.run(bulk.run(1000, 20, 1.0, timeout=600)))
    if args.only in (None, "views"):
        asyncio.run(views(args.groups, args.accounts, args.samples, postgres=False))
        try:
            asyncio.run(views(args.groups, args.accounts, args.samples, postgres=True))
        except BaseException as skipped:  # tests/postgres.py skips (pytest) without a server
            print(f"views on PostgreSQL skipped: {skipped}")
    if args.only in (None, "instances"):
        instances()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
