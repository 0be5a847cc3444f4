"""Where features meet: lists, proposals, times and aliases (issue 21), each tried end to end
the way a user or an attacker would. A proposal or a list belongs to the groups it was made for,
not to their aliases; a time that passed while a question waited is refused at the press."""

from __future__ import annotations

import re
import sqlite3

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
from tests.fakes.telegram import BotMessage, FakeTelegram, FakeUser
from tests.pictures import photo_bytes
from tests.test_callbacks import answers
from tests.test_reliability import until
from tests.test_schedule import OUTCOME_TIMEOUT, confirmed, rows, schedule, told
from tests.test_store import at_version

CLUB = "120363000000000003@g.us"
OTHER_CLUB = "120363000000000004@g.us"


async def rita_proposes(
    bot: Bot, caption: str, *, photo: bool = True
) -> tuple[FakeUser, BotMessage]:
    """Rita (a requester of family and club) proposes a list; Ada (an admin of both) decides:
    Ada and her copy."""
    owner, admin = bot.user(OWNER, "Olga"), bot.user(ADMIN, "Ada")
    bot.green.groups |= {CLUB, OTHER_CLUB}
    assert (await bot.say(owner, f"/addgroup club green {CLUB} Book club")).startswith("Done")
    await bot.store.grants.add(REQUESTER, "club", Role.REQUESTER, granted_by=OWNER)
    await bot.store.grants.add(ADMIN, "club", Role.ADMIN, granted_by=OWNER)
    await confirmed(bot, bot.user(REQUESTER, "Rita"), caption, press="Propose them", photo=photo)
    return admin, bot.telegram.bot_messages(admin)[-1]


