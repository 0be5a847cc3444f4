"""Watching pictures, end to end: a picture changed outside the bot on the fake Green API is
seen at the next read, and the group's guard says what happens (bot/watch.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.responses import JSONResponse

from bot.config import ConfigError, parse_config
from bot.domain import How
from bot.images import prepare_picture
from bot.store.watched import Spot
from tests.conftest import (
    ADMIN,
    FAMILY,
    GREEN_TOKEN,
    OTHER_OWNER,
    OWNER,
    REQUESTER,
    Bot,
    Cdn,
    raw_config,
    shut_down,
    start_bot,
    until,
)
from tests.fakes.greenapi import Fault
from tests.pictures import photo_bytes

INTERVAL = 60
NOTIFY_CHAT = -100999


FIRST = photo_bytes(900, 900)


async def watching(
    tmp_path,
    green,
    cdn: Cdn,
    guard: str = "notify",
    account_guard: str | None = None,
    **extra: Any,
) -> AsyncIterator[Bot]:
    """The bot watching Family (guard `guard`; the account's own picture `account_guard`, the
    default when None; `extra`: more of config.yaml), which has the picture FIRST when it
    starts; yielded once its first read (the baseline) is over, and that of the account's own
    picture half an interval later (each turn then reads Family first)."""
    fake, url = green
    fake.set_avatar(FAMILY, cdn.put("first", FIRST))
    raw = raw_config(tmp_path, url, watch={"interval_seconds": INTERVAL}, **extra)
    raw["groups"]["family"]["guard"] = guard
    if account_guard is not None:
        raw["providers"]["green"]["guard"] = account_guard
    raw["groups"].pop("work")
    started, application = await start_bot(raw, fake)
    for person, name in ((OWNER, "Olga"), (OTHER_OWNER, "Oleg"), (ADMIN, "Ada")):
        started.user(person, name)
    watcher = started.services.watcher
    assert watcher is not None
    await until(lambda: watcher.looks == 1, "the first read")
    assert await started.store.watched.get(await family_spot(started)) is not None
    started.clock.advance(seconds=INTERVAL / 2)  # the account's own picture, read after it
    await until(lambda: watcher.looks == 2, "the first read of the account's own picture")
    yield started
    await shut_down(application)


@pytest.fixture
async def bot(tmp_path, green, cdn) -> AsyncIterator[Bot]:
    async for started in watching(tmp_path, green, cdn):
        yield started


@pytest.fixture
async def restoring(tmp_path, green, cdn) -> AsyncIterator[Bot]:
    async for started in watching(tmp_path, green, cdn, guard="restore"):
        yield started


async def next_turn(bot: Bot) -> None:
    """Move the fake clock one interval on, and wait until the group was looked at again (and
    the account's own picture, read half an interval after it) and whatever that gave
    (notices, a change put back) is over."""
    watcher = bot.services.watcher
    assert watcher is not None
    looks = watcher.looks
    bot.clock.advance(seconds=INTERVAL)
    await until(lambda: watcher.looks >= looks + 2, "the looks of the next turn")
    await until(lambda: not watcher._restores, "the restores to end")
    await bot.services.notices_sent()


async def looked(bot: Bot, looks: int, *, after: float = 0) -> None:
    """Move the fake clock `after` seconds on, and wait until the bot looked `looks` times."""
    watcher = bot.services.watcher
    assert watcher is not None
    bot.clock.advance(seconds=after)
    await until(lambda: watcher.looks >= looks, f"look number {looks}")


def family_reads(bot: Bot) -> list[Any]:
    """The getAvatar calls about Family (not about the account's own picture)."""
    return [call for call in bot.green.calls("getAvatar") if FAMILY.encode() in call.body]


def photos_to(bot: Bot, chat: int) -> list[Any]:
    return [m for m in bot.telegram.bot_messages(chat) if m.photo is not None]


async def test_a_change_outside_is_shown_to_owners_and_admins_with_the_new_picture(
    bot: Bot, cdn: Cdn
):
    assert bot.telegram.bot_messages(OWNER) == [], "the first read is the baseline"

    outside = photo_bytes(700, 500)
    bot.green.set_avatar(FAMILY, cdn.put("second", outside))
    await next_turn(bot)

    for person in (OWNER, OTHER_OWNER, ADMIN):
        [notice] = photos_to(bot, person)
        assert notice.photo == prepare_picture(outside).jpeg
        assert notice.caption.startswith("The picture of Family was changed outside the bot")
        assert notice.caption.endswith("To put the earlier picture back: /undogrouppic family")
    [record] = await bot.store.pictures.latest(f"group:{(await family_id(bot))}")
    assert record.how is How.OUTSIDE
    assert record.after_jpeg == prepare_picture(outside).jpeg
    counted = bot.services.metrics.outside_changes.labels(provider="green")._value.get()
    assert counted == 1


async def family_id(bot: Bot) -> int:
    family = await bot.store.groups.get("family")
    assert family is not None and family.id is not None
    return family.id


async def family_spot(bot: Bot) -> Spot:
    family = await family_id(bot)
    return Spot(f"group:{family}", family, "green")


async def test_the_url_read_last_time_is_not_downloaded_again(bot: Bot, cdn: Cdn):
    downloads = cdn.hits
    await next_turn(bot)
    await next_turn(bot)
    assert len(family_reads(bot)) == 3
    assert cdn.hits == downloads


async def test_a_new_url_for_the_same_picture_is_no_change(bot: Bot, cdn: Cdn):
    bot.green.set_avatar(FAMILY, cdn.put("same-again", FIRST))  # WhatsApp re-signs its URLs
    await next_turn(bot)
    assert not photos_to(bot, OWNER)


async def test_undo_after_a_change_outside_puts_back_the_earlier_picture(bot: Bot, cdn: Cdn):
    bot.green.set_avatar(FAMILY, cdn.put("second", photo_bytes(700, 500)))
    await next_turn(bot)

    answer = await bot.say(bot.user(OWNER, "Olga"), "/undogrouppic family")
    assert answer.startswith("Done: Family has a new picture.")
    assert bot.green.set_calls()[-1].file == prepare_picture(FIRST).jpeg


async def test_failed_and_garbage_reads_are_no_change(bot: Bot, cdn: Cdn):
    bot.green.fail_next("getAvatar", Fault.server_error())
    await next_turn(bot)
    bot.green.fail_next("getAvatar", Fault.invalid_json())
    await next_turn(bot)
    bot.green.set_avatar(FAMILY, f"{cdn.base}/pp/gone.jpg")  # the download answers 404
    await next_turn(bot)
    bot.green.set_avatar(FAMILY, cdn.put("garbage", b"not a picture at all"))
    await next_turn(bot)  # garbage bytes are a change (not kept), never a crash
    [notice] = bot.telegram.bot_messages(OWNER)
    assert notice.photo is None and "changed outside the bot" in notice.content
    assert bot.green.set_calls() == []


async def test_the_bots_own_change_is_never_reported(bot: Bot, cdn: Cdn):
    ada = bot.user(ADMIN, "Ada")
    await ada.send_photo(photo_bytes(), caption="/setgrouppic family")
    answer = await bot.answer(ada)
    assert answer.startswith("Done")
    [upload] = bot.green.set_calls()
    bot.green.set_avatar(FAMILY, cdn.put("ours", upload.file or b""))  # as WhatsApp serves it
    await next_turn(bot)
    await next_turn(bot)
    assert not photos_to(bot, OWNER)
    assert "outside" not in "".join(m.content for m in bot.telegram.bot_messages(OWNER))


async def test_restore_puts_back_the_exact_earlier_bytes(restoring: Bot, cdn: Cdn):
    bot = restoring
    bot.green.set_avatar(FAMILY, cdn.put("second", photo_bytes(700, 500)))
    await next_turn(bot)

    [put_back] = bot.green.set_calls()
    assert put_back.file == prepare_picture(FIRST).jpeg
    rows = [
        (r.user_id, r.action, r.target, r.outcome) for r in await bot.store.audit.latest(limit=5)
    ]
    assert rows == [(0, "set_group_picture", "family", "done")]
    assert not photos_to(bot, OWNER), "a restore is told as a change, not as a photo"
    [told] = bot.telegram.bot_messages(ADMIN)
    assert "guard" in told.content


async def test_the_fourth_change_in_ten_minutes_stops_restoring_with_one_alert(
    restoring: Bot, cdn: Cdn
):
    bot = restoring
    for n in range(1, 6):  # another tool sets its picture again and again
        bot.green.set_avatar(FAMILY, cdn.put(f"tool{n}", photo_bytes(500 + n * 10, 500)))
        put_back = len(bot.green.set_calls())
        await next_turn(bot)
        if len(bot.green.set_calls()) > put_back:  # as WhatsApp would show it from then on
            bot.green.set_avatar(FAMILY, cdn.put(f"back{n}", bot.green.set_calls()[-1].file or b""))
            await next_turn(bot)

    assert len(bot.green.set_calls()) == 3
    alerts = [m for m in bot.telegram.bot_messages(OWNER) if "stops putting it back" in m.content]
    assert len(alerts) == 1
    assert "/guard family restore" in alerts[0].content
    assert not [m for m in bot.telegram.bot_messages(ADMIN) if "stops" in m.content]
    assert len(photos_to(bot, ADMIN)) == 2, "the fourth and fifth changes are told instead"
    assert await bot.store.watched.guard(await family_spot(bot)) == "notify"


async def test_off_keeps_the_change_in_the_history_only(tmp_path, green, cdn: Cdn):
    async for bot in watching(tmp_path, green, cdn, guard="off"):
        bot.green.set_avatar(FAMILY, cdn.put("second", photo_bytes(700, 500)))
        await next_turn(bot)
        assert bot.telegram.bot_messages(OWNER) == []
        [record] = await bot.store.pictures.latest(f"group:{await family_id(bot)}")
        assert record.how is How.OUTSIDE


async def test_without_watch_nothing_is_read(tmp_path, green):
    fake, url = green
    started, application = await start_bot(raw_config(tmp_path, url), fake)
    try:
        assert started.services.watcher is None
        started.clock.advance(seconds=3600)
        await asyncio.sleep(0.05)
        assert fake.calls("getAvatar") == []
    finally:
        await shut_down(application)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"watch": {"interval_seconds": 4}}, "watch.interval_seconds"),
        ({"watch": {"every": 60}}, "watch.every"),
        ({"guard": "fight"}, "groups.family.guard"),
    ],
)
def test_bad_watch_settings_are_refused_naming_the_key(tmp_path, change, problem):
    raw = raw_config(tmp_path, "http://127.0.0.1:1")
    if "guard" in change:
        raw["groups"]["family"]["guard"] = change["guard"]
    else:
        raw.update(change)
    with pytest.raises(ConfigError) as refused:
        parse_config(raw, {})
    assert problem in str(refused.value)


