"""A crash between seeing a change made outside the bot and putting the picture back (guard
`restore`): SIGKILL while Green API holds the upload that puts it back, then a restart. The
picture goes back once after the restart, and the change seen is kept and told once."""

from __future__ import annotations

from bot.images import prepare_picture
from tests.bot_process import running_bot, secrets_from_environment, spawn_bot, write_config
from tests.conftest import BOT_TOKEN, FAMILY, GREEN_ID, GREEN_TOKEN, OWNER, Cdn, raw_config
from tests.fakes.greenapi import FakeGreenApi, Fault
from tests.fakes.serve import serve
from tests.fakes.telegram import FakeTelegram
from tests.pictures import photo_bytes
from tests.test_e2e_crash import ENV, kill, rows
from tests.test_reliability import until

FIRST = photo_bytes(900, 900)
#: the smallest interval the config takes: the reads come every 5 s of real time
INTERVAL = 5


async def test_a_restore_cut_off_by_a_crash_puts_the_picture_back_once_after_it(tmp_path, cdn: Cdn):
    telegram = FakeTelegram(token=BOT_TOKEN)
    green = FakeGreenApi(id_instance=GREEN_ID, token=GREEN_TOKEN, groups={FAMILY})
    green.set_avatar(FAMILY, cdn.put("first", FIRST))
    olga = telegram.user(OWNER, "Olga")
    async with serve(telegram.app) as api, serve(green.app) as green_url:
        raw = raw_config(tmp_path, green_url, watch={"interval_seconds": INTERVAL})
        raw = secrets_from_environment(raw, api)
        raw["groups"].pop("work")
        raw["groups"]["family"]["guard"] = "restore"
        raw["providers"]["green"]["timeout_seconds"] = 60
        database = raw["storage"]["path"]
        config = write_config(tmp_path, raw)
        green.fail_next("setGroupPicture", Fault.slow(60))  # the put-back is held: kill then

        first = await spawn_bot(config, telegram, ENV)
        await until(lambda: rows(database, "SELECT hash FROM watched WHERE group_id IS NOT NULL"))
        green.set_avatar(FAMILY, cdn.put("outside", photo_bytes(700, 500)))
        await until(lambda: green.set_calls(), timeout=30)
        await kill(first)
        # the change seen and its putting back were written down together, before the call
        kept = "SELECT how, done FROM pictures ORDER BY id"
        assert rows(database, kept) == [("outside", 1), ("undo", 0)]
        assert rows(database, "SELECT status, actor_id FROM operations") == [("running", 0)]

        async with running_bot(config, telegram, ENV):
            await until(lambda: len(green.set_calls()) == 2, timeout=30)
            await until(lambda: rows(database, "SELECT status FROM operations") == [("done",)])
            back = green.set_calls()[-1].file or b""
            green.set_avatar(FAMILY, cdn.put("back", back))  # as WhatsApp serves it from now on
            reads = len(green.calls("getAvatar"))
            await until(lambda: len(green.calls("getAvatar")) >= reads + 2, timeout=30)

    # the held upload and the resumed one, both the exact earlier picture; nothing more
    assert [call.file for call in green.set_calls()] == [prepare_picture(FIRST).jpeg] * 2
    assert rows(database, kept) == [("outside", 1), ("undo", 1)], "no change seen after it"
    assert rows(database, "SELECT user_id, outcome FROM audit") == [(0, "done")]
    assert not [m for m in telegram.bot_messages(olga) if m.photo is not None]
