"""Fault injection against the fake Green API: for each fault, what the user is told, how many
attempts were made, and that the operations table and the audit log agree."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from bot.domain import OperationStatus
from tests.conftest import FAMILY, OTHER_OWNER, OWNER, Bot, raw_config, shut_down, start_bot
from tests.fakes.greenapi import Fault
from tests.pictures import photo_bytes

MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Case:
    fault: Fault
    times: int
    attempts: int
    answer: str  # how the final answer starts
    says: str = ""  # words it must contain
    method: str = "setGroupPicture"


CASES = {
    "slow once, then fine": Case(Fault.slow(3), 1, 2, "Done: Family has a new picture."),
    "slow every time": Case(
        Fault.slow(3),
        3,
        3,
        "Could not change the picture of Family:",
        "did not answer within 0.5 s",
    ),
    "429 without Retry-After": Case(Fault.too_many(), 1, 2, "Done:"),
    "429 with Retry-After": Case(Fault.too_many("1"), 2, 3, "Done:"),
    "502 burst, then fine": Case(Fault.bad_gateway(), 2, 3, "Done:"),
    "502 for good (HTML page)": Case(Fault.bad_gateway(), 3, 3, "Could not change", "HTTP 502"),
    "500 is not retried": Case(Fault.server_error(), 1, 1, "Could not change", "HTTP 500"),
    "invalid JSON, then fine": Case(Fault.invalid_json(), 1, 2, "Done:"),
    "200 that means failure": Case(
        Fault.refused("Timed Out"), 1, 1, "Could not change", "group id is wrong"
    ),
    "rate-overlimit passes": Case(Fault.refused("rate-overlimit"), 1, 2, "Done:"),
    "400 is not retried": Case(
        Fault.bad_request("Bad Request Validation failed"), 1, 1, "Could not change"
    ),
    "token revoked": Case(Fault.unauthorized(), 1, 1, "Could not change", "check api_token"),
}


@pytest.fixture
async def faulty_bot(tmp_path, green) -> AsyncIterator[Bot]:
    fake, url = green
    raw = raw_config(tmp_path, url)
    raw["providers"]["green"]["timeout_seconds"] = 0.5
    raw["reliability"] = {
        "max_attempts": MAX_ATTEMPTS,
        "base_delay_seconds": 0.01,
        "max_delay_seconds": 0.05,
    }
    bot, application = await start_bot(raw, fake)
    yield bot
    await shut_down(application)


async def assert_consistent(bot: Bot, status: OperationStatus, attempts: int) -> None:
    """One closed operation, its audit row saying the same, nothing left open."""
    [operation] = [op for op in [await bot.store.operations.get(1)] if op]
    assert await bot.store.operations.get(2) is None
    assert (operation.status, operation.attempts) == (status, attempts)
    assert operation.jpeg is None
    [audit] = [row for row in await bot.store.audit.latest(limit=5) if row.outcome != "refused"]
    assert (audit.outcome, audit.reason, audit.url) == (
        status.value,
        operation.reason,
        operation.url,
    )
    assert await bot.store.operations.open() == []


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_fault(faulty_bot: Bot, case: Case):
    bot = faulty_bot
    bot.green.fail_next(case.method, case.fault, times=case.times)
    owner = bot.user(OWNER, "Olga")
    sent = await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
    answer = await bot.reply_to(owner, sent)
    assert answer.startswith(case.answer), answer
    assert case.says in answer
    assert "SECRET" not in answer
    assert len(bot.green.set_calls()) == case.attempts
    ok = answer.startswith("Done")
    await assert_consistent(
        bot, OperationStatus.DONE if ok else OperationStatus.FAILED, case.attempts
    )


async def test_an_expired_token_alerts_the_owners_once(faulty_bot: Bot):
    bot = faulty_bot
    owner, other_owner = bot.user(OWNER, "Olga"), bot.user(OTHER_OWNER, "Otto")
    bot.green.fail_next("setGroupPicture", Fault.unauthorized(), times=2)
    for _ in range(2):
        await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
        await bot.deliver()
    alerts = [
        m.content for m in bot.telegram.bot_messages(other_owner) if m.content.startswith("Alert")
    ]
    assert len(alerts) == 1 and "fails to authenticate" in alerts[0]
    sent = await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
    assert (await bot.reply_to(owner, sent)).startswith("Done")
    assert "The provider green works again." in [
        m.content for m in bot.telegram.bot_messages(other_owner)
    ]


async def test_dropped_connections_are_retried_then_reported(tmp_path, green):
    fake, _ = green

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    dropper = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = dropper.sockets[0].getsockname()[1]
    raw = raw_config(tmp_path, f"http://127.0.0.1:{port}")
    raw["reliability"] = {
        "max_attempts": MAX_ATTEMPTS,
        "base_delay_seconds": 0.01,
        "max_delay_seconds": 0.05,
    }
    bot, application = await start_bot(raw, fake)
    try:
        owner = bot.user(OWNER, "Olga")
        await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
        assert await bot.answer(owner) == (
            "Could not change the picture of Family: could not reach Green API (connection failed)."
        )
        await assert_consistent(bot, OperationStatus.FAILED, MAX_ATTEMPTS)
    finally:
        await shut_down(application)
        dropper.close()
        await dropper.wait_closed()


async def test_the_same_group_is_set_once_per_change(faulty_bot: Bot):
    """No fault may turn into a second, unasked change: one Done, one set call that counted."""
    bot = faulty_bot
    bot.green.fail_next("setGroupPicture", Fault.bad_gateway(), times=1)
    owner = bot.user(OWNER, "Olga")
    await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
    await bot.deliver()
    finals = [m for m in bot.telegram.bot_messages(owner) if m.content.startswith("Done")]
    assert len(finals) == 1
    assert [r.form["groupId"] for r in bot.green.set_calls()] == [FAMILY, FAMILY]
