"""Retrying a provider call: only what can succeed later, with bounded, jittered backoff."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from adapters import FailureKind, PictureResult

#: failures worth another try: a timeout, a dropped connection, 429, 502/503/504, rate-overlimit.
#: Never a refusal (400/401/403/404/422) or a refused image: the same call would fail the same way.
RETRYABLE = frozenset({FailureKind.UNAVAILABLE, FailureKind.RATE_LIMITED})


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0
    #: no new attempt starts later than this after the first one
    max_total_seconds: float = 120.0

    def delay(self, attempt: int, result: PictureResult, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based): the provider's
        Retry-After when it gave one, else exponential backoff with full jitter."""
        if result.retry_after is not None:
            return min(result.retry_after, self.max_delay)
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


@dataclass(frozen=True)
class Attempted:
    result: PictureResult
    attempts: int


async def with_retries(
    call: Callable[[], Awaitable[PictureResult]],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
) -> Attempted:
    """Call until it succeeds, fails for good, or the policy's attempts or time run out."""
    rng = rng or random.Random()
    started = clock()
    attempt = 0
    while True:
        attempt += 1
        result = await call()
        if result.ok or result.kind not in RETRYABLE or attempt >= policy.max_attempts:
            return Attempted(result, attempt)
        wait = policy.delay(attempt, result, rng)
        if clock() + wait - started > policy.max_total_seconds:
            return Attempted(result, attempt)
        await sleep(wait)
