"""End to end through Meta's WhatsApp Cloud API: the bot started as the README says, with the
fake Graph API confirming changes through the bot's `/hooks/<provider>/<secret>` webhook: at
once, late, twice, failed, after a restart, never, or forged."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.bot_process import (
    answer_to,
    bot_env,
    free_port,
    run_cli,
    running_bot,
    write_config,
)
from tests.conftest import BOT_TOKEN, OWNER
from tests.fakes.graph import FakeGraph
from tests.fakes.serve import serve
from tests.fakes.telegram import BotMessage, FakeTelegram, FakeUser
from tests.pictures import photo_bytes

SHOP = "Y2FwaV9ncm91cDoxOTUwNTU1MDA3OToxMjAzNjMzOTQzMjAdOTY0MTUZD"
CLUB = "Y2FwaV9ncm91cDoxOTUwNTU1MDA3OToxMjAzNjMzOTQzMjAdOTY0MTUxX"
TOKEN = "EAAGmeta-token-SECRET"
APP_SECRET = "meta-app-SECRET"
HOOK_SECRET = "hook_SECRET_0123456789"
ENV = bot_env(
    TELEGRAM_BOT_TOKEN=BOT_TOKEN,
    META_TOKEN=TOKEN,
    META_APP_SECRET=APP_SECRET,
    META_WEBHOOK_SECRET=HOOK_SECRET,
)
WAITING = "Sent to WhatsApp, waiting for its confirmation…"
CONFIRMED = "Done: Shop has a new picture.\nWhatsApp confirmed the new picture."


@dataclass
class World:
    telegram: FakeTelegram
    graph: FakeGraph
    config: Path
    hooks: str  # the bot's /hooks/meta/<secret> URL

    @property
    def owner(self) -> FakeUser:
        return self.telegram.user(OWNER, "Olga")


def write(tmp_path: Path, api: str, graph_url: str, port: int, confirm_seconds: float) -> Path:
    return write_config(
        tmp_path,
        {
            "telegram": {"token": "${TELEGRAM_BOT_TOKEN}", "api_base_url": api},
            "storage": {"path": str(tmp_path / "avatarops.sqlite3")},
            "owners": [OWNER],
            "server": {"listen": f"127.0.0.1:{port}", "public_url": f"http://127.0.0.1:{port}"},
            "providers": {
                "meta": {
                    "kind": "cloudapi",
                    "base_url": graph_url,
                    "access_token": "${META_TOKEN}",
                    "phone_number_id": "106540352242922",
                    "app_id": "1234567890",
                    "app_secret": "${META_APP_SECRET}",
                    "webhook_secret": "${META_WEBHOOK_SECRET}",
                    "confirm_timeout_seconds": confirm_seconds,
                    "own_interval_seconds": 0,
                }
            },
            "groups": {
                "shop": {"provider": "meta", "chat_id": SHOP, "title": "Shop"},
                "club": {"provider": "meta", "chat_id": CLUB, "title": "Club"},
            },
        },
    )


@pytest.fixture
async def world(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[World]:
    telegram = FakeTelegram(token=BOT_TOKEN)
    graph = FakeGraph(token=TOKEN, app_secret=APP_SECRET, groups={SHOP, CLUB})
    graph.confirming = "held"
    port = free_port()
    confirm_seconds = getattr(request, "param", 60)
    async with serve(telegram.app) as api, serve(graph.app) as graph_url:
        config = write(tmp_path, api, graph_url, port, confirm_seconds)
        hooks = f"http://127.0.0.1:{port}/hooks/meta/{HOOK_SECRET}"
        graph.webhook_url = hooks
        yield World(telegram, graph, config, hooks)
    assert graph.deleted_groups == [], "the bot deleted a group"
    assert not [r for r in graph.requests if r.method == "DELETE"], "the bot sent a DELETE"


async def shown(telegram: FakeTelegram, user: FakeUser, sent: dict, text: str) -> BotMessage:
    """The bot's answer to `sent` once it shows `text` (edits count)."""
    return await telegram.wait_for_bot_message(
        user,
        predicate=lambda m: m.message_id > sent["message_id"] and m.content == text,
    )


