"""Many groups at once, end to end: a list or `*`, the plan and its confirmation, one progress
message, the final summary, one notice, the audit rows, and a restart in the middle."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.domain import Role
from tests.conftest import (
    ADMIN,
    BOT_TOKEN,
    FAMILY,
    OTHER_OWNER,
    OWNER,
    REQUESTER,
    WORK,
    WORK_ADMIN,
    Bot,
    raw_config,
    shut_down,
    start_bot,
)
from tests.fakes.greenapi import FakeGreenApi
from tests.fakes.serve import serve
from tests.fakes.telegram import BotMessage, FakeTelegram, FakeUser
from tests.pictures import photo_bytes
from tests.test_reliability import until

OTHER_ID, OTHER_TOKEN = "7105000001", "other-token-SECRET"
PROGRESS = re.compile(r"^[▓░]{8} \d+/\d+ · \d+ failed · \d+ waiting$")
#: groups 3-6 of the first account, 1-6 of the second; "o6" is not in the second account's
#: WhatsApp groups (its picture cannot be set), "school" is not the admin's to change
GREEN_MORE = {f"g{n}": f"12036300000000010{n}@g.us" for n in range(3, 7)}
OTHER = {f"o{n}": f"12036300000000020{n}@g.us" for n in range(1, 7)}


def twelve_groups(raw: dict[str, Any], other_url: str, pace: float) -> dict[str, Any]:
    raw["providers"]["green"]["group_interval_seconds"] = pace
    raw["providers"]["other"] = {
        **raw["providers"]["green"],
        "api_url": other_url,
        "id_instance": OTHER_ID,
        "api_token_instance": OTHER_TOKEN,
    }
    for alias, chat in GREEN_MORE.items():
        raw["groups"][alias] = {"provider": "green", "chat_id": chat, "title": alias.upper()}
    for alias, chat in OTHER.items():
        raw["groups"][alias] = {"provider": "other", "chat_id": chat, "title": alias.upper()}
    raw["groups"]["school"] = {"provider": "other", "chat_id": "120363000000000299@g.us"}
    return raw


@pytest.fixture
async def two_accounts(tmp_path, green) -> AsyncIterator[tuple[Bot, FakeGreenApi]]:
    fake, url = green
    fake.groups |= set(GREEN_MORE.values())
    other = FakeGreenApi(
        id_instance=OTHER_ID, token=OTHER_TOKEN, groups=set(OTHER.values()) - {OTHER["o6"]}
    )
    async with serve(other.app) as other_url:
        other.requests = fake.requests  # one list: the order in which both were called
        raw = twelve_groups(raw_config(tmp_path, url), other_url, pace=0.05)
        bot, application = await start_bot(raw, fake)
        for alias in [*GREEN_MORE, *OTHER]:
            await bot.store.grants.add(ADMIN, alias, Role.ADMIN, granted_by=OWNER)
        try:
            yield bot, other
        finally:
            await shut_down(application)


def progress_message(bot: Bot, chat) -> BotMessage:
    return next(m for m in bot.telegram.bot_messages(chat) if m.history)


async def test_a_list_over_two_accounts_with_a_failure_and_a_refusal(two_accounts):
    bot, other = two_accounts
    admin, owner, other_owner = (
        bot.user(ADMIN, "Ada"),
        bot.user(OWNER, "Olga"),
        bot.user(OTHER_OWNER, "Otto"),
    )
    names = ", ".join(["family", *GREEN_MORE, *OTHER, "school"])  # 12, spaces after commas
    plan = await bot.say(admin, f"/setgrouppic {names}")  # ask first, then the photo
    assert plan.startswith("Send me the new picture for family, g3, g4,")
    await admin.send_photo(photo_bytes())
    plan = await bot.answer(admin)
    assert plan == (
        "I will change the picture of these 11 groups: family, g3, g4, g5, g6, o1, o2, o3, o4,"
        " o5, o6.\nLeft alone:\nschool: you may not change the picture of school"
    )
    assert bot.green.requests == []  # nothing before the press (both fakes record here)
    asked = bot.telegram.bot_messages(admin)[-1]
    await admin.press(asked, asked.callback_data("Change them"))
    await bot.deliver()

    # one message: the plan, then progress edits, then the final summary
    shown = progress_message(bot, admin)
    assert shown.message_id == asked.message_id
    steps = [revision.text for revision in shown.history[1:]]
    assert steps and all(step and PROGRESS.match(step) for step in steps)
    lines = shown.content.split("\n")
    assert lines[0] == "Done: 10 of 12 groups changed · 1 failed · 1 refused."
    for alias, chat in [("family", FAMILY), *GREEN_MORE.items()]:
        assert f"✅ {alias}: {bot.green.avatar_of(chat)}" in lines
    for alias in ["o1", "o2", "o3", "o4", "o5"]:
        assert f"✅ {alias}: {other.avatar_of(OTHER[alias])}" in lines
    assert any(line.startswith("❌ o6: failed: ") for line in lines)
    assert "⛔ school: you may not change the picture of school" in lines
    assert len(lines) == 13

    # each account got its own groups once, one picture for all; the accounts ran side by side
    arrivals = [(r.path, r.method) for r in bot.green.requests if r.method == "setGroupPicture"]
    accounts = ["other" if OTHER_ID in path else "green" for path, _ in arrivals]
    assert accounts.index("other") < len(accounts) - 1 - accounts[::-1].index("green")
    by_account: dict[str, list[str]] = {"green": [], "other": []}
    arrived: dict[str, list[float]] = {"green": [], "other": []}
    for call in bot.green.set_calls():
        account = "other" if OTHER_ID in call.path else "green"
        by_account[account].append(call.form["groupId"])
        arrived[account].append(call.received_at)
    for times in arrived.values():  # each account at its pace: never two calls closer than it
        assert all(later - earlier >= 0.05 for earlier, later in itertools.pairwise(times))
    assert sorted(by_account["green"]) == sorted([FAMILY, *GREEN_MORE.values()])
    assert sorted(by_account["other"]) == sorted(OTHER.values())  # o6 tried once: it failed
    assert len({r.file for r in bot.green.set_calls()}) == 1
    rows = [(r.target, r.outcome) for r in await bot.store.audit.latest(limit=50)]
    assert sorted(rows) == sorted(
        [(alias, "done") for alias in ["family", *GREEN_MORE, *OTHER] if alias != "o6"]
        + [("o6", "failed"), ("school", "refused")]
    )
    # one summary notice to each owner, not one per group
    for person in (owner, other_owner):
        [notice] = bot.telegram.bot_messages(person)
        assert notice.content.startswith(
            f"Ada ({ADMIN}) changed the pictures of 10 of 12 groups at once (1 failed, 1 refused)."
        )


async def test_star_means_every_group_one_may_change_and_a_second_press_does_nothing(bot: Bot):
    admin = bot.user(ADMIN, "Ada")  # admin of family only
    await admin.send_photo(photo_bytes(), caption="/setgrouppic *")
    assert await bot.answer(admin) == "Done: 1 of 1 group changed · 0 failed · 0 refused." + (
        f"\n✅ family: {bot.green.avatar_of(FAMILY)}"
    )
    owner = bot.user(OWNER, "Olga")
    await owner.send_photo(photo_bytes(), caption="/setgrouppic *")
    asked = await bot.answer(owner)
    assert asked == "I will change the picture of these 2 groups: family, work."
    question = bot.telegram.bot_messages(owner)[-1]
    data = question.callback_data("Change them")
    await owner.press(question, data)
    await owner.press(question, data)
    await bot.telegram.feed(bot.application, at_once=True)
    await bot.services.notices_sent()
    assert [r.form["groupId"] for r in bot.green.set_calls()][1:] in (
        [FAMILY, WORK],
        [WORK, FAMILY],
    )


async def test_a_list_where_the_provider_cannot_and_undo_lists(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    answer = await bot.say(owner, "/delgrouppic family, work")
    assert answer == (
        "Nothing to do: I may not remove the picture of any of these groups.\nLeft alone:\n"
        "family: Green API cannot remove a group picture, so nothing was changed\n"
        "work: Green API cannot remove a group picture, so nothing was changed"
    )
    for size in (700, 800):
        await owner.send_photo(photo_bytes(size, size), caption="/setgrouppic family,work")
        await bot.deliver()
        question = bot.telegram.bot_messages(owner)[-1]
        await owner.press(question, question.callback_data("Change them"))
        await bot.deliver()
    first = {r.form["groupId"]: r.file for r in bot.green.set_calls()[:2]}
    answer = await bot.say(owner, "/undogrouppic family,work")
    assert answer == "I will undo the last picture change of these 2 groups: family, work."
    question = bot.telegram.bot_messages(owner)[-1]
    await owner.press(question, question.callback_data("Undo them"))
    await bot.deliver()
    assert {r.form["groupId"]: r.file for r in bot.green.set_calls()[4:]} == first


async def stopped_mid_bulk(
    tmp_path, fake: FakeGreenApi, url: str, owner: FakeUser, caption: str
) -> tuple[dict[str, Any], BotMessage]:
    """An owner's confirmed list, the bot stopped with it half done; the config, and the
    message that shows the list's progress."""
    fake.groups |= set(GREEN_MORE.values())
    raw = raw_config(tmp_path, url)
    raw["providers"]["green"]["group_interval_seconds"] = 0.3
    for alias, chat in GREEN_MORE.items():
        raw["groups"][alias] = {"provider": "green", "chat_id": chat, "title": alias.upper()}
    telegram = owner.fake
    bot, application = await start_bot(raw, fake, telegram)
    try:
        await owner.send_photo(photo_bytes(), caption=caption)
        await bot.deliver()
        question = telegram.bot_messages(owner)[-1]
        await owner.press(question, question.buttons()[0]["callback_data"])
        running = asyncio.create_task(bot.deliver())
        await until(lambda: len(fake.set_calls()) >= 2)
        running.cancel()  # the bot stops with the bulk half done
        await asyncio.gather(running, return_exceptions=True)
    finally:
        await shut_down(application)
    return raw, question


