"""End to end with Telegram chats as targets (`kind: telegram`): the bot started as the README
says, changing the photo of a Telegram group it administers through the fake Bot API, beside a
WhatsApp group on Green API."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from tests.bot_process import (
    answer_to,
    bot_env,
    confirm_removal,
    run_cli,
    running_bot,
    secrets_from_environment,
    write_config,
)
from tests.conftest import BOT_TOKEN, FAMILY, GREEN_ID, GREEN_TOKEN, OWNER, raw_config
from tests.fakes.greenapi import FakeGreenApi
from tests.fakes.serve import serve
from tests.fakes.telegram import FakeChat, FakeTelegram
from tests.pictures import encode, photo_bytes

FAMILY_TG = -1009876543210  # the bot is an administrator with the right to change info
CLUB_TG = -1005555555555  # the bot is a plain member
SHOP_TG = -1006666666666  # the bot is an administrator without the right to change info
ENV = bot_env(TELEGRAM_BOT_TOKEN=BOT_TOKEN, GREEN_API_TOKEN=GREEN_TOKEN)
NOT_ADMIN = (
    f"the bot is not an administrator of Telegram chat {CLUB_TG} with the right to change its"
    " info: make it an administrator with the right to change the group's info"
)


@dataclass
class World:
    telegram: FakeTelegram
    green: FakeGreenApi
    config: Path
    family: FakeChat


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    telegram = FakeTelegram(token=BOT_TOKEN)
    family = telegram.group_chat(FAMILY_TG, "Family (Telegram)")
    telegram.chat_photos.admit_bot(family)
    telegram.group_chat(CLUB_TG, "Club")
    telegram.chat_photos.admit_bot(telegram.group_chat(SHOP_TG, "Shop"), can_change_info=False)
    green = FakeGreenApi(id_instance=GREEN_ID, token=GREEN_TOKEN, groups={FAMILY})
    async with serve(telegram.app) as api, serve(green.app) as green_url:
        raw = secrets_from_environment(raw_config(tmp_path, green_url), api)
        raw["providers"]["tg"] = {"kind": "telegram", "group_interval_seconds": 0}
        raw["groups"] |= {
            "family-tg": {"provider": "tg", "chat_id": str(FAMILY_TG), "title": "Family (TG)"},
            "club-tg": {"provider": "tg", "chat_id": str(CLUB_TG), "title": "Club"},
            "shop-tg": {"provider": "tg", "chat_id": str(SHOP_TG), "title": "Shop"},
        }
        yield World(telegram, green, write_config(tmp_path, raw), family)


def side_of(jpeg: bytes) -> tuple[str | None, tuple[int, int]]:
    with Image.open(io.BytesIO(jpeg)) as image:
        return image.format, image.size


async def test_set_show_and_remove_a_telegram_chats_photo(world: World):
    telegram, owner = world.telegram, world.telegram.user(OWNER, "Olga")
    async with running_bot(world.config, telegram, ENV):
        # /setgrouppic: a fresh upload of the prepared 640 px JPEG through setChatPhoto
        sent = await owner.send_photo(photo_bytes(1500, 1000), caption="/setgrouppic family-tg")
        assert await answer_to(telegram, owner, sent) == (
            "Done: Family (TG) has a new picture.\n"
            "This Telegram chat has no public link: /grouppic sends its photo itself."
        )
        [upload] = telegram.chat_photos.uploads[FAMILY_TG]
        assert side_of(upload) == ("JPEG", (640, 640))
        [call] = telegram.calls("setChatPhoto")
        assert call.params == {"chat_id": FAMILY_TG} and set(call.files) == {"photo"}

        # /grouppic: the photo itself, never a link (a file URL carries the bot token)
        sent = await owner.send("/grouppic family-tg")
        shown = await telegram.wait_for_bot_message(
            owner, predicate=lambda m: m.message_id > sent["message_id"]
        )
        assert shown.content == "The picture of Family (TG)."
        assert isinstance(shown.photo, bytes)
        assert shown.photo == telegram.chat_photos.current(FAMILY_TG)
        assert "/file/bot" not in shown.content

        # /delgrouppic: deleteChatPhoto; again on a chat without a photo (CHAT_NOT_MODIFIED)
        assert await confirm_removal(telegram, owner, "family-tg") == (
            "Done: the picture of Family (TG) is removed."
        )
        assert telegram.chat_photos.current(FAMILY_TG) is None
        assert await confirm_removal(telegram, owner, "family-tg") == (
            "Done: the picture of Family (TG) is removed.\nThe chat had no photo."
        )
        sent = await owner.send("/grouppic family-tg")
        no_photo = await answer_to(telegram, owner, sent)
        assert no_photo == "Family (TG) has no picture (no photo set)."
        assert len(telegram.calls("deleteChatPhoto")) == 2

        # /addgroup checks a Telegram chat id as start-up does
        sent = await owner.send("/addgroup team-tg tg -1007777777777 Team")
        assert (await answer_to(telegram, owner, sent)).startswith("Done: ")
        sent = await owner.send("/addgroup solo-tg tg 1007777777777 Solo")
        refused = await answer_to(telegram, owner, sent)
        assert refused.startswith("Sorry, ") and "that is a person's chat" in refused


async def test_a_list_changes_the_whatsapp_group_and_its_telegram_twin(world: World):
    telegram, owner = world.telegram, world.telegram.user(OWNER, "Olga")
    async with running_bot(world.config, telegram, ENV):
        sent = await owner.send_photo(photo_bytes(), caption="/setgrouppic family,family-tg")
        plan = await answer_to(telegram, owner, sent)
        assert plan == "I will change the picture of these 2 groups: family, family-tg."
        asked = telegram.bot_messages(owner)[-1]
        await owner.press(asked, asked.callback_data("Change them"))
        done = await telegram.wait_for_bot_message(
            owner,
            predicate=lambda m: m.message_id == asked.message_id and m.content.startswith("Done"),
        )
        lines = done.content.split("\n")
        assert lines == [
            "Done: 2 of 2 groups changed · 0 failed · 0 refused.",
            f"✅ family: {world.green.avatar_of(FAMILY)}",
            "✅ family-tg: done",
        ], lines
    # one picture for both
    [upload] = telegram.chat_photos.uploads[FAMILY_TG]
    assert upload == world.green.set_calls()[0].file


async def test_a_bot_that_is_not_admin_hears_it_plainly_everywhere(world: World):
    telegram, owner = world.telegram, world.telegram.user(OWNER, "Olga")
    before = len(telegram.calls())
    checked = await run_cli("check", config=world.config, env=ENV)
    assert checked.returncode == 1, checked
    lines = checked.stdout.splitlines()
    assert "tg (Telegram): ok - Telegram accepts the bot's token (@avatarops_bot)" in lines
    assert "  family-tg: ok - the bot may change the photo of this Telegram chat" in lines
    assert f"  club-tg: FAILED - {NOT_ADMIN}" in lines
    assert (
        f"  shop-tg: FAILED - the bot is an administrator of Telegram chat {SHOP_TG} without"
        " the right to change its info: give it that right"
    ) in lines
    assert not [c for c in telegram.calls()[before:] if c.method in ("setChatPhoto",)]
    assert BOT_TOKEN not in checked.stdout + checked.stderr

    async with running_bot(world.config, telegram, ENV):
        sent = await owner.send_photo(photo_bytes(), caption="/setgrouppic club-tg")
        assert await answer_to(telegram, owner, sent) == (
            f"Could not change the picture of Club: {NOT_ADMIN}."
        )
        assert telegram.chat_photos.current(CLUB_TG) is None

        sent = await owner.send("/groups")
        listing = await answer_to(telegram, owner, sent)
        assert f"    ⚠ cannot change its picture now: {NOT_ADMIN}" in listing.split("\n")
        family_tg = listing.split("family-tg - ", 1)[1].split("\n")
        assert "⚠" not in family_tg[2]  # the next group's line, not a warning


@pytest.mark.parametrize(
    "chat_id, problem",
    [
        ("1009876543210", "that is a person's chat"),
        ("@family", "use the chat's numeric id, not its username"),
        ("120363043968066561@g.us", "a Telegram group's id is a negative number"),
        ("-01009876543210", "a Telegram group's id is a negative number"),
    ],
)
async def test_a_wrong_telegram_chat_id_stops_start_up_naming_it(
    world: World, chat_id: str, problem: str
):
    text = world.config.read_text().replace(f'"{FAMILY_TG}"', f'"{chat_id}"')
    text = text.replace(f"'{FAMILY_TG}'", f"'{chat_id}'")
    world.config.write_text(text)
    checked = await run_cli("check", config=world.config, env=ENV)
    assert checked.returncode == 2
    assert checked.stderr.startswith("config error: groups.family-tg.chat_id: ")
    assert problem in checked.stderr


async def test_undo_puts_back_the_photo_someone_set_before_the_bot(world: World):
    telegram, owner = world.telegram, world.telegram.user(OWNER, "Olga")
    telegram.chat_photos.set_photo(FAMILY_TG, encode(Image.new("RGB", (700, 700), "red"), "PNG"))
    earlier = telegram.chat_photos.current(FAMILY_TG)
    assert earlier is not None
    async with running_bot(world.config, telegram, ENV):
        sent = await owner.send_photo(photo_bytes(900, 600), caption="/setgrouppic family-tg")
        assert (await answer_to(telegram, owner, sent)).startswith("Done: Family (TG)")
        sent = await owner.send("/undogrouppic family-tg")
        assert (await answer_to(telegram, owner, sent)).startswith("Done: Family (TG)")
    # the photo read before the change (through getChat and getFile, never shown as a link)
    # is uploaded again: the same picture, prepared as every picture is
    first, undone = telegram.chat_photos.uploads[FAMILY_TG]
    assert side_of(undone) == ("JPEG", (640, 640)) and undone != first
    assert looks_alike(undone, earlier) and not looks_alike(first, earlier)


def looks_alike(jpeg: bytes, other: bytes) -> bool:
    """The same picture, JPEG-encoded more than once: close, not equal."""
    with Image.open(io.BytesIO(jpeg)) as one, Image.open(io.BytesIO(other)) as two:
        pairs = zip(one.resize((8, 8)).tobytes(), two.resize((8, 8)).tobytes(), strict=True)
        return max(abs(a - b) for a, b in pairs) <= 24
