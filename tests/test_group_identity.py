"""Rights belong to a group itself (its chat and provider), not to its alias: a grant, a link
or a proposal goes when its group goes, and never lands on a new group under the old name."""

from __future__ import annotations

import asyncio

from tests.conftest import (
    ADMIN,
    FAMILY,
    OWNER,
    REQUESTER,
    WORK_ADMIN,
    Bot,
    raw_config,
    shut_down,
    start_bot,
)
from tests.fakes.greenapi import Fault
from tests.pictures import photo_bytes
from tests.test_reliability import answer_to, reply_to, until

OTHER_FAMILY = "120363000000000042@g.us"
CLUB_ID = "120363000000000003@g.us"
NEWCOMER = 444


async def test_a_group_replaced_in_config_yaml_does_not_inherit_grants_or_proposals(
    tmp_path, green
):
    fake, url = green
    fake.groups.add(OTHER_FAMILY)
    raw = raw_config(tmp_path, url)
    bot, application = await start_bot(raw, fake)
    try:
        requester, admin = bot.user(REQUESTER, "Rita"), bot.user(ADMIN, "Ada")
        await requester.send_photo(photo_bytes(), caption="/setgrouppic family")
        assert (await bot.answer(requester)).startswith("You may not make this change yourself")
        proposal = [m for m in bot.telegram.bot_messages(admin) if m.buttons()][-1]
    finally:
        await shut_down(application)

    # the owner removes "family" from config.yaml and later puts another WhatsApp group there
    del raw["groups"]["family"]
    raw["links"] = {}
    bot, application = await start_bot(raw, fake, bot.telegram)
    await shut_down(application)
    raw["groups"]["family"] = {"provider": "green", "chat_id": OTHER_FAMILY, "title": "Others"}
    bot, application = await start_bot(raw, fake, bot.telegram, grants=False)
    try:
        admin = bot.user(ADMIN, "Ada")
        await admin.send_photo(photo_bytes(), caption="/setgrouppic family")
        assert await bot.answer(admin) == "Sorry, you may not change the picture of Others."
        await admin.press(proposal, "ap:1")
        await bot.deliver()
        assert fake.set_calls() == []  # neither the old grantee nor the old proposal got through
    finally:
        await shut_down(application)


async def test_a_removed_chat_group_takes_its_proposals_along(bot: Bot):
    owner, newcomer, requester = bot.user(OWNER, "Olga"), bot.user(NEWCOMER, "Nia"), None
    await bot.say(owner, f"/addgroup club green {CLUB_ID} Club")
    await bot.say(owner, f"/grant {NEWCOMER} club admin")
    await bot.say(owner, f"/grant {REQUESTER} club requester")
    requester = bot.user(REQUESTER, "Rita")
    await requester.send_photo(photo_bytes(), caption="/setgrouppic club")
    assert (await bot.answer(requester)).startswith("You may not make this change yourself")
    proposal = [m for m in bot.telegram.bot_messages(newcomer) if m.buttons()][-1]
    await bot.say(owner, "/removegroup club")
    bot.green.groups.add(OTHER_FAMILY)
    await bot.say(owner, f"/addgroup club green {OTHER_FAMILY} Others")
    await bot.say(owner, f"/grant {NEWCOMER} club admin")  # an admin of the new group, too
    await newcomer.press(proposal, "ap:1")
    await bot.deliver()
    assert bot.green.set_calls() == []
    assert bot.telegram.bot_messages(newcomer)[-1].content != "Done: Others has a new picture."


async def test_replacing_a_chats_link_needs_the_right_to_remove_it(bot: Bot):
    work_admin, admin = bot.user(WORK_ADMIN, "Walt"), bot.user(ADMIN, "Ada")
    chat = bot.telegram.group_chat(-100555, "Work chat")
    assert (await bot.say(work_admin, "/link work", chat=chat)).startswith("Done")
    before = bot.tables()
    assert await bot.say(admin, "/link family", chat=chat) == (
        "Sorry, you may not replace this chat's link to work."
    )
    assert bot.tables()["links"] == before["links"]
    assert (await bot.say(bot.user(OWNER, "Olga"), "/link family", chat=chat)).startswith("Done")


async def test_removing_a_group_cancels_its_queued_change_and_tells_the_requester(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    bot.green.groups.add(CLUB_ID)
    await bot.say(owner, f"/addgroup club green {CLUB_ID} Club")
    # family's change holds the account (3 s: time enough for the rest on a loaded machine)
    bot.green.fail_next("setGroupPicture", Fault.slow(3))
    await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
    running = [asyncio.create_task(bot.deliver())]
    await until(lambda: bot.green.set_calls())
    queued = await owner.send_photo(photo_bytes(), caption="/setgrouppic club")
    running.append(asyncio.create_task(bot.deliver()))
    await until(
        lambda: (reply := reply_to(bot, owner, queued)) and reply.content.startswith("Queued")
    )
    await owner.send("/removegroup club")
    running.append(asyncio.create_task(bot.deliver()))
    await asyncio.gather(*running)
    assert answer_to(bot, owner, queued).content == (
        "Not done: Olga removed the group club before the change ran."
    )
    # club's change never reached Green API (family's held upload timed out and was retried)
    assert {call.form["groupId"] for call in bot.green.set_calls()} == {FAMILY}
