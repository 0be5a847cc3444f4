"""Crashes where lists, proposals and times meet (issue 21): SIGKILL at the moment that lost
work before, then a restart. Write down, then act, then tell: whatever was promised but not
yet shown is shown after the restart, and nothing is told twice."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import NamedTuple

from tests.bot_process import (
    BotProcess,
    running_bot,
    secrets_from_environment,
    spawn_bot,
    write_config,
)
from tests.conftest import (
    BOT_TOKEN,
    FAMILY,
    GREEN_ID,
    GREEN_TOKEN,
    OTHER_OWNER,
    OWNER,
    REQUESTER,
    WORK,
    raw_config,
)
from tests.fakes.greenapi import FakeGreenApi, Fault
from tests.fakes.serve import serve
from tests.fakes.telegram import BotMessage, FakeTelegram, FakeUser
from tests.pictures import photo_bytes
from tests.test_e2e_crash import ENV, kill, rows
from tests.test_reliability import until


class Stage(NamedTuple):
    telegram: FakeTelegram
    green: FakeGreenApi
    owner: FakeUser
    other_owner: FakeUser
    requester: FakeUser
    config: Path
    database: str
    started: list[BotProcess]

    async def spawn(self) -> BotProcess:
        """The bot, killed at the end of the stage if a failing test left it running."""
        self.started.append(await spawn_bot(self.config, self.telegram, ENV))
        return self.started[-1]


@asynccontextmanager
async def stage(tmp_path: Path, *, slow_upload: bool = False) -> AsyncIterator[Stage]:
    """Fake Telegram and Green API (family and work) and a bot config for them; Rita may
    propose changes to both groups (so the two owners decide her lists)."""
    telegram = FakeTelegram(token=BOT_TOKEN)
    green = FakeGreenApi(id_instance=GREEN_ID, token=GREEN_TOKEN, groups={FAMILY, WORK})
    people = (
        telegram.user(OWNER, "Olga"),
        telegram.user(OTHER_OWNER, "Otto"),
        telegram.user(REQUESTER, "Rita"),
    )
    async with serve(telegram.app) as api, serve(green.app) as green_url:
        raw = secrets_from_environment(raw_config(tmp_path, green_url), api)
        if slow_upload:  # Green API holds the first upload for a minute (the bot waits)
            raw["providers"]["green"]["timeout_seconds"] = 60
            green.fail_next("setGroupPicture", Fault.slow(60))
        config = write_config(tmp_path, raw)
        started: list[BotProcess] = []
        try:
            yield Stage(telegram, green, *people, config, raw["storage"]["path"], started)
        finally:
            for bot in started:
                if bot.process.returncode is None:
                    await kill(bot)


async def grant_rita(stage: Stage) -> None:
    for group in ("family", "work"):
        await stage.owner.send(f"/grant {REQUESTER} {group} requester")
        await stage.telegram.wait_for_bot_message(stage.owner, contains=f"{group}", timeout=20)


async def asked(telegram: FakeTelegram, user: FakeUser) -> BotMessage:
    """The bot's question to `user` with buttons (a list's plan)."""
    return await telegram.wait_for_bot_message(
        user, predicate=lambda m: bool(m.buttons()), timeout=20
    )


async def press(user: FakeUser, message: BotMessage, label: str) -> None:
    await user.press(message, message.callback_data(label))


async def test_a_proposal_whose_copies_a_crash_cut_off_reaches_everyone_after_it(tmp_path):
    async with stage(tmp_path) as s:
        first = await s.spawn()
        await grant_rita(s)
        lost = s.telegram.lose_call("sendPhoto", s.other_owner)  # Otto's copy hangs
        await s.requester.send_photo(photo_bytes(), caption="/setgrouppic family,work")
        plan = await asked(s.telegram, s.requester)
        await press(s.requester, plan, "Propose them")
        await until(lambda: len(s.telegram.calls("sendPhoto")) == 2, timeout=20)
        await kill(first)  # Olga has her copy, Otto's was on its way
        lost()

        async with running_bot(s.config, s.telegram, ENV):
            copy = await s.telegram.wait_for_bot_message(s.other_owner, contains="proposes")
        copies = [m for m in s.telegram.bot_messages(s.owner) if "proposes" in m.content]
        assert len(copies) == 1  # Olga's, sent before the crash, not again
        assert [b["text"] for b in copy.buttons()] == ["Approve", "Reject"]
        assert rows(s.database, "SELECT status, sent FROM proposals") == [("pending", 1)]


async def test_a_decision_a_crash_left_unshown_is_shown_after_it(tmp_path):
    async with stage(tmp_path) as s:
        first = await s.spawn()
        await grant_rita(s)
        await s.requester.send_photo(photo_bytes(), caption="/setgrouppic family,work")
        plan = await asked(s.telegram, s.requester)
        await press(s.requester, plan, "Propose them")
        olgas = await s.telegram.wait_for_bot_message(s.owner, contains="proposes", timeout=20)
        ottos = await s.telegram.wait_for_bot_message(s.other_owner, contains="proposes")
        lost = s.telegram.lose_call("editMessageReplyMarkup", s.other_owner)
        await press(s.owner, olgas, "Approve")
        await until(
            lambda: any(
                str(c.params.get("chat_id")) == str(OTHER_OWNER)
                for c in s.telegram.calls("editMessageReplyMarkup")
            ),
            timeout=20,
        )
        await kill(first)  # Otto's copy still offers Approve / Reject
        lost()

        async with running_bot(s.config, s.telegram, ENV):
            await until(lambda: [b["text"] for b in ottos.buttons()] == ["✅ Approved by Olga"])
            await until(lambda: {r.form["groupId"] for r in s.green.set_calls()} == {FAMILY, WORK})
        assert [b["text"] for b in olgas.buttons()] == ["✅ Approved by Olga"]


async def test_a_lists_summary_a_crash_cut_off_is_shown_after_it(tmp_path):
    async with stage(tmp_path) as s:
        first = await s.spawn()
        lost = s.telegram.lose_call(
            "editMessageText", s.owner, lambda params: str(params.get("text")).startswith("Done")
        )
        await s.owner.send_photo(photo_bytes(), caption="/setgrouppic family,work")
        plan = await asked(s.telegram, s.owner)
        await press(s.owner, plan, "Change them")
        await until(
            lambda: any(
                str(c.params.get("text")).startswith("Done")
                for c in s.telegram.calls("editMessageText")
            ),
            timeout=20,
        )
        await kill(first)  # both changes done, the summary on its way
        lost()
        assert not plan.content.startswith("Done")

        async with running_bot(s.config, s.telegram, ENV):
            await until(lambda: plan.content.startswith("Done: 2 of 2 groups changed"))
        assert rows(s.database, "SELECT status FROM bulks") == [("done",)]


async def test_a_scheduled_lists_outcomes_are_told_once_after_a_crash(tmp_path):
    async with stage(tmp_path, slow_upload=True) as s:
        first = await s.spawn()
        await s.owner.send_photo(photo_bytes(), caption="/setgrouppic family,work in 1s")
        plan = await asked(s.telegram, s.owner)
        await press(s.owner, plan, "Change them")
        await until(lambda: s.green.set_calls(), timeout=20)  # the first upload hangs
        await kill(first)

        async with running_bot(s.config, s.telegram, ENV):
            await until(
                lambda: rows(s.database, "SELECT status FROM schedules") == [("done",)] * 2,
                timeout=30,
            )
            await until(lambda: len(told(s.owner)) == 2, timeout=10)
            await asyncio.sleep(1)  # time for a wrong second report to show up, if any
        assert sorted(told(s.owner)) == [
            f"Done: Family has a new picture.\n{s.green.avatar_of(FAMILY)}",
            f"Done: Work has a new picture.\n{s.green.avatar_of(WORK)}",
        ]


def told(user: FakeUser) -> list[str]:
    """The outcomes the bot told `user`, each once per message."""
    return [m.content for m in user.fake.bot_messages(user) if "has a new picture" in m.content]
