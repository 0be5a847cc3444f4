"""The admin map from chat: every command by every kind of caller, and what it changed.

Each matrix case runs one command as one of five callers (owner, admin of family, admin of
work only, requester on family, stranger) and asserts the reply, the store rows that changed
(every other row is asserted unchanged), which chats the bot wrote to and which provider calls
were made.
"""

from __future__ import annotations

import datetime as dtm
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from telegram import MessageOriginUser, User

from bot.domain import AuditEntry, AuditOutcome, Group, Role
from tests.conftest import (
    ADMIN,
    FAMILY,
    GREEN_ID,
    GREEN_TOKEN,
    LINKED_CHAT,
    OTHER_OWNER,
    OWNER,
    REQUESTER,
    STRANGER,
    WORK,
    WORK_ADMIN,
    Bot,
    raw_config,
    shut_down,
    start_bot,
)
from tests.fakes.greenapi import FakeGreenApi
from tests.fakes.telegram import FakeChat, FakeUser
from tests.pictures import photo_bytes

CALLERS = {
    "owner": OWNER,
    "admin": ADMIN,
    "other admin": WORK_ADMIN,
    "requester": REQUESTER,
    "stranger": STRANGER,
}
NEWCOMER = 444
GROUP_CHAT = -100555
CLUB_CHAT = -100777
CLUB_ID = "120363000000000003@g.us"


@dataclass(frozen=True)
class Expect:
    reply: str
    #: table -> (rows added, rows removed); the audit table only grows
    changes: dict[str, tuple[list[tuple], list[tuple]]] = field(default_factory=dict)
    #: chats that hear from the bot besides the caller's chat
    told: frozenset[int] = frozenset()
    provider_calls: int = 0
    prefix: bool = False  # the reply starts with `reply` (it ends with a URL or a date)


@dataclass(frozen=True)
class Case:
    text: str
    expect: dict[str, Expect]
    in_group_chat: bool = False
    with_photo: bool = False
    setup: Callable[[Bot], Awaitable[None]] | None = None


def _audit(
    user: int, action: str, target: str | None, outcome: str, requested_by: int | None = None
) -> tuple:
    return (user, action, target, outcome, requested_by)


def refusal(user: int, reply: str, action: str | None, target: str | None) -> Expect:
    """Nothing changes but one audit row (none for an unaudited action)."""
    changes: dict[str, tuple[list[tuple], list[tuple]]] = {}
    if action is not None:
        changes["audit"] = ([_audit(user, action, target, "refused")], [])
    return Expect(reply, changes)


def same_for(users: list[str], make: Callable[[int], Expect]) -> dict[str, Expect]:
    return {name: make(CALLERS[name]) for name in users}


OTHERS_THAN_OWNER = ["admin", "other admin", "requester", "stranger"]


async def add_club(bot: Bot) -> None:
    """A group added from chat, with a grant and a chat link of its own."""
    club = await bot.store.groups.add(Group("club", "green", CLUB_ID, "Club"))
    assert club is not None
    await bot.store.grants.add(NEWCOMER, "club", Role.ADMIN, granted_by=OWNER)
    await bot.store.links.set(CLUB_CHAT, club)


async def link_group_chat(bot: Bot) -> None:
    family = await bot.store.groups.get("family")
    assert family is not None
    await bot.store.links.set(GROUP_CHAT, family)


async def two_audit_rows(bot: Bot) -> None:
    for target in ("family", "work"):
        await bot.store.audit.add(
            AuditEntry(
                OWNER,
                OWNER,
                "set_group_picture",
                target,
                AuditOutcome.DONE,
                provider="green",
                url=f"https://pps.whatsapp.net/{target}.jpg",
                at="2025-01-02T03:04:05+00:00",
            )
        )


def map_change(
    user: int,
    reply: str,
    action: str,
    target: str,
    changes: dict[str, tuple[list[tuple], list[tuple]]],
) -> Expect:
    """A change to the map: audited, and announced to the owners other than the caller."""
    return Expect(
        reply,
        {**changes, "audit": ([_audit(user, action, target, "done")], [])},
        told=frozenset({OWNER, OTHER_OWNER} - {user}),
    )