async def test_a_restart_in_the_middle_finishes_the_bulk_once_with_one_summary(tmp_path, green):
    fake, url = green
    telegram = FakeTelegram(token=BOT_TOKEN)
    owner, other_owner = telegram.user(OWNER, "Olga"), telegram.user(OTHER_OWNER, "Otto")
    raw, question = await stopped_mid_bulk(tmp_path, fake, url, owner, "/setgrouppic *")
    assert len(fake.set_calls()) < 6

    bot, application = await start_bot(raw, fake, telegram, grants=False)
    try:
        await until(lambda: question.content.startswith("Done:"), timeout=20)
        await until(lambda: telegram.bot_messages(other_owner))  # the notice follows the answer
        await bot.services.notices_sent()
        assert question.content.startswith("Done: 6 of 6 groups changed · 0 failed · 0 refused.")
        groups = [r.form["groupId"] for r in fake.set_calls()]
        assert set(groups) == {FAMILY, WORK, *GREEN_MORE.values()}
        rows = [(r.target, r.outcome) for r in await bot.store.audit.latest(limit=50)]
        assert sorted(rows) == sorted((a, "done") for a in ["family", "work", *GREEN_MORE])
        finals = [r.text for r in question.history if r.text and r.text.startswith("Done:")]
        assert finals == []  # the summary was shown once: the message's current text
        [notice] = telegram.bot_messages(other_owner)
        assert notice.content.startswith(f"Olga ({OWNER}) changed the pictures of 6 of 6")
    finally:
        await shut_down(application)


