"""Load benchmark: many picture changes through the real bot process, against the fake servers.

Run from the project root:

    .venv/bin/python benchmarks/load.py [--changes 500 --users 50 --groups 20 --accounts 4
                                         --rate 20 --pace 1.0 --timeout 120
                                         --providers greenapi]

It starts the fake Telegram Bot API and one fake provider server per provider account on
127.0.0.1 (each account serves groups/accounts groups), writes a config.yaml in a temporary
folder, grants every user `admin` on one group with `python -m bot grant` (scoped grants: every
executed change notifies the owners and the group's admins, so this keeps it to the owner and the
group's two or three admins, as in real use, where `'*'` grants would send 50 notices a change),
and starts the bot as the README does (`python -m bot --config ...`, a subprocess, logging at
INFO). Then the users send photos captioned `/setgrouppic <alias>` at `--rate` a second, round
robin over the users, each to the group they administer.

`--instances 2` (or more) runs that many bot processes with one config, as the README's "Several
instances" section does: a PostgreSQL server the script starts itself (tests/postgres.py), webhook
mode, and the test balancer (tests/fakes/balancer.py) handing each update to any of them; bot
figures are then the largest peak RSS and the CPU time of all of them together.

`--providers` names the kinds of the accounts, cycled over them: `--providers
greenapi,waha,evolution,whapi,gowa` makes account1 Green API, account2 WAHA, and so on, each a
fake of its kind from `tests/fleet.py` (`--accounts` then defaults to the number of kinds when
that is more than 4). `wasend` works too: the bot then serves the pictures for its fake to
download. The default, Green API only, keeps the figures comparable with earlier runs.

How to read the report:

- latency: from pushing the update to the fake Bot API to the bot's final answer reaching it.
  The bot answers a change that ends within a second once; a slower one first answers
  "Working on it…" (quoting the request) or "Queued (n ahead of it)…", then edits that into
  the final answer; the final answer is the first text quoting the request that is neither of
  those two.
- outcomes: "Done", "Could not" (the provider refused; none expected here), "Not sent"
  (superseded: a newer picture for the same group replaced this one while it waited), "other"
  (any other answer, e.g. a refusal: a setup mistake).
- lost: changes with no final answer `--timeout` seconds after the first update.
- duplicated: extra final answers to one request (each request must get exactly one), plus
  set-picture calls a group received beyond the number of its changes that ended "Done" or
  "Could not". No faults are injected, so no retry is expected: one would count here. Each
  kind's fake records its requests; `tests/fleet.py` reads the set-picture calls out of them
  (Green API's setGroupPicture, WAHA's and Wasend's PUT .../picture, GOWA's /group/photo with a
  photo, Evolution's updateGroupPicture, Whapi's PUT .../icon) with the group they were for.
- missing calls: changes of a group that ended "Done" beyond the set-picture calls that
  group received (a success the provider never saw).
- throughput: changes answered per second of wall time (first update to last final answer);
  below saturation it is the arrival rate.
- set calls: per account, and the closest two calls to one account (the bot keeps the pace from
  the end of one change to the start of the next, so no two arrivals should be closer).
- bot peak RSS and CPU: VmHWM and utime + stime from /proc/<pid>, read just before stopping it;
  bench CPU: this process's own (the fake servers and the sender) over the same time, so that
  a benchmark that is itself the bottleneck shows; machine: the cores and the load average.

With the real pace (`--pace 1.0`: Green API's limiter takes one group picture a second per
account; the default of every kind) more changes arrive than four accounts can make, so most end
"Not sent": that is the designed behaviour (the newer picture wins), not a failure. `--pace 0`
lifts the providers' pace. The script exits with 1 when a change is lost or duplicated or a
call is missing.

`--telegram-rate` is the bot's `telegram.messages_per_second` (default 30, Telegram's flood
limit, which python-telegram-bot's AIORateLimiter keeps). A change that ends within a second
costs one message (its answer) plus the notices, which go out after the answers.
`--pace 0 --telegram-rate 0` lifts both outside limits and measures the bot's own overhead.

Why 20 changes a second by default: below the bot's capacity, the latencies are those of a bot
that keeps up, not of a backlog that grows with the length of the run. `--rate 0` sends as fast
as the fake can take the photos (saturation).
The fake Bot API re-encodes every photo into Telegram's sizes in this script's event loop:
800x600 photos keep that at ~8 ms each (1280 px ones cost ~21 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import math
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.bot_process import (  # noqa: E402
    WORKING,
    BotProcess,
    bot_env,
    free_port,
    run_cli,
    spawn_bot,
    stop_bot,
    write_config,
)
from tests.fakes.balancer import Balancer  # noqa: E402
from tests.fakes.serve import serve  # noqa: E402
from tests.fakes.telegram import FakeTelegram, FakeUser, Reply  # noqa: E402
from tests.fleet import KINDS, OWN, FakeAccount, serving  # noqa: E402
from tests.postgres import PASSWORD, running_server  # noqa: E402

BOT_TOKEN = "123456:load-benchmark-token"
#: several instances: the webhook's and the media links' secrets
INSTANCE_SECRETS = {
    "WEBHOOK_SECRET": "load-webhook-secret",
    "MEDIA_SECRET": "load-media-secret-0123",
}
#: how often Telegram (the fake) posts the updates waiting for the webhook
DELIVER_EVERY_SECONDS = 0.02
OWNER_ID = 100
FIRST_USER_ID = 1000
PHOTO_SIZE = (800, 600)
PHOTO_COUNT = 4
#: after the last answer, wait this long for late duplicates before counting
SETTLE_SECONDS = 1.0
QUEUED_PREFIX = "Queued ("
#: answer prefix -> outcome
OUTCOMES = {"Done:": "done", "Could not": "could not", "Not sent:": "superseded"}
EXECUTED = ("done", "could not")
ANSWER_METHODS = ("sendmessage", "editmessagetext")


@dataclass(frozen=True)
class Settings:
    changes: int
    users: int
    groups: int
    accounts: int
    rate: float
    pace: float
    timeout: float
    #: the kinds of the accounts, cycled: account n is of kind providers[(n - 1) % len]
    providers: tuple[str, ...]
    #: the bot's `telegram.messages_per_second` (0: unpaced)
    telegram_rate: float = 30.0
    #: instances of the bot; more than one run on PostgreSQL behind a balancer (webhook mode)
    instances: int = 1
    #: one instance set up as several are (PostgreSQL, webhook mode, the balancer), to compare
    postgres: bool = False


@dataclass(frozen=True)
class Group:
    alias: str
    chat_id: str
    #: the number of its account, from 1
    account: int


@dataclass
class Request:
    """One change as sent, and the final answers the bot gave to it."""

    alias: str
    sent_at: float
    answers: list[tuple[float, str]] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        if not self.answers:
            return "lost"
        text = self.answers[0][1]
        return next((name for prefix, name in OUTCOMES.items() if text.startswith(prefix)), "other")

    @property
    def latency(self) -> float:
        return self.answers[0][0] - self.sent_at


class TimedTelegram(FakeTelegram):
    """The fake Bot API, noting when each request's answer becomes final (and how often)."""

    def __init__(self, token: str, expected: int) -> None:
        super().__init__(token)
        self.requests: dict[tuple[int, int], Request] = {}
        self.all_answered = asyncio.Event()
        self._expected = expected
        self._answered = 0
        self._recording = True

    def track(self, message: Mapping[str, Any], alias: str) -> None:
        """Call right after a user's message is pushed (before the bot can answer it)."""
        key = (message["chat"]["id"], message["message_id"])
        self.requests[key] = Request(alias, time.monotonic())

    def stop_recording(self) -> None:
        """What the bot answers from now on (while it stops) does not count."""
        self._recording = False

    async def handle(
        self, path: str, fields: Mapping[str, str], files: Mapping[str, bytes]
    ) -> Reply:
        reply = await super().handle(path, fields, files)
        answer = path.rsplit("/", 1)[-1].lower() in ANSWER_METHODS
        if self._recording and answer and reply.status == 200:
            self._note(json.loads(reply.body)["result"])
        return reply

    def _note(self, message: Mapping[str, Any]) -> None:
        text, quoted = message.get("text") or "", message.get("reply_to_message")
        if quoted is None or text == WORKING or text.startswith(QUEUED_PREFIX):
            return
        request = self.requests.get((message["chat"]["id"], quoted["message_id"]))
        if request is None:
            return
        request.answers.append((time.monotonic(), text))
        if len(request.answers) == 1:
            self._answered += 1
            if self._answered == self._expected:
                self.all_answered.set()


