"""End to end through WAHA: the picture commands, `check`, and WAHA's refusals reaching the
user as one sentence, the bot started as the README says."""

from __future__ import annotations

import base64
import io
from pathlib import Path

from PIL import Image

from tests.bot_process import (
    answer_to,
    bot_env,
    confirm_removal,
    run_cli,
    running_bot,
    write_config,
)
from tests.conftest import BOT_TOKEN, OWNER
from tests.fakes.serve import serve
from tests.fakes.telegram import FakeTelegram
from tests.fakes.waha import FakeWaha
from tests.pictures import photo_bytes

CLUB = "120363222222222222@g.us"
OWN = "6281234567890@c.us"
API_KEY = "waha-api-key-SECRET"
ENV = bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, WAHA_API_KEY=API_KEY)


def waha_config(tmp_path: Path, api: str, waha_url: str) -> Path:
    return write_config(
        tmp_path,
        {
            "telegram": {"token": "${TELEGRAM_BOT_TOKEN}", "api_base_url": api},
            "storage": {"path": str(tmp_path / "avatarops.sqlite3")},
            "owners": [OWNER],
            "providers": {
                "waha": {
                    "kind": "waha",
                    "base_url": waha_url + "/waha",
                    "api_key": "${WAHA_API_KEY}",
                    "session": "default",
                    "group_interval_seconds": 0,
                    "own_interval_seconds": 0,
                }
            },
            "groups": {"club": {"provider": "waha", "chat_id": CLUB, "title": "Club"}},
        },
    )


def decoded_upload(waha: FakeWaha, path: str) -> Image.Image:
    """The picture of the last PUT to `path`, decoded from its `file.data`."""
    put = [r for r in waha.requests if (r.method, r.path) == ("PUT", path)][-1]
    assert put.headers["x-api-key"] == API_KEY
    return Image.open(io.BytesIO(base64.b64decode(put.json["file"]["data"])))


async def test_every_picture_command_works_through_waha(tmp_path):
    telegram = FakeTelegram(token=BOT_TOKEN)
    waha = FakeWaha(api_key=API_KEY, own_id=OWN, groups={CLUB}, base_path="/waha")
    owner = telegram.user(OWNER, "Olga")
    async with serve(telegram.app) as api, serve(waha.app) as waha_url:
        config = waha_config(tmp_path, api, waha_url)
        checked = await run_cli("check", config=config, env=ENV)
        assert (checked.returncode, checked.stdout.strip()) == (
            0,
            f"waha (WAHA): ok - the WAHA session 'default' is WORKING, logged in as {OWN}",
        )

        async with running_bot(config, telegram, ENV) as bot:
            # /setgrouppic: a 640 px square JPEG inline, then the URL read past WAHA's cache
            sent = await owner.send_photo(photo_bytes(1500, 1000), caption="/setgrouppic club")
            answer = await answer_to(telegram, owner, sent)
            assert answer == f"Done: Club has a new picture.\n{waha.pictures[CLUB].url}"
            with decoded_upload(waha, f"/api/default/groups/{CLUB}/picture") as sent_picture:
                assert (sent_picture.format, sent_picture.size) == ("JPEG", (640, 640))

            # /grouppic
            sent = await owner.send("/grouppic club")
            assert await answer_to(telegram, owner, sent) == (
                f"The picture of Club:\n{waha.pictures[CLUB].url}"
            )

            # /setprofilepic and /profilepic
            sent = await owner.send_photo(photo_bytes(3000, 3000), caption="/setprofilepic waha")
            answer = await answer_to(telegram, owner, sent)
            assert answer == (
                f"Done: the WhatsApp account (waha) has a new picture.\n{waha.pictures[OWN].url}"
            )
            with decoded_upload(waha, "/api/default/profile/picture") as sent_picture:
                assert (sent_picture.format, sent_picture.size) == ("JPEG", (640, 640))
            sent = await owner.send("/profilepic")
            assert await answer_to(telegram, owner, sent) == (
                f"The picture of the WhatsApp account (waha):\n{waha.pictures[OWN].url}"
            )

            # /delgrouppic: WAHA's DELETE says success whatever happens; the fresh read decides
            waha.refusing.add(CLUB)
            answer = await confirm_removal(telegram, owner, "club")
            assert answer.startswith("Could not remove the picture of Club: WAHA answered that")
            assert "still has it" in answer
            assert CLUB in waha.pictures
            waha.refusing.clear()
            assert (
                await confirm_removal(telegram, owner, "club")
                == "Done: the picture of Club is removed."
            )
            assert CLUB not in waha.pictures
            sent = await owner.send("/grouppic club")
            assert (await answer_to(telegram, owner, sent)).startswith("Club has no picture")

            # the session waits for a QR scan: one sentence naming it, and the owners' alert
            waha.status = "SCAN_QR_CODE"
            sent = await owner.send_photo(photo_bytes(), caption="/setgrouppic club")
            failed = await telegram.wait_for_bot_message(
                owner,
                predicate=lambda m: (
                    m.message_id > sent["message_id"] and m.content.startswith("Could not")
                ),
            )
            assert failed.content == (
                "Could not change the picture of Club: the WAHA session 'default' waits for a QR"
                " code scan (SCAN_QR_CODE): someone must scan the QR code with WhatsApp on the"
                " account's phone."
            )
            await telegram.wait_for_bot_message(
                owner, contains="Alert: the provider waha fails to authenticate"
            )
            group_puts = [r for r in waha.requests if r.method == "PUT" and "groups" in r.path]
            assert len(group_puts) == 2  # the refused one was tried once: AUTH is not retried

        checked = await run_cli("check", config=config, env=ENV)
        assert checked.returncode == 1
        assert "waha (WAHA): FAILED - the WAHA session 'default' waits for a QR" in checked.stdout
    assert API_KEY not in bot.log
