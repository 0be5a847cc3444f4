"""Scheduled pictures end to end: `at …` and `until …` from Telegram, the provider's uploads
out, with restarts in between (short times: the tests wait for outcomes, never for a time)."""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain import Role
from tests.bot_process import (
    running_bot,
    spawn_bot,
)
from tests.conftest import (
    ADMIN,
    FAMILY,
    OWNER,
    REQUESTER,
    WORK,
    WORK_ADMIN,
    Bot,
    FakeClock,
    raw_config,
    shut_down,
    start_bot,
)
from tests.fakes.greenapi import FakeGreenApi
from tests.fakes.telegram import BotMessage, FakeTelegram, FakeUser
from tests.pictures import photo_bytes
from tests.test_bulk import OTHER, two_accounts  # noqa: F401 (fixtures)
from tests.test_callbacks import answers
from tests.test_e2e_crash import ENV, green_holds_the_first_upload, kill
from tests.test_reliability import answer_to, until

#: how long a test waits for a scheduled change's outcome (it is due in a few seconds)
OUTCOME_TIMEOUT = 30
SCHEDULED = re.compile(
    r"^Scheduled for \w{3} \d{1,2} \w{3} \d\d:\d\d \(UTC\), in \d+ seconds?: "
    r"change the picture of Family\.\n"
)


@contextlib.asynccontextmanager
async def running(
    raw: dict[str, Any],
    fake: FakeGreenApi,
    telegram: FakeTelegram | None = None,
    clock: FakeClock | None = None,
) -> AsyncIterator[Bot]:
    """The bot on `raw` until the block ends (a second one on the same store, with the first
    one's telegram and clock: a restart)."""
    bot, application = await start_bot(raw, fake, telegram, grants=telegram is None, clock=clock)
    try:
        yield bot
    finally:
        await shut_down(application)


async def schedule(bot: Bot, user: FakeUser, caption: str, image: bytes) -> BotMessage:
    """Send a photo with a scheduling caption; the bot's reply (edited later with the outcome)."""
    sent = await user.send_photo(image, caption=caption)
    await bot.deliver()
    return answer_to(bot, user, sent)


async def outcome(bot: Bot, reply: BotMessage, words: str) -> str:
    """Wait until the bot's reply says `words`; its text."""
    await until(lambda: words in reply.content, timeout=OUTCOME_TIMEOUT)
    return reply.content


def set_files(bot: Bot) -> list[bytes | None]:
    return [call.file for call in bot.green.set_calls()]


def rows(bot: Bot, sql: str) -> list[tuple]:
    with sqlite3.connect(bot.services.config.storage.path) as db:
        return db.execute(sql).fetchall()


