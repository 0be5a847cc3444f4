"""The Telegram target adapter against the fake Bot API: what each of Telegram's answers becomes."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from PIL import Image
from pydantic import SecretStr

from adapters import FailureKind, PreparedPicture
from adapters.telegram import TelegramProvider, TelegramTargetSettings
from tests.fakes.serve import serve
from tests.fakes.telegram import FakeTelegram
from tests.pictures import photo_bytes

TOKEN = "654321:target-token-SECRET"
CHAT = "-1001111111111"
PUBLIC = "-1002222222222"  # has a username: its t.me link is shown


def jpeg(side: int) -> PreparedPicture:
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), "teal").save(buffer, "JPEG")
    return PreparedPicture(buffer.getvalue(), side)


@pytest.fixture
async def world() -> AsyncIterator[tuple[FakeTelegram, TelegramProvider]]:
    fake = FakeTelegram(token=TOKEN)
    fake.chat_photos.admit_bot(fake.group_chat(int(CHAT), "Family"))
    fake.chat_photos.admit_bot(fake.group_chat(int(PUBLIC), "Public", username="public_family"))
    async with serve(fake.app) as url:
        settings = TelegramTargetSettings(kind="telegram", token=SecretStr(TOKEN), api_base_url=url)
        provider = TelegramProvider("tg", settings)
        try:
            yield fake, provider
        finally:
            await provider.aclose()


async def test_a_public_chat_gets_its_link_and_a_read_hands_over_the_photo(world):
    fake, provider = world
    done = await provider.set_group_picture(PUBLIC, jpeg(640))
    assert done.ok and done.url == "https://t.me/public_family"
    read = await provider.get_group_picture(PUBLIC)
    assert read.ok and read.url is None
    assert read.image == fake.chat_photos.current(int(PUBLIC))
    assert fake.downloads  # through getFile and the file URL, which is never shown
    assert TOKEN not in repr(read)


@pytest.mark.parametrize(
    "arrange, kind, reason",
    [
        (
            lambda fake: fake.chat_photos.admit_bot(int(CHAT), can_change_info=False),
            FailureKind.NOT_ALLOWED,
            f"the bot is not an administrator of Telegram chat {CHAT} with the right to change"
            " its info: make it an administrator with the right to change the group's info",
        ),
        (
            lambda fake: fake.set_member_status(int(CHAT), fake.me.id, "kicked"),
            FailureKind.NOT_FOUND,
            f"the bot is not a member of Telegram chat {CHAT}, or no such chat exists:"
            " add the bot to the chat as an administrator",
        ),
    ],
)
async def test_rights_telegram_refuses_become_plain_sentences(world, arrange, kind, reason):
    fake, provider = world
    arrange(fake)
    result = await provider.set_group_picture(CHAT, jpeg(640))
    assert (result.ok, result.kind, result.reason) == (False, kind, reason)
    assert fake.chat_photos.current(int(CHAT)) is None


async def test_unknown_chats_small_pictures_and_a_wrong_token(world):
    _, provider = world
    unknown = await provider.set_group_picture("-1009999999999", jpeg(640))
    assert unknown.kind is FailureKind.NOT_FOUND
    small = await provider.set_group_picture(CHAT, jpeg(100))
    assert (small.kind, small.reason) == (
        FailureKind.BAD_IMAGE,
        "Telegram refused the picture (Bad Request: PHOTO_CROP_SIZE_SMALL)",
    )
    wrong = TelegramProvider(
        "tg",
        TelegramTargetSettings(
            kind="telegram",
            token=SecretStr("1:wrong"),
            api_base_url=str(provider.settings.api_base_url),
        ),
    )
    try:
        refused = await wrong.check()
    finally:
        await wrong.aclose()
    assert (refused.kind, refused.reason) == (
        FailureKind.AUTH,
        "Telegram refused the bot's token (HTTP 401)",
    )


async def test_removing_a_photo_the_chat_does_not_have_is_done(world):
    fake, provider = world
    fake.chat_photos.set_photo(int(CHAT), photo_bytes())
    assert (await provider.delete_group_picture(CHAT)).reason is None
    again = await provider.delete_group_picture(CHAT)
    assert again.ok and again.reason == "the chat had no photo"
    none = await provider.get_group_picture(CHAT)
    assert none.ok and none.image is None and none.reason == "no photo set"


async def test_an_unreachable_bot_api_is_unavailable_without_the_token():
    settings = TelegramTargetSettings(
        kind="telegram",
        token=SecretStr(TOKEN),
        api_base_url="http://127.0.0.1:9",
        timeout_seconds=2,
    )
    provider = TelegramProvider("tg", settings)
    try:
        result = await provider.set_group_picture(CHAT, jpeg(640))
    finally:
        await provider.aclose()
    assert result.kind is FailureKind.UNAVAILABLE
    assert TOKEN not in (result.reason or "")