async def test_every_command_and_a_confirmation_that_edits_the_answer(world: World):
    telegram, graph, owner = world.telegram, world.graph, world.owner
    async with running_bot(world.config, telegram, ENV):
        sent = await owner.send_photo(photo_bytes(1500, 1000), caption="/setgrouppic shop")
        waiting = await shown(telegram, owner, sent, WAITING)
        [accepted] = graph.accepted
        with Image.open(io.BytesIO(accepted.jpeg)) as picture:
            assert (picture.format, picture.size) == ("JPEG", (640, 640))
        assert await graph.confirm() == 200
        done = await shown(telegram, owner, sent, CONFIRMED)
        assert done.message_id == waiting.message_id  # one answer, edited

        # /grouppic: the Cloud API cannot read it; the last picture the bot set, saying so
        sent = await owner.send("/grouppic shop")
        photo = await telegram.wait_for_bot_message(
            owner, predicate=lambda m: m.message_id > sent["message_id"]
        )
        assert photo.content == (
            "The last picture the bot set for Shop (WhatsApp Cloud API cannot show a group's"
            " current picture)."
        )
        assert photo.photo == accepted.jpeg

        # /delgrouppic: no such operation; nothing is called (DELETE would delete the group)
        before = len(graph.requests)
        sent = await owner.send("/delgrouppic shop")
        assert await answer_to(telegram, owner, sent) == (
            "Sorry, WhatsApp Cloud API cannot remove a group picture, so nothing was changed."
        )
        assert len(graph.requests) == before

        # the account's own picture: the resumable upload, then its URL
        sent = await owner.send_photo(photo_bytes(800, 800), caption="/setprofilepic meta")
        assert await answer_to(telegram, owner, sent) == (
            f"Done: the WhatsApp account (meta) has a new picture.\n{graph.profile_url}"
        )
        sent = await owner.send("/profilepic meta")
        assert await answer_to(telegram, owner, sent) == (
            f"The picture of the WhatsApp account (meta):\n{graph.profile_url}"
        )

        # /addgroup refuses a WhatsApp app group for this kind, saying why
        sent = await owner.send("/addgroup team meta 120363043968066561@g.us Team")
        refused = await answer_to(telegram, owner, sent)
        assert refused.startswith("Sorry, ") and "the Cloud API manages only groups" in refused
    assert all(TOKEN not in r.path for r in graph.requests)


async def test_a_confirmation_sent_at_once_is_not_missed(world: World):
    """WhatsApp may confirm before the bot has read its answer to the change."""
    telegram, graph, owner = world.telegram, world.graph, world.owner
    graph.confirming = "at once"
    async with running_bot(world.config, telegram, ENV):
        sent = await owner.send_photo(photo_bytes(), caption="/setgrouppic shop")
        await shown(telegram, owner, sent, CONFIRMED)
    assert [status for status, _ in graph.deliveries] == [200]


async def test_a_list_ends_once_every_group_is_confirmed(world: World):
    telegram, graph, owner = world.telegram, world.graph, world.owner
    async with running_bot(world.config, telegram, ENV):
        sent = await owner.send_photo(photo_bytes(), caption="/setgrouppic shop,club")
        plan = await answer_to(telegram, owner, sent)
        assert plan == "I will change the picture of these 2 groups: shop, club."
        asked = telegram.bot_messages(owner)[-1]
        await owner.press(asked, asked.callback_data("Change them"))
        for group in (SHOP, CLUB):
            accepted = await wait_for_accepted(graph, group)
            assert await graph.confirm(accepted.request_id, ok=group == SHOP) == 200
        done = await telegram.wait_for_bot_message(
            owner,
            predicate=lambda m: m.message_id == asked.message_id and m.content.startswith("Done"),
        )
    lines = done.content.split("\n")
    assert lines[0] == "Done: 1 of 2 groups changed · 1 failed · 0 refused."
    assert lines[1:] == [  # what went wrong first (issue 22)
        "❌ club: failed: WhatsApp refused the picture: it must be square (131209)",
        "✅ shop: done",
    ]


async def wait_for_accepted(graph: FakeGraph, group: str):
    for _ in range(400):
        found = [a for a in graph.accepted if a.group_id == group]
        if found:
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"WhatsApp never got the change of {group}")


async def test_a_failed_then_a_duplicate_confirmation(world: World):
    telegram, graph, owner = world.telegram, world.graph, world.owner
    async with running_bot(world.config, telegram, ENV):
        sent = await owner.send_photo(photo_bytes(), caption="/setgrouppic shop")
        await shown(telegram, owner, sent, WAITING)
        assert await graph.confirm(ok=False, error=131209) == 200
        failed = (
            "Could not change the picture of Shop: WhatsApp refused the picture: it must be"
            " square (131209)."
        )
        answer = await shown(telegram, owner, sent, failed)
        # the same confirmation again, and a success for it afterwards: one outcome stays
        assert await graph.confirm(ok=False, error=131209) == 200
        assert await graph.confirm(ok=True) == 200
        sent = await owner.send("/history shop")
        history = await answer_to(telegram, owner, sent)
    assert answer.content == failed and len(answer.history) <= 2
    [row] = history.split("\n")[1:]  # one change, closed once
    assert row.endswith("set group picture shop: failed - " + failed.split(": ", 1)[1][:-1])


