"""The SQLite store: self-migrating schema, WAL, grants, config sync, audit."""

from __future__ import annotations

import sqlite3

from bot.permissions import Grant, Role
from bot.store import MIGRATIONS, AuditEntry, Group, ProposalStatus, Store


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
    await store.sync_config(
        [Group("family", "green", "1@g.us", "Family"), Group("work", "green", "2@g.us", "Work")],
        {-100: "family"},
    )
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


async def test_a_version_1_database_migrates_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as raw:
        raw.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
        raw.execute(
            "INSERT INTO audit (at, user_id, action, target, outcome)"
            " VALUES ('2025-01-01T00:00:00+00:00', 1, 'set_group_picture', 'family', 'done')"
        )
    store = await Store.open(path)
    assert await store.schema_version() == len(MIGRATIONS)
    [row] = await store.audit_log()
    assert (row.user_id, row.outcome, row.requested_by) == (1, "done", None)
    await store.close()


async def _proposal(store: Store, expires_at: str = "2025-01-02T00:00:00+00:00"):
    return await store.add_proposal(
        action="set_group_picture",
        alias="family",
        title="Family",
        requested_by=7,
        requester_name="Rita",
        chat_id=7,
        jpeg=b"jpeg",
        side=640,
        created_at="2025-01-01T00:00:00+00:00",
        expires_at=expires_at,
    )


async def test_a_proposal_closes_once_and_comes_due_at_its_time(tmp_path):
    store = await Store.open(tmp_path / "db.sqlite3")
    first = await _proposal(store)
    later = await _proposal(store, "2025-01-03T00:00:00+00:00")
    assert first.status is ProposalStatus.PENDING and first.jpeg == b"jpeg"
    assert await store.due_proposals("2025-01-02T00:00:00+00:00") == [first.id]
    closed = await store.close_proposal(
        first.id, ProposalStatus.APPROVED, "2025-01-01T01:00:00+00:00", 2, "Ada"
    )
    assert (closed.status, closed.decided_by, closed.decided_by_name) == (
        ProposalStatus.APPROVED,
        2,
        "Ada",
    )
    assert await store.close_proposal(first.id, ProposalStatus.REJECTED, "x", 3, "Sam") is None
    assert (await store.proposal(first.id)).decided_by == 2
    assert await store.due_proposals("2025-01-09T00:00:00+00:00") == [later.id]
    await store.add_proposal_message(later.id, -100, 5)
    await store.add_proposal_message(later.id, 2, 9)
    assert await store.proposal_messages(later.id) == [(-100, 5), (2, 9)]
    await store.close()


async def test_removing_a_chat_group_takes_its_grants_and_links_but_never_a_config_one(tmp_path):
    store = await Store.open(tmp_path / "db.sqlite3")
    await store.sync_config([Group("family", "green", "1@g.us", "Family")], {-100: "family"})
    assert await store.add_group(Group("club", "green", "3@g.us", "Club")) is True
    assert await store.add_group(Group("family", "green", "4@g.us", "Twin")) is False
    await store.grant(7, "club", Role.ADMIN, granted_by=1)
    await store.grant(7, "family", Role.ADMIN, granted_by=1)
    await store.set_link(-200, "club")
    assert await store.remove_group("family") is False  # config-defined
    assert await store.remove_group("club") is True
    assert [g.alias for g in await store.groups()] == ["family"]
    assert [g.scope for g in await store.grants_of(7)] == ["family"]
    assert await store.link_of(-200) is None and await store.linked_alias(-100) == "family"
    await store.close()


async def test_notification_opt_outs(tmp_path):
    store = await Store.open(tmp_path / "db.sqlite3")
    await store.set_notifications(7, False)
    await store.set_notifications(7, False)
    await store.set_notifications(8, False)
    await store.set_notifications(8, True)
    assert await store.opted_out() == {7}
    await store.close()
