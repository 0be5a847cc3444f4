"""Durable changes: written down first, one account at a time at its pace, the newer picture
wins, and what a crash left open is resumed (or failed when too old) and reported."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable

from bot.app import config_groups
from bot.config import parse_config
from bot.domain import Actor, Operation, OperationStatus
from bot.images import prepare_picture_async
from bot.store import Store
from tests.conftest import (
    ADMIN,
    BOT_TOKEN,
    FAMILY,
    OWNER,
    REQUESTER,
    Bot,
    raw_config,
    shut_down,
    start_bot,
    storage_at,
)
from tests.fakes.greenapi import FakeGreenApi, Fault
from tests.fakes.serve import serve
from tests.fakes.telegram import BotMessage, FakeChat, FakeTelegram, FakeUser
from tests.pictures import photo_bytes


async def until(condition: Callable[[], object], timeout: float = 10) -> None:
    """Wait for something another task does (no fixed sleeps); `condition` may be async."""
    deadline = time.monotonic() + timeout
    while not await _holds(condition()):
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.01)


async def _holds(value: object) -> object:
    return await value if inspect.isawaitable(value) else value


def reply_to(bot: Bot, chat: FakeUser | FakeChat, message: dict) -> BotMessage | None:
    """The bot's answer to a user's message, if there is one yet."""
    return next(
        (
            m
            for m in bot.telegram.bot_messages(chat)
            if m.reply_to_message_id == message["message_id"]
        ),
        None,
    )


def answer_to(bot: Bot, chat: FakeUser | FakeChat, message: dict) -> BotMessage:
    """The bot's answer to a user's message, which must be there."""
    answer = reply_to(bot, chat, message)
    assert answer is not None, f"no answer to {message['message_id']}"
    return answer


async def operations(store: Store) -> list[Operation]:
    found = [await store.operations.get(i) for i in range(1, 100)]
    return [operation for operation in found if operation is not None]


async def test_a_change_is_written_down_and_closed_with_its_audit_row(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
    assert (await bot.answer(owner)).startswith("Done")
    [operation] = await operations(bot.store)
    assert operation.status is OperationStatus.DONE and operation.attempts == 1
    assert operation.jpeg is None  # the picture is not kept once the change is closed
    assert operation.url == bot.green.avatar_of(FAMILY)
    [audit] = await bot.store.audit.latest()
    assert (audit.outcome, audit.url, audit.target) == ("done", operation.url, "family")


async def test_a_quick_change_is_answered_once_with_its_outcome(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    sent = await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
    await bot.deliver()
    # one message, never edited: no "Working on it…" for a change that ends within a moment
    [answer] = bot.telegram.bot_messages(owner)
    assert answer.reply_to_message_id == sent["message_id"]
    assert answer.content.startswith("Done: Family has a new picture.")
    assert (bot.green.avatar_of(FAMILY) or "no URL") in answer.content
    assert answer.history == [] and bot.telegram.calls("editMessageText") == []


async def test_a_slow_change_says_working_first_and_its_outcome_replaces_that(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    release = bot.telegram.hold_downloads()  # the photo takes a while to arrive
    sent = await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
    delivering = asyncio.create_task(bot.deliver())
    working = await bot.telegram.wait_for_bot_message(owner, contains="Working on it")
    assert working.reply_to_message_id == sent["message_id"]

    # written down with the change, so that a restart now would edit this very message
    async def answer_written_down() -> bool:
        [operation] = await operations(bot.store)
        return operation.reply_message_id == working.message_id

    await until(answer_written_down)
    release()
    await delivering

    [answer] = bot.telegram.bot_messages(owner)
    assert answer.message_id == working.message_id
    assert answer.content.startswith("Done: Family has a new picture.")
    assert [revision.text for revision in answer.history] == ["Working on it…"]


async def test_the_newer_picture_wins_over_one_still_waiting(bot: Bot):
    owner, other = bot.user(OWNER, "Olga"), bot.user(222, "Ada")
    bot.green.fail_next("setGroupPicture", Fault.slow(0.5))  # the first change takes a while
    first = await owner.send_photo(photo_bytes(900, 900), caption="/setgrouppic family")
    running = [asyncio.create_task(bot.deliver())]
    await until(lambda: bot.green.set_calls())
    second = await other.send_photo(photo_bytes(800, 800), caption="/setgrouppic family")
    running.append(asyncio.create_task(bot.deliver()))
    await until(
        lambda: (reply := reply_to(bot, other, second)) and reply.content.startswith("Queued")
    )
    third = await owner.send_photo(photo_bytes(700, 700), caption="/setgrouppic family")
    running.append(asyncio.create_task(bot.deliver()))
    await asyncio.gather(*running)

    replaced = answer_to(bot, other, second)
    assert replaced.content == (
        "Not sent: Olga sent a newer change for Family, which replaces this one."
    )
    assert "Queued (1 ahead of it)…" in [revision.text for revision in replaced.history]
    assert answer_to(bot, owner, first).content.startswith("Done")
    assert answer_to(bot, owner, third).content.startswith("Done")
    assert len(bot.green.set_calls()) == 2  # the replaced picture never reached Green API
    statuses = [op.status for op in await operations(bot.store)]
    assert statuses == [OperationStatus.DONE, OperationStatus.SUPERSEDED, OperationStatus.DONE]
    # one audit row per operation, saying what its status says
    assert sorted(row.outcome for row in await bot.store.audit.latest(limit=10)) == [
        "done",
        "done",
        "superseded",
    ]


async def test_the_account_picture_keeps_whatsapps_pace(tmp_path, green):
    fake, url = green
    raw = raw_config(tmp_path, url)
    raw["providers"]["green"]["own_interval_seconds"] = 0.4
    bot, application = await start_bot(raw, fake)
    try:
        owner = bot.user(OWNER, "Olga")
        for _ in range(2):
            await owner.send_photo(photo_bytes(), caption="/setprofilepic")
            await bot.deliver()
        assert [m.content[:5] for m in bot.telegram.bot_messages(owner)] == ["Done:", "Done:"]
        first, second = fake.calls("setProfilePicture")
        # the pace is kept between the starts of the calls; the arrivals differ by the upload
        assert second.received_at - first.received_at >= 0.3
    finally:
        await shut_down(application)


async def test_two_accounts_change_side_by_side(tmp_path, green):
    fake, url = green
    other = FakeGreenApi(
        id_instance="7105000001", token="other-SECRET", groups={"120363000000000999@g.us"}
    )
    async with serve(other.app) as other_url:
        raw = raw_config(tmp_path, url)
        raw["providers"]["other"] = {
            **raw["providers"]["green"],
            "api_url": other_url,
            "id_instance": "7105000001",
            "api_token_instance": "other-SECRET",
        }
        raw["groups"]["club"] = {"provider": "other", "chat_id": "120363000000000999@g.us"}
        bot, application = await start_bot(raw, fake)
        try:
            owner = bot.user(OWNER, "Olga")
            fake.fail_next("setGroupPicture", Fault.slow(0.8))
            await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
            slow = asyncio.create_task(bot.deliver())
            await until(lambda: fake.set_calls())
            await owner.send_photo(photo_bytes(), caption="/setgrouppic club")
            await bot.deliver()  # finishes while the other account is still busy
            assert bot.telegram.bot_messages(owner)[-1].content.startswith("Done: club has")
            assert not slow.done()
            await slow
        finally:
            await shut_down(application)


async def store_with_groups(raw: dict) -> tuple[Store, int]:
    """The bot's store before its start, with the config's groups; and family's id."""
    store = await Store.open(parse_config(raw, {}).storage.target)
    await store.groups.sync_config(config_groups(parse_config(raw, {})), {})
    family = await store.groups.get("family")
    assert family is not None and family.id is not None
    return store, family.id


