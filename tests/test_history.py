"""Picture history and undo, end to end: Telegram in, the provider's uploads out."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from bot.images import prepare_picture
from tests.conftest import (
    ADMIN,
    FAMILY,
    OWNER,
    REQUESTER,
    STRANGER,
    Bot,
    raw_config,
    shut_down,
    start_bot,
)
from tests.fakes.greenapi import Fault
from tests.fakes.serve import serve
from tests.fakes.telegram import BotMessage
from tests.fakes.whapi import FakeWhapi
from tests.pictures import photo_bytes

CLUB = "120363222222222222@g.us"
WHAPI_TOKEN = "whapi-token-SECRET"


async def set_picture(bot: Bot, user, image: bytes, group: str = "family") -> str:
    await user.send_photo(image, caption=f"/setgrouppic {group}")
    return await bot.answer(user)


@pytest.fixture
async def outside_picture() -> AsyncIterator[tuple[bytes, str]]:
    """A picture someone set outside the bot, where WhatsApp's CDN would serve it."""
    image = photo_bytes(900, 900)

    async def jpeg(_request) -> Response:
        return Response(image, media_type="image/jpeg")

    async with serve(Starlette(routes=[Route("/pp/outside.jpg", jpeg)])) as url:
        yield image, f"{url}/pp/outside.jpg"


