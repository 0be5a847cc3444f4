"""Events of pictures changed outside the bot, through `/hooks/<provider>/<secret>`: WAHA's
`group.v2.update` and Evolution API's `contacts.update` make the bot read the group at once
(bot/watch.py); wrong secrets, unknown bodies and unmanaged groups change nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from adapters import PictureEvent, UnreadableWebhook, create_provider
from adapters.whapi import WhapiSettings
from bot.hooks import hook_routes
from bot.images import prepare_picture
from tests.conftest import ADMIN, OWNER, Bot, Cdn, raw_config, shut_down, start_bot, until
from tests.fakes.evolution import FakeEvolution
from tests.fakes.serve import serve
from tests.fakes.waha import FakeWaha, Picture
from tests.pictures import photo_bytes

CLUB = "120363111111111111@g.us"  # on WAHA
SHOP = "120363222222222222@g.us"  # on Evolution
STRANGERS = "120363333333333333@g.us"  # a group the bot does not manage
WAHA_HOOK = "waha_hook_SECRET_0123456789"
EVO_HOOK = "evo_hook_SECRET_0123456789"
FIRST = photo_bytes(900, 900)


@dataclass
class World:
    bot: Bot
    waha: FakeWaha
    evolution: FakeEvolution
    cdn: Cdn
    hooks: str  # the bot's /hooks base URL

    async def post(self, provider: str, secret: str, body: Any) -> int:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        async with httpx.AsyncClient() as client:
            answer = await client.post(f"{self.hooks}/{provider}/{secret}", content=data)
        return answer.status_code


@pytest.fixture
async def world(tmp_path, green, cdn: Cdn) -> AsyncIterator[World]:
    fake_green, green_url = green
    waha = FakeWaha(api_key="waha-key", groups={CLUB})
    evolution = FakeEvolution(api_key="evo-key", groups={SHOP})
    waha.pictures[CLUB] = Picture(cdn.put("club", FIRST), b"")
    evolution.pictures[SHOP] = cdn.put("shop", FIRST)
    async with serve(waha.app) as waha_url, serve(evolution.app) as evo_url:
        raw = raw_config(tmp_path, green_url, watch={"interval_seconds": 3600})
        pace = {"group_interval_seconds": 0, "own_interval_seconds": 0}
        raw["providers"]["waha"] = {
            "kind": "waha",
            "base_url": waha_url,
            "api_key": "waha-key",
            "webhook_secret": WAHA_HOOK,
            **pace,
        }
        raw["providers"]["evo"] = {
            "kind": "evolution",
            "base_url": evo_url,
            "api_key": "evo-key",
            "instance": "my-instance",
            "api_version": "2",
            "webhook_secret": EVO_HOOK,
            **pace,
        }
        raw["groups"] = {
            "club": {"provider": "waha", "chat_id": CLUB, "title": "Club"},
            "shop": {"provider": "evo", "chat_id": SHOP, "title": "Shop"},
        }
        raw["server"] = {"public_url": "https://bot.example.com"}
        raw["links"] = {}
        bot, application = await start_bot(raw, fake_green, grants=False)
        for person, name in ((OWNER, "Olga"), (ADMIN, "Ada")):
            bot.user(person, name)
        watcher = bot.services.watcher
        assert watcher is not None
        await until(lambda: watcher.looks >= 2, "the baselines")
        routes = hook_routes(bot.services.providers, bot.services.confirm)
        try:
            async with serve(Starlette(routes=routes)) as hooks:
                yield World(bot, waha, evolution, cdn, f"{hooks}/hooks")
        finally:
            await shut_down(application)


async def heard(world: World, count: int) -> list[Any]:
    """The owner's photos once there are `count` (the reads an event starts run behind it)."""
    bot = world.bot
    watcher = bot.services.watcher
    assert watcher is not None
    await until(lambda: not watcher._restores, "the looks the events started")
    await bot.services.notices_sent()
    photos = [m for m in bot.telegram.bot_messages(OWNER) if m.photo is not None]
    assert len(photos) == count, photos
    return photos


def waha_event(chat_id: str, session: str = "default") -> dict[str, Any]:
    return {
        "id": "evt_01",
        "timestamp": 1765000000000,
        "event": "group.v2.update",
        "session": session,
        "engine": "WEBJS",
        "payload": {
            "group": {"id": chat_id, "subject": "Club"},
            "_data": {"type": "picture", "author": "5511@c.us"},
        },
    }


