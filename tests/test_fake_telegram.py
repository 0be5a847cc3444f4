"""The fake Bot API works with a real PTB Bot, over HTTP and in-process alike."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from PIL import Image
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    TimedOut,
)
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

from handlers.bot_api_http import AiohttpRequest
from tests.fakes.serve import serve
from tests.fakes.telegram import FakeTelegram, FakeUser

TOKEN = "123456:TEST-token"
GROUP_ID = -1001234567890

BotFactory = Callable[[str], Bot]


def jpeg(width: int, height: int) -> bytes:
    """A JPEG image of the given size."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def fake() -> FakeTelegram:
    return FakeTelegram(token=TOKEN)


@pytest.fixture
def alice(fake: FakeTelegram) -> FakeUser:
    return fake.user(111, "Alice", username="alice")


@pytest.fixture(params=["http", "in-process", "aiohttp"])
async def new_bot(request: pytest.FixtureRequest, fake: FakeTelegram) -> AsyncIterator[BotFactory]:
    """Makes PTB Bots talking to the fake over HTTP (PTB's own httpx client, or the aiohttp one
    bot/runner.py gives the bot) or through FakeRequest."""
    if request.param == "in-process":
        yield lambda token: Bot(token, request=fake.request(), get_updates_request=fake.request())
        return
    async with serve(fake.app) as api:
        base_url, base_file_url = f"{api}/bot", f"{api}/file/bot"
        if request.param == "aiohttp":
            yield lambda token: Bot(
                token,
                base_url=base_url,
                base_file_url=base_file_url,
                request=AiohttpRequest(),
                get_updates_request=AiohttpRequest(connection_pool_size=1),
            )
        else:
            yield lambda token: Bot(token, base_url=base_url, base_file_url=base_file_url)
        fake.close()


@pytest.fixture
async def bot(new_bot: BotFactory) -> AsyncIterator[Bot]:
    """A Bot on each front."""
    async with new_bot(TOKEN) as bot:
        yield bot


@pytest.fixture
async def local_bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    """A Bot on the in-process front only, for what does not depend on the transport."""
    async with Bot(TOKEN, request=fake.request(), get_updates_request=fake.request()) as bot:
        yield bot


async def test_get_me_wrong_token_and_unknown_method(new_bot: BotFactory, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "avatarops_bot")
    with pytest.raises(InvalidToken, match="rejected"):
        async with new_bot("999:wrong-token"):
            pass
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("launchRocket")


async def test_wait_for_bot_message_sees_an_edit(
    bot: Bot, fake: FakeTelegram, alice: FakeUser
) -> None:
    sent = await bot.send_message(alice.id, "Working…")
    waiting = asyncio.create_task(fake.wait_for_bot_message(alice, contains="Done", timeout=2))
    await asyncio.sleep(0.01)
    assert not waiting.done()

    edited = await bot.edit_message_text("Done ✅", chat_id=alice.id, message_id=sent.message_id)

    found = await waiting
    assert isinstance(edited, Message)
    assert edited.text == "Done ✅" and edited.edit_date is not None
    assert (found.message_id, found.text) == (sent.message_id, "Done ✅")
    assert [revision.text for revision in found.history] == ["Working…"]
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("Done ✅", chat_id=alice.id, message_id=sent.message_id)


async def test_wait_for_bot_message_fails_with_the_transcript(
    fake: FakeTelegram, alice: FakeUser
) -> None:
    await alice.send("/start")
    with pytest.raises(AssertionError, match="#1 Alice: /start"):
        await fake.wait_for_bot_message(alice, contains="Hello", timeout=0.05)


async def test_pushed_photo_wakes_get_updates_and_offset_confirms(
    bot: Bot, fake: FakeTelegram, alice: FakeUser
) -> None:
    group = fake.group_chat(GROUP_ID, "Family chat")
    polling = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)

    await alice.send_photo(jpeg(1400, 700), caption="/setgrouppic family", chat=group)

    [update] = await asyncio.wait_for(polling, 1)
    message = update.message
    assert message and message.from_user
    assert (message.chat.id, message.from_user.id) == (GROUP_ID, alice.id)
    assert message.caption == "/setgrouppic family"
    sizes = [(photo.width, photo.height) for photo in message.photo]
    assert sorted(sizes) == [(90, 45), (320, 160), (800, 400), (1280, 640)]
    assert sizes not in (sorted(sizes), sorted(sizes, reverse=True))
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [update.update_id]
    assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()


async def test_download_returns_the_chosen_variant(
    bot: Bot, fake: FakeTelegram, alice: FakeUser
) -> None:
    message = await alice.send_photo(jpeg(1000, 500))
    [variant] = [photo for photo in message["photo"] if photo["width"] == 800]

    file = await bot.get_file(variant["file_id"])
    data = bytes(await file.download_as_bytearray())

    assert data == fake.file(variant["file_id"]).data
    assert Image.open(io.BytesIO(data)).size == (800, 400) == (variant["width"], variant["height"])
    assert file.file_size == len(data)
    assert fake.downloads == [variant["file_id"]]


