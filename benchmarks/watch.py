"""Watching benchmark: the bot's cost of watching many groups' pictures (bot/watch.py).

Run from the project root:

    .venv/bin/python benchmarks/watch.py [--groups 2000 --accounts 20 --interval 20 --seconds 30]

It serves the fake Bot API and `--accounts` fake Green API accounts (the groups dealt round
robin over them), every group's picture one small JPEG served from 127.0.0.1 (so each read is a
getAvatar and a download, as on WhatsApp), and starts the bot as the README does twice: once
with `watch: {interval_seconds: --interval}`, once without `watch:`. Each is measured over
`--seconds` after one interval from when it is ready (the first turn, which keeps every
group's baseline picture, is not counted).

It prints, for the watching bot: the reads (getAvatar calls) and reads per second against the
goal (groups / interval), the bot's CPU per read (goal: at most 2 ms), and the peak RSS of both
bots (goal: within 20 MiB of each other).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.load import BOT_TOKEN, bot_config, cpu_seconds  # noqa: E402
from benchmarks.scale import green_accounts, peak_rss_mib, small_jpeg  # noqa: E402
from tests.bot_process import bot_env, spawn_bot, stop_bot  # noqa: E402
from tests.fakes.greenapi import FakeGreenApi  # noqa: E402
from tests.fakes.serve import serve  # noqa: E402
from tests.fakes.telegram import FakeTelegram  # noqa: E402
from tests.fleet import serving  # noqa: E402


async def one_run(
    groups_count: int,
    accounts_count: int,
    interval: float | None,
    seconds: float,
    picture: str,
    warmup: float,
) -> tuple[int, float, float]:
    """The reads, the bot's CPU seconds (both over `seconds` after `warmup` seconds from when
    it was ready) and its peak RSS in MiB."""
    groups, accounts = green_accounts(groups_count, accounts_count)
    fakes = [account.fake for account in accounts if isinstance(account.fake, FakeGreenApi)]
    for fake in fakes:
        for chat_id in fake.groups:
            fake.set_avatar(chat_id, picture)
    telegram = FakeTelegram(BOT_TOKEN)
    secrets = {key: value for account in accounts for key, value in account.env.items()}
    env = bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, **secrets)
    with tempfile.TemporaryDirectory(prefix="avatarops-watch-") as folder:
        async with (
            serve(telegram.app) as telegram_url,
            serving(accounts, group_interval_seconds=0) as sections,
        ):
            if interval is not None:
                sections = {**sections, "watch": {"interval_seconds": interval}}
            config = bot_config(Path(folder), telegram_url, sections, groups, telegram_rate=0)
            bot = await spawn_bot(config, telegram, env, debug=False)
            try:
                await asyncio.sleep(warmup)  # the first turn: the baselines
                reads_before = sum(len(fake.calls("getAvatar")) for fake in fakes)
                cpu_before = cpu_seconds(bot.process.pid)
                await asyncio.sleep(seconds)
                reads = sum(len(fake.calls("getAvatar")) for fake in fakes) - reads_before
                cpu = cpu_seconds(bot.process.pid) - cpu_before
                return reads, cpu, peak_rss_mib(bot)
            finally:
                await stop_bot(bot, telegram)


async def main_async(groups: int, accounts: int, interval: float, seconds: float) -> None:
    jpeg = small_jpeg()

    async def picture(_request: object) -> Response:
        return Response(jpeg, media_type="image/jpeg")

    async with serve(Starlette(routes=[Route("/pp/p.jpg", picture)])) as cdn:
        url = f"{cdn}/pp/p.jpg"
        print(f"watching {groups} groups on {accounts} Green API accounts, every {interval:g} s")
        started = time.monotonic()
        reads, cpu, rss = await one_run(groups, accounts, interval, seconds, url, interval)
        _, _, rss_off = await one_run(groups, accounts, None, seconds, url, interval)
        print(
            f"  reads in {seconds:g} s:      {reads} ({reads / seconds:.1f}/s;"
            f" goal {groups / interval:.1f}/s)"
        )
        per_read = cpu / reads * 1000 if reads else float("nan")
        print(
            f"  bot CPU per read:     {per_read:.2f} ms (goal <= 2 ms; getAvatar and the store;"
            " a download only for a new URL)"
        )
        print(
            f"  peak RSS watching:    {rss:.1f} MiB; without watch: {rss_off:.1f} MiB"
            f" (+{rss - rss_off:.1f} MiB; goal <= 20)"
        )
        print(f"  took {time.monotonic() - started:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=2000)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--interval", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    asyncio.run(main_async(args.groups, args.accounts, args.interval, args.seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
