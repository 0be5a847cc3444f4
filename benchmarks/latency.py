"""Latency of one `/setgrouppic`: avatarops beside a naive bot and an echo bot, on the same fakes.

Run from the project root:

    .venv/bin/python benchmarks/latency.py [--runs 30 --warmup 3 --profile FILE]

Each bot runs alone, as a subprocess, against its own fake Telegram Bot API and zero-latency fake
Green API on 127.0.0.1 (tests/fakes): avatarops as the README starts it (`python -m bot --config
...`, logging at INFO, `group_interval_seconds: 0`), the naive bot and the echo bot from
benchmarks/naive_bot.py. One user, the owner, sends a 1600x1200 photo captioned
`/setgrouppic family`, `--runs` times one after the other, each after the answer to the one
before (plus `--warmup` first ones that do not count). The fake Bot API makes Telegram's photo
sizes of it, so the bots download the 1280x960 one.

What it prints, per bot, in ms from pushing the update to the fake Bot API:

- answer: until the final answer reaches the fake (each bot answers once; avatarops would first
  say "Working on it…" only for a change that takes over a second);
- own: until the provider's request reaches the fake Green API, minus the download (getFile
  call to the end of the file's download) and minus the picture preparation (the median time of
  the bot's own preparation function on the same 1280x960 file, timed in this process while
  the bot is idle). For the echo bot, own = answer: the floor of any python-telegram-bot bot
  on this Bot API. "added over echo" is the bot's own p50 minus the echo bot's.
- avatarops' timeline: the median time of each Bot API call (and the provider call) after the
  update, so the round trips before the provider call show.

`--profile FILE` also samples avatarops with py-spy (`pip install py-spy`) while the counted
updates run, writes the collapsed stacks to FILE and prints the functions most often on CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from load import TimedTelegram, percentile

from tests.bot_process import ROOT, BotProcess, bot_env, stop_bot, write_config
from tests.fakes.greenapi import FakeGreenApi
from tests.fakes.serve import serve
from tests.pictures import photo_bytes

BOT_TOKEN = "123456:latency-benchmark-token"
GREEN_TOKEN = "green-latency-token"
ID_INSTANCE = "1101000001"
OWNER_ID = 100
ALIAS = "family"
CHAT_ID = "120363000000000001@g.us"
PHOTO_SIZE = (1600, 1200)
#: after each final answer, so that what the bot does after it does not overlap the next update
SETTLE_SECONDS = 0.05
ANSWER_TIMEOUT = 30.0
BOTS = ("echo", "naive", "avatarops")


@dataclass(frozen=True)
class Sample:
    """One update, in seconds after it was pushed."""

    answer: float
    own: float
    #: the bot's picture preparation, timed inside it
    picture: float
    #: Bot API method (or "download", or "setGroupPicture" at the provider) -> when it arrived
    timeline: dict[str, float]
    #: traced function -> (its first call's start, the time in all its calls, how many calls)
    spans: dict[str, tuple[float, float, int]]


class TracedTelegram(TimedTelegram):
    """The fake Bot API, noting when each request arrived (and, for a long poll, returned)."""

    def __init__(self, token: str) -> None:
        super().__init__(token, expected=0)
        self.trace: list[tuple[float, float, str]] = []  # arrived, answered, method

    async def handle(self, path: str, fields: Any, files: Any) -> Any:
        arrived = time.monotonic()
        reply = await super().handle(path, fields, files)
        name = "download" if "/file/bot" in path else path.rsplit("/", 1)[-1]
        self.trace.append((arrived, time.monotonic(), name))
        return reply


# ----- the bots ----------------------------------------------------------------------------


def avatarops_config(folder: Path, telegram_url: str, green_url: str) -> Path:
    return write_config(
        folder,
        {
            "telegram": {"token": "${TELEGRAM_BOT_TOKEN}", "api_base_url": telegram_url},
            "storage": {"path": str(folder / "avatarops.sqlite3")},
            "owners": [OWNER_ID],
            "providers": {
                "green": {
                    "kind": "greenapi",
                    "api_url": green_url,
                    "id_instance": ID_INSTANCE,
                    "api_token_instance": "${GREEN_API_TOKEN}",
                    "group_interval_seconds": 0,
                }
            },
            "groups": {ALIAS: {"provider": "green", "chat_id": CHAT_ID, "title": "Family"}},
        },
    )


#: how latency.py starts a bot: as `python -m <entry>` would (or calling `module:function`),
#: with some of its functions traced: each call appends "name start end" (time.monotonic(), the
#: same clock as this process's on Linux) to a file. Specs: `module:function`,
#: `module:Class.method`, or `module:Class.*` for all of a class's coroutine methods.
LAUNCHER = """
import functools, importlib, inspect, runpy, sys, time
trace_file, entry, specs = sys.argv[1:4]
sys.argv[1:4] = []
out = open(trace_file, "a", buffering=1)
def traced(name, function):
    if inspect.iscoroutinefunction(function):
        @functools.wraps(function)
        async def wrapper(*args, **kwargs):
            start = time.monotonic()
            try:
                return await function(*args, **kwargs)
            finally:
                out.write(f"{name} {start} {time.monotonic()}\\n")
    else:
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            start = time.monotonic()
            try:
                return function(*args, **kwargs)
            finally:
                out.write(f"{name} {start} {time.monotonic()}\\n")
    return wrapper