# ----- the world: accounts, groups, people, photos, config ----------------------------------


def make_groups(count: int, accounts: int) -> list[Group]:
    return [
        Group(f"g{n:02d}", f"120363{n:012d}@g.us", (n - 1) % accounts + 1)
        for n in range(1, count + 1)
    ]


def make_accounts(settings: Settings, groups: list[Group]) -> list[FakeAccount]:
    """account1, account2...: each a fake of its kind, in the groups it serves."""
    kinds = settings.providers
    return [
        KINDS[kinds[(n - 1) % len(kinds)]](
            f"account{n}", [group.chat_id for group in groups if group.account == n]
        )
        for n in range(1, settings.accounts + 1)
    ]


def make_photos() -> list[bytes]:
    """A few photo-like JPEGs (gradients plus noise), made once."""
    photos = []
    for n in range(PHOTO_COUNT):
        gradient = Image.linear_gradient("L").rotate(90 * n).resize(PHOTO_SIZE)
        across = Image.linear_gradient("L").rotate(90 * n + 90).resize(PHOTO_SIZE)
        out = io.BytesIO()
        Image.merge("RGB", (gradient, across, Image.effect_noise(PHOTO_SIZE, 30))).save(
            out, "JPEG", quality=90
        )
        photos.append(out.getvalue())
    return photos