async def test_open_changes_are_resumed_at_start_up_and_reported(tmp_path, green, store_target):
    fake, url = green
    raw = raw_config(tmp_path, url, storage=storage_at(store_target))
    store, family_id = await store_with_groups(raw)
    jpeg = (await prepare_picture_async(photo_bytes())).jpeg
    # Olga approved Rita's proposal, and the bot crashed while it ran
    left_open = Operation(
        action="set_group_picture",
        target="family",
        provider="green",
        actor_id=OWNER,
        actor_name="Olga",
        actor_chat_id=OWNER,
        requester_id=REQUESTER,
        requester_name="Rita",
        requester_chat_id=REQUESTER,
        request_key=f"{OWNER}:7",
        jpeg=jpeg,
        side=640,
        status=OperationStatus.RUNNING,
        attempts=1,
        group_id=family_id,
    )
    too_old = Operation(
        **{
            **left_open.__dict__,
            "request_key": f"{OWNER}:8",
            "created_at": "2026-01-01T00:00:00+00:00",
        }
    )
    await store.operations.add(left_open)
    await store.operations.add(too_old)
    await store.close()

    telegram = FakeTelegram(token=BOT_TOKEN)
    owner = telegram.user(OWNER, "Olga")  # the chats the reports go to exist before start-up
    requester = telegram.user(REQUESTER, "Rita")
    bot, application = await start_bot(raw, fake, telegram)
    try:
        await until(lambda: len(bot.telegram.bot_messages(requester)) == 2)
        texts = sorted(m.content for m in bot.telegram.bot_messages(owner))
        assert sorted(m.content for m in bot.telegram.bot_messages(requester)) == texts
        assert texts[0].startswith("Resumed after a restart. Could not change the picture of")
        assert "older than 60 minutes" in texts[0]
        assert texts[1].startswith("Resumed after a restart. Done: Family has a new picture.")
        [upload] = fake.set_calls()
        assert upload.file == jpeg  # the picture written down before the crash
        assert [op.status for op in await operations(bot.store)] == [
            OperationStatus.DONE,
            OperationStatus.FAILED,
        ]
        assert await bot.store.operations.open() == []
    finally:
        await shut_down(application)


