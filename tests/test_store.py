"""The store, on SQLite and on PostgreSQL (`store_target` runs each test on both): self-migrating
schema (WAL on SQLite), groups and what belongs to them, grants, config sync, audit, proposals,
operations."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from bot.domain import (
    AuditEntry,
    AuditOutcome,
    Group,
    Operation,
    OperationStatus,
    Proposal,
    ProposalStatus,
    Role,
    ScheduledChange,
    ScheduleStatus,
)
from bot.store import MIGRATIONS, Store, StoreTooNew, connect
from bot.store.operations import Claim
from bot.store.waiting import PendingPhoto


async def test_a_new_database_is_migrated_to_the_latest_schema(store_target):
    store = await Store.open(store_target)
    assert await store.schema_version() == len(MIGRATIONS)
    await store.close()
    reopened = await Store.open(store_target)  # opening again migrates nothing, loses nothing
    assert await reopened.schema_version() == len(MIGRATIONS)
    await reopened.close()


async def test_a_new_sqlite_database_is_in_wal_mode_in_the_folders_it_needs(tmp_path):
    path = tmp_path / "sub" / "avatarops.sqlite3"
    await (await Store.open(path)).close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def at_version(target: str, version: int, *rows: str) -> None:
    """Make the database at `target` one at schema `version` holding `rows` (INSERTs)."""
    db = await connect(target)
    await db.migrate(MIGRATIONS[:version])
    for sql in rows:
        await db.execute(sql)
    await db.close()


def aliases(groups: list[Group]) -> list[tuple[str, str, str, str]]:
    return [(g.alias, g.provider, g.chat_id, g.title) for g in groups]


async def test_config_sync_replaces_config_rows(store_target):
    store = await Store.open(store_target)
    await store.groups.sync_config(
        [Group("family", "green", "1@g.us", "Family"), Group("work", "green", "2@g.us", "Work")],
        {-100: "family"},
    )
    await store.groups.sync_config([Group("family", "green", "3@g.us", "Family!")], {})
    assert aliases(await store.groups.all()) == [("family", "green", "3@g.us", "Family!")]
    assert await store.links.of(-100) is None
    await store.close()


async def test_a_group_is_its_chat_grants_follow_it_and_go_with_it(store_target):
    store = await Store.open(store_target)
    family, work = (
        Group("family", "green", "1@g.us", "Family"),
        Group("work", "green", "2@g.us", "W"),
    )
    await store.groups.sync_config([family, work], {-100: "family"})
    await store.grants.add(7, "family", Role.ADMIN, granted_by=1)
    await store.grants.add(8, "work", Role.ADMIN, granted_by=1)
    await store.grants.add(9, "*", Role.ADMIN, granted_by=1)
    # renamed in config.yaml (same chat): the same group, its grants and link stay
    await store.groups.sync_config(
        [Group("fam", "green", "1@g.us", "Family"), Group("family", "green", "5@g.us", "New")],
        {-100: "fam"},
    )
    assert [(g.scope, g.user_id) for g in await store.grants.all()] == [
        ("fam", 7),
        ("*", 9),
    ]  # work's grant went with work; the new "family" inherits nothing
    new_family = await store.groups.get("family")
    assert new_family is not None
    assert [g.user_id for g in await store.grants.covering(new_family)] == [9]
    link = await store.links.of(-100)
    assert link is not None and link.alias == "fam"
    await store.close()


async def test_grants_are_one_role_per_scope_and_revocable(store_target):
    store = await Store.open(store_target)
    await store.groups.sync_config(
        [Group("family", "green", "1@g.us", "Family"), Group("work", "green", "2@g.us", "Work")],
        {},
    )
    await store.grants.add(7, "family", Role.REQUESTER, granted_by=1)
    await store.grants.add(7, "family", Role.ADMIN, granted_by=1)
    await store.grants.add(8, "*", Role.ADMIN, granted_by=None)
    await store.grants.add(8, "*", Role.REQUESTER, granted_by=None)
    assert await store.grants.add(7, "nowhere", Role.ADMIN, granted_by=1) is False
    assert [(g.scope, g.role) for g in await store.grants.of(7)] == [("family", Role.ADMIN)]
    assert [(g.scope, g.role) for g in await store.grants.of(8)] == [("*", Role.REQUESTER)]
    family, work = await store.groups.get("family"), await store.groups.get("work")
    assert family and work
    assert {g.user_id for g in await store.grants.covering(family)} == {7, 8}
    assert [g.user_id for g in await store.grants.covering(work)] == [8]
    assert await store.grants.remove(7, "family") is True
    assert await store.grants.remove(7, "family") is False
    assert await store.grants.remove(8, "*") is True
    assert await store.grants.all() == []
    await store.close()


async def test_audit_rows_come_back_newest_first(store_target):
    store = await Store.open(store_target)
    for outcome in (AuditOutcome.REFUSED, AuditOutcome.FAILED, AuditOutcome.DONE):
        await store.audit.add(AuditEntry(1, -5, "set_group_picture", "family", outcome))
    await store.groups.sync_config([Group("work", "green", "2@g.us", "Work")], {})
    await store.audit.add(AuditEntry(1, -5, "set_group_picture", "work", AuditOutcome.DONE))
    rows = await store.audit.latest("family", limit=2)
    assert [row.outcome for row in rows] == [AuditOutcome.DONE, AuditOutcome.FAILED]
    assert rows[0].at and rows[0].user_id == 1
    work = await store.groups.get("work")
    assert work is not None and work.id is not None
    assert [row.target for row in await store.audit.about([work.id])] == ["work"]
    await store.close()


async def test_a_version_1_database_migrates_and_keeps_its_rows(store_target):
    await at_version(
        store_target,
        1,
        "INSERT INTO audit (at, user_id, action, target, outcome)"
        " VALUES ('2025-01-01T00:00:00+00:00', 1, 'set_group_picture', 'family', 'done')",
    )
    store = await Store.open(store_target)
    assert await store.schema_version() == len(MIGRATIONS)
    [row] = await store.audit.latest()
    assert (row.user_id, row.outcome, row.requested_by) == (1, "done", None)
    await store.close()


async def test_a_version_3_database_moves_its_rows_to_the_groups_and_drops_orphans(
    store_target,
):
    await at_version(
        store_target,
        3,
        "INSERT INTO groups VALUES ('family', 'green', '1@g.us', 'Family', 'config')",
        "INSERT INTO grants VALUES (7, 'family', 'admin', 1, 'x'), (8, '*', 'admin', 1, 'x'),"
        " (9, 'gone', 'admin', 1, 'x')",
        "INSERT INTO links VALUES (-100, 'family', 'chat'), (-200, 'gone', 'chat')",
        "INSERT INTO proposals (action, alias, title, requested_by, requester_name, chat_id,"
        " created_at, expires_at) VALUES"
        " ('delete_group_picture', 'family', 'Family', 4, 'Rita', 4, 'x', 'y'),"
        " ('delete_group_picture', 'gone', 'Gone', 4, 'Rita', 4, 'x', 'y')",
        "INSERT INTO proposal_messages VALUES (1, 2, 10), (2, 2, 11)",
        "INSERT INTO operations (action, target, provider, actor_id, actor_name,"
        " actor_chat_id, status, created_at, updated_at) VALUES"
        " ('delete_group_picture', 'family', 'green', 1, 'Olga', 1, 'pending', 'x', 'x')",
    )
    store = await Store.open(store_target)
    family = await store.groups.get("family")
    assert family is not None and family.id is not None
    assert [(g.user_id, g.scope, g.group_id) for g in await store.grants.all()] == [
        (7, "family", family.id),
        (8, "*", None),
    ]
    link = await store.links.of(-100)
    assert link is not None and link.group_id == family.id
    assert await store.links.of(-200) is None
    proposal = await store.proposals.get(1)
    assert proposal is not None and proposal.group_id == family.id
    assert await store.proposals.get(2) is None
    assert await store.proposals.messages(1) == [(2, 10)]
    [operation] = await store.operations.open()
    assert operation.group_id == family.id
    added = await _proposal(store)  # numbered after the rows the migration copied
    assert added is not None and added.id > proposal.id
    await store.close()


async def _proposal(
    store: Store, expires_at: str = "2025-01-02T00:00:00+00:00", request_key: str | None = None
) -> Proposal | None:
    group = await store.groups.get("family")
    assert group is not None
    return await store.proposals.add(
        action="set_group_picture",
        groups=[group],
        requested_by=7,
        requester_name="Rita",
        chat_id=7,
        jpeg=b"jpeg",
        side=640,
        created_at="2025-01-01T00:00:00+00:00",
        expires_at=expires_at,
        request_key=request_key,
    )


async def test_a_proposal_closes_once_and_comes_due_at_its_time(store_target):
    store = await Store.open(store_target)
    await store.groups.sync_config([Group("family", "green", "1@g.us", "Family")], {})
    first = await _proposal(store, request_key="7:1")
    later = await _proposal(store, "2025-01-03T00:00:00+00:00")
    assert first and later
    assert await _proposal(store, request_key="7:1") is None  # one proposal per request
    assert first.status is ProposalStatus.PENDING and first.jpeg == b"jpeg"
    assert await store.proposals.due("2025-01-02T00:00:00+00:00") == [first.id]
    closed = await store.proposals.close(
        first.id, ProposalStatus.APPROVED, "2025-01-01T01:00:00+00:00", 2, "Ada"
    )
    assert closed is not None
    assert (closed.status, closed.decided_by, closed.decided_by_name) == (
        ProposalStatus.APPROVED,
        2,
        "Ada",
    )
    assert await store.proposals.close(first.id, ProposalStatus.REJECTED, "x", 3, "Sam") is None
    assert (await store.proposals.get(first.id)).decided_by == 2  # type: ignore[union-attr]
    assert await store.proposals.due("2025-01-09T00:00:00+00:00") == [later.id]
    await store.proposals.add_message(later.id, -100, 5)
    await store.proposals.add_message(later.id, 2, 9)
    assert await store.proposals.messages(later.id) == [(-100, 5), (2, 9)]
    await store.close()


async def test_removing_a_chat_group_takes_what_belongs_to_it_but_never_a_config_one(store_target):
    store = await Store.open(store_target)
    await store.groups.sync_config([Group("family", "green", "1@g.us", "Family")], {-100: "family"})
    club = await store.groups.add(Group("club", "green", "3@g.us", "Club"))
    assert club is not None
    assert await store.groups.add(Group("family", "green", "4@g.us", "Twin")) is None
    await store.grants.add(7, "club", Role.ADMIN, granted_by=1)
    await store.grants.add(7, "family", Role.ADMIN, granted_by=1)
    await store.links.set(-200, club)
    proposal = await store.proposals.add(
        action="delete_group_picture",
        groups=[club],
        requested_by=7,
        requester_name="Rita",
        chat_id=7,
        jpeg=None,
        side=None,
        created_at="x",
        expires_at="y",
    )
    assert proposal is not None
    await store.proposals.add_message(proposal.id, 2, 10)
    assert await store.groups.remove("family") is None  # config-defined
    assert await store.groups.remove("club") == club
    assert [g.alias for g in await store.groups.all()] == ["family"]
    assert [g.scope for g in await store.grants.of(7)] == ["family"]
    assert await store.links.of(-200) is None
    link = await store.links.of(-100)
    assert link is not None and link.alias == "family"
    assert await store.proposals.get(proposal.id) is None
    assert await store.proposals.messages(proposal.id) == []
    await store.close()


def own_picture_change(request_key: str, file_id: str | None = None) -> Operation:
    return Operation(
        action="set_own_picture",
        target="account:green",
        provider="green",
        actor_id=1,
        actor_name="Olga",
        actor_chat_id=1,
        request_key=request_key,
        file_id=file_id,
    )


async def test_an_operations_request_is_checked_and_recorded_in_one_step(store_target):
    store = await Store.open(store_target)
    operation = own_picture_change("1:5", file_id="photo-1")
    ids = await asyncio.gather(*(store.operations.add(operation) for _ in range(3)))
    assert sorted(ids, key=lambda i: i or 0)[:2] == [None, None]
    [written] = await store.operations.open()
    assert (written.request_key, written.file_id, written.jpeg) == ("1:5", "photo-1", None)
    await store.close()


async def test_writes_in_one_transaction_land_together_or_not_at_all(store_target):
    store = await Store.open(store_target)
    try:
        async with store.transaction():
            await store.notifications.choose(7, False)
            await store.audit.add(AuditEntry(1, 1, "grant", None, AuditOutcome.DONE))
            raise RuntimeError("killed half-way")
    except RuntimeError:
        pass
    assert await store.notifications.opted_out() == set()
    assert await store.audit.latest() == []
    await store.close()


async def test_notification_opt_outs(store_target):
    store = await Store.open(store_target)
    await store.notifications.choose(7, False)
    await store.notifications.choose(7, False)
    await store.notifications.choose(8, False)
    await store.notifications.choose(8, True)
    assert await store.notifications.opted_out() == {7}
    await store.close()


async def test_sql_written_for_sqlite_runs_on_both_backends(store_target):
    """What bot/store/dialect.py promises a new table module: its SQLite SQL, with the
    documented forms, behaves the same on PostgreSQL."""
    db = await connect(store_target)
    await db.migrate(
        [
            *MIGRATIONS,
            """
            CREATE TABLE things (
                id     INTEGER PRIMARY KEY,
                name   TEXT NOT NULL UNIQUE,  -- what is it?
                owner  INTEGER,
                data   BLOB,
                weight REAL
            );
            """,
        ]
    )
    big = 2**52  # a Telegram id does not fit 32 bits
    first = await db.execute(
        "INSERT INTO things (name, owner, data, weight) VALUES (?, ?, ?, ?)",
        ("what? 'quoted'", big, b"\x00\xff", 0.1),
    )
    assert (first.rowcount, first.lastrowid) == (1, 1)
    again = await db.execute(
        "INSERT OR IGNORE INTO things (name, owner) VALUES (?, ?)", ("what? 'quoted'", 1)
    )
    assert again.rowcount == 0
    second = await db.execute("INSERT OR IGNORE INTO things (name) VALUES (?)", ("x",))
    assert second.rowcount == 1 and second.lastrowid and first.lastrowid
    assert second.lastrowid > first.lastrowid  # PostgreSQL may skip numbers, never reuse one
    upserted = await db.execute(
        "INSERT INTO things (name, owner) VALUES (?, ?)"
        " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner",
        ("x", 7),
    )
    assert upserted.rowcount == 1
    assert await db.fetch_all(
        "SELECT name, IFNULL(owner, -1) AS owner FROM things"
        " WHERE owner IS ? OR name = 'what? ''quoted''' ORDER BY id",
        (None,),
    ) == [{"name": "what? 'quoted'", "owner": big}]
    row = await db.fetch_one("SELECT * FROM things WHERE owner IS NOT ? AND id = ?", (None, 1))
    assert row is not None
    assert (row["data"], row["weight"]) == (b"\x00\xff", 0.1)
    updated = await db.execute(
        "UPDATE things SET weight = ? WHERE id IN (?, ?)", (2.5, 1, second.lastrowid)
    )
    assert updated.rowcount == 2
    await db.close()


async def test_two_instances_on_one_store_take_a_request_once_and_the_first_decision_wins(
    store_target,
):
    """Two Stores on one database (as two processes of the bot would have): a request
    delivered to both is written down once, and of two decisions on a proposal one wins."""
    one, two = await Store.open(store_target), await Store.open(store_target)
    await one.groups.sync_config([Group("family", "green", "1@g.us", "Family")], {})
    await two.groups.sync_config([Group("family", "green", "1@g.us", "Family")], {})
    operation = own_picture_change("1:9")
    ids = await asyncio.gather(*(store.operations.add(operation) for store in (one, two) * 3))
    assert len([i for i in ids if i is not None]) == 1
    proposal = await _proposal(one)
    assert proposal is not None
    closed = await asyncio.gather(
        one.proposals.close(proposal.id, ProposalStatus.APPROVED, "t", 2, "Ada"),
        two.proposals.close(proposal.id, ProposalStatus.REJECTED, "t", 3, "Sam"),
    )
    [winner] = [c for c in closed if c is not None]
    assert (await two.proposals.get(proposal.id)) == winner
    await one.close()
    await two.close()


async def test_instances_claim_open_changes_apart_and_only_the_holder_closes_one(store_target):
    """Two instances looking for open changes at once each get their own; a change whose lease
    runs on is nobody else's, one whose lease ran out is taken over, and then the instance
    that lost it can no longer close it (so it is closed, and audited, once)."""
    one, two = await Store.open(store_target), await Store.open(store_target)
    early, now, later = (f"2026-01-01T00:0{m}:00+00:00" for m in range(3))
    ids = {await one.operations.add(own_picture_change(f"1:{n}")) or 0 for n in range(6)}
    a, b = Claim("a", later), Claim("b", later)
    got: list[list[int]] = [[], []]
    for _ in range(6):  # until every change is claimed (SQLite may give one side none)
        claimed = await asyncio.gather(
            one.operations.claim_open(a, limit=3, now=now),
            two.operations.claim_open(b, limit=3, now=now),
        )
        for side, operations in zip(got, claimed, strict=True):
            side.extend(op.id for op in operations if op.id is not None)
    assert set(got[0]).isdisjoint(got[1]) and set(got[0] + got[1]) == ids
    assert await two.operations.claim_open(b, limit=6, now=now) == []  # leases run on

    await one.operations.release("a")
    await two.operations.release("b")  # both stop: what they held is free at once
    assert len(await one.operations.claim_open(a, limit=6, now=now)) == 6

    first = min(ids)
    assert await two.operations.finish(first, OperationStatus.DONE, owner="b") is False
    await one.operations.renew(Claim("a", early))  # "a" stopped renewing: its leases ran out
    assert len(await two.operations.claim_open(b, limit=6, now=now)) == 6
    assert await one.operations.finish(first, OperationStatus.DONE, owner="a") is False
    assert await two.operations.finish(first, OperationStatus.DONE, owner="b") is True
    assert await two.operations.finish(first, OperationStatus.DONE, owner="b") is False
    assert len(await one.operations.open()) == 5
    await one.close()
    await two.close()


async def test_instances_share_whom_the_bot_waits_for_and_alert_once(store_target):
    """Two instances on one store: a photo the bot waits for is taken by one of them only,
    and an authentication failure is alerted by one, once per outage."""
    one, two = await Store.open(store_target), await Store.open(store_target)
    await one.pending_photos.wait(5, 7, PendingPhoto("set_group_picture", "family", 41, 1.5))
    taken = await asyncio.gather(one.pending_photos.take(5, 7), two.pending_photos.take(5, 7))
    assert sorted(taken, key=lambda t: t is not None) == [
        None,
        PendingPhoto("set_group_picture", "family", 41, 1.5),
    ]
    assert await one.pending_photos.take(5, 7) is None
    # a photo asked for a scheduled change keeps its times (any instance may get the photo)
    at, until = "2026-12-24T17:00:00+00:00", "2026-12-27T08:00:00+00:00"
    scheduled = PendingPhoto("set_group_picture", "family", 42, 2.5, at, until)
    await one.pending_photos.wait(5, 7, scheduled)
    assert await two.pending_photos.take(5, 7) == scheduled

    started = await asyncio.gather(*(s.auth_alerts.start("green") for s in (one, two, one)))
    assert sorted(started) == [False, False, True]
    ended = await asyncio.gather(*(s.auth_alerts.end("green") for s in (one, two)))
    assert sorted(ended) == [False, True]
    assert await two.auth_alerts.start("green") is True  # a new outage
    await one.close()
    await two.close()


async def test_a_scheduled_change_is_taken_up_and_moved_on_by_one_instance_only(store_target):
    """Both instances see a scheduled change come due, and both may wait for its change after a
    restart: one takes it up, one moves it to its `until`, one closes it (and tells its author)."""
    one, two = await Store.open(store_target), await Store.open(store_target)
    entry = ScheduledChange(
        action="set_group_picture",
        name="family",
        title="Family",
        provider="green",
        actor_id=1001,
        actor_name="Olga",
        actor_chat_id=1001,
        due_at="2026-12-24T17:00:00+00:00",
        until_at="2026-12-27T08:00:00+00:00",
        request_key="7:1",
    )
    entry_id = await one.schedules.add(entry)
    assert entry_id is not None
    claimed = await asyncio.gather(one.schedules.claim(entry_id), two.schedules.claim(entry_id))
    assert sorted(claimed) == [False, True]
    moved = await asyncio.gather(
        *(s.schedules.next_phase(entry_id, entry.until_at or "", None) for s in (one, two))
    )
    assert sorted(moved) == [False, True]
    assert await two.schedules.claim(entry_id)  # the `until` came due
    closed = await asyncio.gather(
        *(s.schedules.finish(entry_id, ScheduleStatus.DONE) for s in (one, two))
    )
    assert sorted(closed) == [False, True]
    assert (await one.schedules.get(entry_id)).status == "done"  # type: ignore[union-attr]
    await one.close()
    await two.close()


async def test_a_store_a_newer_version_migrated_is_refused_and_left_as_it_is(store_target):
    """An older bot on a store upgraded by a newer one refuses to start (issue 23, fault 4)."""
    newer = len(MIGRATIONS) + 1
    db = await connect(store_target)
    await db.migrate([*MIGRATIONS, "CREATE TABLE from_the_future (id INTEGER PRIMARY KEY)"])
    await db.close()
    with pytest.raises(StoreTooNew) as refused:
        await Store.open(store_target)
    assert str(refused.value) == (
        f"the store is at schema version {newer}, which a newer avatarops made; this one knows"
        f" versions up to {len(MIGRATIONS)}: run the newer version (a store is never migrated"
        " back)"
    )
    db = await connect(store_target)
    assert await db.schema_version() == newer
    await db.close()