def group_of(user_index: int, groups: list[Group]) -> Group:
    """The one group a user administers."""
    return groups[user_index % len(groups)]


def bot_config(
    folder: Path,
    telegram_url: str,
    sections: dict[str, Any],
    groups: list[Group],
    telegram_rate: float = 30,
) -> Path:
    """`sections`: `providers` (and `server`) from `tests.fleet.serving`."""
    return write_config(
        folder,
        {
            "telegram": {
                "token": "${TELEGRAM_BOT_TOKEN}",
                "api_base_url": telegram_url,
                "messages_per_second": telegram_rate,
            },
            "storage": {"path": str(folder / "avatarops.sqlite3")},
            "owners": [OWNER_ID],
            **sections,
            "groups": {
                group.alias: {
                    "provider": f"account{group.account}",
                    "chat_id": group.chat_id,
                    "title": f"Group {group.alias}",
                }
                for group in groups
            },
        },
    )


async def grant_admins(
    config: Path, env: dict[str, str], users: list[FakeUser], groups: list[Group]
) -> None:
    """`python -m bot grant <user> <group> admin`, one per user; the first alone (it creates the
    store), the rest a few at a time."""
    slots = asyncio.Semaphore(os.cpu_count() or 2)

    async def grant(index: int, user: FakeUser) -> None:
        async with slots:
            alias = group_of(index, groups).alias
            done = await run_cli("grant", str(user.id), alias, "admin", config=config, env=env)
        if done.returncode != 0:
            raise SystemExit(f"grant {user.id} {alias} failed:\n{done.stderr}")

    await grant(0, users[0])
    await asyncio.gather(*(grant(index, user) for index, user in enumerate(users) if index))


# ----- the run ------------------------------------------------------------------------------


