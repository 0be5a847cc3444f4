"""Three hundred groups, end to end: every answer that grows with the groups, the people or the
entries stays within Telegram's limits (the fake Bot API refuses what Telegram refuses), the
lists have pages whose buttons only their asker may press, and a list change over every group
ends with a short summary and a CSV document holding every group's outcome."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot import texts
from bot.domain import BulkKind, BulkRefusal, Role
from bot.i18n import LANGUAGES, say
from tests.conftest import (
    ADMIN,
    OTHER_OWNER,
    OWNER,
    REQUESTER,
    Bot,
    raw_config,
    shut_down,
    start_bot,
)
from tests.fakes.telegram import FakeUser
from tests.pictures import photo_bytes

GROUPS = 300
#: groups the WhatsApp account is not in: their changes fail
MISSING = {f"g{n:03d}" for n in (7, 150, 299)}
LONG_TITLE = "A very long group title " * 20  # 480 characters
MAX_TEXT, MAX_BUTTONS = 4096, 100


def chat_of(n: int) -> str:
    return f"120363{n:012d}@g.us"


@pytest.fixture
async def bot(tmp_path, green) -> AsyncIterator[Bot]:
    fake, url = green
    fake.long_urls = True
    raw: dict[str, Any] = raw_config(tmp_path, url)
    for n in range(1, GROUPS + 1):
        alias = f"g{n:03d}"
        title = LONG_TITLE if n == 1 else f"Group number {n}"
        raw["groups"][alias] = {"provider": "green", "chat_id": chat_of(n), "title": title}
        if alias not in MISSING:
            fake.groups.add(chat_of(n))
    started, application = await start_bot(raw, fake)
    await started.store.grants.remove(ADMIN, "family")  # the admin has the 300 alone
    started.user(OWNER, "Olga")  # the owners hear of every change
    started.user(OTHER_OWNER, "Otto")
    for n in range(1, GROUPS + 1):  # an admin for every group, and the ADMIN for all
        started.user(1000 + n, f"Admin {n}")
        await started.store.grants.add(1000 + n, f"g{n:03d}", Role.ADMIN, granted_by=OWNER)
        await started.store.grants.add(ADMIN, f"g{n:03d}", Role.ADMIN, granted_by=OWNER)
    try:
        yield started
    finally:
        await shut_down(application)


def within_limits(bot: Bot) -> None:
    """Telegram refused nothing the bot sent (a progress edit that would show what the message
    shows already is refused as not modified, and harmless), and no answer said that
    something went wrong."""
    errors = [
        (call.method, call.params.get("chat_id"), description)
        for call, description in bot.telegram.errors
        if "message is not modified" not in description
    ]
    assert errors == []
    for chat in (OWNER, OTHER_OWNER, ADMIN, 1001):
        for message in bot.telegram.bot_messages(chat):
            assert message.content != texts.FAILED
            assert len(message.content) <= MAX_TEXT and len(message.buttons()) <= MAX_BUTTONS


async def pages_of(bot: Bot, user: FakeUser, command: str) -> list[str]:
    """Send `command`, then press ▶ until the last page; each page's state, first to last."""
    await bot.say(user, command)
    shown = bot.telegram.bot_messages(user)[-1]
    seen = [shown.content]
    while any(button["text"] == "▶" for button in shown.buttons()):
        await user.press(shown, shown.callback_data("▶"))
        await bot.deliver()
        seen.append(shown.content)
    return seen


async def test_start_help_groups_and_admins_fit_and_page_through_every_group(bot: Bot):
    owner, admin = bot.user(OWNER, "Olga"), bot.user(ADMIN, "Ada")
    for command in ("/start", "/help"):
        said = await bot.say(admin, command)
        assert "you may use: g001, g002," in said and "… and " in said and " more" in said

    pages = await pages_of(bot, admin, "/groups")
    assert len(pages) == GROUPS // 20
    assert pages[0].startswith("Your groups:\ng001 - A very long group title A very long")
    assert pages[-1].endswith(f"Page {len(pages)} of {len(pages)}")
    listed = "\n".join(pages)
    assert all(f"g{n:03d} - " in listed for n in range(1, GROUPS + 1))
    assert LONG_TITLE not in listed  # shortened, never the cause of a refused message

    grants = "\n".join(await pages_of(bot, owner, "/admins"))
    assert all(f"g{n:03d}: 222 admin, {1000 + n} admin" in grants for n in range(1, GROUPS + 1))
    within_limits(bot)