async def test_a_summary_after_a_restart_gives_the_refusals_in_the_readers_language(
    tmp_path, green
):
    fake, url = green
    telegram = FakeTelegram(token=BOT_TOKEN)
    owner = telegram.user(OWNER, "Olga", language_code="ru")
    caption = "/setgrouppic family,work,g3,g4,nosuch"
    raw, question = await stopped_mid_bulk(tmp_path, fake, url, owner, caption)

    _, application = await start_bot(raw, fake, telegram, grants=False)
    try:
        await until(lambda: question.content.startswith("Готово"), timeout=20)
    finally:
        await shut_down(application)
    # the reason was worded before the restart, and is said in Russian after it too
    assert question.content.split("\n")[1] == (  # what went wrong comes first
        "⛔ nosuch: группы 'nosuch' нет. Вам доступны: family, g3, g4, g5, g6, work."
    )


async def test_a_requesters_list_is_one_proposal_approved_as_one(bot: Bot):
    await bot.store.grants.add(REQUESTER, "work", Role.REQUESTER, granted_by=OWNER)
    await bot.store.grants.add(ADMIN, "work", Role.ADMIN, granted_by=OWNER)
    requester, admin = bot.user(REQUESTER, "Rita"), bot.user(ADMIN, "Ada")
    work_admin = bot.user(WORK_ADMIN, "Wim")
    await requester.send_photo(photo_bytes(), caption="/setgrouppic family, work")
    assert await bot.answer(requester) == (
        "You may only propose this, so I will send the admins one proposal to change the"
        " picture of these 2 groups: family, work."
    )
    asked = bot.telegram.bot_messages(requester)[-1]
    await requester.press(asked, asked.callback_data("Propose them"))
    await bot.deliver()
    assert asked.content == (
        "Sent to the admins as one proposal to change the picture of family, work. I will tell"
        " you here what they decide."
    )
    assert bot.green.requests == []  # nothing changes before a decision
    assert bot.telegram.bot_messages(work_admin) == []  # Wim may not decide for family
    [copy] = bot.telegram.bot_messages(admin)
    assert copy.caption is not None and copy.caption.startswith(
        f"Rita ({REQUESTER}) proposes this picture for 2 groups at once: family, work."
    )
    await admin.press(copy, copy.callback_data("Approve"))
    await bot.deliver()

    assert sorted(r.form["groupId"] for r in bot.green.set_calls()) == sorted([FAMILY, WORK])
    assert {r.file for r in bot.green.set_calls()} == {copy.photo}  # the picture they saw
    assert [b["text"] for b in copy.buttons()] == ["✅ Approved by Ada"]
    summary = bot.telegram.bot_messages(requester)[-1].content
    assert summary.startswith("Done: 2 of 2 groups changed · 0 failed · 0 refused.")
    assert bot.telegram.bot_messages(admin)[-1].content == summary  # the approver's progress
    rows = await bot.store.audit.latest(limit=10)
    done = [(r.target, r.user_id, r.requested_by) for r in rows if r.outcome == "done"]
    assert sorted(done) == [("family", ADMIN, REQUESTER), ("work", ADMIN, REQUESTER)]

    await admin.press(copy, copy.callback_data("✅ Approved by Ada"))  # a press after it
    await bot.deliver()
    assert bot.telegram.calls("answerCallbackQuery")[-1].params["text"] == (
        f"Already decided by Ada ({ADMIN})."
    )
    assert len(bot.green.set_calls()) == 2


