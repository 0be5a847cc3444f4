"""A crash in the middle of a change: SIGKILL while Green API holds the request, then restart.
The change completes exactly once from the user's view and the store has no half-written rows."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import NamedTuple

from tests.bot_process import (
    BotProcess,
    bot_env,
    running_bot,
    secrets_from_environment,
    spawn_bot,
    write_config,
)
from tests.conftest import BOT_TOKEN, FAMILY, GREEN_ID, GREEN_TOKEN, OWNER, raw_config
from tests.fakes.greenapi import FakeGreenApi, Fault
from tests.fakes.serve import serve
from tests.fakes.telegram import BotMessage, FakeTelegram, FakeUser
from tests.pictures import photo_bytes
from tests.test_reliability import until

ENV = bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, GREEN_API_TOKEN=GREEN_TOKEN)


def rows(path: str, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute(sql).fetchall()


class HeldUpload(NamedTuple):
    """Fake Telegram and a Green API that holds the first upload, and a bot config for them."""

    telegram: FakeTelegram
    green: FakeGreenApi
    owner: FakeUser
    config: Path
    database: str


@asynccontextmanager
async def green_holds_the_first_upload(tmp_path: Path) -> AsyncIterator[HeldUpload]:
    """The servers a crash test needs, running: Green API holds the first setGroupPicture for
    a minute (the bot waits as long), so a test can kill the bot while a change runs."""
    telegram = FakeTelegram(token=BOT_TOKEN)
    green = FakeGreenApi(id_instance=GREEN_ID, token=GREEN_TOKEN, groups={FAMILY})
    owner = telegram.user(OWNER, "Olga")
    async with serve(telegram.app) as api, serve(green.app) as green_url:
        raw = secrets_from_environment(raw_config(tmp_path, green_url), api)
        raw["providers"]["green"]["timeout_seconds"] = 60
        green.fail_next("setGroupPicture", Fault.slow(60))
        config = write_config(tmp_path, raw)
        yield HeldUpload(telegram, green, owner, config, raw["storage"]["path"])


async def kill(bot: BotProcess) -> None:
    """SIGKILL: the process ends at once, wherever it is."""
    bot.process.send_signal(signal.SIGKILL)
    await asyncio.wait_for(bot.process.wait(), 10)


async def resumed_answer(telegram: FakeTelegram, user: FakeUser, sent: dict) -> BotMessage:
    """The one answer to a request whose change was resumed, saying it resumed and that it is
    done (and no second answer shows up)."""
    final = await telegram.wait_for_bot_message(
        user, predicate=lambda m: "Done" in m.content, timeout=30
    )
    await asyncio.sleep(0.5)  # time for a wrong second answer to show up, if any
    answers = [
        m for m in telegram.bot_messages(user) if m.reply_to_message_id == sent["message_id"]
    ]
    assert answers == [final]
    assert final.content.startswith("Resumed after a restart. Done: Family has a new picture.")
    return final


async def test_a_change_in_flight_survives_sigkill(tmp_path):
    async with green_holds_the_first_upload(tmp_path) as (telegram, green, owner, config, database):
        first = await spawn_bot(config, telegram, ENV)
        sent = await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
        await until(lambda: green.set_calls(), timeout=20)
        working = await telegram.wait_for_bot_message(owner, contains="Working on it")
        await until(
            lambda: (
                rows(database, "SELECT reply_message_id FROM operations") == [(working.message_id,)]
            )
        )  # the answer is written down with the change: the restart edits it
        await kill(first)

        # written down before it ran, and nothing half-written: running, no audit row yet
        assert rows(database, "SELECT status, attempts, jpeg IS NOT NULL FROM operations") == [
            ("running", 1, 1)
        ]
        assert rows(database, "SELECT outcome FROM audit") == []

        async with running_bot(config, telegram, ENV):
            final = await resumed_answer(telegram, owner, sent)

    assert final.message_id == working.message_id  # "Working on it…", edited
    assert (green.avatar_of(FAMILY) or "no URL") in final.content
    # Green API saw the held upload and the resumed one (setting a picture is idempotent)
    assert [r.form["groupId"] for r in green.set_calls()] == [FAMILY, FAMILY]
    assert rows(database, "SELECT status, attempts, jpeg IS NULL FROM operations") == [
        ("done", 2, 1)
    ]
    assert rows(database, "SELECT outcome, url FROM audit") == [("done", green.avatar_of(FAMILY))]


async def test_a_change_killed_while_its_photo_downloads_is_finished_after_the_restart(tmp_path):
    telegram = FakeTelegram(token=BOT_TOKEN)
    green = FakeGreenApi(id_instance=GREEN_ID, token=GREEN_TOKEN, groups={FAMILY})
    owner = telegram.user(OWNER, "Olga")
    async with serve(telegram.app) as api, serve(green.app) as green_url:
        raw = secrets_from_environment(raw_config(tmp_path, green_url), api)
        config = write_config(tmp_path, raw)
        database = raw["storage"]["path"]

        release = telegram.hold_downloads()  # the photo is still on its way when the bot dies
        first = await spawn_bot(config, telegram, ENV)
        sent = await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
        await until(lambda: telegram.calls("getFile"), timeout=20)
        await kill(first)

        # written down before the download: the photo's file id, no picture yet, no audit row
        assert rows(
            database, "SELECT status, jpeg IS NULL, file_id IS NOT NULL FROM operations"
        ) == [("pending", 1, 1)]
        assert rows(database, "SELECT outcome FROM audit") == []
        release()

        # killed within a moment of the request, before it said anything
        assert telegram.bot_messages(owner) == []
        async with running_bot(config, telegram, ENV):
            final = await resumed_answer(telegram, owner, sent)  # a reply to the request

        assert final.history == []

    assert [r.form["groupId"] for r in green.set_calls()] == [FAMILY]
    assert rows(database, "SELECT status, jpeg IS NULL FROM operations") == [("done", 1)]
    assert rows(database, "SELECT outcome FROM audit") == [("done",)]