async def test_a_page_button_is_the_askers_and_a_forged_page_changes_nothing(bot: Bot):
    admin, owner = bot.user(ADMIN, "Ada"), bot.user(OWNER, "Olga")
    await bot.say(admin, "/groups")
    shown = bot.telegram.bot_messages(admin)[-1]
    first = shown.content

    # a forged page number (not a button of the message): answered, nothing changes
    query = await admin.press(shown, "pg:222:g:9", forged=True)
    await bot.deliver()
    assert shown.content == first
    [answered] = [
        call
        for call in bot.telegram.calls("answerCallbackQuery")
        if call.params["callback_query_id"] == query["id"]
    ]
    assert answered.params["text"] == texts.NOT_ON_MESSAGE

    # someone else's press on the asker's ▶: refused, nothing changes
    await owner.press(shown, shown.callback_data("▶"))
    await bot.deliver()
    assert shown.content == first

    # the asker lost every right meanwhile: the press reads the list again with theirs
    for n in range(1, GROUPS + 1):
        await bot.store.grants.remove(ADMIN, f"g{n:03d}")
    await admin.press(shown, shown.callback_data("▶"))
    await bot.deliver()
    assert shown.content == texts.no_groups(ADMIN)
    within_limits(bot)


async def test_a_list_over_every_group_ends_with_a_short_summary_and_every_outcome_as_csv(
    bot: Bot,
):
    admin = bot.user(ADMIN, "Ada")
    await admin.send_photo(photo_bytes(), caption="/setgrouppic *")
    plan = await bot.answer(admin)
    assert plan.startswith(f"I will change the picture of these {GROUPS} groups: g001, g002,")
    asked = bot.telegram.bot_messages(admin)[-1]
    await admin.press(asked, asked.callback_data("Change them"))
    await bot.deliver()

    summary = asked.content.split("\n")
    assert summary[0] == f"Done: {GROUPS - 3} of {GROUPS} groups changed · 3 failed · 0 refused."
    assert [line.split(":")[0] for line in summary[1:4]] == [f"❌ {m}" for m in sorted(MISSING)]
    assert summary[-1].startswith("… and ") and summary[-1].endswith(" more")

    [document] = [m for m in bot.telegram.bot_messages(admin) if m.document is not None]
    assert document.document_name == "results.csv" and document.document is not None
    rows = list(csv.DictReader(io.StringIO(document.document.decode())))
    assert sorted(row["group"] for row in rows) == [f"g{n:03d}" for n in range(1, GROUPS + 1)]
    for row in rows:
        chat = chat_of(int(row["group"][1:]))
        if row["group"] in MISSING:
            assert row["outcome"] == "failed" and row["reason"]
        else:
            assert row["outcome"] == "done" and row["url"] == bot.green.avatar_of(chat)

    # every change is in the history, a page at a time
    history = await pages_of(bot, admin, "/history 20")
    assert len(history) >= GROUPS // 20 and history[1].endswith("Page 2")
    within_limits(bot)


async def test_mistyped_names_say_the_names_to_use_once(bot: Bot):
    admin = bot.user(ADMIN, "Ada")
    await admin.send_photo(photo_bytes(), caption="/setgrouppic g001,nope1,nope2,nope3")
    plan = await bot.answer(admin)
    assert plan.count("You may use:") == 1
    assert "nope2: there is no group called 'nope2'" in plan
    within_limits(bot)


async def test_a_list_with_a_time_is_confirmed_and_its_scheduled_changes_page(bot: Bot):
    admin = bot.user(ADMIN, "Ada")
    await admin.send_photo(photo_bytes(), caption="/setgrouppic * in 2h")
    await bot.deliver()
    asked = bot.telegram.bot_messages(admin)[-1]
    await admin.press(asked, asked.callback_data("Change them"))
    await bot.deliver()
    assert asked.content.startswith("Scheduled for ")
    assert "change the picture of A very long" in asked.content and " more" in asked.content

    await bot.say(admin, "/scheduled")
    shown = bot.telegram.bot_messages(admin)[-1]
    labels = [button["text"] for button in shown.buttons()]
    assert labels == [f"Cancel {n}" for n in range(1, 21)] + ["▶"]
    await admin.press(shown, shown.callback_data("▶"))
    await bot.deliver()
    assert [button["text"] for button in shown.buttons()][:2] == ["Cancel 21", "Cancel 22"]
    await admin.press(shown, shown.callback_data("Cancel 21"))
    await bot.deliver()
    assert len(await bot.store.schedules.pending()) == GROUPS - 1
    within_limits(bot)