@asynccontextmanager
async def bot_process(
    config: Path, telegram: FakeTelegram, env: dict[str, str]
) -> AsyncIterator[BotProcess]:
    """`python -m bot --config ...` as the README runs it, logging at INFO: at DEBUG, the
    benchmark would measure the logging."""
    bot = await spawn_bot(config, telegram, env, debug=False)
    try:
        yield bot
    finally:
        await stop_bot(bot, telegram)


async def send_changes(
    telegram: TimedTelegram, users: list[FakeUser], groups: list[Group], settings: Settings
) -> float:
    """Send the changes at `settings.rate` a second (0: as fast as possible); the seconds taken."""
    photos = make_photos()
    start = time.monotonic()
    for n in range(settings.changes):
        due = start + n / settings.rate if settings.rate else 0.0
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        user_index = n % len(users)
        alias = group_of(user_index, groups).alias
        message = await users[user_index].send_photo(
            photos[n % len(photos)], caption=f"/setgrouppic {alias}"
        )
        telegram.track(message, alias)
    return time.monotonic() - start


async def wait_for_answers(telegram: TimedTelegram, deadline: float) -> None:
    """Until every change has its final answer (then a little longer, for late duplicates), or
    until the deadline."""
    try:
        await asyncio.wait_for(telegram.all_answered.wait(), max(0.0, deadline - time.monotonic()))
    except TimeoutError:
        return
    await asyncio.sleep(SETTLE_SECONDS)


@dataclass(frozen=True)
class BotFigures:
    """The bot process, read from /proc just before it is stopped."""

    peak_rss_kib: int
    #: CPU time (user + system) it spent while the changes ran
    cpu_seconds: float
    #: its log's WARNING, ERROR and CRITICAL lines so far
    problems: list[str]


def cpu_seconds(pid: int) -> float:
    """utime + stime: fields 14 and 15 of /proc/<pid>/stat, the 12th and 13th after "(comm)"."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bot_figures(bot: BotProcess, cpu_at_start: float) -> BotFigures:
    status = Path(f"/proc/{bot.process.pid}/status").read_text().splitlines()
    peak = next(line for line in status if line.startswith("VmHWM:"))
    return BotFigures(
        peak_rss_kib=int(peak.split()[1]),
        cpu_seconds=cpu_seconds(bot.process.pid) - cpu_at_start,
        problems=[
            line
            for line in bot.log.splitlines()
            if line.split(" ", 3)[2:3] in (["WARNING"], ["ERROR"], ["CRITICAL"])
        ],
    )


def instances_figures(bots: list[BotProcess], cpu_at_start: list[float]) -> BotFigures:
    """Several instances together: the largest peak RSS, the CPU time of all of them."""
    each = [bot_figures(bot, cpu) for bot, cpu in zip(bots, cpu_at_start, strict=True)]
    return BotFigures(
        peak_rss_kib=max(figures.peak_rss_kib for figures in each),
        cpu_seconds=sum(figures.cpu_seconds for figures in each),
        problems=[line for figures in each for line in figures.problems],
    )


@dataclass(frozen=True)
class Results:
    settings: Settings
    requests: list[Request]
    sending_seconds: float
    #: when each account (by "name (kind)") received its group set-picture calls; how many
    #: each group received
    call_times: dict[str, list[float]]
    calls_per_group: Counter[str]
    groups: list[Group]
    bot: BotFigures
    #: this process's CPU (the fake servers and the sender) while the changes ran
    own_cpu_seconds: float
    #: the 1-minute load average when the changes started and when the last was answered
    load: tuple[float, float]


async def several_instances(
    stack: AsyncExitStack, config: Path, settings: Settings
) -> tuple[Balancer, list[dict[str, str]]]:
    """Turn `config` into one for several instances as the README runs them: PostgreSQL, webhook
    mode, a balancer in front, each instance's port from AVATAROPS_PORT; their environments."""
    server = stack.enter_context(running_server())
    balancer = Balancer()
    balancer_url = await stack.enter_async_context(serve(balancer))
    ports = [free_port() for _ in range(settings.instances)]
    balancer.backends = [f"http://127.0.0.1:{port}" for port in ports]
    raw = yaml.safe_load(await asyncio.to_thread(config.read_text))
    raw["telegram"]["mode"] = "webhook"
    raw["storage"] = {"url": server.new_database(password="${PG_PASSWORD}")}
    raw["server"] = {
        **raw.get("server", {}),
        "listen": "127.0.0.1:${AVATAROPS_PORT}",
        "public_url": balancer_url,
        "webhook_secret": "${WEBHOOK_SECRET}",
        "media_secret": "${MEDIA_SECRET}",
    }
    write_config(config.parent, raw)
    common = {"PG_PASSWORD": PASSWORD, **INSTANCE_SECRETS}
    return balancer, [{**common, "AVATAROPS_PORT": str(port)} for port in ports]