async def rita_proposes_family_and_work(bot: Bot) -> tuple[FakeUser, FakeUser, BotMessage]:
    """Rita, a requester of work, proposes a picture for family and work: Rita, Olga (an
    owner), and Olga's copy of the proposal."""
    await bot.store.grants.add(REQUESTER, "work", Role.REQUESTER, granted_by=OWNER)
    requester, owner = bot.user(REQUESTER, "Rita"), bot.user(OWNER, "Olga")
    await requester.send_photo(photo_bytes(), caption="/setgrouppic family,work")
    await bot.deliver()
    asked = bot.telegram.bot_messages(requester)[-1]
    await requester.press(asked, asked.callback_data("Propose them"))
    await bot.deliver()
    [copy] = bot.telegram.bot_messages(owner)
    return requester, owner, copy


async def test_a_requesters_list_is_rejected_as_one_and_only_a_full_decider_may(bot: Bot):
    admin, other_owner = bot.user(ADMIN, "Ada"), bot.user(OTHER_OWNER, "Otto")
    requester, owner, copy = await rita_proposes_family_and_work(bot)
    # no admin may decide both groups: the owners decide
    assert bot.telegram.bot_messages(admin) == []
    assert len(bot.telegram.bot_messages(other_owner)) == 1
    await owner.press(copy, copy.callback_data("Reject"))
    await bot.deliver()
    assert bot.telegram.bot_messages(requester)[-1].content == (
        f"Your proposal to change the picture of family, work was rejected by Olga ({OWNER})."
    )
    assert [b["text"] for b in copy.buttons()] == ["❌ Rejected by Olga"]
    assert bot.green.requests == []


async def test_a_requesters_list_nobody_decides_expires_with_the_sweep(bot: Bot):
    requester, owner, copy = await rita_proposes_family_and_work(bot)
    sweep = (await bot.services.use_cases()).approvals  # one sweep for single proposals and lists

    bot.clock.advance(hours=23, minutes=59)  # approval_ttl_hours: 24
    await sweep.expire_due()
    assert [b["text"] for b in copy.buttons()] == ["Approve", "Reject"]
    bot.clock.advance(minutes=2)
    await sweep.expire_due()
    await sweep.expire_due()  # twice: the requester hears it once
    told = [m.content for m in bot.telegram.bot_messages(requester)][1:]  # after the plan
    assert told == [
        "Your proposal to change the picture of family, work expired: nobody decided in time."
    ]
    assert [b["text"] for b in copy.buttons()] == ["⌛ Expired"]
    rows = await bot.store.audit.latest(limit=10)
    expired = sorted((r.target, r.user_id, r.requested_by) for r in rows if r.outcome == "expired")
    assert expired == [("family", None, REQUESTER), ("work", None, REQUESTER)]

    await owner.press(copy, copy.callback_data("⌛ Expired"))  # a press after it changes nothing
    await bot.deliver()
    assert bot.green.requests == []
