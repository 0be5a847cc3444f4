"""End to end through GOWA: all five picture commands, the bot started as the README says."""

from __future__ import annotations

import base64
from pathlib import Path

from tests.bot_process import answer_to, bot_env, running_bot, write_config
from tests.conftest import BOT_TOKEN, OWNER
from tests.fakes.gowa import Failure, FakeGowa
from tests.fakes.serve import serve
from tests.fakes.telegram import FakeTelegram
from tests.pictures import photo_bytes

CLUB = "120363222222222222@g.us"
OWN_JID = "6281234567890@s.whatsapp.net"
PASSWORD = "gowa-password-SECRET"
ENV = bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, GOWA_PASSWORD=PASSWORD)


def gowa_config(tmp_path: Path, api: str, gowa_url: str) -> Path:
    return write_config(
        tmp_path,
        {
            "telegram": {"token": "${TELEGRAM_BOT_TOKEN}", "api_base_url": api},
            "storage": {"path": str(tmp_path / "avatarops.sqlite3")},
            "owners": [OWNER],
            "providers": {
                "gowa": {
                    "kind": "gowa",
                    "base_url": gowa_url + "/wa",
                    "username": "admin",
                    "password": "${GOWA_PASSWORD}",
                    "device_id": "my-phone",
                    "own_jid": OWN_JID,
                }
            },
            "groups": {"club": {"provider": "gowa", "chat_id": CLUB, "title": "Club"}},
        },
    )


async def test_all_five_commands_work_against_gowa(tmp_path):
    telegram = FakeTelegram(token=BOT_TOKEN)
    gowa = FakeGowa(
        username="admin",
        password=PASSWORD,
        devices=("my-phone", "tablet"),
        own_jid=OWN_JID,
        groups={CLUB},
        base_path="/wa",
    )
    owner = telegram.user(OWNER, "Olga")
    async with serve(telegram.app) as api, serve(gowa.app) as gowa_url:
        config = gowa_config(tmp_path, api, gowa_url)
        async with running_bot(config, telegram, ENV) as bot:
            # /setgrouppic: the upload, then the avatar read back for its URL
            sent = await owner.send_photo(photo_bytes(1500, 1000), caption="/setgrouppic club")
            answer = await answer_to(telegram, owner, sent)
            assert answer == f"Done: Club has a new picture.\n{gowa.avatars[CLUB]}"
            upload = next(r for r in gowa.requests if r.path == "/group/photo")
            assert upload.fields["group_id"].data == CLUB.encode() and "photo" in upload.fields
            assert upload.device_id == "my-phone"
            assert upload.basic_auth == ("admin", PASSWORD)

            # /grouppic
            sent = await owner.send("/grouppic club")
            assert await answer_to(telegram, owner, sent) == (
                f"The picture of Club:\n{gowa.avatars[CLUB]}"
            )

            # /setprofilepic: a 640 px square JPEG in the `avatar` field
            sent = await owner.send_photo(photo_bytes(3000, 3000), caption="/setprofilepic gowa")
            answer = await answer_to(telegram, owner, sent)
            assert answer == (
                f"Done: the WhatsApp account (gowa) has a new picture.\n{gowa.avatars[OWN_JID]}"
            )

            # /profilepic
            sent = await owner.send("/profilepic")
            assert (await answer_to(telegram, owner, sent)).startswith(
                "The picture of the WhatsApp account (gowa):\nhttps://pps.whatsapp.net/"
            )

            # /delgrouppic: confirm, then the photo-less multipart call
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
            assert CLUB not in gowa.avatars
            removal = [r for r in gowa.requests if r.path == "/group/photo"][-1]
            assert "photo" not in removal.fields

            # the group now has no picture: /grouppic says so instead of failing
            sent = await owner.send("/grouppic club")
            assert (await answer_to(telegram, owner, sent)).startswith("Club has no picture")

            # a WhatsApp refusal surfaces in plain words
            gowa.fail_next(
                "/group/photo", Failure.ERROR, "info query returned status 403: forbidden"
            )
            sent = await owner.send_photo(photo_bytes(), caption="/setgrouppic club")
            answer = await answer_to(telegram, owner, sent)
            assert answer.startswith("Could not change the picture of Club:")
            assert "does not allow this account to edit group" in answer
    basic_credentials = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
    assert basic_credentials not in bot.log
