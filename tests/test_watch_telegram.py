"""Telegram's own `new_chat_photo` / `delete_chat_photo` service messages about a Telegram chat
the bot manages as a group (`kind: telegram`): it reads the chat at once and tells who changed
it; its own setChatPhoto, which Telegram also announces, is never reported (bot/watch.py,
handlers/watching.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.domain import How
from bot.images import prepare_picture
from tests.conftest import (
    BOT_TOKEN,
    OTHER_OWNER,
    OWNER,
    Bot,
    raw_config,
    shut_down,
    start_bot,
    until,
)
from tests.fakes.serve import serve
from tests.fakes.telegram import FakeTelegram
from tests.pictures import photo_bytes

FAMILY_TG = -1009876543210  # managed, the bot administers it
OTHER_TG = -1005555555555  # a chat the bot is in and does not manage
NEWS_TG = -1007777777777  # a managed channel: read half an interval after Family
MIA = 5005  # an administrator of the chat, who changes its photo in Telegram
FIRST = photo_bytes(900, 900)


@pytest.fixture
async def bot(tmp_path, green) -> AsyncIterator[Bot]:
    """The bot watching the Telegram chat Family (TG), which has the photo FIRST; yielded once
    its first read (the baseline) is over."""
    fake_green, green_url = green
    telegram = FakeTelegram(token=BOT_TOKEN)
    family = telegram.group_chat(FAMILY_TG, "Family (Telegram)")
    telegram.chat_photos.admit_bot(family)
    telegram.chat_photos.set_photo(family, FIRST)
    telegram.group_chat(OTHER_TG, "Other")
    telegram.chat_photos.admit_bot(telegram.channel(NEWS_TG, "News"))
    async with serve(telegram.app) as api:
        raw = raw_config(tmp_path, green_url, watch={"interval_seconds": 3600})
        raw["telegram"]["api_base_url"] = api
        raw["providers"] = {"tg": {"kind": "telegram", "group_interval_seconds": 0}}
        raw["groups"] = {
            "family-tg": {"provider": "tg", "chat_id": str(FAMILY_TG), "title": "Kin"},
            "news-tg": {"provider": "tg", "chat_id": str(NEWS_TG), "title": "News"},
        }
        raw["links"] = {}
        started, application = await start_bot(raw, fake_green, telegram, grants=False)
        started.user(OWNER, "Olga")
        started.user(OTHER_OWNER, "Oleg")
        watcher = started.services.watcher
        assert watcher is not None
        await until(lambda: watcher.looks == 1, "the first read")
        try:
            yield started
        finally:
            await shut_down(application)


async def told(bot: Bot) -> list[Any]:
    """Deliver what Telegram sent the bot, let the reads it started end; the owner's messages."""
    await bot.deliver()
    watcher = bot.services.watcher
    assert watcher is not None
    await until(lambda: not watcher._restores, "the reads the service messages started")
    await bot.services.notices_sent()
    return bot.telegram.bot_messages(OWNER)


async def test_a_photo_changed_in_telegram_is_told_at_once_with_who_changed_it(bot: Bot):
    mia = bot.telegram.user(MIA, "Mia", username="mia_k")
    outside = photo_bytes(700, 500)
    await mia.change_chat_photo(FAMILY_TG, outside)

    [notice] = await told(bot)  # no poll: the interval is an hour, the clock stands still
    shown = bot.telegram.chat_photos.current(FAMILY_TG)
    assert shown is not None and notice.photo == prepare_picture(shown).jpeg
    assert notice.caption.startswith("The picture of Kin was changed outside the bot by @mia_k")
    family = await bot.store.groups.get("family-tg")
    assert family is not None
    [record] = await bot.store.pictures.latest(f"group:{family.id}")
    assert (record.how, record.actor_id, record.actor_name) == (How.OUTSIDE, MIA, "@mia_k")
    assert record.after_jpeg == notice.photo

    olga = bot.user(OWNER, "Olga")
    await olga.send("/pictures family-tg")
    album = await told(bot)
    captions = [m.caption for m in album if m.photo is not None]
    assert captions[-1].endswith("made outside the bot by @mia_k (5005)")


async def test_a_removal_by_an_anonymous_admin_is_told_without_a_name(bot: Bot):
    bot.telegram.chat_photos.changed_by(None, FAMILY_TG, None)
    [notice] = await told(bot)
    assert notice.photo is None
    assert notice.content.startswith("The picture of Kin was removed outside the bot (seen")


async def test_a_channels_photo_changed_in_telegram_is_told_without_a_name(bot: Bot):
    watcher = bot.services.watcher
    assert watcher is not None
    bot.clock.advance(seconds=1800)
    await until(lambda: watcher.looks == 2, "the channel's first read")
    mia = bot.telegram.user(MIA, "Mia", username="mia_k")
    await mia.change_chat_photo(NEWS_TG, photo_bytes(700, 500))  # a channel post, from no one
    [notice] = await told(bot)
    assert notice.caption.startswith("The picture of News was changed outside the bot (seen")

    # the bot's own change is a channel post from no one too: read, and known as its own
    olga = bot.user(OWNER, "Olga")
    await olga.send_photo(photo_bytes(800, 800), caption="/setgrouppic news-tg")
    assert (await bot.answer(olga)).startswith("Done: News has a new picture.")
    reads = len(bot.telegram.calls("getChat"))
    told_now = await told(bot)
    assert len(bot.telegram.calls("getChat")) > reads, "the channel post made the bot read it"
    assert [m for m in told_now if m.photo is not None] == [notice]


async def test_the_bots_own_change_is_not_reported_and_other_chats_are_not_read(bot: Bot):
    olga = bot.user(OWNER, "Olga")
    await olga.send_photo(photo_bytes(800, 800), caption="/setgrouppic family-tg")
    answer = await bot.answer(olga)
    assert answer.startswith("Done: Kin has a new picture.")
    reads = len(bot.telegram.calls("getChat"))
    # Telegram announces the bot's own change, and a change in a chat the bot does not manage
    mia = bot.telegram.user(MIA, "Mia")
    await mia.change_chat_photo(OTHER_TG, photo_bytes(600, 600))
    messages = await told(bot)
    assert [m.content for m in messages] == [answer]
    assert len(bot.telegram.calls("getChat")) == reads, "neither made the bot read a chat"

    # the next poll takes the bot's own picture as the baseline, not as a change
    watcher = bot.services.watcher
    assert watcher is not None
    looks = watcher.looks
    bot.clock.advance(seconds=3600)
    await until(lambda: watcher.looks > looks, "the next turn")
    assert [m.content for m in await told(bot)] == [answer]