async def test_guard_is_chosen_by_owners_and_the_groups_admins_and_audited(bot: Bot, cdn: Cdn):
    ada, rita = bot.user(ADMIN, "Ada"), bot.user(REQUESTER, "Rita")
    assert await bot.say(ada, "/guard family") == (
        "Pictures of Family changed outside the bot: notify: tell the admins."
    )
    assert await bot.say(ada, "/guard family restore") == (
        "Pictures of Family changed outside the bot: restore: put the earlier picture back."
    )
    assert "changed outside the bot: restore" in await bot.say(ada, "/groups")

    before = bot.tables()
    refused = await bot.say(rita, "/guard family off")
    assert refused == "Sorry, only the owners and the admins of family may choose its guard."
    for bad in ("/guard family fight", "/guard", "/guard family off now"):
        assert (await bot.say(ada, bad)).startswith("Sorry, that is not how it goes. Usage:")
    assert (await bot.say(ada, "/guard nowhere off")).startswith("Sorry")
    after = bot.tables()
    assert after["audit"] == [*before["audit"], (REQUESTER, "guard", "family", "refused", None)]
    audit = [(e.user_id, e.action, e.target, e.outcome) for e in await bot.store.audit.latest()]
    assert (ADMIN, "guard", "family", "done") in audit

    bot.green.set_avatar(FAMILY, cdn.put("second", photo_bytes(700, 500)))
    await next_turn(bot)  # restore now: the earlier picture goes back
    assert [call.file for call in bot.green.set_calls()] == [prepare_picture(FIRST).jpeg]


