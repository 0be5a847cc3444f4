"""Each provider account's pace across every instance sharing the store (PostgreSQL).

One instance's queue keeps its account's pace in memory (bot/queues.py `MemoryPacer`). Several
instances calling one account would each keep their own, so they share it in the store: an
instance holds the account's pace class (an advisory lock of its own) while it waits out the
interval since the last change ended, wherever that ran (`account_pace.last_end`, wall clock),
and runs its change; then writes down when it ended. Different accounts do not wait for each
other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from bot.queues import Pacer, seconds_to_wait
from bot.store import Store, until_back
from bot.store.pace import AccountPace

log = logging.getLogger(__name__)


class SharedPacer:
    def __init__(
        self,
        pace: AccountPace,
        account: str,
        intervals: dict[str, float],
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._pace = pace
        self._account = account
        self._intervals = intervals
        self._clock = clock
        self._sleep = sleep

    @contextlib.asynccontextmanager
    async def turn(self, pace: str) -> AsyncIterator[None]:
        async with self._pace.hold(self._account, pace):
            last = await until_back(lambda: self._pace.last_end(self._account, pace))
            wait = seconds_to_wait(last, self._intervals.get(pace, 0.0), self._clock())
            if wait > 0:  # another machine's clock may be ahead: never more than the interval
                await self._sleep(wait)
            try:
                yield
            finally:
                try:
                    await self._pace.ended(self._account, pace, self._clock())
                except Exception:  # the store hiccupped: the next change may come early
                    log.warning("could not write down the pace of %s", self._account)


def pacer_for(store: Store, account: str, intervals: dict[str, float]) -> Pacer | None:
    """The shared pacer when instances may share the store; None (the queue's own) when not."""
    return SharedPacer(store.pace, account, intervals) if store.shared else None