async def delivering(telegram: FakeTelegram) -> None:
    """Telegram's side of webhook mode: post what is waiting, again and again."""
    while True:
        if telegram.webhook_url:
            await telegram.deliver_to_webhook()
        await asyncio.sleep(DELIVER_EVERY_SECONDS)


async def run(settings: Settings) -> Results:
    groups = make_groups(settings.groups, settings.accounts)
    accounts = make_accounts(settings, groups)
    telegram = TimedTelegram(BOT_TOKEN, expected=settings.changes)
    secrets = {key: value for account in accounts for key, value in account.env.items()}
    env = bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, **secrets)
    envs = [env]
    telegram.user(OWNER_ID, "Owner")
    users = [telegram.user(FIRST_USER_ID + n, f"User{n}") for n in range(settings.users)]
    async with AsyncExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="avatarops-load-")))
        telegram_url = await stack.enter_async_context(serve(telegram.app))
        sections = await stack.enter_async_context(
            serving(accounts, group_interval_seconds=settings.pace)
        )
        config = bot_config(folder, telegram_url, sections, groups, settings.telegram_rate)
        if settings.instances > 1 or settings.postgres:
            _, extra = await several_instances(stack, config, settings)
            envs = [{**env, **more} for more in extra]
            deliverer = asyncio.create_task(delivering(telegram))
            stack.callback(deliverer.cancel)
        await grant_admins(config, envs[0], users, groups)
        bots = [
            await stack.enter_async_context(bot_process(config, telegram, each)) for each in envs
        ]
        start = time.monotonic()
        cpu_at_start = [cpu_seconds(bot.process.pid) for bot in bots]
        own_at_start, load_at_start = time.process_time(), os.getloadavg()[0]
        sending = await send_changes(telegram, users, groups, settings)
        await wait_for_answers(telegram, start + settings.timeout)
        telegram.stop_recording()
        own_cpu = time.process_time() - own_at_start
        return Results(
            settings=settings,
            requests=list(telegram.requests.values()),
            sending_seconds=sending,
            call_times={
                f"{account.name} ({account.kind})": [
                    call.received_at for call in account.set_calls() if call.target != OWN
                ]
                for account in accounts
            },
            calls_per_group=Counter(
                call.target
                for account in accounts
                for call in account.set_calls()
                if call.target != OWN
            ),
            groups=groups,
            bot=instances_figures(bots, cpu_at_start),
            own_cpu_seconds=own_cpu,
            load=(load_at_start, os.getloadavg()[0]),
        )


# ----- the report ---------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def latency_row(name: str, requests: list[Request]) -> str:
    latencies = [request.latency for request in requests]
    if not latencies:
        return f"    {name:<11} {0:>5}"
    cells = [percentile(latencies, p) for p in (50, 90, 99)] + [max(latencies)]
    return f"    {name:<11} {len(latencies):>5}" + "".join(f" {s * 1000:>7.0f}" for s in cells)


def closest_gap(call_times: dict[str, list[float]]) -> float:
    """The shortest time between two calls to one account: at least the pace, if it is kept."""
    gaps = [
        later - earlier
        for times in call_times.values()
        for earlier, later in pairwise(sorted(times))
    ]
    return min(gaps, default=math.nan)


