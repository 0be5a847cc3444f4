"""Per-account serial queues: one provider account's changes run one at a time, at its pace.

The pace is kept from the end of one change to the start of the next of its kind, so that two
provider calls are never closer than the interval, however long the work around each call.

Changes for different accounts run in parallel (one queue each). A waiting change for a target
can be replaced by a newer one for the same target: the newer picture wins.

The pace is a `Pacer`'s to keep: by default this process's memory of when the last change of
each kind ended; several instances sharing one account use a shared one (bot/pacing.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

#: the pace of a job that keeps none (a read while watching pictures, bot/watch.py): it only
#: takes its turn in the queue, behind every change, so a change waits for at most one such job
UNPACED = ""


@dataclass(eq=False)
class Job:
    #: what the job changes (a group alias, or the account): a newer job for it replaces this one
    target: str
    #: the pacing class: jobs of one class keep the provider's minimum interval between them
    pace: str
    run: Callable[[], Awaitable[Any]]
    future: asyncio.Future[Any] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


@dataclass(frozen=True)
class Submitted:
    job: Job
    #: changes queued or running before this one
    ahead: int
    #: waiting jobs for the same target that this one replaced (their futures are still open)
    replaced: list[Job]


class Pacer(Protocol):
    """Keeps one account's pace: `turn(pace)` is entered when the interval since the end of the
    last job of that pace has passed, and its end is the end of this job."""

    def turn(self, pace: str) -> contextlib.AbstractAsyncContextManager[None]: ...


def seconds_to_wait(last_end: float | None, interval: float, now: float) -> float:
    """How long the next job of a pace waits: until `interval` after the last one ended (never
    longer than `interval`, should a clock have gone back)."""
    if last_end is None:
        return 0.0
    return max(0.0, min(interval, last_end + interval - now))


class MemoryPacer:
    """The pace of one process's queue, kept in its memory."""

    def __init__(
        self,
        intervals: dict[str, float],
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._intervals = intervals
        self._clock = clock
        self._sleep = sleep
        self._last_end: dict[str, float] = {}

    @contextlib.asynccontextmanager
    async def turn(self, pace: str) -> AsyncIterator[None]:
        wait = seconds_to_wait(
            self._last_end.get(pace), self._intervals.get(pace, 0.0), self._clock()
        )
        if wait > 0:
            await self._sleep(wait)
        try:
            yield
        finally:
            self._last_end[pace] = self._clock()


class AccountQueue:
    def __init__(
        self,
        intervals: dict[str, float],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        pacer: Pacer | None = None,
    ) -> None:
        self._pacer = pacer or MemoryPacer(intervals, clock, sleep)
        self._waiting: list[Job] = []
        self._running: Job | None = None
        self._worker: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        """Jobs waiting or running."""
        return len(self._waiting) + (self._running is not None)

    def submit(self, job: Job, *, replace_same_target: bool = False) -> Submitted:
        replaced = []
        if replace_same_target:
            replaced = [waiting for waiting in self._waiting if waiting.target == job.target]
            self._waiting = [waiting for waiting in self._waiting if waiting not in replaced]
        # a change goes ahead of the reads waiting (a burst of webhook events may queue many),
        # behind the changes: so it waits for at most the one read already running
        place = len(self._waiting)
        if job.pace != UNPACED:
            place = next(
                (i for i, waiting in enumerate(self._waiting) if waiting.pace == UNPACED), place
            )
        ahead = place + (self._running is not None)
        self._waiting.insert(place, job)
        if self._worker is None:
            self._worker = asyncio.create_task(self._work())
        return Submitted(job, ahead, replaced)

    def cancel(self, which: Callable[[Job], bool]) -> list[Job]:
        """Take the waiting jobs `which` picks out of the queue (their futures are still open)."""
        cancelled = [job for job in self._waiting if which(job)]
        self._waiting = [job for job in self._waiting if job not in cancelled]
        return cancelled

    async def close(self) -> None:
        """Stop the worker; jobs not yet started stay unstarted (durable ones resume later)."""
        self._waiting.clear()
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None

    def _turn(self, pace: str) -> contextlib.AbstractAsyncContextManager[None]:
        """The pacer's turn; a read (`UNPACED`) only waits for its place in the queue."""
        return contextlib.nullcontext() if pace == UNPACED else self._pacer.turn(pace)

    async def _work(self) -> None:
        try:
            while self._waiting:
                job = self._running = self._waiting.pop(0)
                try:
                    async with self._turn(job.pace):
                        outcome = await job.run()
                except Exception as error:  # a bug in the job: hand it to whoever awaits it
                    if not job.future.done():
                        job.future.set_exception(error)
                else:
                    if not job.future.done():
                        job.future.set_result(outcome)
                finally:
                    self._running = None
        finally:
            self._worker = None
