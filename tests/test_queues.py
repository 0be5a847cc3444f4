"""Per-account queues: serial, paced, the newer picture wins, accounts run side by side; and
the pace of several instances sharing a PostgreSQL store."""

from __future__ import annotations

import asyncio

from bot.pacing import SharedPacer
from bot.queues import UNPACED, AccountQueue, Job
from bot.store import Store


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


def job(target: str, log: list[str], pace: str = "group", gate: asyncio.Event | None = None) -> Job:
    async def run() -> str:
        log.append(f"start {target}")
        if gate is not None:
            await gate.wait()
        log.append(f"end {target}")
        return f"done {target}"

    return Job(target=target, pace=pace, run=run)


async def test_jobs_of_one_account_run_one_at_a_time_in_order():
    log: list[str] = []
    clock = Clock()
    queue = AccountQueue({"group": 1.0}, clock=lambda: clock.now, sleep=clock.sleep)
    jobs = [queue.submit(job(name, log)) for name in ("a", "b", "c")]
    assert [s.ahead for s in jobs] == [0, 1, 2]
    assert await asyncio.gather(*(s.job.future for s in jobs)) == ["done a", "done b", "done c"]
    assert log == ["start a", "end a", "start b", "end b", "start c", "end c"]
    assert clock.slept == [1.0, 1.0]  # the provider's pace between starts


async def test_paces_are_kept_per_kind_of_change():
    log: list[str] = []
    clock = Clock()
    queue = AccountQueue({"group": 1.0, "own": 10.0}, clock=lambda: clock.now, sleep=clock.sleep)
    for name, pace in (("own1", "own"), ("g1", "group"), ("own2", "own")):
        last = queue.submit(job(name, log, pace))
    await last.job.future
    assert clock.slept == [10.0]  # g1 had no group start before it; own2 waited for own1


async def test_a_newer_change_for_the_same_target_replaces_the_waiting_one():
    log: list[str] = []
    gate = asyncio.Event()
    queue = AccountQueue({})
    running = queue.submit(job("family", log, gate=gate))
    await asyncio.sleep(0)  # let it start
    older = queue.submit(job("family", log), replace_same_target=True)
    other = queue.submit(job("work", log), replace_same_target=True)
    newer = queue.submit(job("family", log), replace_same_target=True)
    assert running.replaced == [] and older.replaced == []  # a running change is not replaced
    assert newer.replaced == [older.job] and newer.ahead == 2
    gate.set()
    await asyncio.gather(running.job.future, other.job.future, newer.job.future)
    assert log.count("start family") == 2 and not older.job.future.done()


async def test_a_change_waits_for_the_running_read_only_not_for_those_queued():
    log: list[str] = []
    gate = asyncio.Event()
    queue = AccountQueue({})
    queue.submit(job("read0", log, pace=UNPACED, gate=gate))
    await asyncio.sleep(0)  # the first read runs
    reads = [queue.submit(job(f"read{n}", log, pace=UNPACED)) for n in (1, 2, 3)]
    first = queue.submit(job("change1", log))
    second = queue.submit(job("change2", log))
    assert (first.ahead, second.ahead) == (1, 2)
    gate.set()
    await asyncio.gather(*(s.job.future for s in [*reads, first, second]))
    started = [line.removeprefix("start ") for line in log if line.startswith("start")]
    assert started == ["read0", "change1", "change2", "read1", "read2", "read3"]


async def test_two_accounts_run_side_by_side():
    log: list[str] = []
    gate = asyncio.Event()
    first, second = AccountQueue({}), AccountQueue({})
    slow = first.submit(job("a", log, gate=gate))
    fast = second.submit(job("b", log))
    assert await fast.job.future == "done b"  # not stuck behind account one
    assert not slow.job.future.done()
    gate.set()
    await slow.job.future


async def test_a_failing_job_reaches_its_waiter_and_the_queue_goes_on():
    queue = AccountQueue({})

    async def broken() -> None:
        raise RuntimeError("bug")

    bad = queue.submit(Job(target="x", pace="group", run=broken))
    good = queue.submit(job("y", []))
    assert isinstance(await asyncio.gather(bad.job.future, return_exceptions=True), list)
    assert await good.job.future == "done y"


async def test_the_pace_holds_between_calls_however_long_each_change_takes():
    clock = Clock()
    queue = AccountQueue({"group": 1.0}, clock=lambda: clock.now, sleep=clock.sleep)
    calls: list[float] = []

    def change(work_before_call: float) -> Job:
        async def run() -> None:
            clock.now += work_before_call  # e.g. a slow database write before the upload
            calls.append(clock.now)

        return Job(target="t", pace="group", run=run)

    queue.submit(change(0.5))
    last = queue.submit(change(0.0))
    await last.job.future
    assert calls[1] - calls[0] >= 1.0


async def test_instances_keep_one_accounts_pace_together_and_accounts_apart(postgres_url):
    """Two instances (two Stores on one PostgreSQL database): while one runs a change of an
    account, the other's turn for that account waits, then waits out the interval since that
    change ended; a change of another account does not wait for either."""
    one, two = await Store.open(postgres_url), await Store.open(postgres_url)
    clock = Clock()
    clock.now = 1_000.0

    def pacer(store: Store, account: str) -> SharedPacer:
        return SharedPacer(
            store.pace, account, {"group": 5.0}, clock=lambda: clock.now, sleep=clock.sleep
        )

    log: list[str] = []

    async def change(on: SharedPacer, name: str) -> None:
        async with on.turn("group"):
            log.append(name)

    try:
        async with pacer(one, "account1").turn("group"):
            same = asyncio.create_task(change(pacer(two, "account1"), "same account"))
            await change(pacer(two, "account2"), "other account")  # not held up
            assert not same.done() and log == ["other account"]
            clock.now += 1.0  # the first change ends a second later
        await same
        assert log == ["other account", "same account"]
        assert clock.slept == [5.0]  # the interval from the end of the other instance's change
    finally:
        await one.close()
        await two.close()