@pytest.mark.parametrize("world", [1.5], indirect=True)
async def test_a_confirmation_that_never_comes_and_one_that_comes_too_late(world: World):
    telegram, graph, owner = world.telegram, world.graph, world.owner
    async with running_bot(world.config, telegram, ENV):
        sent = await owner.send_photo(photo_bytes(), caption="/setgrouppic shop")
        await shown(telegram, owner, sent, WAITING)
        unconfirmed = (
            "WhatsApp accepted the new picture for Shop but did not confirm it in time: look at"
            " the group, and send it again if it still shows the old one."
        )
        answer = await shown(telegram, owner, sent, unconfirmed)
        assert await graph.confirm() == 200  # late: heard, and changes nothing
        sent = await owner.send("/help")
        await answer_to(telegram, owner, sent)
    assert answer.content == unconfirmed


async def test_a_confirmation_that_arrives_after_a_restart(world: World):
    telegram, graph, owner = world.telegram, world.graph, world.owner
    async with running_bot(world.config, telegram, ENV):
        sent = await owner.send_photo(photo_bytes(), caption="/setgrouppic shop")
        waiting = await shown(telegram, owner, sent, WAITING)
    # the bot is stopped; WhatsApp confirms later, once it is back
    async with running_bot(world.config, telegram, ENV):
        assert await graph.confirm() == 200
        done = await shown(telegram, owner, sent, f"Resumed after a restart. {CONFIRMED}")
        assert done.message_id == waiting.message_id
    assert len(graph.accepted) == 1  # never sent twice


async def test_forged_webhooks_are_refused_and_change_nothing(world: World):
    telegram, graph, owner = world.telegram, world.graph, world.owner
    async with running_bot(world.config, telegram, ENV) as bot:
        sent = await owner.send_photo(photo_bytes(), caption="/setgrouppic shop")
        await shown(telegram, owner, sent, WAITING)
        accepted = graph.accepted[0]
        body = graph.settings_update(accepted, ok=True)
        async with httpx.AsyncClient() as client:
            wrong_secret = world.hooks.replace(HOOK_SECRET, "another_secret_0123456")
            assert (await client.post(wrong_secret, content=body)).status_code == 403
            assert (await client.post(world.hooks + "x", content=body)).status_code == 403
            unknown = world.hooks.replace("/meta/", "/green/")
            assert (await client.post(unknown, content=body)).status_code == 404
            verify = {"hub.mode": "subscribe", "hub.challenge": "1158201444"}
            good = await client.get(world.hooks, params={**verify, "hub.verify_token": HOOK_SECRET})
            assert (good.status_code, good.text) == (200, "1158201444")
            bad = await client.get(world.hooks, params={**verify, "hub.verify_token": "nope"})
            assert bad.status_code == 403
        assert await graph.send_webhook(body, signed=False) == 403
        assert await graph.send_webhook(body, secret="not-the-app-secret") == 403
        assert await graph.send_webhook(b'{"object": "page"}') == 400
        assert await graph.send_webhook(b"not json") == 400
        # still waiting: none of those was WhatsApp's word
        assert telegram.bot_messages(owner)[-1].content == WAITING
        assert await graph.confirm() == 200
        await shown(telegram, owner, sent, CONFIRMED)
    assert "wrong secret in its URL" in bot.log
    assert "another_secret_0123456" not in bot.log


async def test_check_asks_the_phone_numbers_details(world: World):
    fine = await run_cli("check", config=world.config, env=ENV)
    world.graph.official = False
    refused = await run_cli("check", config=world.config, env=ENV)
    assert fine.returncode == 0, fine
    assert fine.stdout == (
        "meta (WhatsApp Cloud API): ok - the token works and +1 555-000-0000 may use"
        " WhatsApp's Groups API\n"
    )
    assert refused.returncode == 1
    assert "is not an Official Business Account" in refused.stdout
    assert TOKEN not in fine.stdout + refused.stdout + fine.stderr + refused.stderr