@pytest.mark.parametrize(
    ("language", "usage"),
    [
        ("en", "Usage: /guard <group or provider> notify|restore|off (a provider: its account's"),
        ("ru", "/guard <группа или провайдер> notify|restore|off (провайдер: собственное фото"),
        ("pt", "/guard <grupo ou provedor> notify|restore|off (um provedor: a foto da própria"),
    ],
)
async def test_guards_usage_names_groups_and_providers_in_each_language(
    bot: Bot, language: str, usage: str
):
    olga = bot.user(OWNER, "Olga")
    await bot.say(olga, f"/language {language}")
    before = bot.tables()
    assert usage in await bot.say(olga, "/guard green fight")
    assert usage.split(" notify")[0].removeprefix("Usage: ") in await bot.say(olga, "/help")
    assert bot.tables() == before


async def test_groups_says_nothing_of_guards_while_nothing_is_watched(tmp_path, green):
    fake, url = green
    started, application = await start_bot(raw_config(tmp_path, url), fake)
    try:
        groups = await started.say(started.user(OWNER, "Olga"), "/groups")
        assert "outside" not in groups
        answer = await started.say(started.user(OWNER, "Olga"), "/guard family off")
        assert answer.endswith("(watching is off in the config).")
    finally:
        await shut_down(application)


async def test_a_removal_outside_is_told_and_put_back_under_restore(restoring: Bot, cdn: Cdn):
    bot = restoring
    bot.green.set_avatar(FAMILY, "")  # removed in WhatsApp: getAvatar answers no URL
    await next_turn(bot)
    [put_back] = bot.green.set_calls()
    assert put_back.file == prepare_picture(FIRST).jpeg
    _, seen = await bot.store.pictures.latest(f"group:{await family_id(bot)}", limit=2)
    assert (seen.how, seen.action, seen.after_jpeg) == (How.OUTSIDE, "delete_group_picture", None)