CASES: dict[str, Case] = {
    "grant": Case(
        f"/grant {NEWCOMER} family requester",
        {
            "owner": map_change(
                OWNER,
                f"Done: granted requester on family to {NEWCOMER}.",
                "grant",
                "family",
                {"grants": ([(NEWCOMER, "family", "requester", OWNER)], [])},
            ),
            **same_for(
                OTHERS_THAN_OWNER,
                lambda user: refusal(
                    user, "Sorry, only owners may grant rights.", "grant", "family"
                ),
            ),
        },
    ),
    "revoke": Case(
        f"/revoke {REQUESTER} family",
        {
            "owner": map_change(
                OWNER,
                f"Done: revoked {REQUESTER}'s requester grant on family.",
                "revoke",
                "family",
                {"grants": ([], [(REQUESTER, "family", "requester", OWNER)])},
            ),
            **same_for(
                OTHERS_THAN_OWNER,
                lambda user: refusal(
                    user, "Sorry, only owners may revoke rights.", "revoke", "family"
                ),
            ),
        },
    ),
    "admins": Case(
        "/admins family",
        {
            **same_for(
                ["owner", "admin"],
                lambda user: Expect(
                    "Who may do what:\n"
                    f"owners (config.yaml, every right): {OWNER}, {OTHER_OWNER}\n"
                    f"family: {ADMIN} admin, {REQUESTER} requester"
                ),
            ),
            **same_for(
                ["other admin", "requester", "stranger"],
                lambda user: refusal(
                    user, "Sorry, you may not see who manages Family.", "view_grants", "family"
                ),
            ),
        },
    ),
    "groups": Case(
        "/groups",
        {
            "owner": Expect(
                "Your groups:\n"
                "family - Family\n    via green (Green API): set yes, remove no, read yes;"
                " you are owner\n"
                "work - Work\n    via green (Green API): set yes, remove no, read yes;"
                " you are owner"
            ),
            "admin": Expect(
                "Your groups:\n"
                "family - Family\n    via green (Green API): set yes, remove no, read yes;"
                " you are admin"
            ),
            "other admin": Expect(
                "Your groups:\n"
                "work - Work\n    via green (Green API): set yes, remove no, read yes;"
                " you are admin"
            ),
            "requester": Expect(
                "Your groups:\n"
                "family - Family\n    via green (Green API): set yes, remove no, read yes;"
                " you are requester"
            ),
            "stranger": Expect(
                "You may not act on any group yet. Ask an owner for access; "
                f"your Telegram id is {STRANGER}."
            ),
        },
    ),
    "addgroup": Case(
        f"/addgroup club green {CLUB_ID} Book club",
        {
            "owner": map_change(
                OWNER,
                f"Done: added the group club (Book club: {CLUB_ID} via green).",
                "add_group",
                "club",
                {"groups": ([("club", "green", CLUB_ID, "Book club", "chat")], [])},
            ),
            **same_for(
                OTHERS_THAN_OWNER,
                lambda user: refusal(
                    user, "Sorry, only owners may add groups.", "add_group", "club"
                ),
            ),
        },
    ),
    "removegroup": Case(
        "/removegroup club",
        {
            "owner": map_change(
                OWNER,
                "Done: removed the group club with its grants and chat links.",
                "remove_group",
                "club",
                {
                    "groups": ([], [("club", "green", CLUB_ID, "Club", "chat")]),
                    "grants": ([], [(NEWCOMER, "club", "admin", OWNER)]),
                    "links": ([], [(CLUB_CHAT, "club", "chat")]),
                },
            ),
            **same_for(
                OTHERS_THAN_OWNER,
                lambda user: refusal(
                    user, "Sorry, only owners may remove groups.", "remove_group", "club"
                ),
            ),
        },
        setup=add_club,
    ),
    "link": Case(
        "/link family",
        {
            **same_for(
                ["owner", "admin"],
                lambda user: map_change(
                    user,
                    f"Done: linked the chat {GROUP_CHAT} to family.",
                    "link",
                    "family",
                    {"links": ([(GROUP_CHAT, "family", "chat")], [])},
                ),
            ),
            **same_for(
                ["other admin", "requester", "stranger"],
                lambda user: refusal(
                    user, "Sorry, you may not link this chat to Family.", "link", "family"
                ),
            ),
        },
        in_group_chat=True,
    ),
    "unlink": Case(
        "/unlink",
        {
            **same_for(
                ["owner", "admin"],
                lambda user: map_change(
                    user,
                    f"Done: unlinked the chat {GROUP_CHAT} from family.",
                    "unlink",
                    "family",
                    {"links": ([], [(GROUP_CHAT, "family", "chat")])},
                ),
            ),
            **same_for(
                ["other admin", "requester", "stranger"],
                lambda user: refusal(
                    user, "Sorry, you may not unlink this chat from family.", "unlink", "family"
                ),
            ),
        },
        in_group_chat=True,
        setup=link_group_chat,
    ),
    "history": Case(
        "/history family",
        {
            **same_for(
                ["owner", "admin", "requester"],
                lambda user: Expect(
                    "History of family, newest first:\n2025-01-02 03:04 111 set group picture"
                    " family: done - https://pps.whatsapp.net/family.jpg"
                ),
            ),
            **same_for(
                ["other admin", "stranger"],
                lambda user: refusal(
                    user,
                    "Sorry, you may not see the history of 'family'.",
                    "view_history",
                    "family",
                ),
            ),
        },
        setup=two_audit_rows,
    ),
    "notify": Case(
        "/notify off",
        {
            **same_for(
                ["owner", "admin", "other admin"],
                lambda user: Expect(
                    "Done: you will no longer hear about changes made by others.",
                    {"notify_optouts": ([(user,)], [])},
                ),
            ),
            **same_for(
                ["requester", "stranger"],
                lambda user: refusal(
                    user,
                    "Sorry, you get no change notifications: they go to owners and group admins.",
                    None,
                    None,
                ),
            ),
        },
    ),
    "setgrouppic": Case(
        "/setgrouppic family",
        {
            "owner": Expect(
                "Done: Family has a new picture.\nhttps://",
                prefix=True,
                provider_calls=1,
                changes={"audit": ([_audit(OWNER, "set_group_picture", "family", "done")], [])},
                told=frozenset({OTHER_OWNER, ADMIN}),
            ),
            "admin": Expect(
                "Done: Family has a new picture.\nhttps://",
                prefix=True,
                provider_calls=1,
                changes={"audit": ([_audit(ADMIN, "set_group_picture", "family", "done")], [])},
                told=frozenset({OWNER, OTHER_OWNER}),
            ),
            "requester": Expect(
                "You may not make this change yourself, so I sent your picture for Family to "
                "its admins for approval (proposal 1, open until ",
                prefix=True,
                changes={
                    "proposals": (
                        [(1, "set_group_picture", "family", REQUESTER, REQUESTER, "pending", None)],
                        [],
                    ),
                    "proposal_messages": ([(1, ADMIN)], []),
                    "audit": ([_audit(REQUESTER, "set_group_picture", "family", "proposed")], []),
                },
                told=frozenset({ADMIN}),
            ),
            **same_for(
                ["other admin", "stranger"],
                lambda user: refusal(
                    user,
                    "Sorry, you may not change the picture of Family.",
                    "set_group_picture",
                    "family",
                ),
            ),
        },
        with_photo=True,
    ),
}


