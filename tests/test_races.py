"""Updates that race each other, and work that must not wait on other work."""

from __future__ import annotations

import asyncio

from tests.conftest import ADMIN, OTHER_OWNER, OWNER, Bot
from tests.fakes.gowa import FakeGowa
from tests.pictures import photo_bytes
from tests.test_approvals import TEAM, gowa, team_bot  # noqa: F401 (fixtures)
from tests.test_reliability import reply_to, until


async def test_two_presses_of_remove_it_at_once_remove_once_and_say_nothing_wrong(
    team_bot: Bot,  # noqa: F811
    gowa: tuple[FakeGowa, str],  # noqa: F811
):
    bot, fake = team_bot, gowa[0]
    fake.avatars[TEAM] = "https://pps.whatsapp.net/v/team.jpg"
    admin = bot.user(ADMIN, "Ada")
    assert await bot.say(admin, "/delgrouppic team") == (
        "Remove the picture of Team? /undogrouppic puts it back."
    )
    question = bot.telegram.bot_messages(admin)[-1]
    await admin.press(question, f"del:{ADMIN}:team")
    await admin.press(question, f"del:{ADMIN}:team")
    await bot.telegram.feed(bot.application, at_once=True)
    assert [m.content for m in bot.telegram.bot_messages(admin)][-1] == (
        "Done: the picture of Team is removed."
    )
    assert len(bot.telegram.bot_messages(admin)) == 1  # the question, edited; nothing else
    # the picture read once for the history, and removed once
    assert [r.path for r in fake.requests] == ["/user/avatar", "/group/photo"]
    assert TEAM not in fake.avatars


async def test_the_answer_does_not_wait_for_a_slow_notice_and_stopping_still_sends_it(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    other_owner = bot.user(OTHER_OWNER, "Otto")
    release = bot.telegram.hold(other_owner)  # Otto's chat answers only when released
    sent = await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
    delivering = asyncio.create_task(bot.telegram.feed(bot.application))
    await until(lambda: (reply := reply_to(bot, owner, sent)) and reply.content.startswith("Done"))
    assert bot.telegram.bot_messages(other_owner) == []  # the notice is still on its way
    assert bot.application.post_shutdown is not None
    stopping = asyncio.create_task(bot.application.post_shutdown(bot.application))
    await asyncio.sleep(0)
    release()
    await asyncio.gather(delivering, stopping)
    [notice] = bot.telegram.bot_messages(other_owner)
    assert notice.content.startswith(f"Olga ({OWNER}) changed the picture of Family via green")