async def test_a_change_is_not_resumed_when_its_actors_right_was_revoked_meanwhile(
    tmp_path, green, store_target
):
    fake, url = green
    raw = raw_config(tmp_path, url, storage=storage_at(store_target))
    store, family_id = await store_with_groups(raw)
    jpeg = (await prepare_picture_async(photo_bytes())).jpeg
    # Ada, then an admin of family, asked for a change; the bot crashed while it ran, and her
    # grant was revoked (`python -m bot revoke`) before the restart
    await store.operations.add(
        Operation(
            action="set_group_picture",
            target="family",
            provider="green",
            actor_id=ADMIN,
            actor_name="Ada",
            actor_chat_id=ADMIN,
            request_key=f"{ADMIN}:7",
            jpeg=jpeg,
            side=640,
            status=OperationStatus.RUNNING,
            attempts=1,
            group_id=family_id,
        )
    )
    await store.close()

    telegram = FakeTelegram(token=BOT_TOKEN)
    admin = telegram.user(ADMIN, "Ada")
    bot, application = await start_bot(raw, fake, telegram, grants=False)
    try:
        await until(lambda: bot.telegram.bot_messages(admin))
        assert [m.content for m in bot.telegram.bot_messages(admin)] == [
            "Not resumed after a restart: Ada may no longer change the picture of Family."
        ]
        assert fake.set_calls() == []
        [operation] = await operations(bot.store)
        assert operation.status is OperationStatus.REFUSED and operation.jpeg is None
        [row] = await bot.store.audit.latest()
        assert (row.user_id, row.outcome) == (ADMIN, "refused")
    finally:
        await shut_down(application)


async def test_an_approval_is_never_recorded_without_its_change(tmp_path, green):
    """Killed right after a press was claimed: the decision and the change were written in one
    transaction, so the change runs after the restart and the requester hears of it."""
    fake, url = green
    raw = raw_config(tmp_path, url)
    bot, application = await start_bot(raw, fake)
    try:
        requester = bot.user(REQUESTER, "Rita")
        bot.user(ADMIN, "Ada")
        await requester.send_photo(photo_bytes(), caption="/setgrouppic family")
        assert (await bot.answer(requester)).startswith("You may not make this change yourself")
        approvals = (await bot.services.use_cases()).approvals
        claim = await approvals.claim(Actor(ADMIN, ADMIN, "Ada"), 1, approve=True)
        assert claim.won  # ... and the process dies before it carries the decision out
    finally:
        await shut_down(application)
    assert fake.set_calls() == []

    bot, application = await start_bot(raw, fake, bot.telegram, grants=False)
    try:
        await until(lambda: len(bot.telegram.bot_messages(REQUESTER)) == 2)
        assert bot.telegram.bot_messages(REQUESTER)[-1].content.startswith(
            "Resumed after a restart. Done: Family has a new picture."
        )
        assert bot.telegram.bot_messages(ADMIN)[-1].content.startswith(
            "Resumed after a restart. Done: Family has a new picture."
        )
        assert [call.form["groupId"] for call in fake.set_calls()] == [FAMILY]
        [row] = [r for r in await bot.store.audit.latest() if r.outcome == "done"]
        assert (row.user_id, row.requested_by) == (ADMIN, REQUESTER)
    finally:
        await shut_down(application)
