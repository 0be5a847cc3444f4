"""Requesters' proposals end to end, and the notification fan-out around every change.

A requester's /setgrouppic (or /delgrouppic) becomes a proposal: the admins get the prepared
picture with Approve / Reject, the first decision wins, the others' buttons show it, the
requester hears the outcome, and a proposal nobody decides expires.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator

import pytest
from PIL import Image

from bot.approvals import Verdict
from bot.domain import Actor, Group, ProposalStatus, Role
from tests.conftest import (
    ADMIN,
    FAMILY,
    OTHER_OWNER,
    OWNER,
    REQUESTER,
    STRANGER,
    WORK_ADMIN,
    Bot,
    raw_config,
    shut_down,
    start_bot,
)
from tests.fakes.gowa import FakeGowa
from tests.fakes.greenapi import Fault
from tests.fakes.serve import serve
from tests.fakes.telegram import BotMessage, FakeUser
from tests.pictures import photo_bytes

NOTIFY_CHAT = -100999
SECOND_ADMIN = 225
TEAM = "120363000000000009@g.us"


@pytest.fixture
async def gowa() -> AsyncIterator[tuple[FakeGowa, str]]:
    fake = FakeGowa(groups=[TEAM])
    async with serve(fake.app) as url:
        yield fake, url


@pytest.fixture
async def team_bot(tmp_path, green, gowa) -> AsyncIterator[Bot]:
    """Two admins of family and a notify chat, plus `team`, a group on GOWA (which can remove
    pictures)."""
    (fake, url), (_, gowa_url) = green, gowa
    raw = raw_config(tmp_path, url, notify_chat_id=NOTIFY_CHAT)
    raw["providers"]["gowa"] = {"kind": "gowa", "base_url": gowa_url, "timeout_seconds": 2}
    raw["groups"]["team"] = {"provider": "gowa", "chat_id": TEAM, "title": "Team"}
    bot, application = await start_bot(raw, fake)
    await bot.store.grants.add(SECOND_ADMIN, "family", Role.ADMIN, granted_by=OWNER)
    await bot.store.grants.add(ADMIN, "team", Role.ADMIN, granted_by=OWNER)
    await bot.store.grants.add(REQUESTER, "team", Role.REQUESTER, granted_by=OWNER)
    bot.telegram.group_chat(NOTIFY_CHAT, "Announcements")
    yield bot
    await shut_down(application)


def people(bot: Bot) -> dict[str, FakeUser]:
    return {
        "owner": bot.user(OWNER, "Olga"),
        "other owner": bot.user(OTHER_OWNER, "Otto"),
        "admin": bot.user(ADMIN, "Ada"),
        "second admin": bot.user(SECOND_ADMIN, "Sam"),
        "work admin": bot.user(WORK_ADMIN, "Walt"),
        "requester": bot.user(REQUESTER, "Rita"),
        "stranger": bot.user(STRANGER, "Mallory"),
    }


async def propose_picture(bot: Bot, requester: FakeUser, alias: str = "family") -> str:
    await requester.send_photo(photo_bytes(1600, 1200), caption=f"/setgrouppic {alias}")
    return await bot.answer(requester)


def preview(bot: Bot, chat) -> BotMessage:
    """The proposal the bot last sent to `chat`."""
    return [m for m in bot.telegram.bot_messages(chat) if m.buttons()][-1]


def labels(message: BotMessage) -> list[tuple[str, str]]:
    return [(b["text"], b["callback_data"]) for b in message.buttons()]


async def proposal_status(bot: Bot, proposal_id: int = 1) -> ProposalStatus:
    proposal = await bot.store.proposals.get(proposal_id)
    assert proposal is not None
    return proposal.status


async def test_a_proposal_is_approved_end_to_end(team_bot: Bot):
    bot, p = team_bot, people(team_bot)
    answer = await propose_picture(bot, p["requester"])
    assert answer.startswith(
        "You may not make this change yourself, so I sent your picture for Family to its "
        "admins for approval (proposal 1, open until "
    )
    assert answer.endswith("). I will tell you here what they decide.")
    assert bot.green.requests == []  # nothing changes before a decision

    # both admins and the notify chat get the prepared picture itself, with two short buttons
    copies = {chat: preview(bot, chat) for chat in (ADMIN, SECOND_ADMIN, NOTIFY_CHAT)}
    for copy in copies.values():
        assert copy.caption is not None and copy.caption.startswith(
            f"Rita ({REQUESTER}) proposes this picture for Family (family, via green). "
            "The first decision counts; open until "
        )
        assert labels(copy) == [("Approve", "ap:1"), ("Reject", "rj:1")]
        assert isinstance(copy.photo, bytes)
        jpeg = Image.open(io.BytesIO(copy.photo))
        assert jpeg.format == "JPEG" and jpeg.size == (640, 640)
    assert bot.telegram.bot_messages(p["owner"]) == []  # the group has admins: they decide

    await p["admin"].press(copies[ADMIN], "ap:1")
    await bot.deliver()

    [sent] = bot.green.set_calls()
    assert sent.form["groupId"] == FAMILY
    assert sent.file == copies[ADMIN].photo  # exactly the picture the admins saw
    url = bot.green.avatar_of(FAMILY)
    assert [c.params.get("text") for c in bot.telegram.calls("answerCallbackQuery")] == [
        "Approved: making the change now."
    ]
    assert bot.telegram.bot_messages(p["admin"])[-1].content == (
        f"Done: Family has a new picture.\n{url}"
    )
    for copy in copies.values():  # every copy now says who decided
        assert labels(copy) == [("✅ Approved by Ada", "ap:1")]
    assert bot.telegram.bot_messages(p["requester"])[-1].content == (
        f"Your proposal to change the picture of Family was approved by Ada ({ADMIN}). Done.\n"
        f"New picture: {url}"
    )
    # the change is the approver's, on the requester's behalf
    audit = [(r.user_id, r.outcome, r.requested_by) for r in await bot.store.audit.latest(limit=9)]
    assert audit == [(ADMIN, "done", REQUESTER), (REQUESTER, "proposed", None)]
    notice = (
        f"Ada ({ADMIN}) changed the picture of Family via green (proposed by Rita ({REQUESTER}))."
    )
    for chat in (OWNER, OTHER_OWNER, SECOND_ADMIN, NOTIFY_CHAT):
        assert bot.telegram.bot_messages(chat)[-1].content.startswith(notice)
    # the requester heard the outcome once, the approver got no notice on top of the answer
    assert len(bot.telegram.bot_messages(p["requester"])) == 2
    assert not any(m.content.startswith(notice) for m in bot.telegram.bot_messages(p["admin"]))
    assert await proposal_status(bot) == ProposalStatus.APPROVED


async def test_the_first_decision_wins_and_a_second_press_changes_nothing(team_bot: Bot):
    bot, p = team_bot, people(team_bot)
    await propose_picture(bot, p["requester"])
    first, second = preview(bot, ADMIN), preview(bot, SECOND_ADMIN)
    await p["admin"].press(first, "ap:1")
    await p["second admin"].press(second, "rj:1")  # an old copy, pressed before it updated
    await p["admin"].press(first, "ap:1")  # the winner presses again
    await bot.deliver()

    assert len(bot.green.set_calls()) == 1
    answers = [c.params.get("text") for c in bot.telegram.calls("answerCallbackQuery")]
    assert answers == [
        "Approved: making the change now.",
        f"Already approved by Ada ({ADMIN}).",
        f"Already approved by Ada ({ADMIN}).",
    ]
    assert labels(second) == [("✅ Approved by Ada", "ap:1")]
    requester_heard = [m.content for m in bot.telegram.bot_messages(p["requester"])]
    assert len(requester_heard) == 2 and "approved by Ada" in requester_heard[-1]


async def test_a_rejection_is_told_to_the_requester_and_changes_nothing(team_bot: Bot):
    bot, p = team_bot, people(team_bot)
    await propose_picture(bot, p["requester"])
    notify_copy = preview(bot, NOTIFY_CHAT)
    await p["second admin"].press(notify_copy, "rj:1")  # deciding from the notify chat
    await bot.deliver()

    assert bot.green.requests == []
    assert labels(preview(bot, ADMIN)) == [("❌ Rejected by Sam", "ap:1")]
    assert bot.telegram.bot_messages(p["requester"])[-1].content == (
        f"Your proposal to change the picture of Family was rejected by Sam ({SECOND_ADMIN})."
    )
    assert [c.params.get("text") for c in bot.telegram.calls("answerCallbackQuery")] == [
        "Rejected."
    ]
    [row] = await bot.store.audit.latest(limit=1)
    assert (row.user_id, row.outcome, row.requested_by) == (SECOND_ADMIN, "rejected", REQUESTER)
    assert bot.telegram.bot_messages(OWNER) == []  # nothing was changed: no notice


async def test_a_revoked_admin_or_a_stranger_pressing_an_old_button_decides_nothing(
    team_bot: Bot,
):
    bot, p = team_bot, people(team_bot)
    await propose_picture(bot, p["requester"])
    old_copy, notify_copy = preview(bot, ADMIN), preview(bot, NOTIFY_CHAT)
    assert await bot.say(p["owner"], f"/revoke {ADMIN} family") == (
        f"Done: revoked {ADMIN}'s admin grant on family."
    )
    await p["admin"].press(old_copy, "ap:1")
    await p["stranger"].press(notify_copy, "ap:1")
    await p["requester"].press(notify_copy, "ap:1")  # no approving one's own proposal
    await bot.deliver()

    refusal = "Sorry, only those who may change the picture of Family may decide this proposal."
    assert [c.params.get("text") for c in bot.telegram.calls("answerCallbackQuery")] == (
        [refusal] * 3
    )
    assert all(c.params.get("show_alert") for c in bot.telegram.calls("answerCallbackQuery"))
    assert bot.green.requests == []
    assert await proposal_status(bot) == ProposalStatus.PENDING
    assert labels(old_copy) == [("Approve", "ap:1"), ("Reject", "rj:1")]
    refused = [(r.user_id, r.outcome) for r in await bot.store.audit.latest(limit=3)]
    assert refused == [(REQUESTER, "refused"), (STRANGER, "refused"), (ADMIN, "refused")]

    # the rights are read at the press: an admin who still is one decides
    await p["second admin"].press(preview(bot, SECOND_ADMIN), "ap:1")
    await bot.deliver()
    assert len(bot.green.set_calls()) == 1


async def test_a_proposal_expires_and_says_so_when_pressed_later(team_bot: Bot):
    bot, p = team_bot, people(team_bot)
    await propose_picture(bot, p["requester"])
    copy = preview(bot, ADMIN)
    bot.clock.advance(hours=24, seconds=1)
    await p["admin"].press(copy, "ap:1")
    await bot.deliver()

    assert [c.params.get("text") for c in bot.telegram.calls("answerCallbackQuery")] == [
        "This proposal expired before anyone decided it; nothing was changed."
    ]
    assert bot.green.requests == []
    assert labels(copy) == labels(preview(bot, NOTIFY_CHAT)) == [("⌛ Expired", "ap:1")]
    assert bot.telegram.bot_messages(p["requester"])[-1].content == (
        "Your proposal to change the picture of Family expired: nobody decided within 24 h."
    )
    assert await proposal_status(bot) == ProposalStatus.EXPIRED
    [row] = await bot.store.audit.latest(limit=1)
    assert (row.user_id, row.outcome, row.requested_by) == (None, "expired", REQUESTER)


async def test_the_sweep_expires_what_nobody_pressed_after_the_configured_time(tmp_path, green):
    fake, url = green
    bot, application = await start_bot(raw_config(tmp_path, url, approval_ttl_hours=2), fake)
    try:
        p = people(bot)
        await propose_picture(bot, p["requester"])
        approvals = (await bot.services.use_cases()).approvals
        bot.clock.advance(hours=1, minutes=59)
        await approvals.expire_due()
        assert await proposal_status(bot) == ProposalStatus.PENDING
        bot.clock.advance(minutes=1)
        await approvals.expire_due()
        await approvals.expire_due()  # twice: the requester hears it once
        assert await proposal_status(bot) == ProposalStatus.EXPIRED
        expired = [m.content for m in bot.telegram.bot_messages(p["requester"])][1:]
        assert expired == [
            "Your proposal to change the picture of Family expired: nobody decided within 2 h."
        ]
        assert labels(preview(bot, ADMIN)) == [("⌛ Expired", "ap:1")]
    finally:
        await shut_down(application)


async def test_a_removal_is_proposed_after_a_confirmation_and_runs_when_approved(
    team_bot: Bot, gowa: tuple[FakeGowa, str]
):
    bot, p, fake_gowa = team_bot, people(team_bot), gowa[0]
    fake_gowa.avatars[TEAM] = "https://pps.whatsapp.net/v/team.jpg"
    question = await bot.say(p["requester"], "/delgrouppic team")
    assert question == "Propose to the admins of Team to remove its picture?"
    await p["requester"].press(
        bot.telegram.bot_messages(p["requester"])[-1], f"del:{REQUESTER}:team"
    )
    assert (await bot.answer(p["requester"])).startswith(
        "You may not make this change yourself, so I sent the removal of the picture of Team "
        "to its admins for approval (proposal 1"
    )
    copy = preview(bot, ADMIN)
    assert copy.photo is None and (copy.text or "").startswith(
        f"Rita ({REQUESTER}) proposes to remove the picture of Team (team, via gowa)."
    )
    assert fake_gowa.requests == []
    await p["admin"].press(copy, "ap:1")
    await bot.deliver()
    assert TEAM not in fake_gowa.avatars
    assert bot.telegram.bot_messages(p["admin"])[-1].content == (
        "Done: the picture of Team is removed."
    )
    assert bot.telegram.bot_messages(p["requester"])[-1].content == (
        f"Your proposal to remove the picture of Team was approved by Ada ({ADMIN}). Done."
    )


async def test_a_requester_cannot_propose_what_the_provider_cannot_do(team_bot: Bot):
    bot, p = team_bot, people(team_bot)
    assert await bot.say(p["requester"], "/delgrouppic family") == (
        "Sorry, Green API cannot remove a group picture, so nothing was changed."
    )
    assert await bot.store.proposals.get(1) is None


async def test_a_group_without_admins_sends_proposals_to_the_owners(bot: Bot):
    p = people(bot)
    await bot.store.groups.add(Group("club", "green", "120363000000000003@g.us", "Club"))
    bot.green.groups.add("120363000000000003@g.us")
    await bot.store.grants.add(REQUESTER, "club", Role.REQUESTER, granted_by=OWNER)
    assert (await propose_picture(bot, p["requester"], "club")).startswith("You may not make")
    assert (
        labels(preview(bot, OWNER))
        == labels(preview(bot, OTHER_OWNER))
        == [("Approve", "ap:1"), ("Reject", "rj:1")]
    )
    await p["other owner"].press(preview(bot, OTHER_OWNER), "ap:1")
    await bot.deliver()
    assert [r.form["groupId"] for r in bot.green.set_calls()] == ["120363000000000003@g.us"]


async def test_a_proposal_nobody_can_receive_is_closed_at_once(bot: Bot):
    p = people(bot)
    bot.telegram.block(p["admin"])  # family's only admin blocked the bot
    answer = await propose_picture(bot, p["requester"])
    assert answer == (
        "Could not propose your picture for Family: I could not reach anyone who may approve it."
    )
    assert await proposal_status(bot) == ProposalStatus.EXPIRED


async def test_the_ask_form_works_for_a_requester_too(bot: Bot):
    p = people(bot)
    question = await bot.say(p["requester"], "/setgrouppic family")
    assert question.startswith("Send me the picture you propose for Family")
    await p["requester"].send_photo(photo_bytes(800, 800))
    assert (await bot.answer(p["requester"])).startswith("You may not make this change")
    assert labels(preview(bot, ADMIN)) == [("Approve", "ap:1"), ("Reject", "rj:1")]


# notifications ---------------------------------------------------------------------------------


async def test_fan_out_reaches_everyone_but_the_blocked_the_opted_out_and_the_actor(
    team_bot: Bot,
):
    bot, p = team_bot, people(team_bot)
    bot.telegram.block(p["other owner"])
    assert (await bot.say(p["second admin"], "/notify off")).startswith("Done")
    await p["admin"].send_photo(photo_bytes(), caption="/setgrouppic family")
    assert (await bot.answer(p["admin"])).startswith("Done: Family has a new picture.")

    notice = f"Ada ({ADMIN}) changed the picture of Family via green.\nNew picture: "
    notified = {
        c.params["chat_id"]
        for c in bot.telegram.calls("sendMessage")
        if c.params["text"].startswith(notice)
    }
    assert notified == {OWNER, OTHER_OWNER, NOTIFY_CHAT}  # Otto's was tried, and failed
    assert bot.telegram.bot_messages(p["other owner"]) == []
    assert bot.telegram.bot_messages(NOTIFY_CHAT)[-1].content.startswith(notice)
    assert bot.telegram.bot_messages(p["work admin"]) == []


async def test_a_failed_change_is_announced_with_its_reason(bot: Bot):
    p = people(bot)
    bot.green.fail_next("setGroupPicture", Fault.refused("not-authorized"))
    await p["admin"].send_photo(photo_bytes(), caption="/setgrouppic family")
    await bot.deliver()
    notice = bot.telegram.bot_messages(p["owner"])[-1].content
    assert notice.startswith(
        f"Ada ({ADMIN}) tried to change the picture of Family via green, but it failed: "
    )


async def test_owners_get_one_auth_alert_per_outage_not_one_per_attempt(bot: Bot):
    p = people(bot)
    bot.green.fail_next("setGroupPicture", Fault.unauthorized(), times=2)
    for _ in range(2):
        await p["admin"].send_photo(photo_bytes(), caption="/setgrouppic family")
        assert (await bot.answer(p["admin"])).startswith("Could not change the picture")

    def alerts(user: FakeUser) -> list[str]:
        return [m.content for m in bot.telegram.bot_messages(user) if "provider green" in m.content]

    assert (
        alerts(p["owner"])
        == alerts(p["other owner"])
        == [
            "Alert: the provider green fails to authenticate: Green API refused the token (HTTP "
            "401): check api_token_instance. Every change through it fails until this is fixed; "
            "I will not repeat this alert."
        ]
    )
    assert alerts(p["admin"]) == []  # owners only
    await p["admin"].send_photo(photo_bytes(), caption="/setgrouppic family")
    assert (await bot.answer(p["admin"])).startswith("Done")
    assert alerts(p["owner"])[-1] == "The provider green works again."
    assert len(alerts(p["owner"])) == 2


async def test_two_presses_at_the_same_moment_make_one_decision(team_bot: Bot):
    """PTB may run updates concurrently: claiming must be atomic, not check-then-set."""
    bot, p = team_bot, people(team_bot)
    await propose_picture(bot, p["requester"])
    approvals = (await bot.services.use_cases()).approvals
    ada = Actor(ADMIN, ADMIN, "Ada")
    sam = Actor(SECOND_ADMIN, SECOND_ADMIN, "Sam")
    claims = await asyncio.gather(approvals.claim(ada, 1, True), approvals.claim(sam, 1, False))
    assert sorted(claim.won for claim in claims) == [False, True]
    assert [claim.verdict for claim in claims if not claim.won] == [Verdict.ALREADY_DECIDED]
