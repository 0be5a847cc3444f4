"""The bot run as a service (`python -m bot`), as an operator and an attacker meet it: its
listening address, connections nobody finishes, and the health check."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.bot_process import (
    Finished,
    answer_to,
    bot_env,
    free_port,
    run_cli,
    running_bot,
    secrets_from_environment,
    spawn_bot,
    stop_bot,
    write_config,
)
from tests.conftest import (
    BOT_TOKEN,
    FAMILY,
    GREEN_ID,
    GREEN_TOKEN,
    OTHER_OWNER,
    OWNER,
    WORK,
    raw_config,
)
from tests.fakes.greenapi import FakeGreenApi, Fault
from tests.fakes.serve import serve
from tests.fakes.telegram import FakeTelegram, FloodLimit
from tests.pictures import photo_bytes
from tests.test_reliability import until

ENV = bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, GREEN_API_TOKEN=GREEN_TOKEN)


@dataclass
class World:
    telegram: FakeTelegram
    green: FakeGreenApi
    raw: dict
    tmp_path: Path

    def config(self, **server: object) -> Path:
        """config.yaml with the bot's HTTP server (`server:` settings as given)."""
        return write_config(self.tmp_path, {**self.raw, "server": server})


@pytest.fixture
async def world(tmp_path) -> AsyncIterator[World]:
    telegram = FakeTelegram(token=BOT_TOKEN)
    green = FakeGreenApi(id_instance=GREEN_ID, token=GREEN_TOKEN, groups={FAMILY})
    async with serve(telegram.app) as api, serve(green.app) as green_url:
        raw = secrets_from_environment(raw_config(tmp_path, green_url), api)
        yield World(telegram, green, raw, tmp_path)


def failed_in_one_line(done: Finished) -> str:
    assert done.returncode == 1, done
    [line] = done.stderr.strip().splitlines()
    return line


async def test_a_listen_address_in_use_is_one_line_and_a_non_zero_exit(world: World) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = world.config(listen=f"127.0.0.1:{port}")
        done = await run_cli(config=config, env=ENV)
    assert failed_in_one_line(done) == (
        f"error: cannot listen on 127.0.0.1:{port}: Address already in use"
    )
    assert world.telegram.calls() == []  # refused before anything else started


async def test_a_foreign_listen_address_is_one_line_and_a_non_zero_exit(world: World) -> None:
    config = world.config(listen="192.0.2.1:8080")  # TEST-NET-1: never this machine's
    done = await run_cli(config=config, env=ENV)
    assert failed_in_one_line(done) == (
        "error: cannot listen on 192.0.2.1:8080: Cannot assign requested address"
    )


async def test_an_ipv6_listen_address_serves(world: World) -> None:
    port = free_port()
    config = world.config(listen=f"[::1]:{port}")
    async with running_bot(config, world.telegram, ENV), httpx.AsyncClient() as client:
        response = await client.get(f"http://[::1]:{port}/healthz")
    assert response.status_code == 200
    assert response.json()["store"] is True


STALLED = 1_100


async def test_stalled_connections_cannot_starve_the_bot(world: World) -> None:
    """1,100 connections that never send a request, against a bot allowed 256 open files:
    the bot keeps serving people and providers, drops every stalled connection, and its
    server answers again."""
    port = free_port()
    config = world.config(listen=f"127.0.0.1:{port}", max_connections=100, header_timeout_seconds=1)
    bot = await spawn_bot(config, world.telegram, ENV, open_files=256)
    stalled: list[socket.socket] = []
    try:
        for _ in range(STALLED):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.setblocking(False)
            stalled.append(sock)
        owner = world.telegram.user(OWNER, "Olga")
        sent = await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
        answer = await answer_to(world.telegram, owner, sent, timeout=30)
        assert answer.startswith("Done: Family has a new picture."), answer

        await until(lambda: all(map(_closed, stalled)), timeout=60)
        async with httpx.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{port}/healthz")
        assert response.status_code == 200
    finally:
        for sock in stalled:
            sock.close()
        await stop_bot(bot, world.telegram)
    assert bot.process.returncode == 0, bot.log


def _closed(sock: socket.socket) -> bool:
    """Whether the other side closed the connection (a stalled client never sends a byte)."""
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


async def test_a_bot_that_cannot_reach_telegram_says_so_in_one_line(world: World) -> None:
    """Nothing follows the line (no "Unclosed client session" from the half-started bot)."""
    world.raw["telegram"]["api_base_url"] = "http://127.0.0.1:9"
    config = world.config(listen=f"127.0.0.1:{free_port()}")
    done = await run_cli(config=config, env=ENV)
    line = failed_in_one_line(done)
    assert line.startswith("error: could not reach Telegram at http://127.0.0.1:9: "), line


METRICS_TOKEN = "metrics-token-SECRET-0123"