async def test_set_a_then_b_then_undo_sends_a_again_and_a_second_undo_redoes(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    await set_picture(bot, owner, photo_bytes(1200, 900))
    await set_picture(bot, owner, photo_bytes(800, 800))
    a, b = (call.file for call in bot.green.set_calls())
    assert a != b

    answer = await bot.say(owner, "/undogrouppic family")
    assert answer.startswith("Done: Family has a new picture.")
    assert bot.green.set_calls()[-1].file == a
    assert f"\n{bot.green.avatar_of(FAMILY)}" in answer

    await bot.say(owner, "/undogrouppic family")  # undoes the undo
    assert bot.green.set_calls()[-1].file == b
    rows = [(r.action, r.target, r.outcome) for r in await bot.store.audit.latest(limit=10)]
    assert rows == [("set_group_picture", "family", "done")] * 4


async def test_a_picture_set_outside_the_bot_is_put_back(bot: Bot, outside_picture):
    image, url = outside_picture
    bot.green.set_avatar(FAMILY, url)  # set from a phone: the bot never saw it
    owner = bot.user(OWNER, "Olga")
    await set_picture(bot, owner, photo_bytes())

    assert (await bot.say(owner, "/undogrouppic family")).startswith("Done: Family has a new")
    assert bot.green.set_calls()[-1].file == prepare_picture(image).jpeg


async def test_nothing_to_undo_and_an_unknown_earlier_picture_get_plain_answers(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    assert await bot.say(owner, "/undogrouppic family") == (
        "Nothing to undo: I remember no change I made to the picture of Family."
    )

    bot.green.fail_next("getAvatar", Fault.server_error())  # the earlier picture is unreadable
    assert (await set_picture(bot, owner, photo_bytes())).startswith("Done:")  # not blocked
    assert await bot.say(owner, "/undogrouppic family") == (
        "I can't undo the last change of Family: its provider could not tell me the picture it"
        " had before, so nothing was changed."
    )
    assert len(bot.green.set_calls()) == 1


async def test_undo_to_no_picture_where_the_provider_cannot_remove_changes_nothing(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    await set_picture(bot, owner, photo_bytes())  # Family had no picture before
    assert await bot.say(owner, "/undogrouppic family") == (
        "Before the last change Family had no picture, and Green API cannot remove a picture,"
        " so nothing was changed."
    )
    assert len(bot.green.set_calls()) == 1


async def test_a_strangers_undo_is_refused_and_a_requesters_becomes_a_proposal(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    await set_picture(bot, owner, photo_bytes(1200, 900))
    await set_picture(bot, owner, photo_bytes(800, 800))
    stranger = bot.user(STRANGER, "Mallory")
    assert await bot.say(stranger, "/undogrouppic family") == (
        "Sorry, you may not change the picture of Family."
    )
    requester, _admin = bot.user(REQUESTER, "Rita"), bot.user(ADMIN, "Ada")
    answer = await bot.say(requester, "/undogrouppic family")
    assert answer.startswith("You may not make this change yourself, so I sent your picture")
    assert len(bot.green.set_calls()) == 2
    proposal = await bot.store.proposals.get(1)
    assert (
        proposal is not None and proposal.jpeg == bot.green.set_calls()[0].file
    )  # A, for the admins to approve


async def test_the_account_picture_is_undone_too(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    for size in (700, 900):
        await owner.send_photo(photo_bytes(size, size), caption="/setprofilepic green")
        await bot.answer(owner)
    first = bot.green.set_calls()[0].file
    assert (await bot.say(owner, "/undoprofilepic green")).startswith(
        "Done: the WhatsApp account (green) has a new picture."
    )
    assert bot.green.set_calls()[-1].file == first
    assert bot.green.set_calls()[-1].method == "setProfilePicture"


def restore_list(bot: Bot, chat) -> BotMessage:
    return next(m for m in reversed(bot.telegram.bot_messages(chat)) if m.buttons())


async def test_pictures_shows_an_album_newest_first_and_restores_on_confirmation(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    assert await bot.say(owner, "/pictures family") == (
        "I keep no pictures of Family yet: they are kept from the next change I make."
    )
    await set_picture(bot, owner, photo_bytes(1200, 900))
    await set_picture(bot, owner, photo_bytes(800, 800))
    a, b = (call.file for call in bot.green.set_calls())

    listed = await bot.say(owner, "/pictures family")
    assert listed == "Put one of these pictures back on Family:"
    [album] = bot.telegram.calls("sendMediaGroup")
    assert len(album.params["media"]) == 2
    pictures = [m for m in bot.telegram.bot_messages(owner) if m.media_group_id]
    assert [m.photo for m in pictures] == [b, a]  # newest first, the very pictures set
    assert [m.caption.split(" · ")[0] for m in pictures if m.caption] == ["1", "2"]
    assert all(m.caption and f"set by Olga ({OWNER})" in m.caption for m in pictures)

    buttons = restore_list(bot, owner)
    assert [button["text"] for button in buttons.buttons()] == ["Restore 1", "Restore 2"]
    await owner.press(buttons, buttons.callback_data("Restore 2"))
    question = await bot.answer(owner)
    assert question == "Restore picture 2 on Family?"
    confirm = restore_list(bot, owner)
    await owner.press(confirm, confirm.callback_data("Restore it"))
    assert (await bot.answer(owner)).startswith("Done: Family has a new picture.")
    assert bot.green.set_calls()[-1].file == a


async def test_a_restore_checks_the_rights_of_whoever_presses(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    await set_picture(bot, owner, photo_bytes())
    await bot.say(owner, "/pictures family")
    buttons = restore_list(bot, owner)
    # a forged press (data not on the message) is refused and answered
    await owner.press(buttons, "rsy:111:1:1", forged=True)
    await bot.deliver()
    assert bot.telegram.calls("answerCallbackQuery")[-1].params["text"] == (
        "That button is not on this message; nothing was done."
    )
    # someone without the right may ask, but the restore is refused at the press
    stranger = bot.user(STRANGER, "Mallory")
    await stranger.press(buttons, buttons.callback_data("Restore 1"))
    await bot.deliver()
    confirm = restore_list(bot, owner)
    await owner.press(confirm, confirm.callback_data("Restore it"))  # not the asker
    await bot.deliver()
    assert bot.telegram.calls("answerCallbackQuery")[-1].params["text"] == (
        "Only the person who asked can answer this."
    )
    await stranger.press(confirm, confirm.callback_data("Restore it"))
    await bot.deliver()
    assert confirm.content == "Sorry, you may not change the picture of Family."
    assert len(bot.green.set_calls()) == 1


async def test_only_the_last_pictures_are_kept(tmp_path, green):
    fake, url = green
    raw = raw_config(tmp_path, url, history={"keep_per_group": 2})
    bot, application = await start_bot(raw, fake)
    try:
        owner = bot.user(OWNER, "Olga")
        for size in (700, 800, 900):
            await set_picture(bot, owner, photo_bytes(size, size))
        await bot.say(owner, "/pictures family")
        pictures = [m.photo for m in bot.telegram.bot_messages(owner) if m.media_group_id]
        assert pictures == [call.file for call in reversed(bot.green.set_calls()[1:])]
    finally:
        await shut_down(application)


@pytest.fixture
async def whapi_bot(tmp_path, green) -> AsyncIterator[tuple[Bot, FakeWhapi]]:
    """The usual bot, plus a Whapi.Cloud account (which can remove pictures) for "club"."""
    whapi = FakeWhapi(token=WHAPI_TOKEN, groups={CLUB})
    fake, green_url = green
    async with serve(whapi.app) as whapi_url:
        raw = raw_config(tmp_path, green_url)
        raw["providers"]["whapi"] = {
            "kind": "whapi",
            "base_url": whapi_url,
            "token": WHAPI_TOKEN,
            "group_interval_seconds": 0,
        }
        raw["groups"]["club"] = {"provider": "whapi", "chat_id": CLUB, "title": "Club"}
        bot, application = await start_bot(raw, fake)
        try:
            yield bot, whapi
        finally:
            await shut_down(application)


async def test_undo_of_a_removal_puts_the_picture_back(whapi_bot):
    bot, whapi = whapi_bot
    owner = bot.user(OWNER, "Olga")
    await set_picture(bot, owner, photo_bytes(), group="club")
    a = whapi.images[CLUB]
    question = await bot.say(owner, "/delgrouppic club")
    assert question.startswith("Remove the picture of Club?")
    asked = restore_list(bot, owner)
    await owner.press(asked, asked.callback_data("Remove it"))
    assert (await bot.answer(owner)) == "Done: the picture of Club is removed."
    assert CLUB not in whapi.images

    assert (await bot.say(owner, "/undogrouppic club")).startswith("Done: Club has a new picture.")
    assert whapi.images[CLUB] == a


async def test_undo_to_no_picture_removes_it_where_the_provider_can(whapi_bot):
    bot, whapi = whapi_bot
    owner = bot.user(OWNER, "Olga")
    await set_picture(bot, owner, photo_bytes(), group="club")  # Club had no picture
    assert await bot.say(owner, "/undogrouppic club") == "Done: the picture of Club is removed."
    assert CLUB not in whapi.images
    assert [r.method for r in whapi.requests][-1] == "DELETE"