for spec in specs.split(","):
    module, _, path = spec.partition(":")
    owner = importlib.import_module(module)
    *classes, attribute = path.split(".")
    for name in classes:
        owner = getattr(owner, name)
    names = [
        name for name, value in vars(owner).items()
        if inspect.iscoroutinefunction(value)
    ] if attribute == "*" else [attribute]
    for name in names:
        setattr(owner, name, traced(".".join([*classes, name]), getattr(owner, name)))
if ":" in entry:
    name, _, call = entry.partition(":")
    sys.argv[0] = name
    getattr(importlib.import_module(name), call)()
else:
    sys.argv[0] = entry
    runpy.run_module(entry, run_name="__main__", alter_sys=True)
"""


@dataclass(frozen=True)
class Launch:
    """A bot's entry point, its picture preparation function, what --trace adds."""

    entry: str
    picture: str  # module:function
    trace: tuple[str, ...] = ()

    @property
    def function(self) -> str:
        """The name the picture function's spans carry."""
        return self.picture.partition(":")[2]


LAUNCHES = {
    "avatarops": Launch(
        "bot",
        "bot.images:prepare_picture",
        (
            "bot.store.db:Database.*",
            "bot.service:AvatarService._authorize",
            "bot.changes:ChangeRunner.submit",
            "bot.changes:ChangeRunner.fetch",
            "bot.changes:ChangeRunner._run",
            "bot.changes:ChangeRunner._call",
            "bot.notify:Notifier.*",
            "adapters.greenapi:GreenApiProvider.set_group_picture",
        ),
    ),
    "naive": Launch("naive_bot:main", "naive_bot:square_jpeg"),
    "echo": Launch("naive_bot:main", "naive_bot:square_jpeg"),  # never called
}


@dataclass(frozen=True)
class Span:
    name: str
    start: float
    end: float


async def spawn(
    kind: str, folder: Path, telegram: TracedTelegram, env: dict[str, str], trace: bool, *args: str
) -> BotProcess:
    """Start a bot and wait until it asks for updates."""
    launch = LAUNCHES[kind]
    specs = ",".join((launch.picture, *(launch.trace if trace else ())))
    log_path = folder / "bot.log"
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            LAUNCHER,
            *(str(folder / "trace.txt"), launch.entry, specs, *args),
            cwd=ROOT,
            env={**env, "PYTHONPATH": str(ROOT / "benchmarks")},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    bot = BotProcess(process, log_path)
    for _ in range(300):
        if telegram.calls("getUpdates"):
            return bot
        if process.returncode is not None:
            raise SystemExit(f"{kind} exited at start-up:\n{bot.log}")
        await asyncio.sleep(0.05)
    process.kill()
    raise SystemExit(f"{kind} did not start within 15 s:\n{bot.log}")


def spans(folder: Path) -> list[Span]:
    """What the bot traced so far."""
    path = folder / "trace.txt"
    if not path.exists():
        return []
    found = []
    for line in path.read_text().splitlines():
        name, start, end = line.split()
        found.append(Span(name, float(start), float(end)))
    return found


@asynccontextmanager
async def running(
    kind: str,
    folder: Path,
    telegram: TracedTelegram,
    urls: tuple[str, str],
    trace: bool,
) -> AsyncIterator[BotProcess]:
    telegram_url, green_url = urls
    env = bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, GREEN_API_TOKEN=GREEN_TOKEN)
    if kind == "avatarops":
        args: tuple[str, ...] = (
            "--config",
            str(avatarops_config(folder, telegram_url, green_url)),
        )
    elif kind == "naive":
        args = (
            *("--telegram", telegram_url, "--green-api", green_url),
            *("--id-instance", ID_INSTANCE, "--group", f"{ALIAS}={CHAT_ID}"),
        )
    else:
        args = ("--telegram", telegram_url, "--echo")
    bot = await spawn(kind, folder, telegram, env, trace, *args)
    try:
        yield bot
    finally:
        await stop_bot(bot, telegram)