async def test_a_requesters_list_over_every_group_reaches_its_deciders_within_the_caption(
    bot: Bot,
):
    # issue 21: a list proposal whose caption grew past 1,024 characters reached nobody, and
    # its requester was told it had been sent
    requester = bot.user(2000, "Rita")
    await bot.store.grants.add(2000, "*", Role.REQUESTER, granted_by=OWNER)
    await requester.send_photo(photo_bytes(), caption="/setgrouppic *")
    await bot.deliver()
    plan = bot.telegram.bot_messages(requester)[-1]
    await requester.press(plan, plan.callback_data("Propose them"))
    await bot.deliver()
    assert plan.content.startswith("Sent to the admins as one proposal"), plan.content
    # nobody but the owners may decide all 302 groups (family and work have admins of their own)
    copy = bot.telegram.bot_messages(OWNER)[-1]
    assert copy.caption is not None and len(copy.caption) <= 1024
    assert copy.caption.startswith("Rita (2000) proposes this picture for 302 groups at once")
    assert "open until" in copy.caption  # the whole sentence, the list shortened inside it


async def test_a_requesters_list_over_every_group_is_one_proposal_and_its_results_reach_them(
    bot: Bot,
):
    requester, admin = bot.user(REQUESTER, "Rita"), bot.user(ADMIN, "Ada")
    await bot.store.grants.remove(REQUESTER, "family")
    for n in range(1, GROUPS + 1):
        await bot.store.grants.add(REQUESTER, f"g{n:03d}", Role.REQUESTER, granted_by=OWNER)
    await requester.send_photo(photo_bytes(), caption="/setgrouppic *")
    plan = await bot.answer(requester)
    assert plan.startswith("You may only propose this") and " more." in plan
    asked = bot.telegram.bot_messages(requester)[-1]
    await requester.press(asked, asked.callback_data("Propose them"))
    await bot.deliver()

    # the deciders' copy is a photo whose caption names the first groups and how many more
    [copy] = [m for m in bot.telegram.bot_messages(admin) if m.photo is not None]
    assert copy.caption is not None and f"for {GROUPS} groups at once: g001, g002," in copy.caption
    await admin.press(copy, copy.callback_data("Approve"))
    await bot.deliver()

    summary = bot.telegram.bot_messages(requester)[-2].content.split("\n")
    assert summary[0] == f"Done: {GROUPS - 3} of {GROUPS} groups changed · 3 failed · 0 refused."
    [document] = [m for m in bot.telegram.bot_messages(requester) if m.document is not None]
    assert document.document is not None
    rows = list(csv.DictReader(io.StringIO(document.document.decode())))
    assert len(rows) == GROUPS and {row["outcome"] for row in rows} == {"done", "failed"}
    within_limits(bot)


async def test_star_every_keeps_one_recurrence_per_group_within_telegrams_limits(bot: Bot):
    admin = bot.user(ADMIN, "Ada")
    album = [photo_bytes(1200, 900), photo_bytes(800, 800)]
    await admin.send_album(album, caption="/setgrouppic * every day at 09:00")
    await bot.telegram.feed(bot.application, at_once=True)  # the album's photos together
    asked = bot.telegram.bot_messages(admin)[-1]
    question = asked.content  # the question repeats the rhythm, under the shortened groups
    assert question.startswith("I will change the picture of these 300 groups: g001, g002,")
    assert question.endswith(
        " more.\nTo recur every day at 09:00, from your confirmation, rotating 2 pictures."
    ), question
    await admin.press(asked, asked.callback_data("Change them"))
    await bot.deliver()
    assert asked.content.startswith("Recurring: change the picture of A very long"), asked.content
    assert " more, every day at 09:00, rotating 2 pictures. First run: " in asked.content
    entries = await bot.store.schedules.pending()
    assert len(entries) == GROUPS
    # one copy of the album for all of them, kept under the first
    assert {entry.pictures_key for entry in entries} == {entries[0].pictures_key}
    assert await bot.store.schedules.picture_count(entries[0].pictures_key or 0) == 2

    seen = await pages_of(bot, admin, "/scheduled")
    assert len(seen) == GROUPS // 20
    shown = bot.telegram.bot_messages(admin)[-1]
    labels = [button["text"] for button in shown.buttons()]
    assert labels[:4] == ["Stop 281", "Skip next 281", "Stop 282", "Skip next 282"]
    within_limits(bot)


