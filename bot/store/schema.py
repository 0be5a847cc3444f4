"""The schema, one list of migrations for SQLite and PostgreSQL; it migrates itself on open.

The version is `PRAGMA user_version` on SQLite and the table `schema_version` on PostgreSQL.
A migration is written in SQLite's dialect, within what bot/store/dialect.py translates for
PostgreSQL. A migration is only ever added, never rewritten: a database in the field may be at
any version.
"""

from __future__ import annotations

from bot.store.db import Database

MIGRATIONS: list[str] = [
    # 1: the admin map, the groups, chat links and the audit log
    """
    CREATE TABLE groups (
        alias    TEXT PRIMARY KEY,
        provider TEXT NOT NULL,
        chat_id  TEXT NOT NULL,
        title    TEXT NOT NULL,
        source   TEXT NOT NULL DEFAULT 'config'
    );
    CREATE TABLE grants (
        user_id    INTEGER NOT NULL,
        scope      TEXT NOT NULL,
        role       TEXT NOT NULL,
        granted_by INTEGER,
        granted_at TEXT NOT NULL,
        PRIMARY KEY (user_id, scope)
    );
    CREATE TABLE links (
        telegram_chat_id INTEGER PRIMARY KEY,
        alias            TEXT NOT NULL,
        source           TEXT NOT NULL DEFAULT 'config'
    );
    CREATE TABLE audit (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        at       TEXT NOT NULL,
        user_id  INTEGER,
        chat_id  INTEGER,
        action   TEXT NOT NULL,
        target   TEXT,
        provider TEXT,
        outcome  TEXT NOT NULL,
        reason   TEXT,
        url      TEXT
    );
    CREATE INDEX audit_by_target ON audit (target, id);
    """,
    # 2: running the map from chat: notification opt-outs, requesters' proposals and the
    # messages that carry their buttons, and on whose behalf an approved change was made
    """
    ALTER TABLE audit ADD COLUMN requested_by INTEGER;
    CREATE TABLE notify_optouts (
        user_id INTEGER PRIMARY KEY,
        at      TEXT NOT NULL
    );
    CREATE TABLE proposals (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        action          TEXT NOT NULL,
        alias           TEXT NOT NULL,
        title           TEXT NOT NULL,
        requested_by    INTEGER NOT NULL,
        requester_name  TEXT NOT NULL,
        chat_id         INTEGER NOT NULL,
        jpeg            BLOB,
        side            INTEGER,
        status          TEXT NOT NULL DEFAULT 'pending',
        created_at      TEXT NOT NULL,
        expires_at      TEXT NOT NULL,
        decided_by      INTEGER,
        decided_by_name TEXT,
        decided_at      TEXT
    );
    CREATE INDEX proposals_due ON proposals (status, expires_at);
    CREATE TABLE proposal_messages (
        proposal_id INTEGER NOT NULL REFERENCES proposals (id),
        chat_id     INTEGER NOT NULL,
        message_id  INTEGER NOT NULL,
        PRIMARY KEY (proposal_id, chat_id, message_id)
    );
    """,
    # 3: durable changes: each accepted change is written down, with its picture, before it runs
    """
    CREATE TABLE operations (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        action           TEXT NOT NULL,
        target           TEXT NOT NULL,
        provider         TEXT NOT NULL,
        actor_id         INTEGER NOT NULL,
        actor_name       TEXT NOT NULL,
        actor_chat_id    INTEGER NOT NULL,
        requester_id     INTEGER,
        requester_name   TEXT,
        requester_chat_id INTEGER,
        request_key      TEXT UNIQUE,
        reply_chat_id    INTEGER,
        reply_message_id INTEGER,
        jpeg             BLOB,
        side             INTEGER,
        status           TEXT NOT NULL DEFAULT 'pending',
        attempts         INTEGER NOT NULL DEFAULT 0,
        url              TEXT,
        reason           TEXT,
        created_at       TEXT NOT NULL,
        updated_at       TEXT NOT NULL
    );
    CREATE INDEX operations_open ON operations (status) WHERE status IN ('pending', 'running');
    """,
    # 4: grants, links and proposals belong to a group (its numeric id), not to its alias, and
    # go with it; rows of groups already gone are dropped. An operation knows its group (the
    # id is cleared when the group goes) and the Telegram file of a picture not yet downloaded;
    # a proposal knows the request that made it.
    """
    DROP INDEX proposals_due;
    ALTER TABLE groups RENAME TO groups_v3;
    ALTER TABLE grants RENAME TO grants_v3;
    ALTER TABLE links RENAME TO links_v3;
    ALTER TABLE proposal_messages RENAME TO proposal_messages_v3;
    ALTER TABLE proposals RENAME TO proposals_v3;

    CREATE TABLE groups (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        alias    TEXT NOT NULL UNIQUE,
        provider TEXT NOT NULL,
        chat_id  TEXT NOT NULL,
        title    TEXT NOT NULL,
        source   TEXT NOT NULL DEFAULT 'config'
    );
    INSERT INTO groups (alias, provider, chat_id, title, source)
        SELECT alias, provider, chat_id, title, source FROM groups_v3 ORDER BY alias;

    CREATE TABLE grants (
        user_id    INTEGER NOT NULL,
        group_id   INTEGER REFERENCES groups (id) ON DELETE CASCADE,  -- NULL: every group
        role       TEXT NOT NULL,
        granted_by INTEGER,
        granted_at TEXT NOT NULL
    );
    INSERT INTO grants (user_id, group_id, role, granted_by, granted_at)
        SELECT g.user_id, groups.id, g.role, g.granted_by, g.granted_at
        FROM grants_v3 AS g LEFT JOIN groups ON groups.alias = g.scope
        WHERE g.scope = '*' OR groups.id IS NOT NULL;

    CREATE TABLE links (
        telegram_chat_id INTEGER PRIMARY KEY,
        group_id         INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        source           TEXT NOT NULL DEFAULT 'config'
    );
    INSERT INTO links (telegram_chat_id, group_id, source)
        SELECT l.telegram_chat_id, groups.id, l.source
        FROM links_v3 AS l JOIN groups ON groups.alias = l.alias;

    CREATE TABLE proposals (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        action          TEXT NOT NULL,
        group_id        INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        alias           TEXT NOT NULL,
        title           TEXT NOT NULL,
        requested_by    INTEGER NOT NULL,
        requester_name  TEXT NOT NULL,
        chat_id         INTEGER NOT NULL,
        jpeg            BLOB,
        side            INTEGER,
        status          TEXT NOT NULL DEFAULT 'pending',
        created_at      TEXT NOT NULL,
        expires_at      TEXT NOT NULL,
        decided_by      INTEGER,
        decided_by_name TEXT,
        decided_at      TEXT,
        request_key     TEXT UNIQUE
    );
    INSERT INTO proposals (id, action, group_id, alias, title, requested_by, requester_name,
            chat_id, jpeg, side, status, created_at, expires_at, decided_by, decided_by_name,
            decided_at)
        SELECT p.id, p.action, groups.id, p.alias, p.title, p.requested_by, p.requester_name,
            p.chat_id, p.jpeg, p.side, p.status, p.created_at, p.expires_at, p.decided_by,
            p.decided_by_name, p.decided_at
        FROM proposals_v3 AS p JOIN groups ON groups.alias = p.alias;

    CREATE TABLE proposal_messages (
        proposal_id INTEGER NOT NULL REFERENCES proposals (id) ON DELETE CASCADE,
        chat_id     INTEGER NOT NULL,
        message_id  INTEGER NOT NULL,
        PRIMARY KEY (proposal_id, chat_id, message_id)
    );
    INSERT INTO proposal_messages (proposal_id, chat_id, message_id)
        SELECT m.proposal_id, m.chat_id, m.message_id
        FROM proposal_messages_v3 AS m JOIN proposals ON proposals.id = m.proposal_id;

    DROP TABLE proposal_messages_v3;
    DROP TABLE proposals_v3;
    DROP TABLE links_v3;
    DROP TABLE grants_v3;
    DROP TABLE groups_v3;

    CREATE UNIQUE INDEX grants_one_per_scope ON grants (user_id, IFNULL(group_id, 0));
    CREATE INDEX grants_by_group ON grants (group_id);
    CREATE INDEX links_by_group ON links (group_id);
    CREATE INDEX proposals_due ON proposals (status, expires_at);
    CREATE INDEX proposals_by_group ON proposals (group_id);

    ALTER TABLE operations ADD COLUMN group_id INTEGER REFERENCES groups (id) ON DELETE SET NULL;
    ALTER TABLE operations ADD COLUMN file_id TEXT;
    UPDATE operations SET group_id = (SELECT id FROM groups WHERE alias = operations.target)
        WHERE target NOT LIKE 'account:%';
    CREATE INDEX operations_by_group ON operations (group_id);
    """,
    # 5: the language each person chose (/language) and the one their Telegram app last showed
    """
    CREATE TABLE languages (
        user_id    INTEGER PRIMARY KEY,
        chosen     TEXT,
        seen       TEXT,
        updated_at TEXT NOT NULL
    );
    """,
    # 6: picture history (what a group or account had before and after each change the bot
    # made, pruned to the last N per target), how a change came about (undo, restore), and
    # changes to many groups at once (bulks; a requester's is one proposal), whose operations
    # know their bulk
    """
    CREATE TABLE pictures (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        target_key   TEXT NOT NULL,  -- group:<group id> or account:<provider>
        target       TEXT NOT NULL,  -- the alias, or account:<provider>
        group_id     INTEGER REFERENCES groups (id) ON DELETE CASCADE,
        provider     TEXT NOT NULL,
        operation_id INTEGER NOT NULL UNIQUE,
        action       TEXT NOT NULL,
        how          TEXT,
        actor_id     INTEGER NOT NULL,
        actor_name   TEXT NOT NULL,
        before_state TEXT NOT NULL,  -- picture | none | unknown
        before_jpeg  BLOB,
        before_side  INTEGER,
        after_jpeg   BLOB,           -- NULL: the change removed the picture
        after_side   INTEGER,
        after_url    TEXT,
        done         INTEGER NOT NULL DEFAULT 0,
        at           TEXT NOT NULL
    );
    CREATE INDEX pictures_by_target ON pictures (target_key, done, id);
    CREATE INDEX pictures_by_group ON pictures (group_id);
    ALTER TABLE operations ADD COLUMN how TEXT;
    ALTER TABLE operations ADD COLUMN bulk_id INTEGER;
    CREATE INDEX operations_by_bulk ON operations (bulk_id) WHERE bulk_id IS NOT NULL;
    CREATE TABLE bulks (
        id            INTEGER PRIMARY KEY AUTOINCREMENT,
        action        TEXT NOT NULL,
        actor_id      INTEGER NOT NULL,
        actor_name    TEXT NOT NULL,
        actor_chat_id INTEGER NOT NULL,
        names         TEXT NOT NULL,
        file_id       TEXT,
        file_size     INTEGER,
        chat_id       INTEGER,
        message_id    INTEGER,
        refused       TEXT NOT NULL DEFAULT '[]',
        -- asked | running | done; a requester's: asked | proposed | running | done,
        -- or rejected | expired
        status        TEXT NOT NULL DEFAULT 'asked',
        created_at    TEXT NOT NULL,
        -- a requester's list: the picture the deciders see, and who decided
        jpeg          BLOB,
        side          INTEGER,
        decided_by    INTEGER,
        decided_by_name TEXT
    );
    CREATE TABLE bulk_messages (  -- the deciders' copies of a requester's list
        bulk_id    INTEGER NOT NULL REFERENCES bulks (id) ON DELETE CASCADE,
        chat_id    INTEGER NOT NULL,
        message_id INTEGER NOT NULL,
        PRIMARY KEY (bulk_id, chat_id, message_id)
    );
    """,
    # 7: several instances on one store: the instance that runs an open change claims it for a
    # while (its lease, renewed while it runs); another takes it over once the lease ran out.
    # A per-account pace kept across instances (PostgreSQL only; bot/pacing.py), and the
    # state of conversations and alerts in the store, so that any instance sees it
    """
    ALTER TABLE operations ADD COLUMN claimed_by TEXT;
    ALTER TABLE operations ADD COLUMN lease_until TEXT;
    CREATE TABLE account_pace (
        account  TEXT NOT NULL,
        pace     TEXT NOT NULL,
        last_end REAL NOT NULL,  -- seconds since the epoch (wall clock: shared by machines)
        PRIMARY KEY (account, pace)
    );
    -- state every instance sees: who the bot waits for a photo from (handlers/pictures.py),
    -- and which providers' owners were alerted that authentication fails (bot/notify.py)
    CREATE TABLE pending_photos (
        chat_id     INTEGER NOT NULL,
        user_id     INTEGER NOT NULL,
        action      TEXT NOT NULL,
        name        TEXT,
        question_id INTEGER NOT NULL,
        deadline    REAL NOT NULL,  -- seconds since the epoch
        PRIMARY KEY (chat_id, user_id)
    );
    CREATE TABLE auth_alerts (
        provider TEXT PRIMARY KEY,
        since    TEXT NOT NULL
    );
    -- pictures behind media links, served by any instance (PostgreSQL only; bot/media.py)
    CREATE TABLE media (
        id         TEXT PRIMARY KEY,
        jpeg       BLOB NOT NULL,
        expires_at REAL NOT NULL  -- seconds since the epoch
    );
    """,
    # 8: scheduled pictures (`at …`, `until …`) and each person's time zone
    """
    CREATE TABLE schedules (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        action           TEXT NOT NULL,  -- the value of an Action: set_group_picture, ...
        how              TEXT,           -- undo: put back the picture before the last change
        name             TEXT NOT NULL,  -- the group alias or provider name it was given for
        title            TEXT NOT NULL,
        group_id         INTEGER,
        provider         TEXT NOT NULL,
        jpeg             BLOB,
        side             INTEGER,
        actor_id         INTEGER NOT NULL,
        actor_name       TEXT NOT NULL,
        actor_chat_id    INTEGER NOT NULL,
        run_at           TEXT,           -- NULL: at once (`until` alone)
        until_at         TEXT,           -- NULL: the earlier picture does not come back
        phase            TEXT NOT NULL DEFAULT 'at',       -- at | until
        due_at           TEXT NOT NULL,  -- when the current phase runs
        status           TEXT NOT NULL DEFAULT 'pending',  -- pending | running | done | failed
                                                           -- | cancelled | skipped
        reply_chat_id    INTEGER,
        reply_message_id INTEGER,
        request_key      TEXT UNIQUE,
        operation_id     INTEGER,        -- the change made at run_at: what `until` undoes
        reason           TEXT,
        created_at       TEXT NOT NULL,
        requester_id     INTEGER,        -- an approved proposal's: who proposed it
        requester_name   TEXT,
        requester_chat_id INTEGER
    );
    CREATE INDEX schedules_due ON schedules (status, due_at);
    CREATE TABLE timezones (
        user_id    INTEGER PRIMARY KEY,
        zone       TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    ALTER TABLE proposals ADD COLUMN run_at TEXT;    -- a requester's scheduled change: its times
    ALTER TABLE proposals ADD COLUMN until_at TEXT;
    ALTER TABLE pending_photos ADD COLUMN run_at TEXT;   -- a photo asked for a scheduled change
    ALTER TABLE pending_photos ADD COLUMN until_at TEXT;
    """,
    # 9: a list of groups with a time: its times, kept until it is confirmed
    """
    ALTER TABLE bulks ADD COLUMN run_at TEXT;
    ALTER TABLE bulks ADD COLUMN until_at TEXT;
    """,
    # 10: a requester's scheduled undo: the proposal says how (the undo is worked out at its
    # time, so it carries no picture)
    """
    ALTER TABLE proposals ADD COLUMN how TEXT;  -- undo: put back the picture before the last change
    """,
    # 11: a list of groups is one proposal like a single one (its own tables before): the groups
    # it is for, by id (an alias removed and reused names another group), whether all its copies
    # went out, and what each copy's buttons show, so that a restart finishes sending or showing
    """
    CREATE TABLE proposal_groups (
        proposal_id INTEGER NOT NULL REFERENCES proposals (id) ON DELETE CASCADE,
        position    INTEGER NOT NULL,
        group_id    INTEGER NOT NULL,  -- no foreign key: a group removed since is "gone"
        alias       TEXT NOT NULL,     -- its alias and title when proposed
        title       TEXT NOT NULL,
        PRIMARY KEY (proposal_id, position)
    );
    INSERT INTO proposal_groups (proposal_id, position, group_id, alias, title)
        SELECT id, 0, group_id, alias, title FROM proposals;
    CREATE INDEX proposal_groups_by_group ON proposal_groups (group_id);
    ALTER TABLE proposals ADD COLUMN listed INTEGER NOT NULL DEFAULT 0;  -- asked as a list
    ALTER TABLE proposals ADD COLUMN sent INTEGER NOT NULL DEFAULT 1;    -- every copy went out
    -- the status a copy's buttons show (pending: Approve / Reject; legacy: a list's old buttons)
    ALTER TABLE proposal_messages ADD COLUMN shown TEXT NOT NULL DEFAULT 'pending';
    -- a list's question: the ids of the groups it showed (comma-separated, as `names`)
    ALTER TABLE bulks ADD COLUMN group_ids TEXT;
    -- an audit row belongs to the group its alias named when it was written (rows from before:
    -- to the group that has the alias now, the best that can be known)
    ALTER TABLE audit ADD COLUMN group_id INTEGER;
    UPDATE audit SET group_id = (SELECT id FROM groups WHERE groups.alias = audit.target);
    CREATE INDEX audit_by_group ON audit (group_id, id);
    """,
    # 12: the instances running on a shared store (PostgreSQL), each with its config's fingerprint
    # (config key -> HMAC of its value, bot/agreement.py), while it renews `seen_until`
    """
    CREATE TABLE instances (
        name       TEXT PRIMARY KEY,
        config     TEXT NOT NULL,
        seen_until TEXT NOT NULL
    );
    """,
    # 13: a change its provider accepted and confirms later (Meta's Cloud API, by a webhook):
    # the request id it waits for, and until when
    """
    ALTER TABLE operations ADD COLUMN awaiting TEXT;
    ALTER TABLE operations ADD COLUMN awaiting_until TEXT;
    """,
    # 14: recurring pictures (`every …`, bot/rhythm.py): a recurrence is a schedule that waits
    # again after each run; its pictures (a rotation's, in the order sent) are kept apart
    """
    ALTER TABLE schedules ADD COLUMN rhythm TEXT;  -- its `every …` words (NULL: runs once)
    ALTER TABLE schedules ADD COLUMN zone TEXT;    -- the zone they are read in
    ALTER TABLE schedules ADD COLUMN runs INTEGER NOT NULL DEFAULT 0;      -- made or skipped
    ALTER TABLE schedules ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;  -- failed in a row
    CREATE TABLE schedule_pictures (
        schedule_id INTEGER NOT NULL,
        position    INTEGER NOT NULL,
        jpeg        BLOB NOT NULL,
        side        INTEGER NOT NULL,
        PRIMARY KEY (schedule_id, position)
    );
    -- a requester's recurrence: a proposal that carries its rhythm and zone
    ALTER TABLE proposals ADD COLUMN rhythm TEXT;
    ALTER TABLE proposals ADD COLUMN zone TEXT;
    """,
    # 15: watching pictures (bot/watch.py): what the bot last knew of each watched group's
    # picture (its bytes' hash, and the picture to put back) and the newest picture-history row
    # then (a newer one is the bot's own change: the next read is a new baseline); each group's
    # guard chosen from chat or set by the bot (NULL: the config's). A change seen outside the
    # bot is kept in `pictures` with how = 'outside' and operation_id = minus a number.
    """
    ALTER TABLE groups ADD COLUMN guard TEXT;
    CREATE TABLE watched (
        group_id INTEGER PRIMARY KEY REFERENCES groups (id) ON DELETE CASCADE,
        state    TEXT NOT NULL,   -- picture | none
        hash     TEXT,            -- sha-256 of the bytes read; NULL for none
        jpeg     BLOB,            -- the picture, prepared (NULL: none, or it could not be)
        side     INTEGER,
        mark     INTEGER NOT NULL,
        url      TEXT,            -- where it was read: the same URL is the same picture
        seen_at  TEXT NOT NULL
    );
    """,
    # 16: recurring lists and requesters' rotations (issue 26): the recurrences of one list
    # share one copy of their pictures (kept under the list's first entry: `album`); a list
    # asked with `every …` keeps its rhythm and its album's photos (JSON [file_id, size] in the
    # order sent) until it is confirmed; a requester's rotation keeps its pictures with the
    # proposal until it is decided
    """
    ALTER TABLE schedules ADD COLUMN album INTEGER;  -- NULL: its pictures are its own
    ALTER TABLE bulks ADD COLUMN rhythm TEXT;
    ALTER TABLE bulks ADD COLUMN album TEXT;
    CREATE TABLE proposal_pictures (
        proposal_id INTEGER NOT NULL,
        position    INTEGER NOT NULL,
        jpeg        BLOB NOT NULL,
        side        INTEGER NOT NULL,
        PRIMARY KEY (proposal_id, position)
    );
    """,
    # 17: watching the accounts' own pictures too: `watched` is keyed by the picture-history key
    # (group:<group id> or account:<provider>; a group's row still goes with its group), and
    # each account's guard chosen from chat or set by the bot (none: the provider entry's)
    """
    CREATE TABLE watched_pictures (
        target_key TEXT PRIMARY KEY,
        group_id   INTEGER REFERENCES groups (id) ON DELETE CASCADE,
        state      TEXT NOT NULL,
        hash       TEXT,
        jpeg       BLOB,
        side       INTEGER,
        mark       INTEGER NOT NULL,
        url        TEXT,
        seen_at    TEXT NOT NULL
    );
    INSERT INTO watched_pictures
        (target_key, group_id, state, hash, jpeg, side, mark, url, seen_at)
        SELECT 'group:' || CAST(group_id AS TEXT), group_id, state, hash, jpeg, side, mark, url,
               seen_at
        FROM watched;
    DROP TABLE watched;
    ALTER TABLE watched_pictures RENAME TO watched;
    CREATE TABLE account_guards (
        provider TEXT PRIMARY KEY,
        guard    TEXT NOT NULL
    );
    """,
    # 18: Skip next pressed while a recurrence's window is open (issue 26): the start after
    # the window closes is skipped then (the entry waits for its restore meanwhile)
    """
    ALTER TABLE schedules ADD COLUMN skips INTEGER NOT NULL DEFAULT 0;
    """,
    # 19: a list asked with `every …` keeps its pictures prepared at the command, in the order
    # sent, until its question is answered or expires (issue 26: the press prepares nothing)
    """
    CREATE TABLE bulk_pictures (
        bulk_id  INTEGER NOT NULL REFERENCES bulks (id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        jpeg     BLOB NOT NULL,
        side     INTEGER NOT NULL,
        PRIMARY KEY (bulk_id, position)
    );
    """,
]


class StoreTooNew(Exception):
    """A newer version of the bot migrated the store past what this one knows: running on it
    would fail later on statements its tables no longer fit, so it does not start."""

    def __init__(self, found: int) -> None:
        super().__init__(
            f"the store is at schema version {found}, which a newer avatarops made; this one"
            f" knows versions up to {len(MIGRATIONS)}: run the newer version (a store is never"
            " migrated back)"
        )


async def version(db: Database) -> int:
    return await db.schema_version()


async def migrate(db: Database) -> None:
    """Bring the schema up to this version's; StoreTooNew when it is past it."""
    if await db.schema_version() > len(MIGRATIONS):
        raise StoreTooNew(await db.schema_version())
    await db.migrate(MIGRATIONS)
