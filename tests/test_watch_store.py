"""What watching keeps (bot/store/watched.py), on SQLite and on PostgreSQL: a change seen
outside the bot is taken by one reader only, as by one of two instances sharing the store; a
group's picture and an account's own are kept apart; what a store of version 15 knew stays."""

from __future__ import annotations

from bot.domain import Action, Before, Group, Guard, How
from bot.store import Store
from bot.store.watched import Known, Spot
from tests.test_store import at_version

FIRST = Known(Before.PICTURE, "a" * 64, b"\xff\xd8first", 640, 0, "https://pp/1")


async def test_a_change_is_taken_once_and_kept_as_made_outside(store_target):
    store = await Store.open(store_target)
    try:
        await store.groups.sync_config([Group("family", "green", "1@g.us", "Family")], {})
        family = await store.groups.get("family")
        assert family is not None and family.id is not None
        spot = Spot(f"group:{family.id}", family.id, "green")
        assert await store.watched.state(spot) == (0, False)
        await store.watched.baseline(spot, FIRST)
        assert await store.watched.get(spot) == FIRST

        seen = Known(Before.NONE, None, None, None, 0)
        assert await store.watched.changed(spot, FIRST, seen)  # this instance's read
        assert not await store.watched.changed(spot, FIRST, seen)  # the other's: too late
        record = await store.pictures.outside(
            target_key=spot.key,
            group_id=family.id,
            target="family",
            provider="green",
            action=Action.DELETE_GROUP_PICTURE,
            before_state=Before.PICTURE,
            before_jpeg=FIRST.jpeg,
            before_side=640,
            after_jpeg=None,
            after_side=None,
            by=None,
            keep=10,
        )
        assert await store.watched.state(spot) == (record, False)
        [kept] = await store.pictures.latest(spot.key)
        assert (kept.how, kept.action, kept.before_jpeg) == (
            How.OUTSIDE,
            "delete_group_picture",
            FIRST.jpeg,
        )
        assert await store.pictures.outside_since(spot.key, "2000-01-01") == 1

        assert await store.watched.guard(spot) is None
        await store.watched.set_guard(spot, Guard.RESTORE)
        assert await store.watched.guard(spot) is Guard.RESTORE
    finally:
        await store.close()


async def test_an_accounts_own_picture_is_kept_apart_from_its_groups(store_target):
    store = await Store.open(store_target)
    try:
        await store.groups.sync_config([Group("family", "green", "1@g.us", "Family")], {})
        family = await store.groups.get("family")
        assert family is not None and family.id is not None
        group, account = (
            Spot(f"group:{family.id}", family.id, "green"),
            Spot("account:green", None, "green"),
        )
        await store.watched.baseline(group, FIRST)
        assert await store.watched.get(account) is None
        own = Known(Before.NONE, None, None, None, 0)
        await store.watched.baseline(account, own)
        assert (await store.watched.get(account), await store.watched.get(group)) == (own, FIRST)

        await store.watched.set_guard(account, Guard.OFF)
        assert (await store.watched.guard(account), await store.watched.guard(group)) == (
            Guard.OFF,
            None,
        )
        await store.watched.set_guard(account, Guard.RESTORE)  # chosen again: the newer wins
        assert await store.watched.guard(account) is Guard.RESTORE
    finally:
        await store.close()


async def test_what_version_15_knew_of_a_group_is_kept_by_the_upgrade(store_target):
    await at_version(
        store_target,
        15,
        "INSERT INTO groups (alias, provider, chat_id, title, source)"
        " VALUES ('family', 'green', '1@g.us', 'Family', 'config')",
        "INSERT INTO watched (group_id, state, hash, mark, url, seen_at)"
        " VALUES ((SELECT id FROM groups WHERE alias = 'family'), 'picture', 'abc', 7,"
        " 'https://pp/1', '2026-12-07T10:00:00+00:00')",
    )
    store = await Store.open(store_target)
    try:
        family = await store.groups.get("family")
        assert family is not None and family.id is not None
        kept = await store.watched.get(Spot(f"group:{family.id}", family.id, "green"))
        assert kept == Known(Before.PICTURE, "abc", None, None, 7, "https://pp/1")
    finally:
        await store.close()
