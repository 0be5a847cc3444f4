"""Two instances of the bot on one PostgreSQL store, both watching Family: a picture changed on
the fake Green API is read by both, and each owner and admin gets exactly one notice
(bot/store/watched.py `changed`: the instance whose write finds the old picture still there
takes it). In-process with fake clocks moved together, and as two bot processes behind the
load balancer, as the README runs them, with a short interval."""

from __future__ import annotations

from contextlib import AsyncExitStack

import yaml

from bot.images import prepare_picture
from bot.watch import Watcher
from tests.bot_process import run_cli, running_bot, write_config
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
from tests.fakes.telegram import BotMessage, FakeTelegram
from tests.pictures import photo_bytes
from tests.test_e2e_instances import Fleet, fleet  # noqa: F401 (the fixture)
from tests.test_reliability import until as within
from tests.test_watch import INTERVAL, family_reads, looked


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
                notices = photos_to(telegram, person)
                assert len(notices) == n, (person, n)
                assert notices[-1].photo == prepare_picture(outside).jpeg
        counted = [
            bot.services.metrics.outside_changes.labels(provider="green")._value.get()
            for bot in bots
        ]
        assert sum(counted) == 2

        await turn(bots)  # nothing changed: nothing more to tell
        assert len(photos_to(telegram, OWNER)) == 2
    finally:
        await shut_down(first)
        await shut_down(second)


async def test_two_bot_processes_tell_each_change_once(fleet: Fleet, cdn: Cdn):  # noqa: F811
    raw = yaml.safe_load(fleet.config.read_text())
    raw["watch"] = {"interval_seconds": 5}
    write_config(fleet.config.parent, raw)
    granted = await run_cli(
        "grant", str(ADMIN), "family", "admin", config=fleet.config, env=fleet.env(0)
    )
    assert granted.returncode == 0, granted.stderr
    telegram, green = fleet.telegram, fleet.green
    for person, name in ((OWNER, "Olga"), (ADMIN, "Ada")):
        telegram.user(person, name)

    def reads() -> int:
        return len([c for c in green.calls("getAvatar") if FAMILY.encode() in c.body])

    async with AsyncExitStack() as stack:
        for instance in (0, 1):
            await stack.enter_async_context(
                running_bot(fleet.config, telegram, fleet.env(instance))
            )
        await within(lambda: reads() >= 2, timeout=30)  # the baselines
        outside = photo_bytes(700, 500)
        green.set_avatar(FAMILY, cdn.put("outside", outside))
        seen = reads()
        await telegram.wait_for_bot_message(OWNER, predicate=is_photo, timeout=30)
        # four more reads (each instance reads Family every 5 s): both read the new picture
        await within(lambda: reads() >= seen + 4, timeout=30)
        await within(lambda: len(photos_to(telegram, ADMIN)) >= 1, timeout=30)

    for person in (OWNER, ADMIN):
        [notice] = photos_to(telegram, person)
        assert notice.photo == prepare_picture(outside).jpeg
        assert (notice.caption or "").startswith("The picture of Family was changed outside")


def is_photo(message: BotMessage) -> bool:
    return message.photo is not None


def photos_to(telegram: FakeTelegram, chat: int) -> list[BotMessage]:
    return [m for m in telegram.bot_messages(chat) if is_photo(m)]