async def test_a_list_proposal_belongs_to_its_groups_not_to_their_aliases(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    admin, copy = await rita_proposes(bot, "/setgrouppic family,club")
    # the alias is removed and given to another WhatsApp group before anyone decides
    assert (await bot.say(owner, "/removegroup club")).startswith("Done")
    assert (await bot.say(owner, f"/addgroup club green {OTHER_CLUB} Club")).startswith("Done")
    await bot.store.grants.add(ADMIN, "club", Role.ADMIN, granted_by=OWNER)

    await admin.press(copy, copy.callback_data("Approve"))
    await bot.deliver()
    assert answers(bot)[-1] == "Approved: making the changes now. Removed since, so left out: club."
    assert [call.form["groupId"] for call in bot.green.set_calls()] == [FAMILY]  # never OTHER
    summary = bot.telegram.bot_messages(REQUESTER)[-1].content
    assert summary.startswith("Done: 1 of 1 group changed · 0 failed · 0 refused."), summary
    assert [b["text"] for b in copy.buttons()] == ["✅ Approved by Ada"]


async def test_history_belongs_to_the_group_not_to_its_alias(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    bot.green.groups |= {CLUB, OTHER_CLUB}
    await bot.say(owner, f"/addgroup club green {CLUB} Book club")
    await owner.send_photo(photo_bytes(), caption="/setgrouppic club")
    await bot.deliver()
    old_url = bot.green.avatar_of(CLUB)
    assert old_url
    await bot.say(owner, "/removegroup club")
    await bot.say(owner, f"/addgroup club green {OTHER_CLUB} New club")
    await bot.store.grants.add(WORK_ADMIN, "club", Role.ADMIN, granted_by=OWNER)

    shown = await bot.say(bot.user(WORK_ADMIN, "Wim"), "/history club")
    assert old_url not in shown and CLUB not in shown and "set_group_picture" not in shown


async def test_a_list_proposal_expires_counted_from_when_it_was_proposed(bot: Bot):
    await bot.store.grants.add(REQUESTER, "work", Role.REQUESTER, granted_by=OWNER)
    requester, owner = bot.user(REQUESTER, "Rita"), bot.user(OWNER, "Olga")
    await requester.send_photo(photo_bytes(), caption="/setgrouppic family,work")
    await bot.deliver()
    plan = bot.telegram.bot_messages(requester)[-1]
    bot.clock.advance(hours=23)  # the plan waited a day for its confirmation
    await requester.press(plan, plan.callback_data("Propose them"))
    await bot.deliver()
    [copy] = bot.telegram.bot_messages(owner)
    bot.clock.advance(hours=2)
    await (await bot.services.use_cases()).approvals.expire_due()
    assert [b["text"] for b in copy.buttons()] == ["Approve", "Reject"]  # open for its 24 h
    await owner.press(copy, copy.callback_data("Approve"))
    await bot.deliver()
    assert answers(bot)[-1] == "Approved: making the changes now."
    assert {call.form["groupId"] for call in bot.green.set_calls()} == {FAMILY, WORK}


async def test_an_approval_after_the_until_time_is_refused_saying_why(bot: Bot):
    requester, admin = bot.user(REQUESTER, "Rita"), bot.user(ADMIN, "Ada")
    await requester.send_photo(photo_bytes(), caption="/setgrouppic family until in 1h")
    await bot.deliver()
    [copy] = bot.telegram.bot_messages(admin)
    bot.clock.advance(hours=2)
    await admin.press(copy, copy.callback_data("Approve"))
    await bot.deliver()
    assert answers(bot)[-1] == (
        "Too late: the time its earlier picture was to come back has passed; nothing was changed."
    )
    assert bot.green.requests == []  # made and never undone, before
    assert rows(bot, "SELECT COUNT(*) FROM schedules") == [(0,)]
    assert told(bot, "was closed")[-1].startswith(
        "Your proposal to change the picture of Family was closed: it was approved after"
    )
    assert [b["text"] for b in copy.buttons()] == ["⌛ Expired"]


async def test_a_list_with_a_time_confirmed_after_that_time_is_refused(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    await owner.send_photo(photo_bytes(), caption="/setgrouppic family,work until in 1h")
    await bot.deliver()
    plan = bot.telegram.bot_messages(owner)[-1]
    bot.clock.advance(hours=2)
    await owner.press(plan, plan.callback_data("Change them"))
    await bot.deliver()
    assert re.fullmatch(r"Sorry, .* has passed already; nothing was scheduled\.", plan.content)
    assert rows(bot, "SELECT COUNT(*) FROM schedules") == [(0,)]
    assert bot.green.set_calls() == []


async def test_a_stale_cancel_button_does_not_cancel_the_next_step(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
    await bot.deliver()
    reply = await schedule(bot, owner, "/setgrouppic family in 2s until in 1h", photo_bytes(800))
    await owner.send("/scheduled")
    await bot.deliver()
    listed = bot.telegram.bot_messages(owner)[-1]
    cancel = listed.callback_data("Cancel 1")
    bot.clock.advance(seconds=3)
    await until(lambda: "has a new picture" in reply.content, timeout=OUTCOME_TIMEOUT)  # `at` ran

    await owner.press(listed, cancel)  # the button showed the change, which is done
    await bot.deliver()
    assert answers(bot)[-1] == "That scheduled change is no longer waiting; nothing was done."
    assert rows(bot, "SELECT phase, status FROM schedules") == [("until", "pending")]


async def test_a_mixed_list_follows_the_larger_part_and_names_the_rest(bot: Bot):
    # Rita may change work (admin) and only propose for family, club and school
    owner = bot.user(OWNER, "Olga")
    bot.green.groups |= {CLUB, OTHER_CLUB}
    await bot.say(owner, f"/addgroup club green {CLUB} Club")
    await bot.say(owner, f"/addgroup school green {OTHER_CLUB} School")
    for group in ("club", "school"):
        await bot.store.grants.add(REQUESTER, group, Role.REQUESTER, granted_by=OWNER)
    await bot.store.grants.add(REQUESTER, "work", Role.ADMIN, granted_by=OWNER)
    requester = bot.user(REQUESTER, "Rita")
    await requester.send_photo(photo_bytes(), caption="/setgrouppic work,family,club,school")
    await bot.deliver()
    plan = bot.telegram.bot_messages(requester)[-1].content
    assert plan.startswith(
        "You may only propose this, so I will send the admins one proposal to change the"
        " picture of these 3 groups: family, club, school."
    ), plan
    assert "work: you may change it yourself: send a list of such groups on its own" in plan


async def test_a_proposal_that_reaches_nobody_closes_and_its_requester_is_told(bot: Bot):
    await bot.store.grants.add(REQUESTER, "work", Role.REQUESTER, granted_by=OWNER)
    for owner in (OWNER, OTHER_OWNER):  # nobody may decide both groups but the owners
        bot.telegram.block(owner)
    await confirmed(
        bot, bot.user(REQUESTER, "Rita"), "/setgrouppic family,work", press="Propose them"
    )
    assert bot.telegram.bot_messages(REQUESTER)[-1].content == (
        "I could not send your proposal to change the picture of family, work to anyone who"
        " may approve it, so nothing will change."
    )
    assert rows(bot, "SELECT status FROM proposals") == [("expired",)]


async def test_a_double_tap_on_a_lists_confirmation_says_nothing_more(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    await owner.send_photo(photo_bytes(), caption="/setgrouppic family,work")
    await bot.deliver()
    plan = bot.telegram.bot_messages(owner)[-1]
    await owner.press(plan, plan.callback_data("Change them"))
    await owner.press(plan, plan.callback_data("Change them"))  # a double tap
    await bot.deliver()
    assert len(bot.green.set_calls()) == 2
    assert [m.content for m in bot.telegram.bot_messages(owner)] == [plan.content]
    assert plan.content.startswith("Done: 2 of 2 groups changed")
    assert {call.form["groupId"] for call in bot.green.set_calls()} == {FAMILY, WORK}


async def test_a_list_proposed_before_lists_were_proposals_is_decided_after_the_upgrade(
    tmp_path, green
):
    """Issue 20: the list tables merged into the proposals; a store migrated with a requester's
    list still open keeps it: its copies get the buttons of the proposal it became."""
    fake, url = green
    raw = raw_config(tmp_path, url)
    database = raw["storage"]["path"]
    await at_version(
        database,
        10,
        f"INSERT INTO groups (alias, provider, chat_id, title) VALUES"
        f" ('family', 'green', '{FAMILY}', 'Family'), ('work', 'green', '{WORK}', 'Work')",
    )
    telegram = FakeTelegram(token=BOT_TOKEN)
    owner = telegram.user(OWNER, "Olga")
    telegram.user(REQUESTER, "Rita")
    old_copy = telegram.sent_before(  # the copy an older version sent Olga
        owner,
        "Rita (224) proposes this picture for 2 groups at once: family, work.",
        [("Approve", "bap:1"), ("Reject", "brj:1")],
    )
    with sqlite3.connect(database) as db:
        db.execute(
            "INSERT INTO bulks (action, actor_id, actor_name, actor_chat_id, names, status,"
            " created_at, jpeg, side) VALUES ('set', ?, 'Rita', ?, 'family,work', 'proposed',"
            " '2026-12-07T09:00:00+00:00', ?, 640)",
            (REQUESTER, REQUESTER, photo_bytes(640, 640)),
        )
        db.execute(
            "INSERT INTO bulk_messages (bulk_id, chat_id, message_id) VALUES (1, ?, ?)",
            (OWNER, old_copy.message_id),
        )
    bot, application = await start_bot(raw, fake, telegram, grants=False)
    try:
        assert [b["text"] for b in old_copy.buttons()] == ["Approve", "Reject"]
        await owner.press(old_copy, old_copy.callback_data("Approve"))
        await bot.deliver()
        assert {call.form["groupId"] for call in fake.set_calls()} == {FAMILY, WORK}
        assert [b["text"] for b in old_copy.buttons()] == ["✅ Approved by Olga"]
    finally:
        await shut_down(application)
