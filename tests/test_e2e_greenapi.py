"""End to end: the bot started as the README says, a fake Bot API and a fake Green API."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from PIL import Image

from tests.bot_process import (
    answer_to,
    bot_env,
    run_cli,
    running_bot,
    secrets_from_environment,
    write_config,
)
from tests.conftest import (
    ADMIN,
    BOT_TOKEN,
    FAMILY,
    GREEN_ID,
    GREEN_TOKEN,
    OWNER,
    STRANGER,
    raw_config,
)
from tests.fakes.greenapi import FakeGreenApi, Fault
from tests.fakes.serve import serve
from tests.fakes.telegram import FakeTelegram
from tests.pictures import photo_bytes

ENV = bot_env()


@pytest.fixture
async def world(tmp_path) -> AsyncIterator[tuple[FakeTelegram, FakeGreenApi, object]]:
    telegram = FakeTelegram(token=BOT_TOKEN)
    green = FakeGreenApi(id_instance=GREEN_ID, token=GREEN_TOKEN, groups={FAMILY})
    async with serve(telegram.app) as api, serve(green.app) as green_url:
        config = write_config(
            tmp_path, secrets_from_environment(raw_config(tmp_path, green_url), api)
        )
        yield telegram, green, config


def secrets_env() -> dict[str, str]:
    return {**ENV, "TELEGRAM_BOT_TOKEN": BOT_TOKEN, "GREEN_API_TOKEN": GREEN_TOKEN}


async def test_the_bot_serves_people_from_start_to_stop(world):
    telegram, green, config = world
    env = secrets_env()
    granted = await run_cli("grant", str(ADMIN), "family", "admin", config=config, env=env)
    assert granted.returncode == 0, granted.stderr
    admin, owner = telegram.user(ADMIN, "Ada"), telegram.user(OWNER, "Olga")
    stranger = telegram.user(STRANGER, "Mallory")

    async with running_bot(config, telegram, env) as bot:
        # caption form
        sent = await admin.send_photo(photo_bytes(2000, 1500), caption="/setgrouppic family")
        answer = await answer_to(telegram, admin, sent)
        assert answer.startswith("Done: Family has a new picture.")
        assert green.avatar_of(FAMILY) in answer
        upload = green.set_calls()[-1]
        assert upload.form["groupId"] == FAMILY
        picture = Image.open(io.BytesIO(upload.file))
        assert picture.format == "JPEG" and picture.width == picture.height == 640

        # reply form
        photo = await owner.send_photo(photo_bytes(1200, 900))
        sent = await owner.send("/setgrouppic family", reply_to=photo)
        assert (await answer_to(telegram, owner, sent)).startswith("Done: Family has a new")

        # ask, then send
        sent = await admin.send("/setgrouppic family")
        assert (await answer_to(telegram, admin, sent)).startswith("Send me the new picture")
        sent = await admin.send_photo(photo_bytes(800, 800))
        assert (await answer_to(telegram, admin, sent)).startswith("Done: Family has a new")
        assert len(green.set_calls()) == 3

        # a stranger is refused and Green API gets nothing
        sent = await stranger.send_photo(photo_bytes(), caption="/setgrouppic family")
        assert await answer_to(telegram, stranger, sent) == (
            "Sorry, you may not change the picture of Family."
        )
        assert len(green.set_calls()) == 3

        # a provider failure is reported
        green.fail_next("setGroupPicture", Fault.refused("Timed Out"))
        sent = await admin.send_photo(photo_bytes(), caption="/setgrouppic family")
        answer = await answer_to(telegram, admin, sent)
        assert answer.startswith("Could not change the picture of Family:")

        # /delgrouppic is explained without calling anything
        calls_before = len(green.requests)
        sent = await owner.send("/delgrouppic family")
        assert await answer_to(telegram, owner, sent) == (
            "Sorry, Green API cannot remove a group picture, so nothing was changed."
        )
        assert len(green.requests) == calls_before

    # running_bot checked the DEBUG log and every Telegram call for secrets; and Green API
    # never saw the bot token
    assert "getUpdates" in bot.log
    for request in green.requests:
        assert BOT_TOKEN not in request.path and BOT_TOKEN.encode() not in request.body


async def test_check_asks_each_provider_and_changes_nothing(world):
    telegram, green, config = world
    done = await run_cli("check", config=config, env=secrets_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "green (Green API): ok - the WhatsApp account is logged in"
    assert [r.method for r in green.requests] == ["getStateInstance"]
    assert telegram.calls() == []

    green.state = "notAuthorized"
    done = await run_cli("check", config=config, env=secrets_env())
    assert done.returncode == 1
    assert done.stdout.startswith("green (Green API): FAILED - the WhatsApp account is not logged")


async def test_revoke_from_the_shell_takes_effect(world):
    telegram, green, config = world
    env = secrets_env()
    granted = await run_cli("grant", str(ADMIN), "family", "admin", config=config, env=env)
    assert granted.returncode == 0
    revoked = await run_cli("revoke", str(ADMIN), "family", config=config, env=env)
    assert revoked.stdout.strip() == f"revoked {ADMIN}'s grant on family"
    unknown = await run_cli("grant", str(ADMIN), "nope", "admin", config=config, env=env)
    assert unknown.returncode == 2 and "no group called 'nope'" in unknown.stderr

    admin = telegram.user(ADMIN, "Ada")
    async with running_bot(config, telegram, env):
        sent = await admin.send_photo(photo_bytes(), caption="/setgrouppic family")
        assert await answer_to(telegram, admin, sent) == (
            "Sorry, you may not change the picture of Family."
        )
    assert green.set_calls() == []
