"""End to end through Whapi.Cloud: all five picture commands and `check`, the bot started as the
README says."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image

from tests.bot_process import answer_to, bot_env, run_cli, running_bot, write_config
from tests.conftest import BOT_TOKEN, OWNER
from tests.fakes.serve import serve
from tests.fakes.telegram import FakeTelegram
from tests.fakes.whapi import FakeWhapi
from tests.pictures import photo_bytes

CLUB = "120363222222222222@g.us"
LOCKED = "120363333333333333@g.us"  # only admins may edit its info; the account is no admin
TOKEN = "whapi-token-SECRET"
ENV = bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, WHAPI_TOKEN=TOKEN)


def whapi_config(tmp_path: Path, api: str, whapi_url: str) -> Path:
    return write_config(
        tmp_path,
        {
            "telegram": {"token": "${TELEGRAM_BOT_TOKEN}", "api_base_url": api},
            "storage": {"path": str(tmp_path / "avatarops.sqlite3")},
            "owners": [OWNER],
            "providers": {
                "whapi": {"kind": "whapi", "base_url": whapi_url, "token": "${WHAPI_TOKEN}"}
            },
            "groups": {
                "club": {"provider": "whapi", "chat_id": CLUB, "title": "Club"},
                "locked": {"provider": "whapi", "chat_id": LOCKED, "title": "Locked"},
            },
        },
    )


def sent_jpeg(data_uri: str) -> Image.Image:
    header, _, encoded = data_uri.partition(",")
    assert header == "data:image/jpeg;name=avatar.jpg;base64"
    return Image.open(io.BytesIO(base64.b64decode(encoded)))


async def test_all_five_commands_work_against_whapi(tmp_path):
    telegram = FakeTelegram(token=BOT_TOKEN)
    whapi = FakeWhapi(token=TOKEN, groups={CLUB, LOCKED}, not_admin_of={LOCKED})
    owner = telegram.user(OWNER, "Olga")
    async with serve(telegram.app) as api, serve(whapi.app) as whapi_url:
        config = whapi_config(tmp_path, api, whapi_url)
        async with running_bot(config, telegram, ENV):
            # /setgrouppic: the JPEG inline as a data URI, then the group read for chat_pic_full
            sent = await owner.send_photo(photo_bytes(1500, 1000), caption="/setgrouppic club")
            answer = await answer_to(telegram, owner, sent)
            assert answer == f"Done: Club has a new picture.\n{whapi.icons[CLUB]}"
            upload = next(r for r in whapi.requests if r.method == "PUT")
            assert upload.raw_path == "/groups/120363222222222222%40g.us/icon"
            assert upload.headers["authorization"] == f"Bearer {TOKEN}"
            assert upload.json["mime_type"] == "image/jpeg"
            with sent_jpeg(upload.json["media"]) as picture:
                assert (picture.format, picture.size) == ("JPEG", (640, 640))

            # /grouppic
            sent = await owner.send("/grouppic club")
            assert await answer_to(telegram, owner, sent) == (
                f"The picture of Club:\n{whapi.icons[CLUB]}"
            )

            # /setprofilepic: a 640 px square JPEG as the profile's `icon`
            sent = await owner.send_photo(photo_bytes(3000, 3000), caption="/setprofilepic whapi")
            answer = await answer_to(telegram, owner, sent)
            own = whapi.icons[FakeWhapi.OWN]
            assert answer == f"Done: the WhatsApp account (whapi) has a new picture.\n{own}"
            profile = next(r for r in whapi.requests if r.method == "PATCH")
            with sent_jpeg(profile.json["icon"]) as picture:
                assert (picture.format, picture.size) == ("JPEG", (640, 640))

            # /profilepic
            sent = await owner.send("/profilepic")
            assert await answer_to(telegram, owner, sent) == (
                f"The picture of the WhatsApp account (whapi):\n{own}"
            )

            # /delgrouppic: confirm, then DELETE the icon
            sent = await owner.send("/delgrouppic club")
            question = await telegram.wait_for_bot_message(
                owner, predicate=lambda m: m.message_id > sent["message_id"]
            )
            await owner.press(question, question.callback_data("Remove it"))
            done = await telegram.wait_for_bot_message(
                owner,
                predicate=lambda m: (
                    m.message_id == question.message_id and m.content.startswith("Done")
                ),
            )
            assert done.content == "Done: the picture of Club is removed."
            assert CLUB not in whapi.icons
            assert [r.method for r in whapi.requests].count("DELETE") == 1

            # the group now has no picture: /grouppic says so instead of failing
            sent = await owner.send("/grouppic club")
            assert (await answer_to(telegram, owner, sent)).startswith("Club has no picture")

            # Whapi's 403 for a group whose info only admins may edit, in plain words
            sent = await owner.send_photo(photo_bytes(), caption="/setgrouppic locked")
            answer = await answer_to(telegram, owner, sent)
            assert answer == (
                "Could not change the picture of Locked: WhatsApp does not allow this account"
                f" to edit group {LOCKED}: when only admins may edit the group's info, the"
                " account must be one of its admins."
            )
            assert LOCKED not in whapi.icons
    assert all(TOKEN not in r.url for r in whapi.requests)


async def test_check_asks_health_and_names_the_channel_status(tmp_path):
    whapi = FakeWhapi(token=TOKEN)
    async with serve(whapi.app) as whapi_url:
        config = whapi_config(tmp_path, "http://127.0.0.1:9", whapi_url)

        fine = await run_cli("check", config=config, env=ENV)
        whapi.status = "QR"
        waiting = await run_cli("check", config=config, env=ENV)

    assert fine.returncode == 0, fine
    assert fine.stdout == (
        "whapi (Whapi.Cloud): ok - Whapi.Cloud answers and WhatsApp is logged in\n"
    )
    assert waiting.returncode == 1, waiting
    assert waiting.stdout == (
        "whapi (Whapi.Cloud): FAILED - the WhatsApp channel on Whapi.Cloud is not logged in:"
        " scan its QR code in the Whapi.Cloud dashboard (channel status QR)\n"
    )
    assert [r.url for r in whapi.requests] == ["/health?wakeup=false"] * 2
    assert TOKEN not in fine.stdout + fine.stderr + waiting.stdout + waiting.stderr