async def test_a_removal_outside_is_told_in_words(bot: Bot):
    bot.green.set_avatar(FAMILY, "")
    await next_turn(bot)
    [notice] = bot.telegram.bot_messages(ADMIN)
    assert notice.photo is None
    assert notice.content.startswith("The picture of Family was removed outside the bot")


async def test_no_picture_once_is_no_removal_when_the_next_read_shows_one(bot: Bot):
    """Evolution says "none" for a picture it could not read; hidden pictures read as none."""
    bot.green.fail_next("getAvatar", Fault(lambda r: JSONResponse({"urlAvatar": ""})))
    await next_turn(bot)
    assert bot.telegram.bot_messages(ADMIN) == []
    assert len(family_reads(bot)) == 3, "the baseline, the 'none', the read again"


async def test_put_back_under_the_notice_restores_the_earlier_picture_once(bot: Bot, cdn: Cdn):
    bot.green.set_avatar(FAMILY, cdn.put("second", photo_bytes(700, 500)))
    await next_turn(bot)
    owner, admin = bot.user(OWNER, "Olga"), bot.user(ADMIN, "Ada")
    [olgas] = photos_to(bot, OWNER)
    [adas] = photos_to(bot, ADMIN)
    assert [b["text"] for b in olgas.buttons()] == ["Put back the earlier picture"]
    calls = len(bot.green.set_calls())

    await admin.press(adas, adas.callback_data("Put back the earlier picture"))
    await bot.deliver()
    assert len(bot.green.set_calls()) == calls + 1
    assert bot.green.set_calls()[-1].file == prepare_picture(FIRST).jpeg  # the exact bytes
    assert bot.telegram.bot_messages(ADMIN)[-1].content.startswith(
        "Done: Family has a new picture."
    )

    await owner.press(olgas, olgas.callback_data("Put back the earlier picture"))  # second
    await bot.deliver()
    assert bot.telegram.calls("answerCallbackQuery")[-1].params["text"] == (
        "The earlier picture was put back already, or is on its way."
    )
    assert len(bot.green.set_calls()) == calls + 1


async def test_notify_chat_id_hears_an_admin_who_said_notify_off_does_not_a_press_is_checked(
    tmp_path, green, cdn: Cdn
):
    async for bot in watching(tmp_path, green, cdn, notify_chat_id=NOTIFY_CHAT):
        bot.telegram.group_chat(NOTIFY_CHAT, "Announcements")
        ada, olga = bot.user(ADMIN, "Ada"), bot.user(OWNER, "Olga")
        await bot.say(ada, "/notify off")
        bot.green.set_avatar(FAMILY, cdn.put("second", photo_bytes(700, 500)))
        await next_turn(bot)
        assert not photos_to(bot, ADMIN), "Ada turned her notices off"
        [announced] = photos_to(bot, NOTIFY_CHAT)
        assert announced.caption.startswith("The picture of Family was changed outside the bot")

        # rights are checked at the press: an admin whose role was taken since changes nothing
        await bot.say(ada, "/notify on")
        bot.green.set_avatar(FAMILY, cdn.put("third", photo_bytes(600, 500)))
        await next_turn(bot)
        [notice] = photos_to(bot, ADMIN)
        assert (await bot.say(olga, f"/revoke {ADMIN} family")).startswith("Done")
        await ada.press(notice, notice.callback_data("Put back the earlier picture"))
        await bot.deliver()
        assert bot.green.set_calls() == []
        assert bot.telegram.bot_messages(ADMIN)[-1].content == (
            "Sorry, you may not change the picture of Family."
        )


async def test_reads_pause_while_the_account_fails_authentication_and_resume_after(
    bot: Bot, cdn: Cdn
):
    watcher = bot.services.watcher
    assert watcher is not None
    own_reads = len(bot.green.calls("getAvatar")) - len(family_reads(bot))
    bot.green.token = "rotated-at-the-provider"  # every call answers 401 from now on
    bot.green.set_avatar(FAMILY, cdn.put("second", photo_bytes(700, 500)))
    for _ in range(2):
        await looked(bot, watcher.looks + 1, after=INTERVAL)
    # each turn tried its first read only: the account's own picture waited both times
    assert len(bot.green.calls("getAvatar")) - len(family_reads(bot)) == own_reads
    assert not photos_to(bot, OWNER), "a refused read is no change"

    bot.green.token = GREEN_TOKEN  # the token works again: the next turn reads everything
    await next_turn(bot)
    [notice] = photos_to(bot, OWNER)
    assert notice.caption.startswith("The picture of Family was changed outside the bot")
    assert len(bot.green.calls("getAvatar")) - len(family_reads(bot)) == own_reads + 1
