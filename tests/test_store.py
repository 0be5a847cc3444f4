"""The SQLite store: self-migrating schema, WAL, grants, config sync, audit."""

from __future__ import annotations

import sqlite3

from bot.permissions import Grant, Role
from bot.store import MIGRATIONS, AuditEntry, Group, Store


async def test_a_new_database_is_migrated_to_the_latest_schema_in_wal_mode(tmp_path):
    path = tmp_path / "sub" / "avatarops.sqlite3"
    store = await Store.open(path)
    assert await store.schema_version() == len(MIGRATIONS)
    await store.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    reopened = await Store.open(path)  # opening again migrates nothing and loses nothing
    assert await reopened.schema_version() == len(MIGRATIONS)
    await reopened.close()


async def test_config_sync_replaces_config_rows(tmp_path):
    store = await Store.open(tmp_path / "db.sqlite3")
    await store.sync_config([Group("family", "green", "1@g.us", "Family"),
                             Group("work", "green", "2@g.us", "Work")], {-100: "family"})
    await store.sync_config([Group("family", "green", "3@g.us", "Family!")], {})
    assert await store.groups() == [Group("family", "green", "3@g.us", "Family!")]
    assert await store.linked_alias(-100) is None
    await store.close()


async def test_grants_are_one_role_per_scope_and_revocable(tmp_path):
    store = await Store.open(tmp_path / "db.sqlite3")
    await store.grant(7, "family", Role.REQUESTER, granted_by=1)
    await store.grant(7, "family", Role.ADMIN, granted_by=1)
    await store.grant(8, "*", Role.ADMIN, granted_by=None)
    assert [(g.scope, g.role) for g in await store.grants_of(7)] == [("family", Role.ADMIN)]
    assert {g.user_id for g in await store.grants_covering("family")} == {7, 8}
    assert await store.grants_covering("work") == [
        Grant(8, "*", Role.ADMIN, None, (await store.grants_of(8))[0].granted_at)
    ]
    assert await store.revoke(7, "family") is True
    assert await store.revoke(7, "family") is False
    assert await store.grants_of(7) == []
    await store.close()


async def test_audit_rows_come_back_newest_first(tmp_path):
    store = await Store.open(tmp_path / "db.sqlite3")
    for outcome in ("refused", "failed", "done"):
        await store.record(AuditEntry(1, -5, "set_group_picture", "family", outcome))
    await store.record(AuditEntry(1, -5, "set_group_picture", "work", "done"))
    rows = await store.audit_log("family", limit=2)
    assert [row.outcome for row in rows] == ["done", "failed"]
    assert rows[0].at and rows[0].user_id == 1
    await store.close()