async def test_metrics_count_changes_failures_and_retries_behind_a_token(world: World) -> None:
    telegram, green = world.telegram, world.green
    port = free_port()
    config = world.config(listen=f"127.0.0.1:{port}", metrics_token="${METRICS_TOKEN}")
    env = {**ENV, "METRICS_TOKEN": METRICS_TOKEN}
    owner = telegram.user(OWNER, "Olga")
    telegram.user(OTHER_OWNER, "Oscar")  # hears about every change
    url = f"http://127.0.0.1:{port}/metrics"
    async with running_bot(config, telegram, env), httpx.AsyncClient() as client:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": METRICS_TOKEN}):
            refused = await client.get(url, headers=headers)
            assert refused.status_code == 401, headers
            assert "avatarops" not in refused.text

        async def change() -> str:
            sent = await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
            return await answer_to(telegram, owner, sent, timeout=30)

        assert (await change()).startswith("Done: Family")
        green.fail_next("setGroupPicture", Fault.http(502, "Bad Gateway"))  # retried
        assert (await change()).startswith("Done: Family")
        green.fail_next("setGroupPicture", Fault.bad_request("no"))  # not retried
        assert (await change()).startswith("Could not")
        telegram.flood_limit = FloodLimit(messages=1, seconds=1)  # one 429 at least
        assert (await change()).startswith("Done: Family")
        await until(lambda: telegram.flood_limit and telegram.flood_limit.refused, timeout=10)
        telegram.flood_limit = None

        scraped = await client.get(url, headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain; version=")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(scraped.text)
        for sample in family.samples
    }

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    set_group = {"provider": "green", "action": "set_group_picture"}
    assert value("avatarops_changes_total", **set_group, outcome="done") == 3
    assert value("avatarops_changes_total", **set_group, outcome="failed") == 1
    calls = {"provider": "green", "method": "set_group_picture"}
    assert value("avatarops_provider_call_seconds_count", **calls) == 5  # 1 + 2 + 1 + 1
    assert value("avatarops_changes_waiting", provider="green") == 0
    assert value("avatarops_proposals_open") == 0
    assert value("avatarops_scheduled_changes_waiting") == 0
    # Oscar hears of each change (the last notice may still be on its way)
    assert value("avatarops_notices_total", outcome="sent") >= 3
    assert value("avatarops_telegram_retries_total") >= 1
    assert value("avatarops_lease_takeovers_total") == 0
    labels = {v for (_, pairs) in samples for _, v in pairs}
    assert not {v for v in labels if "Family" in v or "Olga" in v or "SECRET" in v}


async def test_json_logs_are_one_object_a_line_naming_the_change_and_no_secret(
    world: World,
) -> None:
    """DEBUG logs as JSON: every line parses, the change's lines carry its id, provider and
    group; `running_bot` greps the log for every secret, as it does in text format."""
    telegram = world.telegram
    world.raw["logging"] = {"format": "json"}
    config = world.config(listen=f"127.0.0.1:{free_port()}")
    owner = telegram.user(OWNER, "Olga")
    async with running_bot(config, telegram, ENV) as bot:
        sent = await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
        assert (await answer_to(telegram, owner, sent)).startswith("Done: Family")
    lines = [json.loads(line) for line in bot.log.splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    about_change = [line for line in lines if "change_id" in line]
    assert {(line["provider"], line["group"]) for line in about_change} == {("green", "family")}
    assert any(
        line["message"] == f"change {line['change_id']} ended: done" for line in about_change
    )


async def test_sigterm_finishes_the_change_at_the_provider_and_keeps_the_queued_one(
    world: World,
) -> None:
    """SIGTERM while Green API holds one upload and a second change waits behind it: the
    first finishes and is answered, /healthz says 503 meanwhile, the second is not run but
    kept, the bot exits 0, and the next start runs the second."""
    telegram, green = world.telegram, world.green
    green.groups.add(WORK)
    world.raw["providers"]["green"]["timeout_seconds"] = 30
    port = free_port()
    config = world.config(listen=f"127.0.0.1:{port}")
    owner = telegram.user(OWNER, "Olga")
    green.fail_next("setGroupPicture", Fault.slow(5))  # the first upload, held
    bot = await spawn_bot(config, telegram, ENV)
    first = await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
    await until(lambda: green.set_calls(), timeout=20)
    second = await owner.send_photo(photo_bytes(), caption="/setgrouppic work")
    await telegram.wait_for_bot_message(owner, contains="Queued (1 ahead of it)")

    telegram.close()
    bot.process.send_signal(signal.SIGTERM)
    async with httpx.AsyncClient() as client:

        async def draining() -> bool:
            response = await client.get(f"http://127.0.0.1:{port}/healthz")
            return response.status_code == 503 and response.json().get("draining") is True

        await until(draining, timeout=5)
    assert await asyncio.wait_for(bot.process.wait(), 30) == 0, bot.log
    answers = {m.reply_to_message_id: m.content for m in telegram.bot_messages(owner)}
    assert answers[first["message_id"]].startswith("Done: Family"), answers
    assert answers[second["message_id"]].startswith("Queued"), answers  # not run, not answered
    assert [r.form["groupId"] for r in green.set_calls()] == [FAMILY]
    assert rows(world.raw, "SELECT target, status FROM operations ORDER BY id") == [
        ("family", "done"),
        ("work", "pending"),
    ]

    async with running_bot(config, telegram, ENV):
        resumed = await telegram.wait_for_bot_message(
            owner, predicate=lambda m: m.content.startswith("Resumed after a restart. Done: Work")
        )
    assert [r.form["groupId"] for r in green.set_calls()] == [FAMILY, WORK]
    assert resumed.message_id > second["message_id"]


def rows(raw: dict, sql: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(raw["storage"]["path"])) as db:
        return db.execute(sql).fetchall()
