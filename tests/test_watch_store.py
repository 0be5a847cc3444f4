"""What watching keeps (bot/store/watched.py), on SQLite and on PostgreSQL: a change seen
outside the bot is taken by one reader only, as by one of two instances sharing the store."""

from __future__ import annotations

from bot.domain import Before, Group, Guard, How
from bot.store import Store
from bot.store.watched import Known


async def test_a_change_is_taken_once_and_kept_as_made_outside(store_target):
    store = await Store.open(store_target)
    try:
        await store.groups.sync_config([Group("family", "green", "1@g.us", "Family")], {})
        family = await store.groups.get("family")
        assert family is not None and family.id is not None
        assert await store.watched.state(family.id) == (0, False)
        first = Known(Before.PICTURE, "a" * 64, b"\xff\xd8first", 640, 0, "https://pp/1")
        await store.watched.baseline(family.id, first)
        assert await store.watched.get(family.id) == first

        seen = Known(Before.NONE, None, None, None, 0)
        assert await store.watched.changed(family.id, first, seen)  # this instance's read
        assert not await store.watched.changed(family.id, first, seen)  # the other's: too late
        record = await store.pictures.outside(
            group_id=family.id,
            target="family",
            provider="green",
            before_state=Before.PICTURE,
            before_jpeg=first.jpeg,
            before_side=640,
            after_jpeg=None,
            after_side=None,
            by=None,
            keep=10,
        )
        assert await store.watched.state(family.id) == (record, False)
        [kept] = await store.pictures.latest(f"group:{family.id}")
        assert (kept.how, kept.action, kept.before_jpeg) == (
            How.OUTSIDE,
            "delete_group_picture",
            first.jpeg,
        )
        assert await store.pictures.outside_since(family.id, "2000-01-01") == 1

        assert await store.watched.guard(family.id) is None
        await store.watched.set_guard(family.id, Guard.RESTORE)
        assert await store.watched.guard(family.id) is Guard.RESTORE
    finally:
        await store.close()
