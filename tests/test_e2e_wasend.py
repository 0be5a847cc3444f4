"""End to end through Wasend: the bot publishes the picture on its own server, Wasend downloads it.

Runs in polling mode and in webhook mode, with the bot started as the README says.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.bot_process import (
    SECRET_MARKER,
    answer_to,
    bot_env,
    free_port,
    running_bot,
    write_config,
)
from tests.conftest import BOT_TOKEN, OWNER, STRANGER
from tests.fakes.serve import serve
from tests.fakes.telegram import FakeTelegram
from tests.fakes.wasend import FakeWasend
from tests.pictures import photo_bytes

TEAM = "120363111111111111@g.us"
WASEND_KEY = "wasend-key-SECRET"
WEBHOOK_SECRET = "webhook-secret-SECRET"
ENV = bot_env(
    TELEGRAM_BOT_TOKEN=BOT_TOKEN, WASEND_API_KEY=WASEND_KEY, WEBHOOK_SECRET=WEBHOOK_SECRET
)


@dataclass
class World:
    telegram: FakeTelegram
    wasend: FakeWasend
    config: Path
    public_url: str
    mode: str

    async def deliver(self) -> None:
        """In webhook mode Telegram posts the updates; in polling mode the bot fetches them."""
        if self.mode == "webhook":
            assert set(await self.telegram.deliver_to_webhook()) <= {200}


@pytest.fixture(params=["polling", "webhook"])
async def world(request, tmp_path) -> AsyncIterator[World]:
    telegram = FakeTelegram(token=BOT_TOKEN)
    wasend = FakeWasend(api_key=WASEND_KEY, session_id="my-session", groups={TEAM})
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    async with serve(telegram.app) as api, serve(wasend.app) as wasend_url:
        config = write_config(
            tmp_path,
            {
                "telegram": {
                    "token": "${TELEGRAM_BOT_TOKEN}",
                    "api_base_url": api,
                    "mode": request.param,
                },
                "storage": {"path": str(tmp_path / "avatarops.sqlite3")},
                "owners": [OWNER],
                "providers": {
                    "wa": {
                        "kind": "wasend",
                        "base_url": wasend_url,
                        "api_key": "${WASEND_API_KEY}",
                        "session_id": "my-session",
                    }
                },
                "groups": {"team": {"provider": "wa", "chat_id": TEAM, "title": "Team"}},
                "server": {
                    "listen": f"127.0.0.1:{port}",
                    "public_url": public_url,
                    "webhook_secret": "${WEBHOOK_SECRET}",
                },
            },
        )
        yield World(telegram, wasend, config, public_url, request.param)


async def test_set_and_clear_a_wasend_group_picture_from_telegram(world: World):
    telegram, wasend = world.telegram, world.wasend
    owner = telegram.user(OWNER, "Olga")
    async with running_bot(world.config, telegram, ENV):
        sent = await owner.send_photo(photo_bytes(1600, 1200), caption="/setgrouppic team")
        await world.deliver()
        assert (await answer_to(telegram, owner, sent)).startswith("Done: Team has a new picture.")

        # Wasend was handed a link to the bot's own server and downloaded the prepared JPEG
        [request] = [r for r in wasend.requests if r.method == "PUT"]
        assert request.raw_path == "/my-session/groups/120363111111111111%40g.us/picture"
        [url] = wasend.given_urls
        assert url.startswith(f"{world.public_url}/media/")
        [fetched] = wasend.fetched
        picture = Image.open(io.BytesIO(fetched))
        assert picture.format == "JPEG" and picture.width == picture.height == 640
        assert wasend.pictures[TEAM].jpeg == fetched

        async with httpx.AsyncClient() as client:
            health = await client.get(f"{world.public_url}/healthz")
            forged = await client.get(url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB"))
        assert health.status_code == 200 and health.json()["ok"] is True
        assert forged.status_code == 404

        # removal asks first, and only then calls Wasend
        sent = await owner.send("/delgrouppic team")
        await world.deliver()
        question = await telegram.wait_for_bot_message(
            owner, predicate=lambda m: m.message_id > sent["message_id"]
        )
        assert question.content == "Remove the picture of Team? /undogrouppic puts it back."
        assert not [r for r in wasend.requests if r.method == "DELETE"]
        await owner.press(question, question.callback_data("Remove it"))
        await world.deliver()
        done = await telegram.wait_for_bot_message(
            owner,
            predicate=lambda m: (
                m.message_id == question.message_id and m.content.startswith("Done")
            ),
        )
        assert done.content == "Done: the picture of Team is removed."
        assert TEAM not in wasend.pictures

    # no URL Wasend ever received carries a secret (running_bot checked the log and Telegram)
    assert wasend.given_urls and all(SECRET_MARKER not in url for url in wasend.given_urls)
    assert all(SECRET_MARKER not in r.raw_path + r.query for r in wasend.requests)


async def test_webhook_refuses_updates_without_the_secret(tmp_path):
    telegram = FakeTelegram(token=BOT_TOKEN)
    wasend = FakeWasend(api_key=WASEND_KEY, groups={TEAM})
    port = free_port()
    async with serve(telegram.app) as api, serve(wasend.app) as wasend_url:
        config = write_config(
            tmp_path,
            {
                "telegram": {
                    "token": "${TELEGRAM_BOT_TOKEN}",
                    "api_base_url": api,
                    "mode": "webhook",
                },
                "storage": {"path": str(tmp_path / "db.sqlite3")},
                "owners": [OWNER],
                "providers": {
                    "wa": {
                        "kind": "wasend",
                        "base_url": wasend_url,
                        "api_key": "${WASEND_API_KEY}",
                        "session_id": "my-session",
                    }
                },
                "groups": {"team": {"provider": "wa", "chat_id": TEAM}},
                "server": {
                    "listen": f"127.0.0.1:{port}",
                    "public_url": f"http://127.0.0.1:{port}",
                    "webhook_secret": "${WEBHOOK_SECRET}",
                },
            },
        )
        stranger = telegram.user(STRANGER, "Mallory")
        async with running_bot(config, telegram, ENV) as bot:
            [registered] = telegram.calls("setWebhook")
            assert registered.params["secret_token"] == WEBHOOK_SECRET
            assert BOT_TOKEN not in registered.params["url"]
            await stranger.send("/help")
            assert await telegram.deliver_to_webhook(secret="wrong") == [403]
            await stranger.send("/help")
            assert await telegram.deliver_to_webhook(secret="") == [403]
            assert telegram.bot_messages(stranger) == []  # nothing was processed
            sent = await stranger.send("/help")
            assert await telegram.deliver_to_webhook() == [200]
            assert "your Telegram id is" in await answer_to(telegram, stranger, sent)
            # JSON objects that are no update, with the right secret: 400 and one line each
            async with httpx.AsyncClient() as client:
                for body in ({"hello": 1}, {"update_id": 9, "message": "x"}):
                    response = await client.post(
                        telegram.webhook_url,
                        json=body,
                        headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
                    )
                    assert response.status_code == 400
        assert "Traceback" not in bot.log
        refused = [line for line in bot.log.splitlines() if "not a Telegram update" in line]
        assert len(refused) == 2 and all(" WARNING bot.server: " in line for line in refused)