def evolution_event(chat_id: str, url: str | None) -> dict[str, Any]:
    return {
        "event": "contacts.update",
        "instance": "my-instance",
        "data": [{"remoteJid": chat_id, "profilePicUrl": url, "instanceId": "i-1"}],
        "destination": "https://bot.example.com/hooks/evo/x",
        "date_time": "2026-12-07T10:00:00.000Z",
        "sender": "5511999990000@s.whatsapp.net",
        "server_url": "https://evo.example.com",
        "apikey": "evo-key",
    }


async def test_a_waha_event_makes_the_bot_read_the_group_and_tell(world: World):
    outside = photo_bytes(700, 500)
    world.waha.pictures[CLUB] = Picture(world.cdn.put("club2", outside), b"")
    assert await world.post("waha", WAHA_HOOK, waha_event(CLUB)) == 200
    [notice] = await heard(world, 1)
    assert notice.photo == prepare_picture(outside).jpeg
    assert notice.caption.startswith("The picture of Club was changed outside the bot")

    # the poll that sees the same change later reports nothing more
    world.bot.clock.advance(seconds=3600)
    watcher = world.bot.services.watcher
    assert watcher is not None
    looks = watcher.looks
    await until(lambda: watcher.looks >= looks + 4, "the next turn (groups and accounts)")
    await heard(world, 1)


async def test_an_evolution_event_makes_the_bot_read_the_group_and_tell(world: World):
    outside = photo_bytes(700, 500)
    url = world.cdn.put("shop2", outside)
    world.evolution.pictures[SHOP] = url
    assert await world.post("evo", EVO_HOOK, evolution_event(SHOP, url)) == 200
    [notice] = await heard(world, 1)
    assert notice.photo == prepare_picture(outside).jpeg
    assert notice.caption.startswith("The picture of Shop was changed outside the bot")


async def test_wrong_secrets_unknown_bodies_and_strangers_change_nothing(world: World, caplog):
    world.waha.pictures[CLUB] = Picture(world.cdn.put("club2", photo_bytes(700, 500)), b"")
    reads = len(world.waha.requests)
    assert await world.post("waha", "wrong_SECRET_0123456789", waha_event(CLUB)) == 403
    assert await world.post("waha", EVO_HOOK, waha_event(CLUB)) == 403
    assert await world.post("waha", WAHA_HOOK, b"not json") == 400
    assert await world.post("waha", WAHA_HOOK, {"hello": "world"}) == 400
    assert await world.post("evo", EVO_HOOK, {"event": "contacts.update"}) == 400
    assert await world.post("green", WAHA_HOOK, waha_event(CLUB)) == 404
    # understood, and about nothing the bot manages there
    assert await world.post("waha", WAHA_HOOK, waha_event(STRANGERS)) == 200
    assert await world.post("waha", WAHA_HOOK, waha_event(CLUB, session="other")) == 200
    assert await world.post("evo", EVO_HOOK, evolution_event(CLUB, None)) == 200
    assert await world.post("waha", WAHA_HOOK, {"event": "message", "session": "default"}) == 200
    await heard(world, 0)
    assert len(world.waha.requests) == reads, "no read for any of these"
    assert "refused a webhook for waha: wrong secret" in caplog.text
    assert WAHA_HOOK not in caplog.text and "wrong_SECRET" not in caplog.text


def test_whapi_group_updates_name_the_groups_to_read():
    provider = create_provider(
        "whapi",
        WhapiSettings.model_validate(
            {"kind": "whapi", "token": "t0ken", "webhook_secret": "whapi_hook_SECRET_01234"}
        ),
    )
    body = {
        "groups_updates": [
            {
                "before_update": {"id": CLUB, "chat_pic": "https://a"},
                "after_update": {"id": CLUB, "chat_pic": "https://b"},
                "changes": ["chat_pic"],
            }
        ],
        "event": {"type": "groups", "event": "patch"},
        "channel_id": "MANTIS-M72HC",
    }
    assert provider.read_webhook(json.dumps(body).encode()) == [PictureEvent(CLUB)]
    message = {"messages": [], "event": {"type": "messages", "event": "post"}}
    assert provider.read_webhook(json.dumps(message).encode()) == []
    for garbage in (b"[]", b"{}", b'{"event": "groups"}'):
        with pytest.raises(UnreadableWebhook):
            provider.read_webhook(garbage)
    assert provider.webhook_secret() == "whapi_hook_SECRET_01234"
