"""Conversations with the bot: send a command, assert on the reply and on what Green API got."""

from __future__ import annotations

import io

from PIL import Image

from bot.domain import Action
from tests.conftest import (
    ADMIN,
    FAMILY,
    LINKED_CHAT,
    OTHER_OWNER,
    OWNER,
    REQUESTER,
    STRANGER,
    WORK_ADMIN,
    Bot,
)
from tests.fakes.greenapi import Fault
from tests.pictures import photo_bytes


def assert_avatar_jpeg(data: bytes | None) -> None:
    assert data is not None
    picture = Image.open(io.BytesIO(data))
    assert picture.format == "JPEG" and picture.mode == "RGB"
    assert picture.width == picture.height <= 640
    assert len(data) <= 100_000


async def audit_outcomes(bot: Bot) -> list[tuple[str, str | None, str]]:
    return [(row.action, row.target, row.outcome) for row in await bot.store.audit.latest(limit=50)]


async def test_caption_form_sets_the_picture_and_answers_with_its_url(bot: Bot):
    admin = bot.user(ADMIN, "Ada")
    await admin.send_photo(photo_bytes(2000, 1500), caption="/setgrouppic family")
    answer = await bot.answer(admin)

    [sent] = bot.green.set_calls()
    assert sent.form["groupId"] == FAMILY
    assert sent.file_content_type == "image/jpeg"
    assert_avatar_jpeg(sent.file)
    assert answer.startswith("Done: Family has a new picture.")
    assert (bot.green.avatar_of(FAMILY) or "no URL") in answer
    # the bot fetched the smallest Telegram variant that is big enough (shorter side >= 640)
    [downloaded] = bot.telegram.downloads
    variant = bot.telegram.file(downloaded)
    assert (variant.width, variant.height) == (1280, 960)
    assert await audit_outcomes(bot) == [("set_group_picture", "family", "done")]


