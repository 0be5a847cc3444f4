"""The store goes away under a running bot (PostgreSQL stopped, then started again): the bot
keeps running and says so on /healthz, refuses new changes in plain words, finishes the one
that was at the provider once the store is back, and never runs it twice."""

from __future__ import annotations

import httpx

from bot import texts
from bot.i18n import tr
from tests.bot_process import (
    answer_to,
    bot_env,
    free_port,
    running_bot,
    secrets_from_environment,
    write_config,
)
from tests.conftest import BOT_TOKEN, FAMILY, GREEN_ID, GREEN_TOKEN, OWNER, raw_config
from tests.fakes.greenapi import FakeGreenApi, Fault
from tests.fakes.serve import serve
from tests.fakes.telegram import BotMessage, FakeTelegram
from tests.pictures import photo_bytes
from tests.postgres import PASSWORD, running_server
from tests.test_reliability import until

ENV = bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, GREEN_API_TOKEN=GREEN_TOKEN, PG_PASSWORD=PASSWORD)


async def test_postgresql_stopped_and_started_under_a_running_bot(tmp_path) -> None:
    telegram = FakeTelegram(token=BOT_TOKEN)
    green = FakeGreenApi(id_instance=GREEN_ID, token=GREEN_TOKEN, groups={FAMILY})
    owner = telegram.user(OWNER, "Olga")
    port = free_port()
    with running_server() as postgres:
        async with serve(telegram.app) as api, serve(green.app) as green_url:
            raw = secrets_from_environment(raw_config(tmp_path, green_url), api)
            raw["storage"] = {"url": postgres.new_database(password="${PG_PASSWORD}")}
            raw["server"] = {"listen": f"127.0.0.1:{port}"}
            raw["providers"]["green"]["timeout_seconds"] = 30
            config = write_config(tmp_path, raw)
            async with running_bot(config, telegram, ENV) as bot, httpx.AsyncClient() as client:

                async def health(status: int, store: bool) -> bool:
                    response = await client.get(f"http://127.0.0.1:{port}/healthz")
                    return response.status_code == status and response.json()["store"] is store

                green.fail_next("setGroupPicture", Fault.slow(3))  # the upload takes a while
                first = await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
                await until(lambda: green.set_calls(), timeout=20)
                postgres.stop()  # while the change is at Green API
                await until(lambda: health(503, False), timeout=20)

                refused = await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
                answer = await answer_to(telegram, owner, refused, timeout=30)
                assert answer == tr(texts.STORE_AWAY)
                assert len(green.set_calls()) == 1  # nothing was sent for it

                # Green API answered: the change waits to be written down, and is not lost
                await until(lambda: "waiting for the store to come back" in bot.log, timeout=20)
                postgres.start()
                done = await telegram.wait_for_bot_message(
                    owner, predicate=lambda m: _final_reply_to(m, first), timeout=30
                )
                assert done.content.startswith("Done: Family has a new picture."), done.content
                await until(lambda: health(200, True), timeout=20)
                sent = await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
                again = await answer_to(telegram, owner, sent, timeout=30)
                assert again.startswith("Done: Family has a new picture."), again

            # the next start finds nothing open: the first change is not run a second time
            async with running_bot(config, telegram, ENV):
                pass
    assert len(green.set_calls()) == 2
    told = [m.content for m in telegram.bot_messages(owner)]
    assert tr(texts.FAILED) not in told
    assert not [m for m in told if m.startswith("Resumed")]


def _final_reply_to(message: BotMessage, request: dict) -> bool:
    return message.reply_to_message_id == request["message_id"] and not message.content.endswith(
        "…"
    )
