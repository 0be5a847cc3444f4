"""Watching each account's own picture (bot/watch.py): a Green API account's own picture changed
outside the bot is seen at the next turn and handled as the provider entry's `guard:` (or the
owners' `/guard <provider>`) says; only the owners hear of it; the bot's own change is no news."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from bot.domain import Action, How
from bot.images import prepare_picture
from tests.conftest import (
    ADMIN,
    OTHER_OWNER,
    OWNER,
    Bot,
    Cdn,
    raw_config,
    shut_down,
    start_bot,
)
from tests.pictures import photo_bytes
from tests.test_watch import INTERVAL, next_turn, photos_to
from tests.test_watch import watching as watching_family

OWN = "79876543210@c.us"  # the fake Green API account's own chat id (getSettings)
FIRST = photo_bytes(900, 900)
PUT_BACK = "Put back the earlier picture"


async def watching(tmp_path, green, cdn: Cdn, guard: str | None = None) -> AsyncIterator[Bot]:
    """tests/test_watch.py's bot watching Family, with the Green API account's own picture
    FIRST (read half an interval after Family's) under the provider entry's `guard`."""
    green[0].set_avatar(OWN, cdn.put("own", FIRST))
    async for bot in watching_family(tmp_path, green, cdn, account_guard=guard):
        yield bot


@pytest.fixture
async def bot(tmp_path, green, cdn) -> AsyncIterator[Bot]:
    async for started in watching(tmp_path, green, cdn):
        yield started


async def test_the_accounts_picture_changed_outside_is_told_to_the_owners(bot: Bot, cdn: Cdn):
    outside = photo_bytes(700, 500)
    bot.green.set_avatar(OWN, cdn.put("second", outside))
    await next_turn(bot)

    for owner in (OWNER, OTHER_OWNER):
        [notice] = photos_to(bot, owner)
        assert notice.photo == prepare_picture(outside).jpeg
        assert notice.caption.startswith(
            "The picture of the WhatsApp account (green) was changed outside the bot (seen"
        )
        assert notice.caption.endswith("To put the earlier picture back: /undoprofilepic green")
    assert bot.telegram.bot_messages(ADMIN) == [], "a group's admin has no say over the account"
    [record] = await bot.store.pictures.latest("account:green")
    assert (record.how, record.action, record.group_id) == (
        How.OUTSIDE,
        Action.SET_OWN_PICTURE.value,
        None,
    )

    olga = bot.user(OWNER, "Olga")
    [notice] = photos_to(bot, OWNER)
    await olga.press(notice, notice.callback_data(PUT_BACK))
    await bot.deliver()
    [put_back] = bot.green.calls("setProfilePicture")
    assert put_back.file == prepare_picture(FIRST).jpeg  # the exact earlier bytes


async def test_restore_from_the_provider_entry_puts_back_the_exact_bytes(tmp_path, green, cdn: Cdn):
    async for bot in watching(tmp_path, green, cdn, guard="restore"):
        bot.green.set_avatar(OWN, cdn.put("second", photo_bytes(700, 500)))
        await next_turn(bot)
        [put_back] = bot.green.calls("setProfilePicture")
        assert put_back.file == prepare_picture(FIRST).jpeg
        [row] = await bot.store.audit.latest(limit=5)
        assert (row.user_id, row.action, row.target, row.outcome) == (
            0,
            "set_own_picture",
            "account:green",
            "done",
        )
        assert not photos_to(bot, OWNER), "a restore is told as a change, not as a photo"


async def test_owners_choose_the_accounts_guard_from_chat(bot: Bot, cdn: Cdn):
    olga, ada = bot.user(OWNER, "Olga"), bot.user(ADMIN, "Ada")
    assert await bot.say(ada, "/guard green off") == (
        "Sorry, only the owners may choose the guard of an account's own picture."
    )
    assert await bot.say(olga, "/guard green") == (
        "Pictures of the WhatsApp account (green) changed outside the bot: notify: tell the admins."
    )
    assert await bot.say(olga, "/guard green off") == (
        "Pictures of the WhatsApp account (green) changed outside the bot:"
        " off: keep it in the history only."
    )
    rows = [
        (r.user_id, r.action, r.target, r.outcome) for r in await bot.store.audit.latest(limit=2)
    ]
    assert rows == [
        (OWNER, "guard", "account:green", "done"),
        (ADMIN, "guard", "account:green", "refused"),
    ]

    bot.green.set_avatar(OWN, cdn.put("second", photo_bytes(700, 500)))
    await next_turn(bot)
    assert not photos_to(bot, OWNER)
    [record] = await bot.store.pictures.latest("account:green")
    assert record.how is How.OUTSIDE


async def test_the_bots_own_change_of_the_accounts_picture_is_never_reported(bot: Bot, cdn: Cdn):
    olga = bot.user(OWNER, "Olga")
    await olga.send_photo(photo_bytes(), caption="/setprofilepic green")
    assert (await bot.answer(olga)).startswith("Done")
    [upload] = bot.green.calls("setProfilePicture")
    bot.green.set_avatar(OWN, cdn.put("ours", upload.file or b""))  # as WhatsApp serves it
    await next_turn(bot)
    await next_turn(bot)
    assert not photos_to(bot, OWNER)
    assert "outside" not in "".join(m.content for m in bot.telegram.bot_messages(OWNER))


async def test_groups_shows_the_owners_the_accounts_guards(bot: Bot):
    olga, ada = bot.user(OWNER, "Olga"), bot.user(ADMIN, "Ada")
    line = "Accounts' own pictures changed outside the bot: green: notify"
    assert line in (await bot.say(olga, "/groups")).splitlines()
    assert "Accounts'" not in await bot.say(ada, "/groups"), "the account is the owners' affair"
    await bot.say(olga, "/guard green restore")
    assert "Accounts' own pictures changed outside the bot: green: restore" in (
        await bot.say(olga, "/groups")
    )


async def test_many_accounts_guards_fit_in_groups_beside_a_full_page(tmp_path, green):
    fake, url = green
    raw = raw_config(tmp_path, url, watch={"interval_seconds": INTERVAL})
    green_entry = raw["providers"]["green"]
    raw["providers"] = {f"whatsapp-account-{n:03}": dict(green_entry) for n in range(60)}
    raw["groups"] = {
        f"group-{n:02}": {
            "provider": "whatsapp-account-000",
            "chat_id": f"1203630{n:08}@g.us",
            "title": "A title as long as a group may have it " * 3,
        }
        for n in range(25)
    }
    raw.pop("links")
    bot, application = await start_bot(raw, fake)
    try:
        answer = await bot.say(bot.user(OWNER, "Olga"), "/groups")  # the fake refuses > 4,096
        [line] = [line for line in answer.splitlines() if line.startswith("Accounts'")]
        cut = re.fullmatch(
            r"Accounts' own pictures changed outside the bot: (.*) … and (\d+) more", line
        )
        assert cut is not None, line
        shown, more = cut.groups()
        assert shown.startswith("whatsapp-account-000: notify, whatsapp-account-001: notify")
        assert len(shown.split(", ")) + int(more) == 60
        assert "Page 1 of 2" in answer
    finally:
        await shut_down(application)