async def test_a_picture_set_at_a_time_goes_up_then_and_the_reply_says_so(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    reply = await schedule(bot, owner, "/setgrouppic family in 3s", photo_bytes())
    assert SCHEDULED.match(reply.content), reply.content
    assert reply.content.endswith("/scheduled lists it, with a button to cancel it.")
    assert bot.green.set_calls() == []  # not yet: it is due in 3 s

    bot.clock.advance(seconds=3)
    done = await outcome(bot, reply, "Done: Family has a new picture.")
    assert f"\n{bot.green.avatar_of(FAMILY)}" in done
    assert len(bot.green.set_calls()) == 1
    audit = [(r.user_id, r.action, r.outcome) for r in await bot.store.audit.latest(limit=5)]
    assert audit == [(OWNER, "set_group_picture", "done")]
    assert rows(bot, "SELECT phase, status, jpeg IS NULL FROM schedules") == [("at", "done", 1)]


async def test_until_sets_now_and_puts_the_earlier_picture_back_then(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    await owner.send_photo(photo_bytes(1200, 900), caption="/setgrouppic family")
    await bot.deliver()
    reply = await schedule(bot, owner, "/setgrouppic family until in 3s", photo_bytes(800, 800))
    await outcome(bot, reply, "The earlier picture comes back at")
    assert reply.content.startswith("Done: Family has a new picture.")
    first, holiday = set_files(bot)
    assert first != holiday

    bot.clock.advance(seconds=3)
    await until(lambda: len(bot.green.set_calls()) == 3, timeout=OUTCOME_TIMEOUT)
    assert set_files(bot)[-1] == first  # the earlier picture is back
    await until(lambda: "comes back" not in reply.content)
    assert reply.content.startswith("Done: Family has a new picture.")
    assert rows(bot, "SELECT phase, status FROM schedules") == [("until", "done")]


async def test_a_scheduled_change_survives_a_restart_before_its_time(tmp_path, green):
    fake, url = green
    raw = raw_config(tmp_path, url)
    async with running(raw, fake) as bot:
        reply = await schedule(
            bot, bot.user(OWNER, "Olga"), "/setgrouppic family in 3s", photo_bytes()
        )
        assert SCHEDULED.match(reply.content)
    assert fake.set_calls() == []

    async with running(raw, fake, bot.telegram, bot.clock) as bot:
        bot.clock.advance(seconds=3)
        await outcome(bot, reply, "Done: Family has a new picture.")
        assert len(fake.set_calls()) == 1


async def test_the_until_restore_survives_a_restart_in_between(tmp_path, green):
    fake, url = green
    raw = raw_config(tmp_path, url)
    async with running(raw, fake) as bot:
        owner = bot.user(OWNER, "Olga")
        await owner.send_photo(photo_bytes(1200, 900), caption="/setgrouppic family")
        await bot.deliver()
        reply = await schedule(bot, owner, "/setgrouppic family until in 4s", photo_bytes(700, 700))
        await outcome(bot, reply, "The earlier picture comes back at")

    async with running(raw, fake, bot.telegram, bot.clock) as bot:
        bot.clock.advance(seconds=4)
        await until(lambda: len(fake.set_calls()) == 3, timeout=OUTCOME_TIMEOUT)
        first, _holiday, back = (call.file for call in fake.set_calls())
        assert back == first


async def _late_by(tmp_path, green, minutes: int) -> tuple[BotMessage, list]:
    """Schedule in an hour, stop, move its time `minutes` into the past, start again: the
    bot's reply once it is settled, and the uploads."""
    fake, url = green
    raw = raw_config(tmp_path, url)
    async with running(raw, fake) as bot:
        reply = await schedule(
            bot, bot.user(OWNER, "Olga"), "/setgrouppic family in 1h", photo_bytes()
        )
    past = datetime.now(UTC) - timedelta(minutes=minutes)
    with sqlite3.connect(raw["storage"]["path"]) as db:  # the bot was down at its time
        db.execute("UPDATE schedules SET due_at = ?", (past.isoformat(timespec="seconds"),))
    async with running(raw, fake, bot.telegram):
        await until(lambda: "Scheduled" not in reply.content, timeout=OUTCOME_TIMEOUT)
    return reply, fake.set_calls()


async def test_a_change_late_by_less_than_the_limit_runs_at_start_up(tmp_path, green):
    reply, calls = await _late_by(tmp_path, green, 20)
    assert reply.content.startswith("Done: Family has a new picture.")
    assert len(calls) == 1


async def test_a_change_late_by_more_than_the_limit_fails_and_its_author_is_told(tmp_path, green):
    reply, calls = await _late_by(tmp_path, green, 90)
    assert reply.content == (
        "The scheduled change was not made: the bot was not running at its time, and it is now"
        " 90 minutes late (at most 60 minutes are allowed)."
    )
    assert calls == []


async def test_scheduled_lists_with_cancel_buttons_by_right_and_a_cancel_sticks(bot: Bot):
    owner, admin = bot.user(OWNER, "Olga"), bot.user(ADMIN, "Ada")
    work_admin, requester = bot.user(WORK_ADMIN, "Walt"), bot.user(REQUESTER, "Rita")
    reply = await schedule(bot, admin, "/setgrouppic family in 1h", photo_bytes())
    assert reply.content.startswith("Scheduled for ")

    assert await bot.say(work_admin, "/scheduled") == "Nothing is scheduled."
    assert await bot.say(requester, "/scheduled family") == "Nothing is scheduled."
    listing = await bot.say(owner, "/scheduled")
    assert re.fullmatch(
        r"Scheduled changes:\n1\. \w{3} \d{1,2} \w{3} \d\d:\d\d \(UTC\): "
        r"change the picture of Family \(by Ada\)",
        listing,
    ), listing
    shown = bot.telegram.bot_messages(owner)[-1]
    [button] = shown.buttons()
    assert button["text"] == "Cancel 1"

    await owner.press(shown, button["callback_data"])
    await bot.deliver()
    assert answers(bot)[-1] == "Cancelled by Olga: change the picture of Family will not be made."
    assert reply.content == "Cancelled by Olga: change the picture of Family will not be made."
    await owner.press(shown, button["callback_data"])  # a second press: nothing left to cancel
    await bot.deliver()
    assert answers(bot)[-1] == "That scheduled change is no longer waiting; nothing was done."
    assert await bot.say(owner, "/scheduled") == "Nothing is scheduled."
    assert rows(bot, "SELECT status FROM schedules") == [("cancelled",)]
    assert bot.green.set_calls() == []


async def test_forged_cancel_data_and_a_press_without_the_right_cancel_nothing(bot: Bot):
    owner, admin = bot.user(OWNER, "Olga"), bot.user(ADMIN, "Ada")
    await schedule(bot, owner, "/setgrouppic family in 1h", photo_bytes())
    await bot.say(admin, "/scheduled")  # Family's admin sees the owner's change on Family
    shown = bot.telegram.bot_messages(admin)[-1]
    [button] = shown.buttons()
    # data of no button on this message, and a real button's data on a message without it
    await admin.press(shown, "sx:999", forged=True)
    await admin.press(shown, "sx:1:2", forged=True)
    await bot.say(owner, "/help")
    help_message = bot.telegram.bot_messages(owner)[-1]
    await owner.press(help_message, button["callback_data"], forged=True)
    await bot.deliver()
    assert answers(bot) == ["That button is not on this message; nothing was done."] * 3
    await bot.store.grants.remove(ADMIN, "family")  # a real button, without the right now
    await admin.press(shown, button["callback_data"])
    await bot.deliver()
    assert answers(bot)[-1] == "You may not cancel that scheduled change."
    assert rows(bot, "SELECT status FROM schedules") == [("pending",)]


async def test_a_change_whose_author_lost_the_right_is_cancelled_and_the_author_told(bot: Bot):
    admin = bot.user(ADMIN, "Ada")
    reply = await schedule(bot, admin, "/setgrouppic family in 3s", photo_bytes())
    assert reply.content.startswith("Scheduled for ")
    await bot.store.grants.remove(ADMIN, "family")  # revoked before its time

    bot.clock.advance(seconds=3)
    said = await outcome(bot, reply, "not made")
    assert said == (
        "The scheduled change was not made: Ada may no longer change the picture of Family."
    )
    assert bot.green.set_calls() == []
    assert rows(bot, "SELECT status FROM schedules") == [("cancelled",)]


async def test_a_picture_changed_between_at_and_until_is_not_overwritten(bot: Bot):
    owner, admin = bot.user(OWNER, "Olga"), bot.user(ADMIN, "Ada")
    await owner.send_photo(photo_bytes(1200, 900), caption="/setgrouppic family")
    await bot.deliver()
    reply = await schedule(bot, owner, "/setgrouppic family until in 4s", photo_bytes(800, 800))
    await outcome(bot, reply, "The earlier picture comes back at")
    await admin.send_photo(photo_bytes(640, 640), caption="/setgrouppic family")  # Ada's own
    await bot.deliver()

    bot.clock.advance(seconds=4)
    said = await outcome(bot, reply, "not put back")
    assert said == (
        "The earlier picture of Family was not put back: Ada changed the picture since, "
        "and theirs stays."
    )
    assert len(bot.green.set_calls()) == 3  # the first, the holiday one, Ada's: nothing more
    assert rows(bot, "SELECT phase, status FROM schedules") == [("until", "skipped")]


async def test_times_are_read_and_shown_in_the_readers_zone(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    assert await bot.say(owner, "/timezone") == (
        "I show you times in UTC, the bot's time zone. /timezone <IANA name> sets yours, "
        "for example /timezone Europe/Berlin."
    )
    assert await bot.say(owner, "/timezone Mars/Olympus") == (
        "Sorry, I know no time zone called 'Mars/Olympus'; write an IANA name such as "
        "Europe/Berlin or America/Sao_Paulo."
    )
    assert await bot.say(owner, "/timezone Europe/Moscow") == (
        "Done: I will show you times in Europe/Moscow."
    )
    year = datetime.now(UTC).year + 1
    caption = f"/setgrouppic family at {year}-01-02 18:00 until {year}-01-03 9:00"
    sent = await owner.send_document(
        b"GIF89a" + bytes(64), file_name="a.gif", mime_type="image/gif", caption=caption
    )
    await bot.deliver()  # a picture the bot cannot use is refused at once, not at its time
    assert answer_to(bot, owner, sent).content.startswith("Sorry, this is a GIF")
    reply = await schedule(
        bot,
        owner,
        f"/setgrouppic family at {year}-01-02 18:00 until {year}-01-03 9:00",
        photo_bytes(),
    )
    assert re.match(
        r"Scheduled for \w{3} 2 Jan 18:00 \(Europe/Moscow\), in \d+ (days|months?): "
        r"change the picture of Family\.\nThe earlier picture comes back at \w{3} 3 Jan 09:00 "
        r"\(Europe/Moscow\), in \d+ (days|months?)\.",
        reply.content,
    ), reply.content
    stored = rows(bot, "SELECT run_at, until_at FROM schedules")
    assert stored == [(f"{year}-01-02T15:00:00+00:00", f"{year}-01-03T06:00:00+00:00")]


async def test_unusable_times_get_plain_answers_and_nothing_is_kept(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    # noon, so that the next 8:00 comes before the next 9:00 whenever the test runs (between
    # 8:00 and 9:00 the next 8:00 is tomorrow's, after today's 9:00)
    now = bot.clock.now()
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0) + timedelta(days=1)
    bot.clock.advance(seconds=(noon - now).total_seconds())
    await owner.send_photo(photo_bytes(), caption="/setgrouppic family at 2020-01-01 10:00")
    assert (await bot.answer(owner)).startswith("Sorry, Wed 1 Jan 10:00 (UTC) has passed")
    await owner.send_photo(photo_bytes(), caption="/setgrouppic family at 9:00 until 8:00")
    assert "before the change itself is made" in await bot.answer(owner)
    await owner.send_photo(photo_bytes(), caption="/setgrouppic family, work at 2020-01-01 10:00")
    assert (await bot.answer(owner)).startswith("Sorry, Wed 1 Jan 10:00 (UTC) has passed")
    assert rows(bot, "SELECT COUNT(*) FROM schedules") == [(0,)]
    assert bot.green.set_calls() == []


async def test_far_times_are_refused_as_too_far_ahead_and_nothing_is_kept(bot: Bot):
    """Times past the year 9999 in UTC (a span of 999999999 days, the last minute of 9999 west
    of UTC) are answered like any time too far ahead, not with "something went wrong"."""
    owner = bot.user(OWNER, "Olga")
    too_far = "Sorry, a change can be scheduled at most 366 days ahead."
    await owner.send_photo(photo_bytes(), caption="/setgrouppic family in 999999999d")
    assert await bot.answer(owner) == too_far
    assert await bot.say(owner, "/timezone America/New_York") == (
        "Done: I will show you times in America/New_York."
    )
    await owner.send_photo(photo_bytes(), caption="/setgrouppic family at 9999-12-31 23:59")
    assert await bot.answer(owner) == too_far
    assert await bot.say(owner, "/undogrouppic family until 9999-12-31 23:59") == too_far
    assert rows(bot, "SELECT COUNT(*) FROM schedules") == [(0,)]
    assert bot.green.set_calls() == []


async def test_groups_called_at_in_and_until_are_named_before_their_time_or_alone(bot: Bot):
    """A time starts at the first at/in/until from which the rest reads as a time: the words
    before it name the group, so these (valid) aliases still name their groups."""
    owner = bot.user(OWNER, "Olga")
    chats = {"at": "120363000000000011@g.us", "in": "120363000000000012@g.us"}
    chats["until"] = "120363000000000013@g.us"
    bot.green.groups |= set(chats.values())  # the account is in them
    for alias, chat_id in chats.items():
        added = await bot.say(owner, f"/addgroup {alias} green {chat_id} {alias.title()}")
        assert added.startswith("Done"), added

    await owner.send_photo(photo_bytes(), caption="/setgrouppic at")
    assert (await bot.answer(owner)).startswith("Done: At has a new picture.")
    assert [call.form["groupId"] for call in bot.green.set_calls()] == [chats["at"]]

    reply = await schedule(bot, owner, "/setgrouppic in in 1h", photo_bytes())
    assert reply.content.startswith("Scheduled for "), reply.content
    assert ": change the picture of In.\n" in reply.content
    reply = await schedule(bot, owner, "/setgrouppic until at 18:00", photo_bytes())
    assert ": change the picture of Until.\n" in reply.content
    assert rows(bot, "SELECT name FROM schedules ORDER BY id") == [("in",), ("until",)]
    # a time the bot cannot read after a group is still answered as one
    await owner.send_photo(photo_bytes(), caption="/setgrouppic family at 25:00")
    assert (await bot.answer(owner)).startswith("Sorry, I can't read the time 'at 25:00'")
    assert len(bot.green.set_calls()) == 1


async def test_a_requesters_scheduled_change_is_a_proposal_whose_approval_keeps_the_times(
    bot: Bot,
):
    requester, admin = bot.user(REQUESTER, "Rita"), bot.user(ADMIN, "Ada")
    reply = await schedule(bot, requester, "/setgrouppic family in 5s", photo_bytes())
    assert reply.content.startswith("You may not make this change yourself, so I sent your")
    assert re.search(r"\nTo be made at \w{3} \d{1,2} \w{3} \d\d:\d\d \(UTC\)\.$", reply.content)
    [invitation] = bot.telegram.bot_messages(admin)
    assert invitation.content.endswith(" UTC.") and "\nTo be made at 20" in invitation.content
    assert bot.green.set_calls() == []

    await admin.press(invitation, "ap:1")
    await bot.deliver()
    told = bot.telegram.bot_messages(requester)[-1].content
    assert told.startswith(
        "Your proposal to change the picture of Family was approved by Ada (222). To be made at"
    )
    bot.clock.advance(seconds=5)
    done = await bot.telegram.wait_for_bot_message(
        requester, contains="Done: Family has a new picture.", timeout=OUTCOME_TIMEOUT
    )
    assert f"\n{bot.green.avatar_of(FAMILY)}" in done.content
    [sent] = bot.green.set_calls()
    assert sent.file == invitation.photo  # the picture the admin saw
    audit = [(r.user_id, r.outcome, r.requested_by) for r in await bot.store.audit.latest(limit=1)]
    assert audit == [(ADMIN, "done", REQUESTER)]  # made by the approver, for Rita
    listing = await bot.say(requester, "/scheduled")  # nothing left waiting, for her too
    assert listing == "Nothing is scheduled."


async def undo_in_3s(bot: Bot, user: FakeUser) -> tuple[bytes | None, BotMessage]:
    """Olga sets Family's picture twice, then `user` undoes the last change in 3 s: the first
    picture (what the undo puts back), and the bot's reply to the undo."""
    owner = bot.user(OWNER, "Olga")
    await owner.send_photo(photo_bytes(1200, 900), caption="/setgrouppic family")
    await owner.send_photo(photo_bytes(800, 800), caption="/setgrouppic family")
    await bot.deliver()
    sent = await user.send("/undogrouppic family in 3s")
    await bot.deliver()
    return set_files(bot)[0], answer_to(bot, user, sent)


async def test_a_removal_and_an_undo_can_be_scheduled_too(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    first, reply = await undo_in_3s(bot, owner)
    assert "put back the earlier picture of Family" in reply.content
    bot.clock.advance(seconds=3)
    await until(lambda: len(bot.green.set_calls()) == 3, timeout=OUTCOME_TIMEOUT)
    assert set_files(bot)[-1] == first
    answer = await bot.say(owner, "/delgrouppic family in 1h")  # Green API cannot remove
    assert answer == "Sorry, Green API cannot remove a group picture, so nothing was changed."
    await until(  # closed once the change engine told the scheduler how it went
        lambda: rows(bot, "SELECT how, status FROM schedules") == [("undo", "done")],
        timeout=OUTCOME_TIMEOUT,
    )


async def test_a_russian_reader_gets_the_time_in_russian_and_in_their_zone(bot: Bot):
    owner = bot.user(OWNER, "Olga", language_code="ru")
    assert await bot.say(owner, "/timezone Europe/Moscow") == (
        "Готово: буду показывать вам время в поясе Europe/Moscow."
    )
    reply = await schedule(bot, owner, "/setgrouppic family in 2h", photo_bytes())
    assert re.match(
        r"Запланировано на \w{2} \d{1,2} \w+\.? \d\d:\d\d \(Europe/Moscow\), через 2 часа: ",
        reply.content,
    ), reply.content


async def test_the_ask_form_keeps_the_time_until_the_photo_comes(bot: Bot):
    admin = bot.user(ADMIN, "Ada")
    question = await bot.say(admin, "/setgrouppic family in 1h")
    assert question.startswith("Send me the new picture for Family")
    await admin.send_photo(photo_bytes(1000, 800))
    answer = await bot.answer(admin)
    assert answer.startswith("Scheduled for ") and "in 1 hour" in answer
    assert bot.green.set_calls() == []
    assert rows(bot, "SELECT actor_id, status FROM schedules") == [(ADMIN, "pending")]


async def test_a_scheduled_change_killed_while_it_runs_ends_once_after_the_restart(tmp_path):
    """SIGKILL while Green API holds the scheduled upload: after the restart the change engine
    resumes it, and the scheduler waits for its end instead of running it a second time."""
    async with green_holds_the_first_upload(tmp_path) as (telegram, green, owner, config, database):
        first = await spawn_bot(config, telegram, ENV)
        sent = await owner.send_photo(photo_bytes(), caption="/setgrouppic family in 2s")
        await until(lambda: green.set_calls(), timeout=OUTCOME_TIMEOUT)
        await kill(first)
        with sqlite3.connect(database) as db:
            assert db.execute("SELECT status FROM schedules").fetchall() == [("running",)]

        async with running_bot(config, telegram, ENV):
            await until(
                lambda: any(
                    m.reply_to_message_id == sent["message_id"] and "Done" in m.content
                    for m in telegram.bot_messages(owner)
                ),
                timeout=OUTCOME_TIMEOUT,
            )
            with sqlite3.connect(database) as db:
                await until(
                    lambda: db.execute("SELECT status FROM schedules").fetchall() == [("done",)]
                )
    [answer] = [
        m for m in telegram.bot_messages(owner) if m.reply_to_message_id == sent["message_id"]
    ]
    assert answer.content.startswith("Done: Family has a new picture.")
    assert [r.form["groupId"] for r in green.set_calls()] == [FAMILY, FAMILY]  # held, resumed
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT outcome FROM audit").fetchall() == [("done",)]


async def confirmed(
    bot: Bot,
    user: FakeUser,
    caption: str,
    image: bytes | None = None,
    *,
    press: str = "Change them",
    photo: bool = True,
) -> BotMessage:
    """Send a photo with a list's caption (or, without `photo`, the command alone) and press
    the plan's "Change them" (or `press`); the plan message."""
    if photo:
        await user.send_photo(image or photo_bytes(), caption=caption)
    else:
        await user.send(caption)
    await bot.deliver()
    asked = bot.telegram.bot_messages(user)[-1]
    await user.press(asked, asked.callback_data(press))
    await bot.deliver()
    return asked


async def test_a_list_at_a_time_schedules_one_change_per_accepted_group(
    two_accounts: tuple[Bot, FakeGreenApi],  # noqa: F811 (the fixture)
):
    bot, other = two_accounts
    admin = bot.user(ADMIN, "Ada")  # may change family and o1, not school
    asked = await confirmed(bot, admin, "/setgrouppic family, o1, school in 3s")
    assert re.fullmatch(  # the question repeats the time it confirms
        r"I will change the picture of these 2 groups: family, o1\.\n"
        r"To be made at \w{3} \d{1,2} \w{3} \d\d:\d\d \(UTC\)\.\nLeft alone:\n"
        r"school: you may not change the picture of school",
        asked.history[0].text or "",
    ), asked.history[0].text
    assert re.match(
        r"^Scheduled for \w{3} \d{1,2} \w{3} \d\d:\d\d \(UTC\), in \d+ seconds?: "
        r"change the picture of Family, O1\.\n/scheduled lists each group's change",
        asked.content,
    ), asked.content
    assert bot.green.set_calls() == []  # not yet: due in 3 s

    listing = await bot.say(admin, "/scheduled")
    assert [line.split(": ", 1)[1] for line in listing.split("\n")[1:]] == [
        "change the picture of Family (by Ada)",
        "change the picture of O1 (by Ada)",
    ]
    labels = [button["text"] for button in bot.telegram.bot_messages(admin)[-1].buttons()]
    assert labels == ["Cancel 1", "Cancel 2"]

    def told() -> list[str]:
        return [m.content for m in bot.telegram.bot_messages(admin) if "new picture" in m.content]

    bot.clock.advance(seconds=3)
    await until(lambda: len(told()) == 2, timeout=OUTCOME_TIMEOUT)  # one message per group
    assert sorted(told()) == [
        f"Done: Family has a new picture.\n{bot.green.avatar_of(FAMILY)}",
        f"Done: O1 has a new picture.\n{other.avatar_of(OTHER['o1'])}",
    ]
    assert rows(bot, "SELECT name, status FROM schedules ORDER BY name") == [
        ("family", "done"),
        ("o1", "done"),
    ]  # school was refused: never scheduled


async def test_star_until_a_time_puts_every_earlier_picture_back(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    await confirmed(bot, owner, "/setgrouppic *", photo_bytes(700, 700))
    first = {r.form["groupId"]: r.file for r in bot.green.set_calls()}
    assert set(first) == {FAMILY, WORK}

    question = await confirmed(bot, owner, "/setgrouppic * until in 3s", photo_bytes(800, 800))
    assert re.fullmatch(
        r"I will change the picture of these 2 groups: family, work\.\nTo be made once you"
        r" confirm; the earlier picture comes back at \w{3} \d{1,2} \w{3} \d\d:\d\d \(UTC\)\.",
        question.history[0].text or "",
    ), question.history[0].text
    assert question.content.startswith("The earlier picture comes back at "), question.content

    await until(lambda: len(bot.green.set_calls()) == 4, timeout=OUTCOME_TIMEOUT)
    bot.clock.advance(seconds=3)
    await until(lambda: len(bot.green.set_calls()) == 6, timeout=OUTCOME_TIMEOUT)
    holiday = {r.form["groupId"]: r.file for r in bot.green.set_calls()[2:4]}
    assert holiday[FAMILY] != first[FAMILY]
    assert {r.form["groupId"]: r.file for r in bot.green.set_calls()[4:]} == first
    await until(lambda: rows(bot, "SELECT phase, status FROM schedules") == [("until", "done")] * 2)


async def proposed_list(bot: Bot, caption: str, *, photo: bool = True) -> BotMessage:
    """Rita (a requester of family and work) proposes a list; Ada (an admin of both) gets the
    one copy to decide: that copy."""
    await bot.store.grants.add(REQUESTER, "work", Role.REQUESTER, granted_by=OWNER)
    await bot.store.grants.add(ADMIN, "work", Role.ADMIN, granted_by=OWNER)
    admin = bot.user(ADMIN, "Ada")
    await confirmed(bot, bot.user(REQUESTER, "Rita"), caption, press="Propose them", photo=photo)
    return bot.telegram.bot_messages(admin)[-1]


def told(bot: Bot, words: str) -> list[str]:
    """What Rita was told that says `words`."""
    return [m.content for m in bot.telegram.bot_messages(REQUESTER) if words in m.content]


def set_by_group(bot: Bot, calls: slice = slice(None)) -> dict[str, bytes | None]:
    return {call.form["groupId"]: call.file for call in bot.green.set_calls()[calls]}


async def test_a_requesters_list_with_a_time_is_one_proposal_kept_for_its_time(bot: Bot):
    copy = await proposed_list(bot, "/setgrouppic family, work in 3s")
    requester = bot.telegram.bot_messages(REQUESTER)[-1]
    assert re.fullmatch(
        r"You may only propose this, so I will send the admins one proposal to change the"
        r" picture of these 2 groups: family, work\.\n"
        r"To be made at \w{3} \d{1,2} \w{3} \d\d:\d\d \(UTC\)\.",
        requester.history[0].text or "",
    ), requester.history[0].text
    assert re.fullmatch(
        r"Sent to the admins as one proposal to change the picture of family, work\. I will tell"
        r" you here what they decide\.\nTo be made at \w{3} \d{1,2} \w{3} \d\d:\d\d \(UTC\)\.",
        requester.content,
    ), requester.content
    assert copy.content.startswith(
        f"Rita ({REQUESTER}) proposes this picture for 2 groups at once: family, work."
    )
    assert re.search(r"\nTo be made at 20\d\d-\d\d-\d\d \d\d:\d\d UTC\.$", copy.content)
    reject = copy.callback_data("Reject")
    assert bot.green.requests == [] and rows(bot, "SELECT COUNT(*) FROM schedules") == [(0,)]

    admin = bot.user(ADMIN, "Ada")
    await admin.press(copy, copy.callback_data("Approve"))
    await bot.deliver()
    assert answers(bot)[-1] == "Approved: each group's change is scheduled; /scheduled lists them."
    assert [b["text"] for b in copy.buttons()] == ["✅ Approved by Ada"]
    [approved] = told(bot, "approved")
    assert approved.startswith(
        f"Your proposal to change the picture of family, work was approved by Ada ({ADMIN})."
        " To be made at 20"
    )
    # a second press, and a forged one: nothing is kept twice
    await admin.press(copy, copy.callback_data("✅ Approved by Ada"))
    await admin.press(copy, reject, forged=True)
    await bot.deliver()
    assert answers(bot)[-2:] == [
        f"Already decided by Ada ({ADMIN}).",
        "That button is not on this message; nothing was done.",
    ]
    assert rows(bot, "SELECT name, actor_id, requester_id FROM schedules ORDER BY name") == [
        ("family", ADMIN, REQUESTER),
        ("work", ADMIN, REQUESTER),
    ]

    bot.clock.advance(seconds=3)
    await until(lambda: len(told(bot, "new picture")) == 2, timeout=OUTCOME_TIMEOUT)
    assert sorted(told(bot, "new picture")) == [
        f"Done: Family has a new picture.\n{bot.green.avatar_of(FAMILY)}",
        f"Done: Work has a new picture.\n{bot.green.avatar_of(WORK)}",
    ]
    assert set(set_by_group(bot)) == {FAMILY, WORK}
    assert set(set_by_group(bot).values()) == {copy.photo}  # the picture Ada saw
    audit = [(r.target, r.user_id, r.requested_by) for r in await bot.store.audit.latest(limit=10)]
    assert sorted(entry for entry in audit if entry[1] == ADMIN) == [
        ("family", ADMIN, REQUESTER),
        ("work", ADMIN, REQUESTER),
    ]  # made by the approver, for Rita
    await until(lambda: rows(bot, "SELECT status FROM schedules") == [("done",)] * 2)


async def test_a_rejected_list_with_a_time_keeps_nothing(bot: Bot):
    copy = await proposed_list(bot, "/setgrouppic family, work in 1h")
    await bot.user(ADMIN, "Ada").press(copy, copy.callback_data("Reject"))
    await bot.deliver()
    assert told(bot, "rejected") == [
        f"Your proposal to change the picture of family, work was rejected by Ada ({ADMIN})."
    ]
    assert rows(bot, "SELECT COUNT(*) FROM schedules") == [(0,)]
    assert await bot.say(bot.user(REQUESTER, "Rita"), "/scheduled") == "Nothing is scheduled."
    assert bot.green.requests == []


@pytest.mark.parametrize("minutes", [20, 90])
async def test_a_list_approved_after_its_time_runs_within_the_limit_else_fails(
    bot: Bot, minutes: int
):
    copy = await proposed_list(bot, "/setgrouppic family, work in 1h")
    past = datetime.now(UTC) - timedelta(minutes=minutes)
    with sqlite3.connect(bot.services.config.storage.path) as db:  # decided that much late
        db.execute("UPDATE proposals SET run_at = ?", (past.isoformat(timespec="seconds"),))
    await bot.user(ADMIN, "Ada").press(copy, copy.callback_data("Approve"))
    await bot.deliver()

    if minutes < 60:  # schedule.max_late_minutes
        await until(lambda: len(told(bot, "new picture")) == 2, timeout=OUTCOME_TIMEOUT)
        assert set(set_by_group(bot)) == {FAMILY, WORK}
        return
    await until(lambda: len(told(bot, "not made")) == 2, timeout=OUTCOME_TIMEOUT)
    assert (
        told(bot, "not made")
        == [
            "The scheduled change was not made: it was approved 90 minutes after its time (at"
            " most 60 minutes late are allowed)."
        ]
        * 2
    )
    assert bot.green.set_calls() == []
    assert rows(bot, "SELECT status FROM schedules") == [("failed",)] * 2


async def test_until_on_a_requesters_list_puts_the_earlier_pictures_back(bot: Bot):
    await confirmed(bot, bot.user(OWNER, "Olga"), "/setgrouppic *", photo_bytes(700, 700))
    first = set_by_group(bot)
    copy = await proposed_list(bot, "/setgrouppic family, work until in 4s")
    assert copy.content.endswith(" UTC.") and "\nTo be made once approved; the earlier" in (
        copy.content
    )
    await bot.user(ADMIN, "Ada").press(copy, copy.callback_data("Approve"))
    await bot.deliver()

    await until(lambda: len(bot.green.set_calls()) == 4, timeout=OUTCOME_TIMEOUT)
    bot.clock.advance(seconds=4)
    await until(lambda: len(bot.green.set_calls()) == 6, timeout=OUTCOME_TIMEOUT)
    assert set_by_group(bot, slice(2, 4)) == {FAMILY: copy.photo, WORK: copy.photo}
    assert set_by_group(bot, slice(4, None)) == first  # the earlier pictures are back
    await until(lambda: rows(bot, "SELECT phase, status FROM schedules") == [("until", "done")] * 2)


async def test_a_requesters_undo_list_with_a_time_is_worked_out_and_made_then(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    await confirmed(bot, owner, "/setgrouppic *", photo_bytes(700, 700))
    first = set_by_group(bot)
    await confirmed(bot, owner, "/setgrouppic *", photo_bytes(800, 800))
    copy = await proposed_list(bot, "/undogrouppic family, work in 3s", photo=False)
    assert copy.photo is None and copy.content.startswith(
        f"Rita ({REQUESTER}) proposes to undo the last picture change of 2 groups at once:"
        " family, work."
    )
    await bot.user(ADMIN, "Ada").press(copy, copy.callback_data("Approve"))
    await bot.deliver()
    assert told(bot, "approved")[0].startswith(
        "Your proposal to undo the last picture change of family, work was approved by Ada"
        f" ({ADMIN}). To be made at "
    )
    bot.clock.advance(seconds=3)
    await until(lambda: len(bot.green.set_calls()) == 6, timeout=OUTCOME_TIMEOUT)
    assert set_by_group(bot, slice(4, None)) == first  # each group's earlier picture
    await until(lambda: rows(bot, "SELECT how, status FROM schedules") == [("undo", "done")] * 2)


async def test_a_requesters_undo_with_a_time_is_proposed_and_made_then(bot: Bot):
    admin = bot.user(ADMIN, "Ada")
    first, reply = await undo_in_3s(bot, bot.user(REQUESTER, "Rita"))
    assert reply.content.startswith(
        "You may not make this change yourself, so I sent the undo of the last picture change"
        " of Family to its admins for approval (proposal 1, open until "
    )
    assert re.search(r"\nTo be made at \w{3} \d{1,2} \w{3} \d\d:\d\d \(UTC\)\.$", reply.content)
    copy = bot.telegram.bot_messages(admin)[-1]
    assert copy.photo is None and copy.content.startswith(
        f"Rita ({REQUESTER}) proposes to undo the last picture change of Family (family, via"
        " green): the picture from before it comes back."
    )
    assert "\nTo be made at 20" in copy.content

    await admin.press(copy, copy.callback_data("Approve"))
    await bot.deliver()
    assert told(bot, "approved")[0].startswith(
        f"Your proposal to undo the last picture change of Family was approved by Ada ({ADMIN})."
        " To be made at "
    )
    assert len(bot.green.set_calls()) == 2  # not yet: worked out and made at its time
    bot.clock.advance(seconds=3)
    await until(lambda: len(bot.green.set_calls()) == 3, timeout=OUTCOME_TIMEOUT)
    assert set_files(bot)[-1] == first  # the earlier picture is back
    await until(lambda: told(bot, "new picture"), timeout=OUTCOME_TIMEOUT)
    assert rows(bot, "SELECT how, actor_id, requester_id, status FROM schedules") == [
        ("undo", ADMIN, REQUESTER, "done")
    ]
    [last] = await bot.store.audit.latest(limit=1)
    assert (last.user_id, last.outcome, last.requested_by) == (ADMIN, "done", REQUESTER)
