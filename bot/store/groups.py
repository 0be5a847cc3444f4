"""Groups and the Telegram chats linked to them.

A group is one chat of one provider; its numeric id is what grants, links and proposals belong
to, so removing a group (or replacing it under the same alias) takes all of them along.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.domain import Group, Link
from bot.store.db import Database, Row

_COLUMNS = "id, alias, provider, chat_id, title"


def _group(row: Row | None) -> Group | None:
    return Group(**row) if row else None


class Groups:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, alias: str) -> Group | None:
        return _group(
            await self._db.fetch_one(f"SELECT {_COLUMNS} FROM groups WHERE alias = ?", (alias,))
        )

    async def by_id(self, group_id: int) -> Group | None:
        return _group(
            await self._db.fetch_one(f"SELECT {_COLUMNS} FROM groups WHERE id = ?", (group_id,))
        )

    async def with_chat_id(self, chat_id: str) -> Group | None:
        return _group(
            await self._db.fetch_one(f"SELECT {_COLUMNS} FROM groups WHERE chat_id = ?", (chat_id,))
        )

    async def all(self) -> list[Group]:
        return [
            Group(**row)
            for row in await self._db.fetch_all(f"SELECT {_COLUMNS} FROM groups ORDER BY alias")
        ]

    async def of_provider(self, provider: str) -> list[Group]:
        """The groups of one provider account, by alias (what one watching turn reads)."""
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM groups WHERE provider = ? ORDER BY alias", (provider,)
        )
        return [Group(**row) for row in rows]

    async def count(self) -> int:
        row = await self._db.fetch_one("SELECT COUNT(*) AS n FROM groups")
        return int(row["n"]) if row else 0

    async def page(self, skip: int, limit: int) -> list[Group]:
        """`limit` groups by alias after the first `skip` (a page of thousands)."""
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM groups ORDER BY alias LIMIT ? OFFSET ?", (limit, skip)
        )
        return [Group(**row) for row in rows]

    async def source(self, alias: str) -> str | None:
        """'config' or 'chat' (added with /addgroup); None when there is no such group."""
        row = await self._db.fetch_one("SELECT source FROM groups WHERE alias = ?", (alias,))
        return row["source"] if row else None

    async def add(self, group: Group) -> Group | None:
        """Add a chat-sourced group; None (and nothing changed) when the alias is taken."""
        async with self._db.transaction():
            written = await self._db.execute(
                "INSERT INTO groups (alias, provider, chat_id, title, source)"
                " VALUES (?, ?, ?, ?, 'chat') ON CONFLICT (alias) DO NOTHING",
                (group.alias, group.provider, group.chat_id, group.title),
            )
            return await self.get(group.alias) if written.rowcount else None

    async def remove(self, alias: str) -> Group | None:
        """Remove a chat-sourced group with its grants, links and proposals; None when there
        is no such chat group."""
        async with self._db.transaction():
            group = await self.get(alias)
            if group is None or await self.source(alias) != "chat":
                return None
            await self._delete(group.id)
            return group

    async def _delete(self, group_id: int | None) -> None:
        """Delete a group (its grants, links and single proposals go with it); a list proposal
        it heads moves on to its next group still here, and goes only with the last of them."""
        await self._db.execute(
            "UPDATE proposals SET group_id = (SELECT pg.group_id FROM proposal_groups AS pg"
            " JOIN groups AS g ON g.id = pg.group_id WHERE pg.proposal_id = proposals.id"
            " AND pg.group_id <> ? ORDER BY pg.position LIMIT 1)"
            " WHERE group_id = ? AND EXISTS (SELECT 1 FROM proposal_groups AS pg JOIN groups"
            " AS g ON g.id = pg.group_id WHERE pg.proposal_id = proposals.id"
            " AND pg.group_id <> ?)",
            (group_id, group_id, group_id),
        )
        await self._db.execute("DELETE FROM groups WHERE id = ?", (group_id,))

    async def sync_config(self, groups: Iterable[Group], links: dict[int, str]) -> None:
        """Make the config's groups and links the store's config-sourced rows.

        A stored group with the same provider and chat id is the same group (it keeps its id,
        and with it its grants, whatever its alias now). A config group that is gone, and a
        chat group whose alias a different config group now takes, are removed with
        everything that belongs to them."""
        wanted = list(groups)
        async with self._db.transaction():
            stored = await self._db.fetch_all(
                "SELECT id, alias, provider, chat_id, source FROM groups"
            )
            by_chat = {(row["provider"], row["chat_id"]): row["id"] for row in stored}
            kept: dict[int, Group] = {}
            new: list[Group] = []
            for group in wanted:
                found = by_chat.pop((group.provider, group.chat_id), None)
                if found is None or found in kept:
                    new.append(group)
                else:
                    kept[found] = group
            aliases = {group.alias for group in wanted}
            for row in stored:
                if row["id"] not in kept and (row["source"] == "config" or row["alias"] in aliases):
                    await self._delete(row["id"])
            # free the aliases first: two kept groups may swap theirs
            await self._db.execute_many(
                "UPDATE groups SET alias = '#' || id WHERE id = ?", [(i,) for i in kept]
            )
            await self._db.execute_many(
                "UPDATE groups SET alias = ?, title = ?, source = 'config' WHERE id = ?",
                [(g.alias, g.title, group_id) for group_id, g in kept.items()],
            )
            await self._db.execute_many(
                "INSERT INTO groups (alias, provider, chat_id, title, source)"
                " VALUES (?, ?, ?, ?, 'config')",
                [(g.alias, g.provider, g.chat_id, g.title) for g in new],
            )
            await self._db.execute("DELETE FROM links WHERE source = 'config'")
            await self._db.execute_many(
                "INSERT INTO links (telegram_chat_id, group_id, source)"
                " SELECT ?, id, 'config' FROM groups WHERE alias = ?"
                " ON CONFLICT (telegram_chat_id) DO UPDATE SET group_id = excluded.group_id,"
                " source = 'config'",
                list(links.items()),
            )


class Links:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def of(self, telegram_chat_id: int) -> Link | None:
        row = await self._db.fetch_one(
            "SELECT links.telegram_chat_id, groups.alias, links.source, links.group_id"
            " FROM links JOIN groups ON groups.id = links.group_id"
            " WHERE links.telegram_chat_id = ?",
            (telegram_chat_id,),
        )
        return Link(**row) if row else None

    async def set(self, telegram_chat_id: int, group: Group) -> None:
        await self._db.execute(
            "INSERT INTO links (telegram_chat_id, group_id, source) VALUES (?, ?, 'chat')"
            " ON CONFLICT (telegram_chat_id) DO UPDATE SET group_id = excluded.group_id,"
            " source = 'chat'",
            (telegram_chat_id, group.id),
        )

    async def remove(self, telegram_chat_id: int) -> bool:
        written = await self._db.execute(
            "DELETE FROM links WHERE telegram_chat_id = ?", (telegram_chat_id,)
        )
        return written.rowcount > 0
