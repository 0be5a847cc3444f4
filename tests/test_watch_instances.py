"""Two instances of the bot on one PostgreSQL store, both watching Family: a picture changed on
the fake Green API is read by both, and each owner and admin gets exactly one notice
(bot/store/watched.py `changed`: the instance whose write finds the old picture still there
takes it)."""

from __future__ import annotations

from bot.images import prepare_picture
from bot.watch import Watcher
from tests.conftest import (
    ADMIN,
    BOT_TOKEN,
    FAMILY,
    OTHER_OWNER,
    OWNER,
    Bot,
    Cdn,
    raw_config,
    shut_down,
    start_bot,
    storage_at,
    until,
)
from tests.fakes.telegram import FakeTelegram
from tests.pictures import photo_bytes
from tests.test_watch import INTERVAL, family_reads, looked, photos_to


async def turn(bots: list[Bot]) -> None:
    """Move both instances' clocks one interval on at once, and wait until each read Family
    and the account again and what that gave is over."""
    looks = [watcher_of(bot).looks for bot in bots]
    for bot in bots:
        bot.clock.advance(seconds=INTERVAL)
    for bot, before in zip(bots, looks, strict=True):
        await looked(bot, before + 2)
    for bot in bots:
        await settled(bot)


def watcher_of(bot: Bot) -> Watcher:
    watcher = bot.services.watcher
    assert watcher is not None
    return watcher


async def settled(bot: Bot) -> None:
    """Wait until what the bot's looks started (restores, notices) is over."""
    watcher = watcher_of(bot)
    await until(lambda: not watcher._restores, "what the looks started")
    await bot.services.notices_sent()


async def test_two_instances_tell_each_change_once(tmp_path, green, cdn: Cdn, postgres_url):
    fake, url = green
    fake.set_avatar(FAMILY, cdn.put("first", photo_bytes(900, 900)))
    raw = raw_config(
        tmp_path, url, storage=storage_at(postgres_url), watch={"interval_seconds": INTERVAL}
    )
    raw["groups"].pop("work")
    telegram = FakeTelegram(token=BOT_TOKEN)  # one Telegram: every notice of both lands here
    one, first = await start_bot(raw, fake, telegram)
    two, second = await start_bot(raw, fake, telegram, grants=False)
    bots = [one, two]
    try:
        for person, name in ((OWNER, "Olga"), (OTHER_OWNER, "Oleg"), (ADMIN, "Ada")):
            telegram.user(person, name)
        for bot in bots:  # Family's first read, then the account's half an interval later
            await looked(bot, 1)
            await looked(bot, 2, after=INTERVAL / 2)

        for n in (1, 2):
            outside = photo_bytes(700 + n * 10, 500)
            fake.set_avatar(FAMILY, cdn.put(f"outside{n}", outside))
            reads = len(family_reads(one))
            await turn(bots)
            assert len(family_reads(one)) == reads + 2, "both instances read the new picture"
            for person in (OWNER, OTHER_OWNER, ADMIN):
                notices = photos_to(one, person)
                assert len(notices) == n, (person, n)
                assert notices[-1].photo == prepare_picture(outside).jpeg
        counted = [
            bot.services.metrics.outside_changes.labels(provider="green")._value.get()
            for bot in bots
        ]
        assert sum(counted) == 2

        await turn(bots)  # nothing changed: nothing more to tell
        assert len(photos_to(one, OWNER)) == 2
    finally:
        await shut_down(first)
        await shut_down(second)