@dataclass(frozen=True)
class Integrity:
    lost: int
    extra_answers: int
    extra_calls: int
    missing_calls: int

    @property
    def duplicated(self) -> int:
        return self.extra_answers + self.extra_calls

    @property
    def ok(self) -> bool:
        return self.lost == self.duplicated == self.missing_calls == 0


def integrity(results: Results) -> Integrity:
    executed: Counter[str] = Counter()
    done: Counter[str] = Counter()
    for request in results.requests:
        executed[request.alias] += request.outcome in EXECUTED
        done[request.alias] += request.outcome == "done"
    calls = {group.alias: results.calls_per_group[group.chat_id] for group in results.groups}
    return Integrity(
        lost=sum(request.outcome == "lost" for request in results.requests),
        extra_answers=sum(max(0, len(request.answers) - 1) for request in results.requests),
        extra_calls=sum(max(0, calls[alias] - executed[alias]) for alias in calls),
        missing_calls=sum(max(0, done[alias] - calls[alias]) for alias in calls),
    )


def row(label: str, value: str) -> str:
    return f"  {label:<14} {value}"


def report(results: Results) -> Integrity:
    settings, requests, bot = results.settings, results.requests, results.bot
    answered = [request for request in requests if request.answers]
    by_outcome: dict[str, list[Request]] = {}
    for request in answered:
        by_outcome.setdefault(request.outcome, []).append(request)
    first = min(request.sent_at for request in requests)
    wall = max((request.answers[0][0] for request in answered), default=first) - first
    checks = integrity(results)
    rate = f"{settings.rate:g}/s" if settings.rate else "as fast as possible"
    pace = f"{settings.pace:g} s between two group pictures per account" + (
        " (Green API's limiter, every kind's default)"
        if settings.pace == 1.0
        else " (no pacing)"
        if settings.pace == 0
        else ""
    )
    calls = ", ".join(f"{name} {len(times)}" for name, times in results.call_times.items())
    lines = [
        "avatarops load benchmark (bot subprocess, fake Telegram and providers on 127.0.0.1)",
        row(
            "changes",
            f"{settings.changes} from {settings.users} users over {settings.groups}"
            f" groups on {settings.accounts} accounts",
        ),
        row("providers", ", ".join(settings.providers) + " (cycled over the accounts)"),
        row(
            "instances",
            "1 (SQLite, polling)"
            if settings.instances == 1
            else f"{settings.instances} on PostgreSQL, webhook mode behind a balancer",
        ),
        row("arrival", f"{rate}; all sent in {results.sending_seconds:.1f} s"),
        row("pace", pace),
        row(
            "telegram pace",
            f"the bot's messages_per_second {settings.telegram_rate:g}"
            + (" (unpaced)" if settings.telegram_rate == 0 else ""),
        ),
        row("wall time", f"{wall:.1f} s (first update to last final answer)"),
        row("throughput", f"{len(answered) / wall if wall else 0:.1f} changes answered/s"),
        "  latency, update -> final answer (ms)",
        f"    {'outcome':<11} {'count':>5} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7}",
        latency_row("all", answered),
        *(latency_row(name, by_outcome.get(name, [])) for name in (*OUTCOMES.values(), "other")),
        row(
            "lost",
            f"{checks.lost}  (no final answer quoting the request within"
            f" {settings.timeout:g} s of the first update)",
        ),
        row(
            "duplicated",
            f"{checks.duplicated}  ({checks.extra_answers} extra final answers to one"
            f" request + {checks.extra_calls} set calls beyond a group's"
            " done/could-not changes)",
        ),
        row("missing calls", f"{checks.missing_calls}  (done changes beyond a group's set calls)"),
        row(
            "set calls",
            f"{calls}; closest two to one account {closest_gap(results.call_times):.3f} s apart",
        ),
        row("bot peak RSS", f"{bot.peak_rss_kib / 1024:.1f} MiB (VmHWM)"),
        row(
            "bot CPU",
            f"{bot.cpu_seconds:.1f} s while the changes ran,"
            f" {bot.cpu_seconds / settings.changes * 1000:.0f} ms a change",
        ),
        row(
            "bench CPU",
            f"{results.own_cpu_seconds:.1f} s in this process (the fakes and the sender),"
            f" {results.own_cpu_seconds / settings.changes * 1000:.0f} ms a change",
        ),
        row(
            "machine",
            f"{os.cpu_count()} cores; load average {results.load[0]:.2f} at the start,"
            f" {results.load[1]:.2f} at the end",
        ),
        row(
            "bot log",
            f"{len(bot.problems)} warnings or errors"
            + (f", the first: {bot.problems[0][:160]}" if bot.problems else ""),
        ),
    ]
    if other := by_outcome.get("other"):
        lines.append(row("other, e.g.", repr(other[0].answers[0][1])))
    if settings.pace > 0 and by_outcome.get("superseded"):
        lines.append(
            row(
                "note",
                "superseded changes are the design, not a failure: at the"
                " provider's pace a group's newer picture replaces one waiting",
            )
        )
    lines.append(row("result", "OK" if checks.ok else "FAILED: lost, duplicated or missing"))
    print("\n".join(lines))
    return checks