async def test_the_bots_client_turns_a_download_that_does_not_come_into_a_timeout(
    fake: FakeTelegram, alice: FakeUser
) -> None:
    message = await alice.send_photo(jpeg(1000, 500))
    release = fake.hold_downloads()
    async with serve(fake.app) as api:
        client = Bot(
            TOKEN, base_url=f"{api}/bot", base_file_url=f"{api}/file/bot", request=AiohttpRequest()
        )
        async with client:
            file = await client.get_file(message["photo"][0]["file_id"])
            with pytest.raises(TimedOut):
                await file.download_as_bytearray(read_timeout=0.2)
            release()
            # the same client goes on working afterwards
            assert bytes(await file.download_as_bytearray()) == fake.file(file.file_id).data
        fake.close()


async def test_get_file_refuses_files_over_20_mb(local_bot: Bot, alice: FakeUser) -> None:
    message = await alice.send_document(
        b"%PDF-1.4", file_name="scan.pdf", mime_type="application/pdf", file_size=30 * 2**20
    )
    assert message["document"]["file_size"] == 30 * 2**20
    with pytest.raises(BadRequest, match=r"(?i)file is too big"):
        await local_bot.get_file(message["document"]["file_id"])


async def test_blocked_chat_is_forbidden(bot: Bot, fake: FakeTelegram, alice: FakeUser) -> None:
    fake.block(alice)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(alice.id, "Hi")
    with pytest.raises(Forbidden):
        await bot.send_photo(alice.id, jpeg(10, 10))


async def test_send_photo_by_upload_and_by_file_id(
    bot: Bot, fake: FakeTelegram, alice: FakeUser
) -> None:
    image = jpeg(400, 300)
    uploaded = await bot.send_photo(alice.id, image, caption="Preview")
    file_id = max(uploaded.photo, key=lambda photo: photo.width).file_id
    await bot.send_photo(alice.id, file_id)

    first, second = fake.bot_messages(alice)
    assert (first.photo, first.caption) == (image, "Preview")
    assert second.photo == fake.file(file_id).data
    assert fake.calls("sendPhoto")[0].files == {"photo": image}
    assert fake.calls("sendPhoto")[1].params == {"chat_id": alice.id, "photo": file_id}


async def test_inline_keyboard_round_trips_and_can_be_pressed(
    bot: Bot, fake: FakeTelegram, alice: FakeUser
) -> None:
    group = fake.group_chat(GROUP_ID, "Family chat")
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Yes", callback_data="ok:1"),
                InlineKeyboardButton("No", callback_data="no:1"),
            ]
        ]
    )
    sent = await bot.send_message(group.id, "Set the picture?", reply_markup=markup)
    assert sent.reply_markup == markup
    assert fake.calls("sendMessage")[0].params["reply_markup"] == markup.to_dict()

    [shown] = fake.bot_messages(group)
    query = await alice.press(shown, shown.callback_data("Yes"))
    [update] = await bot.get_updates(timeout=1)
    pressed = update.callback_query
    assert pressed and isinstance(pressed.message, Message)
    assert (pressed.id, pressed.data, pressed.from_user.id) == (query["id"], "ok:1", alice.id)
    assert pressed.message.reply_markup == markup
    assert await pressed.answer("Done")
    assert fake.calls("answerCallbackQuery")[0].params == {
        "callback_query_id": query["id"],
        "text": "Done",
    }

    cleared = await bot.edit_message_reply_markup(chat_id=group.id, message_id=sent.message_id)
    assert isinstance(cleared, Message)
    assert cleared.reply_markup is None and shown.buttons() == []


async def test_telegrams_limits_are_refused_in_telegrams_words(
    bot: Bot, fake: FakeTelegram, alice: FakeUser
) -> None:
    """Over 4,096 characters of text, 1,024 of caption, 100 buttons, 64 bytes of callback data
    or 200 characters of alert: HTTP 400 with Telegram's description; at the limit: sent."""
    sent = await bot.send_message(alice.id, "x" * 4096)
    with pytest.raises(BadRequest, match=r"(?i)^message is too long$"):
        await bot.send_message(alice.id, "y" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)^message is too long$"):
        await bot.edit_message_text("z" * 4097, alice.id, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)^message caption is too long$"):
        await bot.send_photo(alice.id, jpeg(40, 40), caption="c" * 1025)

    def buttons(count: int, data: str = "b") -> InlineKeyboardMarkup:
        row = [InlineKeyboardButton(str(n), callback_data=f"{data}{n}") for n in range(count)]
        return InlineKeyboardMarkup([row[i : i + 8] for i in range(0, count, 8)])

    shown = await bot.send_message(alice.id, "100 buttons", reply_markup=buttons(100))
    with pytest.raises(BadRequest, match=r"(?i)^reply markup is too long$"):
        await bot.send_message(alice.id, "101 buttons", reply_markup=buttons(101))
    with pytest.raises(BadRequest, match=r"(?i)^reply markup is too long$"):
        await bot.edit_message_reply_markup(alice.id, shown.message_id, reply_markup=buttons(101))
    with pytest.raises(BadRequest, match=r"(?i)^button_data_invalid$"):
        await bot.send_message(alice.id, "long data", reply_markup=buttons(1, "d" * 64))
    assert [m.content for m in fake.bot_messages(alice)] == ["x" * 4096, "100 buttons"]

    [message] = [m for m in fake.bot_messages(alice) if m.content == "100 buttons"]
    query = await alice.press(message, "b0")
    with pytest.raises(BadRequest, match=r"(?i)^message_too_long$"):
        await bot.answer_callback_query(query["id"], "a" * 201)
    assert await bot.answer_callback_query(query["id"], "a" * 200)


