"""End to end through Evolution API, v1 and v2: the bot started as the README says, every
command Evolution allows, the refusal for what it cannot do, and `python -m bot check`."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.bot_process import answer_to, bot_env, run_cli, running_bot, write_config
from tests.conftest import BOT_TOKEN, OWNER
from tests.fakes.evolution import Failure, FakeEvolution
from tests.fakes.serve import serve
from tests.fakes.telegram import BotMessage, FakeTelegram
from tests.pictures import photo_bytes

CLUB = "120363222222222222@g.us"
OWN_JID = "5511999990000@s.whatsapp.net"
INSTANCE = "my-instance"
API_KEY = "evolution-key-SECRET"
ENV = bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, EVOLUTION_API_KEY=API_KEY)


def evolution_config(tmp_path: Path, api: str, evolution_url: str) -> Path:
    return write_config(
        tmp_path,
        {
            "telegram": {"token": "${TELEGRAM_BOT_TOKEN}", "api_base_url": api},
            "storage": {"path": str(tmp_path / "avatarops.sqlite3")},
            "owners": [OWNER],
            "providers": {
                "evo": {
                    "kind": "evolution",
                    "base_url": evolution_url,
                    "api_key": "${EVOLUTION_API_KEY}",
                    "instance": INSTANCE,
                    "api_version": "auto",
                    "group_interval_seconds": 0,
                    "own_interval_seconds": 0,
                }
            },
            "reliability": {"max_attempts": 2, "base_delay_seconds": 0.01},
            "groups": {"club": {"provider": "evo", "chat_id": CLUB, "title": "Club"}},
        },
    )


def replying_to(message: dict[str, Any], *starts: str) -> Callable[[BotMessage], bool]:
    """The bot's reply to `message` (its placeholder, edited until final), once it starts so."""

    def match(candidate: BotMessage) -> bool:
        return candidate.reply_to_message_id == message["message_id"] and (
            not starts or candidate.content.startswith(starts)
        )

    return match


async def final_answer(telegram: FakeTelegram, chat: Any, message: dict[str, Any]) -> str:
    """The bot's final answer to one of several messages in flight at once."""
    final = replying_to(message, "Done", "Could not")
    return (await telegram.wait_for_bot_message(chat, predicate=final, timeout=20)).content


@pytest.mark.parametrize("version", [1, 2])
async def test_every_command_evolution_allows(tmp_path: Path, version: int) -> None:
    telegram = FakeTelegram(token=BOT_TOKEN)
    evolution = FakeEvolution(
        version=version, api_key=API_KEY, own_jid=OWN_JID, groups={CLUB}, reconnect_seconds=0.6
    )
    owner = telegram.user(OWNER, "Olga")
    change = "PUT" if version == 1 else "POST"
    async with serve(telegram.app) as api, serve(evolution.app) as evolution_url:
        config = evolution_config(tmp_path, api, evolution_url)
        async with running_bot(config, telegram, ENV) as bot:
            # /setgrouppic: raw base64 of a 640 px square JPEG, the method of the server's version
            sent = await owner.send_photo(photo_bytes(1500, 1000), caption="/setgrouppic club")
            answer = await answer_to(telegram, owner, sent)
            assert answer == f"Done: Club has a new picture.\n{evolution.pictures[CLUB]}"
            upload = next(r for r in evolution.requests if "updateGroupPicture" in r.path)
            assert (upload.method, upload.param("groupJid")) == (change, CLUB)
            with Image.open(io.BytesIO(base64.b64decode(upload.json["image"]))) as picture:
                assert (picture.format, picture.size) == ("JPEG", (640, 640))

            # /grouppic
            sent = await owner.send("/grouppic club")
            assert await answer_to(telegram, owner, sent) == (
                f"The picture of Club:\n{evolution.pictures[CLUB]}"
            )

            # /setprofilepic, and a group change right behind it: the instance reconnects, so
            # the account's queue waits for `open` before the group change goes out
            own = await owner.send_photo(photo_bytes(3000, 3000), caption="/setprofilepic evo")
            await telegram.wait_for_bot_message(owner, predicate=replying_to(own))  # queued
            group = await owner.send_photo(photo_bytes(900, 900), caption="/setgrouppic club")
            own_answer = await final_answer(telegram, owner, own)
            assert own_answer == (
                "Done: the WhatsApp account (evo) has a new picture."
                f"\n{evolution.pictures[OWN_JID]}"
            )
            assert await final_answer(telegram, owner, group) == (
                f"Done: Club has a new picture.\n{evolution.pictures[CLUB]}"
            )
            polled = [r.state for r in evolution.requests if "connectionState" in r.path]
            assert polled[0] == "connecting" and polled[-1] == "open"
            assert all(r.state == "open" for r in evolution.requests if "/update" in r.path)

            # /profilepic
            sent = await owner.send("/profilepic")
            assert await answer_to(telegram, owner, sent) == (
                f"The picture of the WhatsApp account (evo):\n{evolution.pictures[OWN_JID]}"
            )

            # /delgrouppic: Evolution has no such route, so nothing is called
            calls_before = len(evolution.requests)
            sent = await owner.send("/delgrouppic club")
            assert await answer_to(telegram, owner, sent) == (
                "Sorry, Evolution API cannot remove a group picture, so nothing was changed."
            )
            assert len(evolution.requests) == calls_before

            # a WhatsApp refusal, passed on by Evolution as a 500, in plain words
            evolution.fail_next("updateGroupPicture", Failure.ERROR, "Error: not-authorized")
            sent = await owner.send_photo(photo_bytes(), caption="/setgrouppic club")
            assert await answer_to(telegram, owner, sent) == (
                f"Could not change the picture of Club: WhatsApp does not allow this account to"
                f" edit group {CLUB}: it is not an admin of the group, and only admins may edit its"
                " info."
            )
    assert [r.path for r in evolution.requests].count("/") == 1  # the version, asked once
    for request in evolution.requests:
        assert API_KEY not in request.raw_path + repr(request.query)
        assert BOT_TOKEN not in request.raw_path and BOT_TOKEN.encode() not in request.body
    assert "getUpdates" in bot.log


async def test_check_asks_for_the_connection_state(tmp_path: Path) -> None:
    telegram = FakeTelegram(token=BOT_TOKEN)
    evolution = FakeEvolution(api_key=API_KEY, groups={CLUB})
    async with serve(telegram.app) as api, serve(evolution.app) as evolution_url:
        config = evolution_config(tmp_path, api, evolution_url)
        done = await run_cli("check", config=config, env=ENV)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == (
            f"evo (Evolution API): ok - instance '{INSTANCE}' is connected to WhatsApp"
        )

        evolution.state = "close"
        done = await run_cli("check", config=config, env=ENV)
        assert done.returncode == 1
        assert done.stdout.strip() == (
            f"evo (Evolution API): FAILED - instance '{INSTANCE}' is not connected to WhatsApp"
            " (state: close): connect it again in Evolution's manager (scan its QR code)"
        )
    assert [r.path for r in evolution.requests] == [f"/instance/connectionState/{INSTANCE}"] * 2
    assert telegram.calls() == []
    assert API_KEY not in done.stdout + done.stderr