def parse_settings() -> Settings:
    parser = argparse.ArgumentParser(
        description="Picture changes through the bot process against fake servers."
    )
    parser.add_argument("--changes", type=int, default=500)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument(
        "--accounts",
        type=int,
        default=None,
        help="provider accounts (default 4, or the number of --providers when more)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=20.0,
        help="changes sent per second; 0: as fast as possible (default 20)",
    )
    parser.add_argument(
        "--pace",
        type=float,
        default=1.0,
        help="every account's group_interval_seconds (default 1.0, Green API's limiter)",
    )
    parser.add_argument(
        "--providers",
        default="greenapi",
        help="comma-separated kinds of the accounts, cycled over them (default greenapi; "
        f"known: {','.join(KINDS)})",
    )
    parser.add_argument(
        "--telegram-rate",
        type=float,
        default=30.0,
        help="the bot's telegram.messages_per_second (default 30, Telegram's flood limit,"
        " shared by the answers and the notices; 0: unpaced)",
    )
    parser.add_argument(
        "--instances",
        type=int,
        default=1,
        help="instances of the bot; 2 or more run on a PostgreSQL server the script starts, in"
        " webhook mode behind a small balancer (default 1: SQLite, polling)",
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="one instance set up as several are (PostgreSQL, webhook mode, the balancer), the"
        " baseline to compare --instances 2 with",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="seconds from the first update until an unanswered change counts as lost",
    )
    args = parser.parse_args()
    providers = tuple(kind.strip() for kind in args.providers.split(","))
    if unknown := [kind for kind in providers if kind not in KINDS]:
        parser.error(f"--providers: unknown kind {unknown[0]!r}; known: {', '.join(KINDS)}")
    if args.accounts is None:
        args.accounts = max(4, len(providers))
    if args.accounts < len(providers):
        parser.error("--accounts must be at least the number of --providers (one account each)")
    if min(args.changes, args.users, args.groups, args.accounts, args.instances) < 1:
        parser.error("--changes, --users, --groups and --accounts must be at least 1")
    if args.rate < 0 or args.pace < 0 or args.telegram_rate < 0:
        parser.error("--rate, --pace and --telegram-rate cannot be negative")
    if args.groups < args.accounts:
        parser.error("--groups must be at least --accounts (every account serves a group)")
    return Settings(
        args.changes,
        args.users,
        args.groups,
        args.accounts,
        args.rate,
        args.pace,
        args.timeout,
        providers,
        args.telegram_rate,
        args.instances,
        args.postgres,
    )


def main() -> int:
    results = asyncio.run(run(parse_settings()))
    return 0 if report(results).ok else 1


if __name__ == "__main__":
    sys.exit(main())