async def test_a_requesters_album_over_every_group_reaches_its_deciders_within_the_caption(
    bot: Bot,
):
    requester = bot.user(2000, "Rita")
    await bot.store.grants.add(2000, "*", Role.REQUESTER, granted_by=OWNER)
    album = [photo_bytes(1200, 900), photo_bytes(800, 800), photo_bytes(900, 1200)]
    await requester.send_album(album, caption="/setgrouppic * every weekday at 08:00")
    await bot.telegram.feed(bot.application, at_once=True)
    plan = bot.telegram.bot_messages(requester)[-1]
    assert plan.content.endswith(
        " more.\nTo recur every weekday at 08:00, from its approval, rotating your 3 pictures."
    ), plan.content
    await requester.press(plan, plan.callback_data("Propose them"))
    await bot.deliver()
    assert plan.content.startswith("Sent to the admins as one proposal"), plan.content
    copy = bot.telegram.bot_messages(OWNER)[-1]
    assert copy.caption is not None and len(copy.caption) <= 1024
    assert copy.caption.endswith(
        "To recur every weekday at 08:00, from its approval, rotating 3 pictures (the first is"
        " shown)."
    ), copy.caption


@pytest.mark.parametrize("proposal", [False, True])
@pytest.mark.parametrize(
    "timing",
    [
        texts.planned_rhythm("every friday at 18:00 until monday at 08:00", 10),
        texts.proposed_rhythm("every friday at 18:00 until monday at 08:00", 10),
        texts.proposed_times("Thu 24 Dec 18:00 (America/Sao_Paulo)", "Mon 28 Dec 08:00 (UTC)"),
    ],
)
def test_a_plan_over_1000_groups_at_their_longest_keeps_its_time_within_a_message(
    timing: object, proposal: bool
):
    """The question before a list is confirmed says when it runs (or its rhythm) whole, in
    every language, however many groups it names and refuses and however long their names and
    reasons: the lists are shortened, never the time."""
    names = [f"g{n:04d}-" + "x" * 80 for n in range(1000)]
    refused = [BulkRefusal(name, "the provider said no: " + "why " * 150) for name in names]
    for language in LANGUAGES:
        said = say(language, texts.bulk_plan(BulkKind.SET, names, refused, proposal, timing))
        assert len(said) <= MAX_TEXT
        assert said.split("\n")[1] == say(language, timing), said


async def test_a_requesters_album_over_1000_groups_is_confirmed_and_approved_with_its_rhythm(
    tmp_path, green
):
    """The question before proposing and the message telling the approval name the groups
    shortened and keep what was confirmed whole: the rhythm and the pictures' count."""
    fake, url = green
    raw: dict[str, Any] = raw_config(tmp_path, url)
    for n in range(1, 1001):
        alias = f"group-{n:04d}"
        raw["groups"][alias] = {"provider": "green", "chat_id": chat_of(n), "title": alias}
    bot, application = await start_bot(raw, fake)
    try:
        requester, owner = bot.user(2000, "Rita"), bot.user(OWNER, "Olga")
        bot.user(OTHER_OWNER, "Otto")
        await bot.store.grants.add(2000, "*", Role.REQUESTER, granted_by=OWNER)
        album = [photo_bytes(1200, 900), photo_bytes(800, 800)]
        await requester.send_album(album, caption="/setgrouppic * every weekday at 08:00")
        await bot.telegram.feed(bot.application, at_once=True)
        rhythm = "To recur every weekday at 08:00, from its approval, rotating your 2 pictures."
        plan = bot.telegram.bot_messages(requester)[-1]
        assert plan.content.startswith("You may only propose this") and plan.content.endswith(
            " more.\n" + rhythm
        ), plan.content
        await requester.press(plan, plan.callback_data("Propose them"))
        await bot.deliver()
        assert plan.content.startswith("Sent to the admins as one proposal to change the picture")
        assert plan.content.endswith(" more. I will tell you here what they decide.\n" + rhythm)
        copy = bot.telegram.bot_messages(owner)[-1]
        await owner.press(copy, copy.callback_data("Approve"))
        await bot.deliver()
        told = bot.telegram.bot_messages(requester)[-1].content
        assert told.startswith("Your proposal to change the picture of family, group-0001,")
        assert told.endswith(" more was approved by Olga (111). " + rhythm), told
        assert len(await bot.store.schedules.pending()) == 1002
        errors = [d for _, d in bot.telegram.errors if "message is not modified" not in d]
        assert errors == []
    finally:
        await shut_down(application)