@asynccontextmanager
async def sampling(pid: int, output: Path) -> AsyncIterator[None]:
    """py-spy sampling process `pid` (all threads) for the block."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    process = await asyncio.create_subprocess_exec(
        *(spy, "record", "--pid", str(pid), "--rate", "500", "--format", "raw", "--threads"),
        *("--output", str(output)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    await asyncio.sleep(1.0)  # py-spy attaches
    try:
        yield
    finally:
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(process.wait(), 30)


# ----- the run -----------------------------------------------------------------------------


async def measure(kind: str, photo: bytes, args: argparse.Namespace) -> list[Sample]:
    """The samples of one bot."""
    telegram, green = (
        TracedTelegram(BOT_TOKEN),
        FakeGreenApi(id_instance=ID_INSTANCE, token=GREEN_TOKEN, groups={CHAT_ID}),
    )
    owner = telegram.user(OWNER_ID, "Olga")
    samples: list[Sample] = []
    traced = args.trace and kind == "avatarops"
    async with AsyncExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="avatarops-lat-")))
        urls = (
            await stack.enter_async_context(serve(telegram.app)),
            await stack.enter_async_context(serve(green.app)),
        )
        bot = await stack.enter_async_context(running(kind, folder, telegram, urls, traced))
        for n in range(args.warmup + args.runs):
            if n == args.warmup and kind == "avatarops" and args.profile:
                await stack.enter_async_context(sampling(bot.process.pid, args.profile))
            message = await owner.send_photo(photo, caption=f"/setgrouppic {ALIAS}")
            telegram.track(message, ALIAS)
            request = telegram.requests[(message["chat"]["id"], message["message_id"])]
            deadline = time.monotonic() + ANSWER_TIMEOUT
            while not request.answers:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{kind}: no answer within {ANSWER_TIMEOUT:g} s:\n{bot.log}")
                await asyncio.sleep(0.002)
            await asyncio.sleep(SETTLE_SECONDS)
            if n >= args.warmup:
                samples.append(sample(kind, request, telegram, green, spans(folder)))
    return samples


def sample(
    kind: str, request: Any, telegram: TracedTelegram, green: FakeGreenApi, traced: list[Span]
) -> Sample:
    start, (answered, text) = request.sent_at, request.answers[0]
    if kind != "echo" and not text.startswith("Done:"):
        raise SystemExit(f"{kind} answered {text!r}")
    timeline: dict[str, float] = {}
    for arrived, finished, method in telegram.trace:
        if start <= finished <= answered and method == "getUpdates":
            timeline.setdefault("update delivered", finished - start)
        elif start <= arrived <= answered and method != "getUpdates":
            timeline.setdefault(method, arrived - start)
            if method == "download":
                timeline["download done"] = finished - start
    if kind == "echo":
        return Sample(answered - start, answered - start, 0.0, timeline, {})
    provider = next(call.received_at for call in green.set_calls() if call.received_at >= start)
    timeline["setGroupPicture (provider)"] = provider - start
    timeline["final answer"] = answered - start
    mine = [span for span in traced if start <= span.start <= answered]
    picture = sum(span.end - span.start for span in mine if span.name == LAUNCHES[kind].function)
    download = timeline["download done"] - timeline["getFile"]
    return Sample(
        answered - start,
        provider - start - download - picture,
        picture,
        timeline,
        traced_calls(mine, start),
    )


def traced_calls(mine: list[Span], start: float) -> dict[str, tuple[float, float, int]]:
    """name -> (its first call's start after `start`, the time in all its calls, how many)."""
    calls: dict[str, tuple[float, float, int]] = {}
    for span in sorted(mine, key=lambda span: span.start):
        first, total, count = calls.get(span.name, (span.start - start, 0.0, 0))
        calls[span.name] = (first, total + span.end - span.start, count + 1)
    return calls


# ----- the report --------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def report(results: dict[str, list[Sample]], runs: int) -> None:
    def p(kind: str, field: str, q: float) -> float:
        return percentile([getattr(s, field) for s in results[kind]], q)

    width, height = PHOTO_SIZE
    print(
        f"/setgrouppic latency: {runs} sequential updates per bot ({width}x{height} photo; the"
        " bots download Telegram's 1280x960 size), fake Bot API and zero-latency fake Green API"
        " on 127.0.0.1; ms"
    )
    print(f"  machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f} at the end")
    print(
        f"  {'bot':<10} {'answer p50':>10} {'p90':>7} {'own p50':>8} {'p90':>7} {'picture p50':>11}"
    )
    for kind in BOTS:
        if kind in results:
            picture = ms(p(kind, "picture", 50)) if kind != "echo" else "-"
            print(
                f"  {kind:<10} {ms(p(kind, 'answer', 50)):>10} {ms(p(kind, 'answer', 90)):>7}"
                f" {ms(p(kind, 'own', 50)):>8} {ms(p(kind, 'own', 90)):>7} {picture:>11}"
            )
    if {"naive", "avatarops"} <= results.keys():
        ratio = p("avatarops", "answer", 50) / p("naive", "answer", 50)
        print(f"  avatarops / naive, answer p50: {ratio:.2f}x  (goal: at most 0.90x)")
    if "echo" in results:
        for kind in ("avatarops", "naive"):
            if kind in results:
                added = p(kind, "own", 50) - p("echo", "own", 50)
                goal = "  (goal: at most 20 ms)" if kind == "avatarops" else ""
                print(f"  {kind}'s own time added over echo, p50: {ms(added)} ms{goal}")
    if "avatarops" in results:
        steps: dict[str, list[float]] = {}
        for s in results["avatarops"]:
            for step, at in s.timeline.items():
                steps.setdefault(step, []).append(at)
        ordered = sorted(steps.items(), key=lambda item: statistics.median(item[1]))
        print("  avatarops' timeline, median ms after the update (calls after it, in order):")
        print("    " + ", ".join(f"{step} {ms(statistics.median(at))}" for step, at in ordered))
        traced: dict[str, list[tuple[float, float, int]]] = {}
        for s in results["avatarops"]:
            for name, figures in s.spans.items():
                traced.setdefault(name, []).append(figures)
        if len(traced) > 1:
            print("  avatarops' traced calls, medians: first start, time in all calls, calls")
            for name, rows in sorted(
                traced.items(), key=lambda kv: statistics.median(r[0] for r in kv[1])
            ):
                first, total = (statistics.median(r[i] for r in rows) for i in (0, 1))
                print(f"    {ms(first):>7} {ms(total):>7}  {name} x{rows[0][2]}")


#: leaf frames of threads that wait (py-spy's own idle test does not see them as idle here)
IDLE = (
    "_worker (concurrent/futures/thread.py:81)",
    "_connection_worker_thread (aiosqlite/core.py:59)",
    "EpollSelector.select",
    "Condition.wait",
)


#: the frames "inside" lists: the bot's own, and the libraries on its hot path
OURS_AND_LIBRARIES = ("(bot/", "(handlers/", "(adapters/", "(telegram/", "(httpx/", "(aiosqlite/")


def print_profile(path: Path, top: int = 20) -> None:
    """The functions most often on CPU (leaf frames) and inside (any frame) in py-spy's stacks,
    waiting threads left out."""
    own: Counter[str] = Counter()
    inside: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [frame for frame in stack.split(";") if not frame.startswith("process ")]
        if not frames or not count.isdigit() or frames[-1].startswith(IDLE):
            continue
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            if any(part in frame for part in OURS_AND_LIBRARIES):
                inside[frame] += int(count)
    print(f"py-spy: {total} busy samples of avatarops' threads while the counted updates ran")
    titles = ("on CPU (self)", "inside (total; the bot's and its libraries' frames)")
    for title, counter in zip(titles, (own, inside), strict=True):
        print(f"  {title}:")
        for frame, hits in counter.most_common(top):
            print(f"    {hits / total:6.1%}  {frame}")


async def run(args: argparse.Namespace) -> None:
    photo = photo_bytes(*PHOTO_SIZE)
    results: dict[str, list[Sample]] = {}
    for kind in args.bots:
        results[kind] = await measure(kind, photo, args)
    report(results, args.runs)
    if args.profile is not None and "avatarops" in results:
        print_profile(args.profile)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="counted updates per bot")
    parser.add_argument("--warmup", type=int, default=3, help="updates before those")
    parser.add_argument(
        "--bots", nargs="+", choices=BOTS, default=list(BOTS), help="which bots (default all)"
    )
    parser.add_argument("--profile", type=Path, help="sample avatarops with py-spy into FILE")
    parser.add_argument(
        "--trace",
        action="store_true",
        help="time avatarops' store, service, queue and adapter calls (adds a little to it)",
    )
    args = parser.parse_args()
    if args.runs < 1 or args.warmup < 1:
        parser.error("--runs and --warmup must be at least 1")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