async def test_send_document_keeps_the_file_its_name_and_caption(
    bot: Bot, fake: FakeTelegram, alice: FakeUser
) -> None:
    await bot.send_document(alice.id, b"group,outcome\n", filename="result.csv", caption="All")
    [sent] = fake.bot_messages(alice)
    assert (sent.document, sent.document_name, sent.caption) == (
        b"group,outcome\n",
        "result.csv",
        "All",
    )
    with pytest.raises(BadRequest, match=r"(?i)^message caption is too long$"):
        await bot.send_document(alice.id, b"x", filename="x.csv", caption="c" * 1025)


async def test_replies_and_shared_message_ids(
    local_bot: Bot, fake: FakeTelegram, alice: FakeUser
) -> None:
    photo = await alice.send_photo(jpeg(50, 50))
    answer = await local_bot.send_message(
        alice.id, "Which group?", reply_to_message_id=photo["message_id"]
    )
    reply = await alice.send("/setgrouppic family", reply_to=fake.bot_messages(alice)[0])

    assert (photo["message_id"], answer.message_id, reply["message_id"]) == (1, 2, 3)
    assert answer.reply_to_message and answer.reply_to_message.photo
    assert reply["reply_to_message"]["text"] == "Which group?"
    assert reply["entities"] == [{"type": "bot_command", "offset": 0, "length": 12}]


async def test_html_parse_mode_is_applied_and_checked(local_bot: Bot, alice: FakeUser) -> None:
    sent = await local_bot.send_message(alice.id, "<b>Family</b> &amp; friends", parse_mode="HTML")
    assert sent.text == "Family & friends"
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await local_bot.send_message(alice.id, "Family <3", parse_mode="HTML")


async def test_chat_members_chats_webhook_and_commands(
    local_bot: Bot, fake: FakeTelegram, alice: FakeUser
) -> None:
    group = fake.group_chat(GROUP_ID, "Family chat")
    assert (await local_bot.get_chat_member(group.id, alice.id)).status == "member"
    fake.set_member_status(group, alice, "administrator")
    assert (await local_bot.get_chat_member(group.id, alice.id)).status == "administrator"
    chat = await local_bot.get_chat(group.id)
    assert (chat.title, chat.type) == ("Family chat", "supergroup")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await local_bot.get_chat(-100999)

    await local_bot.set_webhook("https://bot.example/hook", secret_token="s3cret")
    assert ((await local_bot.get_webhook_info()).url, fake.webhook_secret) == (
        "https://bot.example/hook",
        "s3cret",
    )
    with pytest.raises(Conflict):
        await local_bot.get_updates(timeout=0)
    await local_bot.delete_webhook()

    commands = [BotCommand("setgrouppic", "Set a group picture")]
    await local_bot.set_my_commands(commands)
    assert await local_bot.get_my_commands() == tuple(commands)


async def test_http_front_reads_json_bodies_like_forms(fake: FakeTelegram, alice: FakeUser) -> None:
    markup = {"inline_keyboard": [[{"text": "Yes", "callback_data": "y"}]]}
    async with serve(fake.app) as api, httpx.AsyncClient(base_url=api) as client:
        sent = await client.post(
            f"/bot{TOKEN}/sendMessage",
            json={"chat_id": alice.id, "text": "42", "reply_markup": markup},
        )
        unknown = await client.post(f"/bot{TOKEN}/launchRocket")

    assert sent.json()["ok"] and sent.json()["result"]["reply_markup"] == markup
    assert fake.calls("sendMessage")[0].params == {
        "chat_id": alice.id,
        "text": "42",
        "reply_markup": markup,
    }
    assert (unknown.status_code, unknown.json()) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
    )


async def test_application_answers_a_command_in_process(
    fake: FakeTelegram, alice: FakeUser
) -> None:
    group = fake.group_chat(GROUP_ID, "Family chat")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message
        await update.effective_message.reply_text(" ".join(context.args or []))

    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .request(fake.request())
        .get_updates_request(fake.request())
        .updater(None)
        .build()
    )
    app.add_handler(CommandHandler("echo", echo))
    async with app:
        command = await alice.send("/echo@avatarops_bot hello there", chat=group)
        assert len(await fake.feed(app)) == 1

    reply = await fake.wait_for_bot_message(group, contains="hello", timeout=1)
    assert (reply.text, reply.reply_to_message_id) == ("hello there", command["message_id"])
