"""Retries: only what can succeed later, bounded in attempts and in time, Retry-After honoured."""

from __future__ import annotations

import random

import pytest

from adapters import FailureKind, PictureResult
from bot.retry import RetryPolicy, with_retries

OK = PictureResult.success("https://pps.whatsapp.net/new.jpg")
TIMEOUT = PictureResult.failure(FailureKind.UNAVAILABLE, "Green API did not answer within 60 s")
LIMITED = PictureResult.failure(FailureKind.RATE_LIMITED, "wait", retry_after=7)


class Script:
    """A provider call that answers from a script, and a clock that the sleeps advance."""

    def __init__(self, *answers: PictureResult) -> None:
        self.answers = list(answers)
        self.calls = 0
        self.now = 0.0
        self.slept: list[float] = []

    async def call(self) -> PictureResult:
        self.calls += 1
        return self.answers.pop(0)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    async def run(self, policy: RetryPolicy | None = None):
        return await with_retries(
            self.call,
            policy or RetryPolicy(),
            sleep=self.sleep,
            clock=lambda: self.now,
            rng=random.Random(1),
        )


async def test_a_timeout_then_success_takes_two_attempts():
    script = Script(TIMEOUT, OK)
    done = await script.run()
    assert done.result is OK and done.attempts == 2
    assert 0 <= script.slept[0] <= 1.0  # full jitter below the first backoff step


async def test_retry_after_is_honoured():
    script = Script(LIMITED, OK)
    await script.run()
    assert script.slept == [7]


@pytest.mark.parametrize(
    "kind",
    [
        FailureKind.NOT_ALLOWED,
        FailureKind.AUTH,
        FailureKind.BAD_IMAGE,
        FailureKind.NOT_FOUND,
        FailureKind.BAD_REQUEST,
        FailureKind.NOT_SUPPORTED,
    ],
)
async def test_refusals_are_never_retried(kind):
    refusal = PictureResult.failure(kind, "no")
    script = Script(refusal, OK)
    done = await script.run()
    assert done.result is refusal and done.attempts == 1 and script.slept == []


async def test_attempts_are_bounded():
    script = Script(*[TIMEOUT] * 10)
    done = await script.run(RetryPolicy(max_attempts=3))
    assert done.attempts == 3 and script.calls == 3 and done.result is TIMEOUT


async def test_total_time_is_bounded():
    script = Script(*[LIMITED] * 10)
    done = await script.run(RetryPolicy(max_attempts=10, max_total_seconds=20))
    assert script.slept == [7, 7]  # a third wait would end past 20 s
    assert done.attempts == 3


async def test_backoff_grows_exponentially_up_to_the_cap():
    policy = RetryPolicy(base_delay=1, max_delay=5)
    rng = random.Random(3)
    caps = [max(policy.delay(n, TIMEOUT, rng) for _ in range(200)) for n in (1, 2, 3, 4, 5)]
    assert caps[0] <= 1 < caps[1] <= 2 < caps[2] <= 4 < caps[3] <= 5 and caps[4] <= 5
