"""Button presses: any client can send any callback data, on any message the bot sent. Every
press gets an answer; only what the buttons of that message offer, pressed by the person they
were made for, does anything."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import ProposalStatus, Role
from bot.proposals import decision_buttons
from handlers.callbacks import (
    Callback,
    ConfirmRemoval,
    ConfirmTimedRemoval,
    Decision,
    KeepBulk,
    KeepPicture,
    Page,
    decode,
    encode,
    is_ours,
)
from tests.conftest import ADMIN, OWNER, REQUESTER, STRANGER, Bot, raw_config, shut_down, start_bot
from tests.fakes.gowa import FakeGowa
from tests.fakes.serve import serve
from tests.fakes.telegram import BotMessage, FakeChat, FakeUser
from tests.pictures import photo_bytes
from tests.test_reliability import until

TEAM = "120363000000000009@g.us"
TEAM_CHAT = -1005550000000


@pytest.fixture
async def gowa_server() -> AsyncIterator[tuple[FakeGowa, str]]:
    fake = FakeGowa(groups=[TEAM])
    fake.avatars[TEAM] = "https://pps.whatsapp.net/v/team.jpg"
    async with serve(fake.app) as url:
        yield fake, url


@pytest.fixture
def gowa(gowa_server: tuple[FakeGowa, str]) -> FakeGowa:
    return gowa_server[0]


@pytest.fixture
async def bot(tmp_path, green, gowa_server: tuple[FakeGowa, str]) -> AsyncIterator[Bot]:
    """The usual bot plus `team`, a group on GOWA (which can remove pictures)."""
    fake, url = green
    raw = raw_config(tmp_path, url)
    raw["providers"]["gowa"] = {"kind": "gowa", "base_url": gowa_server[1], "timeout_seconds": 2}
    raw["groups"]["team"] = {"provider": "gowa", "chat_id": TEAM, "title": "Team"}
    started, application = await start_bot(raw, fake)
    yield started
    await shut_down(application)


def answers(bot: Bot) -> list[str | None]:
    """The text of every answerCallbackQuery so far."""
    return [call.params.get("text") for call in bot.telegram.calls("answerCallbackQuery")]


async def removal_question(
    bot: Bot, owner: FakeUser, chat: FakeChat | FakeUser, when: str = ""
) -> BotMessage:
    """The owner's /delgrouppic team question (`when`: with these time words), with its Remove
    it / Keep it buttons."""
    await owner.send(f"/delgrouppic team {when}".strip(), chat=chat)
    await bot.deliver()
    question = bot.telegram.bot_messages(chat)[-1]
    head = "Remove the picture of Team? /undogrouppic puts it back."
    assert question.content.split("\n")[0] == head and (when or question.content == head)
    return question


async def test_a_stranger_cannot_rewrite_a_question_with_data_naming_himself(
    bot: Bot, gowa: FakeGowa
):
    chat = bot.telegram.group_chat(TEAM_CHAT, "Team chat")
    owner, stranger = bot.user(OWNER, "Olga"), bot.user(STRANGER, "Mallory")
    question = await removal_question(bot, owner, chat)
    for forged in (f"keep:{STRANGER}", f"del:{STRANGER}:team"):
        await stranger.press(question, forged, forged=True)
        await bot.deliver()
    assert question.history == []  # the question is as the bot sent it
    assert gowa.requests == []
    assert answers(bot) == ["That button is not on this message; nothing was done."] * 2


async def test_only_the_asker_may_press_the_real_buttons(bot: Bot, gowa: FakeGowa):
    chat = bot.telegram.group_chat(TEAM_CHAT, "Team chat")
    owner, stranger = bot.user(OWNER, "Olga"), bot.user(STRANGER, "Mallory")
    question = await removal_question(bot, owner, chat)
    await stranger.press(question, question.callback_data("Remove it"))
    await stranger.press(question, question.callback_data("Keep it"))
    await bot.deliver()
    assert question.history == [] and gowa.requests == []
    assert answers(bot) == ["Only the person who asked can answer this."] * 2


async def test_data_for_another_group_on_a_real_question_removes_nothing(bot: Bot, gowa: FakeGowa):
    owner = bot.user(OWNER, "Olga")
    question = await removal_question(bot, owner, owner)
    await owner.press(question, f"del:{OWNER}:family", forged=True)
    await bot.deliver()
    assert question.history == [] and gowa.requests == [] and bot.green.requests == []
    assert answers(bot) == ["That button is not on this message; nothing was done."]


@pytest.mark.parametrize(
    "data",
    [
        f"del:{OWNER}",  # no group: once left the message at "Working on it…"
        f"del:{OWNER}:",
        f"del:{OWNER}:team:extra",
        f"del:0{OWNER}:team",
        f"del:{'9' * 30}:team",
        "keep:",
        "keep:-1",
        "zz:1",
        "",
        "del",
        "ap:99999999999999999999999",
        "ap:-1",
        "ap:1.5",
        "ap:١",  # an Arabic-Indic digit one
    ],
)
async def test_malformed_or_unknown_data_is_answered_and_changes_nothing(
    bot: Bot, gowa: FakeGowa, data: str
):
    owner = bot.user(OWNER, "Olga")
    question = await removal_question(bot, owner, owner)
    await owner.press(question, data, forged=True)
    await bot.deliver()
    assert question.history == [] and gowa.requests == []
    assert answers(bot) == ["That button is not on this message; nothing was done."]
    assert len(bot.telegram.bot_messages(owner)) == 1  # no "Something went wrong"


async def test_a_huge_proposal_number_on_a_proposal_is_answered(bot: Bot):
    requester, admin = bot.user(REQUESTER, "Rita"), bot.user(ADMIN, "Ada")
    await requester.send_photo(photo_bytes(), caption="/setgrouppic family")
    await bot.deliver()
    [copy] = [m for m in bot.telegram.bot_messages(admin) if m.buttons()]
    await admin.press(copy, "ap:99999999999999999999999", forged=True)
    await admin.press(copy, "ap:2", forged=True)  # a real-looking number of another proposal
    await bot.deliver()
    assert answers(bot) == ["That button is not on this message; nothing was done."] * 2
    assert [m.content for m in bot.telegram.bot_messages(admin)] == [copy.content]
    proposal = await bot.store.proposals.get(1)
    assert proposal is not None and proposal.status is ProposalStatus.PENDING
    assert bot.green.set_calls() == []


async def test_the_real_buttons_still_work(bot: Bot, gowa: FakeGowa):
    owner = bot.user(OWNER, "Olga")
    question = await removal_question(bot, owner, owner)
    await owner.press(question, question.callback_data("Remove it"))
    await bot.deliver()
    assert question.content == "Done: the picture of Team is removed."
    assert TEAM not in gowa.avatars
    kept = await removal_question(bot, owner, owner)
    await owner.press(kept, kept.callback_data("Keep it"))
    await bot.deliver()
    assert kept.content == "Kept: nothing was changed."


# a removal with a time: the same question; its times wait in the store for the press --------


async def test_a_removal_until_a_time_asks_the_owner_to_confirm_not_to_await_an_approval(
    bot: Bot,
):
    owner = bot.user(OWNER, "Olga")
    question = await removal_question(bot, owner, owner, "until in 1h")
    assert re.fullmatch(
        r"Remove the picture of Team\? /undogrouppic puts it back\.\n"
        r"To be made once you confirm; the earlier picture comes back at \w{3} \d{1,2} \w{3}"
        r" \d\d:\d\d \(UTC\)\.",
        question.content,
    ), question.content


async def test_a_removal_with_a_time_is_asked_first_and_kept_once_at_the_press(
    bot: Bot, gowa: FakeGowa
):
    owner = bot.user(OWNER, "Olga")
    question = await removal_question(bot, owner, owner, "in 3s")
    assert re.fullmatch(
        r"Remove the picture of Team\? /undogrouppic puts it back\.\n"
        r"To be made at \w{3} \d{1,2} \w{3} \d\d:\d\d \(UTC\)\.",
        question.content,
    ), question.content
    assert [button["text"] for button in question.buttons()] == ["Remove it", "Keep it"]
    assert await bot.say(owner, "/scheduled") == "Nothing is scheduled."  # not before the press

    remove = question.callback_data("Remove it")
    await owner.press(question, remove)
    await owner.press(question, remove)  # pressed twice: kept once
    await bot.deliver()
    assert re.match(
        r"Scheduled for .+, in \d seconds?: remove the picture of Team\.\n", question.content
    ), question.content
    assert len(await bot.store.schedules.pending()) == 1
    assert gowa.requests == []  # not yet: due in 3 s

    bot.clock.advance(seconds=3)
    await until(lambda: question.content.startswith("Done"), timeout=30)
    assert question.content == "Done: the picture of Team is removed."
    assert TEAM not in gowa.avatars


async def test_a_requesters_removal_with_a_time_is_proposed_with_its_time_at_the_press(
    bot: Bot, gowa: FakeGowa
):
    await bot.store.grants.add(REQUESTER, "team", Role.REQUESTER, granted_by=OWNER)
    requester, owner = bot.user(REQUESTER, "Rita"), bot.user(OWNER, "Olga")
    await requester.send("/delgrouppic team in 1h")
    await bot.deliver()
    question = bot.telegram.bot_messages(requester)[-1]
    assert question.content.startswith(
        "Propose to the admins of Team to remove its picture?\nTo be made at "
    )
    assert bot.telegram.bot_messages(owner) == []  # nothing proposed before the press
    await requester.press(question, question.callback_data("Propose it"))
    await bot.deliver()
    assert question.content.startswith(
        "You may not make this change yourself, so I sent the removal of the picture of Team"
    )
    assert "\nTo be made at " in question.content
    [copy] = bot.telegram.bot_messages(owner)  # Team has no admin: its owners decide
    assert "proposes to remove the picture of Team" in copy.content
    assert "\nTo be made at 20" in copy.content
    assert gowa.requests == []


async def test_a_removal_with_a_time_takes_only_its_askers_press_and_not_after_its_time(
    bot: Bot, gowa: FakeGowa
):
    chat = bot.telegram.group_chat(TEAM_CHAT, "Team chat")
    owner, stranger = bot.user(OWNER, "Olga"), bot.user(STRANGER, "Mallory")
    question = await removal_question(bot, owner, chat, "in 1h")
    remove = question.callback_data("Remove it")
    draft = decode(remove)
    assert isinstance(draft, ConfirmTimedRemoval)
    await stranger.press(question, remove)
    await stranger.press(question, f"dsy:{STRANGER}:{draft.draft}", forged=True)
    await owner.press(question, f"dsy:{OWNER}:{draft.draft + 1}", forged=True)
    await bot.deliver()
    assert answers(bot) == [
        "Only the person who asked can answer this.",
        "That button is not on this message; nothing was done.",
        "That button is not on this message; nothing was done.",
    ]
    assert question.history == []

    past = (datetime.now(UTC) - timedelta(minutes=5)).isoformat(timespec="seconds")
    with sqlite3.connect(bot.services.config.storage.path) as db:  # the question waited
        db.execute("UPDATE schedules SET run_at = ?, due_at = ?", (past, past))
    await owner.press(question, remove)
    await bot.deliver()
    assert question.content.startswith("Sorry, ") and question.content.endswith(
        " has passed already; nothing was scheduled."
    )
    assert await bot.store.schedules.pending() == [] and gowa.requests == []


# the codec ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        Decision(1, approve=True),
        Decision(2**52 - 1, approve=False),
        ConfirmRemoval(asker=OWNER, alias="family"),
        ConfirmRemoval(asker=2**52 - 1, alias="a" * 32),
        KeepPicture(asker=OWNER),
        KeepBulk(asker=2**52 - 1, bulk=2**52 - 1),
        ConfirmTimedRemoval(asker=2**52 - 1, draft=2**52 - 1),
        Page(asker=OWNER, view="g", page=1),
        Page(asker=2**52 - 1, view="h20", page=9999, alias="a" * 32),  # 200,000 rows back
        Page(asker=OWNER, view="s", page=3, alias="family"),
    ],
)
def test_every_value_survives_a_round_trip_within_telegrams_64_bytes(value: Callback):
    data = encode(value)
    assert len(data.encode()) <= 64
    assert decode(data) == value


def test_the_decision_buttons_the_core_makes_decode():
    assert [decode(encode(press)) for _, press in decision_buttons(7)] == [
        Decision(7, approve=True),
        Decision(7, approve=False),
    ]


@pytest.mark.parametrize(
    "data",
    [
        None,
        "ap:0",
        "ap:01",
        f"ap:{2**52}",
        "ap:+1",
        "ap: 1",
        "ap:1\n",
        "rj:1:2",
        "del:1:Family",
        "del:1:fam ily",
        "del:1:" + "a" * 33,
        "keep:1:x",
        "bkk:1",
        "bkk:1:0",
        "bkk:1:2:3",
        "KEEP:1",
        "pg:1:g:0",
        "pg:1:x:1",
        "pg:1:h0:1",
        "pg:1:h21:1",
        "pg:1:g:1:Family",
        "pg:1:g",
        "pg:1:g:1:family:2",
    ],
)
def test_the_codec_refuses_what_it_did_not_make(data: str | None):
    assert decode(data) is None


def test_the_codec_refuses_to_make_what_it_would_not_read():
    with pytest.raises(ValueError):
        encode(Decision(0, approve=True))
    with pytest.raises(ValueError):
        encode(ConfirmRemoval(asker=OWNER, alias="Not An Alias"))


def test_a_host_application_keeps_its_own_buttons():
    """With answer_all_buttons=False, presses are answered here only when they look like ours."""
    assert is_ours("ap:99999999999999999999999") and is_ours("del:1") and is_ours("keep")
    assert not is_ours("host:1") and not is_ours("apx:1") and not is_ours(None)