def diff(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> dict:
    changed = {}
    for table in before:
        added = [row for row in after[table] if row not in before[table]]
        removed = [row for row in before[table] if row not in after[table]]
        if added or removed:
            changed[table] = (added, removed)
    return changed


@pytest.fixture
async def offline_bot(tmp_path) -> AsyncIterator[Bot]:
    """The bot with an unserved Green API: these commands must not call the provider (a call
    would fail, and the case with it). Saves starting a server for each of the many cases."""
    fake = FakeGreenApi(id_instance=GREEN_ID, token=GREEN_TOKEN, groups={FAMILY, WORK})
    started, application = await start_bot(raw_config(tmp_path, "http://127.0.0.1:9"), fake)
    yield started
    await shut_down(application)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("command", [name for name, case in CASES.items() if not case.with_photo])
async def test_role_matrix(offline_bot: Bot, command: str, caller: str):
    await run_case(offline_bot, CASES[command], caller)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("command", [name for name, case in CASES.items() if case.with_photo])
async def test_role_matrix_with_a_photo(bot: Bot, command: str, caller: str):
    await run_case(bot, CASES[command], caller)


async def run_case(bot: Bot, case: Case, caller: str) -> None:
    expect = case.expect[caller]
    people = {user_id: bot.user(user_id, name.title()) for name, user_id in CALLERS.items()}
    bot.user(OTHER_OWNER, "Otto")
    chat = bot.telegram.group_chat(GROUP_CHAT, "Chat") if case.in_group_chat else None
    if case.setup:
        await case.setup(bot)
    before, sent_before = bot.tables(), len(bot.sent_to())
    user = people[CALLERS[caller]]

    if case.with_photo:
        await user.send_photo(photo_bytes(900, 900), caption=case.text, chat=chat)
    else:
        await user.send(case.text, chat=chat)
    reply = await bot.answer(chat or user)

    if expect.prefix:
        assert reply.startswith(expect.reply), reply
    else:
        assert reply == expect.reply
    assert diff(before, bot.tables()) == expect.changes
    caller_chat = chat.id if chat else user.id
    assert set(bot.sent_to()[sent_before:]) == {caller_chat, *expect.told}
    assert len(bot.green.set_calls()) == expect.provider_calls


def test_the_matrix_covers_every_caller_for_every_command():
    assert all(set(case.expect) == set(CALLERS) for case in CASES.values())


# the details ---------------------------------------------------------------------------------


async def test_grant_to_the_author_of_a_replied_message(bot: Bot):
    owner, newcomer = bot.user(OWNER, "Olga"), bot.user(NEWCOMER, "Nina")
    chat = bot.telegram.group_chat(GROUP_CHAT, "Chat")
    hello = await newcomer.send("hello", chat=chat)
    answer = await bot.say(owner, "/grant work admin", chat=chat, reply_to=hello)
    assert answer == f"Done: granted admin on work to Nina ({NEWCOMER})."
    assert [(g.scope, g.role) for g in await bot.store.grants.of(NEWCOMER)] == [
        ("work", Role.ADMIN)
    ]
    # a second grant on the same scope replaces the role, and says so
    assert await bot.say(owner, f"/grant {NEWCOMER} work requester") == (
        f"Done: granted requester on work to {NEWCOMER} (was admin)."
    )


async def test_grant_to_the_author_of_a_forwarded_message_not_its_forwarder(bot: Bot):
    owner, newcomer = bot.user(OWNER, "Olga"), bot.user(NEWCOMER, "Nina")
    forwarder = bot.user(STRANGER, "Mallory")
    chat = bot.telegram.group_chat(GROUP_CHAT, "Chat")
    forwarded = await forwarder.forward("hi", bot.telegram.origin(newcomer), chat=chat)
    answer = await bot.say(owner, "/grant work admin", chat=chat, reply_to=forwarded)
    assert answer == f"Done: granted admin on work to Nina ({NEWCOMER})."
    assert [g.scope for g in await bot.store.grants.of(NEWCOMER)] == ["work"]
    assert await bot.store.grants.of(STRANGER) == []


async def test_a_forward_that_names_no_person_grants_nobody(bot: Bot):
    owner, forwarder = bot.user(OWNER, "Olga"), bot.user(STRANGER, "Mallory")
    chat = bot.telegram.group_chat(GROUP_CHAT, "Chat")
    channel = bot.telegram.channel(-100888, "News")
    other_group = bot.telegram.group_chat(-100889, "Elsewhere")
    before = bot.tables()
    cases: dict[FakeUser | FakeChat | str, str] = {
        "Nina": "the author of that message hides their account, so Telegram does not tell me "
        "who they are",
        channel: "that message was forwarded from a chat or channel, not from a person",
        other_group: "that message was forwarded from a chat or channel, not from a person",
    }
    for origin, reason in cases.items():
        forwarded = await forwarder.forward("hi", bot.telegram.origin(origin), chat=chat)
        answer = await bot.say(owner, "/grant work admin", chat=chat, reply_to=forwarded)
        assert answer.startswith(f"Sorry, {reason}"), answer
        assert "numeric Telegram id" in answer
    by_a_bot = MessageOriginUser(dtm.datetime.now(dtm.UTC), User(NEWCOMER, "Helper", is_bot=True))
    forwarded = await forwarder.forward("hi", by_a_bot, chat=chat)
    answer = await bot.say(owner, "/grant work admin", chat=chat, reply_to=forwarded)
    assert answer == "Sorry, that message is a bot's; reply to a message of the person."
    # a channel post that Telegram copies into the channel's discussion group (from user 777000)
    post = bot.telegram.automatic_forward(channel, chat, "news")
    answer = await bot.say(owner, "/grant work admin", chat=chat, reply_to=post)
    assert answer.startswith("Sorry, that message was forwarded from a chat or channel")
    assert bot.tables() == before


async def test_a_message_posted_as_a_chat_grants_nobody(bot: Bot):
    owner, someone = bot.user(OWNER, "Olga"), bot.user(NEWCOMER, "Nina")
    chat = bot.telegram.group_chat(GROUP_CHAT, "Chat")
    before = bot.tables()
    anonymous = await someone.send("hello", chat=chat, anonymously=True)
    answer = await bot.say(owner, "/grant work admin", chat=chat, reply_to=anonymous)
    assert answer.startswith("Sorry, that message was posted as a chat or channel")
    assert bot.tables() == before


@pytest.mark.parametrize(
    ("user", "reason"),
    [
        ("1" * 23, f"'{'1' * 23}' is too big for a Telegram user id (they fit in 52 bits"),
        (str(2**52), f"'{2**52}' is too big for a Telegram user id"),
        ("0", "a user id does not start with 0"),
        ("0444", "a user id does not start with 0"),
        ("-444", "a user id is a positive number; a negative one is a group or channel"),
        ("١٢٣", "a user id is a number, such as 222222222; '١٢٣' is not one"),
    ],
)
async def test_a_user_id_out_of_telegrams_range_is_refused_plainly(
    bot: Bot, user: str, reason: str
):
    owner = bot.user(OWNER, "Olga")
    before = bot.tables()
    for command in (f"/grant {user} family admin", f"/revoke {user} family"):
        assert (await bot.say(owner, command)).startswith(f"Sorry, {reason}")
    assert bot.tables() == before
    assert not any("went wrong" in m.content for m in bot.telegram.bot_messages(owner))


async def test_usernames_cannot_be_resolved_and_the_bot_says_so(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    before = bot.tables()
    answer = await bot.say(owner, "/grant @nina family admin")
    assert answer.startswith("Sorry, I cannot look up @nina: a bot cannot resolve usernames.")
    assert "reply to one of their messages" in answer
    assert bot.tables() == before


async def test_grant_refuses_what_makes_no_sense(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    before = bot.tables()["grants"]
    assert await bot.say(owner, f"/grant {NEWCOMER} nope admin") == (
        "Sorry, there is no group called 'nope'."
    )
    assert await bot.say(owner, f"/grant {NEWCOMER} family owner") == (
        "Sorry, a role is admin or requester, not 'owner'."
    )
    assert await bot.say(owner, f"/grant {ADMIN} family admin") == (
        f"Sorry, {ADMIN} already is admin on family."
    )
    assert await bot.say(owner, f"/grant {OTHER_OWNER} * admin") == (
        f"Sorry, {OTHER_OWNER} is an owner (config.yaml) and may do everything."
    )
    assert await bot.say(owner, f"/revoke {NEWCOMER} family") == (
        f"Sorry, {NEWCOMER} has no grant on family."
    )
    assert (await bot.say(owner, "/grant family")).startswith(
        "Sorry, that is not how it goes. Usage: /grant <user id>"
    )
    assert bot.tables()["grants"] == before


async def test_a_wildcard_grant_covers_every_group(bot: Bot):
    owner, newcomer = bot.user(OWNER, "Olga"), bot.user(NEWCOMER, "Nina")
    assert await bot.say(owner, f"/grant {NEWCOMER} * admin") == (
        f"Done: granted admin on * to {NEWCOMER}."
    )
    assert (await bot.say(newcomer, "/groups")).count("you are admin") == 2


@pytest.mark.parametrize(
    ("chat_id", "problem"),
    [
        ("79001234567@c.us", "that is a person's id; a WhatsApp group id ends in @g.us"),
        ("hello", "a WhatsApp group id looks like"),
    ],
)
async def test_addgroup_checks_the_chat_id_format(bot: Bot, chat_id: str, problem: str):
    owner = bot.user(OWNER, "Olga")
    before = bot.tables()["groups"]
    answer = await bot.say(owner, f"/addgroup club green {chat_id}")
    assert answer.startswith(f"Sorry, '{chat_id}' is no group id for Green API: {problem}")
    assert bot.tables()["groups"] == before


async def test_addgroup_takes_both_whatsapp_id_forms_and_refuses_taken_names(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    assert (await bot.say(owner, "/addgroup old green 79001234567-1581234048@g.us")).startswith(
        "Done: added the group old (old: 79001234567-1581234048@g.us via green)"
    )
    assert await bot.say(owner, f"/addgroup family green {CLUB_ID}") == (
        "Sorry, family is a group of config.yaml; choose another alias."
    )
    assert await bot.say(owner, f"/addgroup old green {CLUB_ID}") == (
        "Sorry, there already is a group called old."
    )
    assert await bot.say(owner, f"/addgroup twin green {FAMILY}") == (
        "Sorry, that group is already known as family."
    )
    assert await bot.say(owner, f"/addgroup club gone {CLUB_ID}") == (
        "Sorry, there is no provider called 'gone'. Configured: green."
    )
    assert await bot.say(owner, f"/addgroup Bad/Name green {CLUB_ID}") == (
        "Sorry, an alias is 1-32 lowercase letters, digits, - or _."
    )
    assert [g.alias for g in await bot.store.groups.all()] == ["family", "old", "work"]


async def test_addgroup_checks_max_ids_for_a_max_provider(tmp_path, green):
    fake, url = green
    raw = raw_config(tmp_path, url)
    raw["providers"]["max"] = {**raw["providers"]["green"], "product": "max"}
    bot, application = await start_bot(raw, fake)
    try:
        owner = bot.user(OWNER, "Olga")
        assert (await bot.say(owner, "/addgroup chess max 12345")).startswith(
            "Sorry, '12345' is no group id for Green API: a MAX group id is a negative number"
        )
        assert (await bot.say(owner, "/addgroup chess max -10000000000001")).startswith(
            "Done: added the group chess (chess: -10000000000001 via max)"
        )
    finally:
        await shut_down(application)


async def test_config_groups_and_links_are_refused_with_the_reason(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    chat = bot.telegram.group_chat(LINKED_CHAT, "Family chat")
    before = bot.tables()
    assert await bot.say(owner, "/removegroup family") == (
        "Sorry, family comes from config.yaml; remove it there."
    )
    assert await bot.say(owner, "/unlink", chat=chat) == (
        "Sorry, this chat's link to family comes from config.yaml; change it there."
    )
    assert await bot.say(owner, "/link work", chat=chat) == (
        "Sorry, this chat's link to family comes from config.yaml; change it there."
    )
    assert {k: v for k, v in bot.tables().items() if k != "audit"} == {
        k: v for k, v in before.items() if k != "audit"
    }


async def test_a_linked_chat_uses_its_group_and_unlink_forgets_it(bot: Bot):
    admin = bot.user(ADMIN, "Ada")
    chat = bot.telegram.group_chat(GROUP_CHAT, "Chat")
    bot.green.set_avatar(FAMILY, "https://pps.whatsapp.net/v/family.jpg")
    assert await bot.say(admin, "/link family", chat=chat) == (
        f"Done: linked the chat {GROUP_CHAT} to family."
    )
    assert await bot.say(admin, "/grouppic", chat=chat) == (
        "The picture of Family:\nhttps://pps.whatsapp.net/v/family.jpg"
    )
    assert await bot.say(admin, "/unlink", chat=chat) == (
        f"Done: unlinked the chat {GROUP_CHAT} from family."
    )
    assert await bot.say(admin, "/unlink", chat=chat) == (
        "Sorry, this chat is not linked to a group."
    )


async def test_removing_a_group_takes_its_grants_along_so_a_new_one_starts_clean(bot: Bot):
    owner = bot.user(OWNER, "Olga")
    await add_club(bot)
    await bot.say(owner, "/removegroup club")
    await bot.say(owner, f"/addgroup club green {CLUB_ID}")
    club = await bot.store.groups.get("club")
    assert club is not None
    assert await bot.store.grants.covering(club) == []
    assert await bot.store.links.of(CLUB_CHAT) is None


async def test_history_shows_only_what_the_caller_may_see_newest_first(bot: Bot):
    await two_audit_rows(bot)
    admin, owner = bot.user(ADMIN, "Ada"), bot.user(OWNER, "Olga")
    assert await bot.say(admin, "/history") == (
        "History, newest first:\n2025-01-02 03:04 111 set group picture family: done"
        " - https://pps.whatsapp.net/family.jpg"
    )
    answer = await bot.say(owner, "/history 2")
    lines = answer.splitlines()[1:]
    assert len(lines) == 2
    assert "work: done" in lines[0] and "family: done" in lines[1]
    # one row a page: the newer row, then a page line and ▶ to the older one
    newest = (await bot.say(owner, "/history 1")).splitlines()
    assert len(newest) == 3 and "work: done" in newest[1] and newest[2] == "Page 1"
    page = bot.telegram.bot_messages(owner)[-1]
    await owner.press(page, page.callback_data("▶"))
    await bot.deliver()
    older = page.content.splitlines()
    assert len(older) == 3 and "family: done" in older[1] and older[2] == "Page 2"
    assert [button["text"] for button in page.buttons()] == ["◀"]
    assert await bot.say(bot.user(STRANGER, "Mallory"), "/history") == (
        "Sorry, you may not see any history."
    )


async def test_notify_off_silences_change_notices_and_on_brings_them_back(bot: Bot):
    owner, admin = bot.user(OWNER, "Olga"), bot.user(ADMIN, "Ada")
    assert await bot.say(admin, "/notify") == (
        "Change notifications are on for you. /notify off turns them off."
    )
    await bot.say(admin, "/notify off")
    await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
    await bot.deliver()
    assert [m.content for m in bot.telegram.bot_messages(admin)][-1].startswith("Done: you will")
    assert await bot.say(admin, "/notify on") == (
        "Done: you will hear about every change to the groups you manage."
    )
    await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
    await bot.deliver()
    assert bot.telegram.bot_messages(admin)[-1].content.startswith(
        f"Olga ({OWNER}) changed the picture of Family via green."
    )


async def test_help_lists_the_admin_commands_for_those_who_may_use_them(bot: Bot):
    owner_help = await bot.say(bot.user(OWNER, "Olga"), "/help")
    for command in (
        "/grant",
        "/revoke",
        "/addgroup",
        "/removegroup",
        "/admins",
        "/history",
        "/link",
        "/unlink",
        "/notify",
        "/groups",
    ):
        assert command in owner_help
    admin_help = await bot.say(bot.user(ADMIN, "Ada"), "/help")
    assert "/link" in admin_help and "/admins" in admin_help and "/notify" in admin_help
    assert "/grant" not in admin_help and "/addgroup" not in admin_help
    requester_help = await bot.say(bot.user(REQUESTER, "Rita"), "/help")
    assert "you may propose for: family" in requester_help
    assert "/history" in requester_help and "/link" not in requester_help
    assert {
        "grant",
        "revoke",
        "admins",
        "groups",
        "addgroup",
        "removegroup",
        "link",
        "unlink",
        "history",
        "notify",
    } <= set(bot.menu())
