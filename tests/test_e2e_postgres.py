"""End to end on PostgreSQL: the bot started as the README says with `storage.url` on the
session's PostgreSQL server (tests/postgres.py), a fake Bot API and a fake Green API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from bot.domain import AuditOutcome
from bot.store import Store
from tests.bot_process import answer_to, bot_env, free_port, run_cli, running_bot, write_config
from tests.conftest import (
    ADMIN,
    BOT_TOKEN,
    FAMILY,
    GREEN_ID,
    GREEN_TOKEN,
    raw_config,
    shut_down,
    start_bot,
)
from tests.fakes.greenapi import FakeGreenApi
from tests.fakes.serve import serve
from tests.fakes.telegram import FakeTelegram
from tests.pictures import photo_bytes
from tests.postgres import PASSWORD, Server

ENV = bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, PG_PASSWORD=PASSWORD)


@dataclass
class World:
    telegram: FakeTelegram
    green: FakeGreenApi
    config: Path
    #: the database's URL as config.yaml has it: `${PG_PASSWORD}` for the password
    url: str
    server_url: str


@pytest.fixture
async def world(tmp_path, postgres_server: Server) -> AsyncIterator[World]:
    telegram = FakeTelegram(token=BOT_TOKEN)
    green = FakeGreenApi(id_instance=GREEN_ID, token=GREEN_TOKEN, groups={FAMILY})
    url = postgres_server.new_database(password="${PG_PASSWORD}")
    port = free_port()
    async with serve(telegram.app) as api, serve(green.app) as green_url:
        raw = raw_config(tmp_path, green_url, server={"listen": f"127.0.0.1:{port}"})
        raw["telegram"] = {"token": "${TELEGRAM_BOT_TOKEN}", "api_base_url": api}
        raw["storage"] = {"url": url}
        yield World(telegram, green, write_config(tmp_path, raw), url, f"http://127.0.0.1:{port}")


def with_password(url: str) -> str:
    return url.replace("${PG_PASSWORD}", PASSWORD)


async def test_the_bot_runs_on_postgresql(world: World) -> None:
    granted = await run_cli("grant", str(ADMIN), "family", "admin", config=world.config, env=ENV)
    assert granted.returncode == 0, granted.stderr
    admin = world.telegram.user(ADMIN, "Ada")

    async with running_bot(world.config, world.telegram, ENV):
        sent = await admin.send_photo(photo_bytes(1200, 900), caption="/setgrouppic family")
        answer = await answer_to(world.telegram, admin, sent)
        assert answer.startswith("Done: Family has a new picture.")
        url = world.green.avatar_of(FAMILY)
        assert url is not None and url in answer
        [upload] = world.green.set_calls()
        assert upload.form["groupId"] == FAMILY
        async with httpx.AsyncClient() as client:
            health = await client.get(f"{world.server_url}/healthz")
        assert health.status_code == 200 and health.json()["store"] is True

    # what the bot wrote down is in PostgreSQL
    store = await Store.open(with_password(world.url))
    [entry] = await store.audit.latest("family")
    assert (entry.user_id, entry.outcome, entry.url) == (ADMIN, AuditOutcome.DONE, url)
    await store.close()


async def start_up_error(world: World, url: str) -> str:
    """Start the bot on `url`; it must stop before asking Telegram anything, with one line."""
    raw = yaml.safe_load(world.config.read_text())
    raw["storage"] = {"url": url}
    write_config(world.config.parent, raw)
    finished = await run_cli(config=world.config, env=ENV)
    assert finished.returncode == 1
    assert world.telegram.calls() == []
    [line] = finished.stderr.splitlines()
    assert PASSWORD not in finished.stderr + finished.stdout
    return line


async def test_an_unreachable_database_stops_start_up_in_one_line(world: World) -> None:
    nobody = f"postgresql://avatarops:${{PG_PASSWORD}}@127.0.0.1:{free_port()}/avatarops"
    line = await start_up_error(world, nobody)
    assert line.startswith("error: cannot reach the store at postgresql://avatarops@127.0.0.1:"), (
        line
    )


async def test_a_refusing_database_stops_start_up_in_one_line(world: World) -> None:
    parts = urlsplit(world.url)
    wrong = world.url.replace("${PG_PASSWORD}", "wrong-password-SECRET")
    line = await start_up_error(world, wrong)
    assert line == (
        f"error: cannot reach the store at postgresql://avatarops@{parts.hostname}:{parts.port}"
        f'{parts.path}: password authentication failed for user "avatarops"'
    )
    assert "wrong-password" not in line


async def test_health_says_whether_the_store_answers(
    tmp_path, postgres_server: Server, green
) -> None:
    fake, green_url = green
    url = postgres_server.new_database()
    raw = raw_config(tmp_path, green_url)
    raw["storage"] = {"url": url}
    bot, application = await start_bot(raw, fake)
    try:
        assert (await bot.services.health())["store"] is True
        postgres_server.run(f"DROP DATABASE {urlsplit(url).path[1:]} WITH (FORCE)")
        report = await bot.services.health()
        assert (report["ok"], report["store"]) == (False, False)
    finally:
        await shut_down(application)
