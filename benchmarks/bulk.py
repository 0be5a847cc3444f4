"""Bulk benchmark: one `/setgrouppic *` over many groups, through the real bot process.

Run from the project root:

    .venv/bin/python benchmarks/bulk.py [--groups 50 --accounts 2 --pace 1.0 --timeout 300]

It serves the fake Bot API and one fake Green API account per `--accounts` (the groups dealt
round robin over them), each behind a guard that answers HTTP 429 to a setGroupPicture arriving
sooner than `--pace` seconds after the previous one to that account (what Green API's limiter
does), grants nothing (the owner may change every group) and starts the bot as the README does.
The owner sends a photo captioned `/setgrouppic *`, presses "Change them", and the script waits
for the progress message's final summary.

It prints:
- wall time: from the press to the final summary (the last edit waits until 2 s after the one
  before it, as every progress edit does);
- provider span: from the first to the last setGroupPicture, against the pace ceiling, the
  shortest span the pace allows: (groups per account - 1) x pace; "of ceiling" is ceiling / span
  (1.00: the accounts never idle; the goal is at least 0.95);
- 429s: calls the guards refused (the bot keeps each account's pace, so 0 is expected);
- progress edits: how many, and the closest two (at least 2 s apart by design);
- the bot's peak RSS (VmHWM), how much above its RSS at the press, and its CPU time.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import tempfile
import time
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.load import (  # noqa: E402
    BOT_TOKEN,
    OWNER_ID,
    Settings,
    bot_config,
    bot_figures,
    bot_process,
    cpu_seconds,
    make_accounts,
    make_groups,
    make_photos,
)
from tests.bot_process import bot_env  # noqa: E402
from tests.fakes.serve import serve  # noqa: E402
from tests.fakes.telegram import Call, FakeTelegram  # noqa: E402
from tests.fleet import serving  # noqa: E402


class EditTimes(FakeTelegram):
    """The fake Bot API, noting when each editMessageText arrives."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.edits: list[tuple[float, str]] = []

    async def _edit_message_text(self, call: Call) -> Any:
        self.edits.append((time.monotonic(), str(call.params.get("text", ""))))
        return await super()._edit_message_text(call)


def rss_mib(pid: int) -> float:
    """VmRSS of a process now."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    return int(next(line for line in status if line.startswith("VmRSS:")).split()[1]) / 1024


class PaceGuard:
    """ASGI middleware: 429 for a setGroupPicture sooner than `pace` after the one before."""

    def __init__(self, app: Any, pace: float) -> None:
        self.app, self.pace = app, pace
        self.last: float | None = None
        self.refused = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and "/setGroupPicture/" in scope["path"]:
            now = time.monotonic()
            if self.last is not None and now - self.last < self.pace - 0.01:
                self.refused += 1
                await send({"type": "http.response.start", "status": 429, "headers": []})
                await send({"type": "http.response.body", "body": b"Too Many Requests"})
                return
            self.last = now
        await self.app(scope, receive, send)


@dataclass(frozen=True)
class Figures:
    groups: int
    accounts: int
    pace: float
    wall: float
    span: float
    ceiling: float
    refused: int
    edits: list[float]
    final: str
    peak_rss_mib: float
    #: the bot's RSS at the press: the peak's growth over the run is the difference
    rss_at_press_mib: float
    cpu: float


async def run(groups_count: int, accounts_count: int, pace: float, timeout: float) -> Figures:
    settings = Settings(
        changes=1,
        users=0,
        groups=groups_count,
        accounts=accounts_count,
        rate=0,
        pace=pace,
        timeout=timeout,
        providers=("greenapi",),
    )
    groups = make_groups(groups_count, accounts_count)
    accounts = make_accounts(settings, groups)
    guards = []
    for account in accounts:
        guard = PaceGuard(account.fake.app, pace)
        account.fake.app = guard
        guards.append(guard)
    telegram = EditTimes(BOT_TOKEN)
    owner = telegram.user(OWNER_ID, "Owner")
    secrets = {key: value for account in accounts for key, value in account.env.items()}
    env = bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, **secrets)
    with tempfile.TemporaryDirectory(prefix="avatarops-bulk-") as folder:
        async with (
            serve(telegram.app) as telegram_url,
            serving(accounts, group_interval_seconds=pace) as sections,
        ):
            config = bot_config(Path(folder), telegram_url, sections, groups)
            async with bot_process(config, telegram, env) as bot:
                await owner.send_photo(make_photos()[0], caption="/setgrouppic *")
                plan = await telegram.wait_for_bot_message(
                    owner, predicate=lambda m: bool(m.buttons()), timeout=60
                )
                cpu_at_start = cpu_seconds(bot.process.pid)
                rss_at_press = rss_mib(bot.process.pid)
                pressed = time.monotonic()
                await owner.press(plan, plan.callback_data("Change them"))
                await telegram.wait_for_bot_message(
                    owner, predicate=lambda m: m.content.startswith("Done:"), timeout=timeout
                )
                wall = time.monotonic() - pressed
                figures = bot_figures(bot, cpu_at_start)
    calls = sorted(
        call.received_at for account in accounts for call in account.set_calls() if call.target
    )
    per_account = math.ceil(groups_count / accounts_count)
    return Figures(
        groups=groups_count,
        accounts=accounts_count,
        pace=pace,
        wall=wall,
        span=calls[-1] - calls[0] if calls else math.nan,
        ceiling=(per_account - 1) * pace,
        refused=sum(guard.refused for guard in guards),
        edits=[at for at, _ in telegram.edits],
        final=telegram.edits[-1][1] if telegram.edits else "",
        peak_rss_mib=figures.peak_rss_kib / 1024,
        rss_at_press_mib=rss_at_press,
        cpu=figures.cpu_seconds,
    )


def report(f: Figures) -> bool:
    gaps = [later - earlier for earlier, later in pairwise(f.edits)]
    ratio = f.ceiling / f.span if f.span else math.nan
    done = f.final.split("\n", 1)[0]
    print(f"{f.groups} groups over {f.accounts} Green API account(s), pace {f.pace:g} s")
    print(f"  wall time (press -> summary)  {f.wall:.1f} s")
    print(f"  provider span (first -> last) {f.span:.1f} s")
    print(f"  pace ceiling                  {f.ceiling:.1f} s   of ceiling: {ratio:.3f}")
    print(
        f"  throughput                    {f.groups / f.wall:.2f} groups/s"
        f" (ceiling {f.accounts / f.pace:.2f} groups/s)"
    )
    print(f"  429s                          {f.refused}")
    print(f"  progress edits                {len(f.edits)}, closest {min(gaps, default=0):.2f} s")
    print(f"  final summary                 {done}")
    growth = f.peak_rss_mib - f.rss_at_press_mib
    print(
        f"  bot peak RSS                  {f.peak_rss_mib:.1f} MiB (VmHWM; +{growth:.1f} MiB"
        f" over {f.rss_at_press_mib:.1f} at the press), CPU {f.cpu:.1f} s"
    )
    return f.refused == 0 and ratio >= 0.95


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--accounts", type=int, default=2)
    parser.add_argument("--pace", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    figures = asyncio.run(run(args.groups, args.accounts, args.pace, args.timeout))
    return 0 if report(figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