async def test_reply_form_uses_the_photo_replied_to(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    photo = await owner.send_photo(photo_bytes(900, 900))
    answer = await bot.say(owner, "/setgrouppic@avatarops_bot family", reply_to=photo)
    assert answer.startswith("Done: Family has a new picture.")
    assert [r.form["groupId"] for r in bot.green.set_calls()] == [FAMILY]


async def test_reply_to_a_message_without_a_picture_explains(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    text = await owner.send("hello")
    answer = await bot.say(owner, "/setgrouppic family", reply_to=text)
    assert "has no picture" in answer
    assert bot.green.set_calls() == []


async def test_ask_then_send_takes_the_next_photo_and_cancel_stops(bot: Bot):
    admin = bot.user(ADMIN, "Ada")
    question = await bot.say(admin, "/setgrouppic family")
    assert question.startswith("Send me the new picture for Family")
    await admin.send_photo(photo_bytes(1000, 800))
    assert (await bot.answer(admin)).startswith("Done: Family has a new picture.")
    assert len(bot.green.set_calls()) == 1

    await bot.say(admin, "/setgrouppic family")
    assert await bot.say(admin, "/cancel") == "Cancelled: I am no longer waiting for a photo."
    await admin.send_photo(photo_bytes(1000, 800))
    await bot.deliver()
    assert len(bot.green.set_calls()) == 1  # the cancelled request took nothing


async def test_ask_form_in_a_group_accepts_a_reply_to_the_question(bot: Bot):
    chat = bot.telegram.group_chat(LINKED_CHAT, "Family chat")
    admin = bot.user(ADMIN, "Ada")
    await admin.send("/setgrouppic", chat=chat)  # no alias: the chat is linked to family
    await bot.deliver()
    question = bot.telegram.bot_messages(chat)[-1]
    assert "Family" in question.content
    await admin.send_photo(photo_bytes(700, 700), chat=chat, reply_to=question)
    assert (await bot.answer(chat)).startswith("Done: Family has a new picture.")
    assert [r.form["groupId"] for r in bot.green.set_calls()] == [FAMILY]


async def test_an_image_sent_as_a_file_is_used(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    await owner.send_document(
        photo_bytes(800, 600, "PNG"),
        file_name="pic.png",
        mime_type="image/png",
        caption="/setgrouppic work",
    )
    assert (await bot.answer(owner)).startswith("Done: Work has a new picture.")
    assert_avatar_jpeg(bot.green.set_calls()[0].file)


async def test_a_pdf_gets_a_specific_refusal_and_nothing_is_sent(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    await owner.send_document(
        b"%PDF-1.7\n%fake",
        file_name="menu.pdf",
        mime_type="application/pdf",
        caption="/setgrouppic family",
    )
    assert await bot.answer(owner) == "Sorry, this is a PDF, not a picture."
    assert bot.green.requests == []
    assert await audit_outcomes(bot) == [("set_group_picture", "family", "refused")]


async def test_a_file_over_20_mb_is_refused_before_downloading(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    await owner.send_document(
        photo_bytes(300, 300),
        file_name="huge.jpg",
        mime_type="image/jpeg",
        caption="/setgrouppic family",
        file_size=31_000_000,
    )
    assert await bot.answer(owner) == "Sorry, the file is 31.0 MB; the limit is 20 MB."
    assert bot.telegram.downloads == []
    assert bot.green.requests == []


async def test_a_too_small_picture_is_refused(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    await owner.send_document(
        photo_bytes(150, 150),
        file_name="tiny.jpg",
        mime_type="image/jpeg",
        caption="/setgrouppic family",
    )
    assert "at least 192 px" in await bot.answer(owner)
    assert bot.green.requests == []


async def test_a_stranger_is_refused_and_the_provider_gets_nothing(bot: Bot):
    stranger = bot.user(STRANGER, "Mallory")
    await stranger.send_photo(photo_bytes(), caption="/setgrouppic family")
    assert await bot.answer(stranger) == "Sorry, you may not change the picture of Family."
    assert bot.green.requests == []
    assert bot.telegram.downloads == []  # refused before the photo was even fetched
    assert await audit_outcomes(bot) == [("set_group_picture", "family", "refused")]


async def test_an_admin_of_another_group_is_refused(bot: Bot):
    # (a requester's /setgrouppic becomes a proposal: tests/test_approvals.py)
    work_admin = bot.user(WORK_ADMIN, "Walt")
    await work_admin.send_photo(photo_bytes(), caption="/setgrouppic family")
    assert await bot.answer(work_admin) == "Sorry, you may not change the picture of Family."
    assert bot.green.requests == []


async def test_unknown_or_missing_group_names_the_groups_the_user_may_use(bot: Bot):
    admin = bot.user(ADMIN, "Ada")
    await admin.send_photo(photo_bytes(), caption="/setgrouppic famly")
    assert (
        await bot.answer(admin) == "Sorry, there is no group called 'famly'. You may use: family."
    )
    await admin.send_photo(photo_bytes(), caption="/setgrouppic")  # private chat: no link
    assert await bot.answer(admin) == "Sorry, which group? You may use: family."
    owner = bot.user(OWNER, "Olga")
    assert await bot.say(owner, "/grouppic nope") == (
        "Sorry, there is no group called 'nope'. You may use: family, work."
    )
    assert bot.green.requests == []


async def test_a_provider_refusal_is_reported_in_plain_words_and_audited(bot: Bot):
    bot.green.fail_next("setGroupPicture", Fault.refused("not-authorized"))
    owner = bot.user(OWNER, "Olga")
    await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
    answer = await bot.answer(owner)
    assert answer.startswith("Could not change the picture of Family:")
    assert "not allowed" in answer
    assert await audit_outcomes(bot) == [("set_group_picture", "family", "failed")]


async def test_a_provider_that_times_out_is_reported(bot: Bot):
    bot.green.fail_next("setGroupPicture", Fault.slow(5), times=2)
    owner = bot.user(OWNER, "Olga")
    await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
    assert await bot.answer(owner) == (
        "Could not change the picture of Family: Green API did not answer within 1 s."
    )


async def test_a_provider_html_error_page_is_retried_then_reported(bot: Bot):
    bot.green.fail_next("setGroupPicture", Fault.bad_gateway(), times=2)
    owner = bot.user(OWNER, "Olga")
    await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
    answer = await bot.answer(owner)
    assert answer.startswith("Could not change the picture of Family:") and "502" in answer
    assert len(bot.green.set_calls()) == 2  # the configured max_attempts


async def test_delgrouppic_on_green_api_explains_without_calling_anything(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    answer = await bot.say(owner, "/delgrouppic family")
    assert answer == "Sorry, Green API cannot remove a group picture, so nothing was changed."
    assert bot.green.requests == []


async def test_grouppic_shows_the_current_picture(bot: Bot):
    bot.green.set_avatar(FAMILY, "https://pps.whatsapp.net/v/family.jpg")
    requester = bot.user(REQUESTER, "Rita")
    assert await bot.say(requester, "/grouppic family") == (
        "The picture of Family:\nhttps://pps.whatsapp.net/v/family.jpg"
    )
    stranger = bot.user(STRANGER, "Mallory")
    assert await bot.say(stranger, "/grouppic family") == (
        "Sorry, you may not see the picture of Family."
    )


async def test_only_owners_change_the_account_picture(bot: Bot):
    admin = bot.user(ADMIN, "Ada")
    await admin.send_photo(photo_bytes(), caption="/setprofilepic green")
    assert await bot.answer(admin) == "Sorry, only owners may change the account picture."
    assert bot.green.requests == []

    owner = bot.user(OWNER, "Olga")
    await owner.send_photo(photo_bytes(), caption="/setprofilepic")  # the only provider
    answer = await bot.answer(owner)
    assert answer.startswith("Done: the WhatsApp account (green) has a new picture.")
    [sent] = bot.green.set_calls()
    assert sent.method == "setProfilePicture"
    assert_avatar_jpeg(sent.file)
    assert (await bot.say(admin, "/profilepic")).startswith(
        "The picture of the WhatsApp account (green):\nhttps://"
    )


async def test_every_change_is_announced_to_owners_and_the_groups_admins_not_the_actor(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    other_owner, admin = bot.user(OTHER_OWNER, "Otto"), bot.user(ADMIN, "Ada")
    work_admin, requester = bot.user(WORK_ADMIN, "Walt"), bot.user(REQUESTER, "Rita")
    bot.telegram.block(admin)  # one recipient blocked the bot: the others still hear
    await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
    assert (await bot.answer(owner)).startswith("Done")

    [notice] = bot.telegram.bot_messages(other_owner)
    assert notice.content.startswith(f"Olga ({OWNER}) changed the picture of Family via green.")
    assert (bot.green.avatar_of(FAMILY) or "no URL") in notice.content
    assert bot.telegram.bot_messages(work_admin) == []
    assert bot.telegram.bot_messages(requester) == []
    assert len(bot.telegram.bot_messages(owner)) == 1  # just the answer, no notice too


async def test_help_lists_what_the_caller_may_do(bot: Bot):
    admin = bot.user(ADMIN, "Ada")
    answer = await bot.say(admin, "/help")
    assert "/setgrouppic" in answer and "you may use: family" in answer
    assert "/setprofilepic" not in answer
    stranger = bot.user(STRANGER, "Mallory")
    assert f"your Telegram id is {STRANGER}" in await bot.say(stranger, "/start")


async def test_the_command_menu_is_set_at_start_up(bot: Bot):
    assert {"setgrouppic", "delgrouppic", "grouppic", "help"} <= set(bot.menu())


async def test_refused_views_are_audited_too(bot: Bot):
    await bot.say(bot.user(STRANGER, "Mallory"), "/grouppic family")
    assert await audit_outcomes(bot) == [(Action.VIEW_GROUP_PICTURE.value, "family", "refused")]
