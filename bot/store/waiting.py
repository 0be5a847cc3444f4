"""State that any instance of the bot must see: whom the bot waits for a photo from, and the
providers whose owners were told that authentication fails."""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.db import Database


@dataclass(frozen=True)
class PendingPhoto:
    """A set command waiting for its photo from one person in one chat."""

    action: str
    name: str | None
    question_id: int
    #: seconds since the epoch after which only a reply to the question counts
    deadline: float
    #: when the change is to be made (`at …`) and its earlier picture put back (`until …`),
    #: as bot.when.When.stored() gives them
    run_at: str | None = None
    until: str | None = None


class PendingPhotos:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def wait(self, chat_id: int, user_id: int, pending: PendingPhoto) -> None:
        """Wait for `user_id`'s photo in `chat_id` (instead of what was waited for before)."""
        await self._db.execute(
            "INSERT INTO pending_photos (chat_id, user_id, action, name, question_id, deadline,"
            " run_at, until_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (chat_id, user_id) DO UPDATE SET"
            " action = excluded.action, name = excluded.name,"
            " question_id = excluded.question_id, deadline = excluded.deadline,"
            " run_at = excluded.run_at, until_at = excluded.until_at",
            (
                chat_id,
                user_id,
                pending.action,
                pending.name,
                pending.question_id,
                pending.deadline,
                pending.run_at,
                pending.until,
            ),
        )

    async def take(self, chat_id: int, user_id: int) -> PendingPhoto | None:
        """Stop waiting for this person's photo here; what was waited for, if anything (taken
        by one instance only, when two get a photo at once)."""
        async with self._db.transaction():
            row = await self._db.fetch_one(
                "DELETE FROM pending_photos WHERE chat_id = ? AND user_id = ?"
                " RETURNING action, name, question_id, deadline, run_at, until_at",
                (chat_id, user_id),
            )
        if row is None:
            return None
        return PendingPhoto(
            row["action"],
            row["name"],
            row["question_id"],
            row["deadline"],
            row["run_at"],
            row["until_at"],
        )


class AuthAlerts:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def start(self, provider: str) -> bool:
        """Authentication fails at `provider`: True when nobody was told yet."""
        written = await self._db.execute(
            "INSERT INTO auth_alerts (provider, since) VALUES (?, ?)"
            " ON CONFLICT (provider) DO NOTHING",
            (provider, self._db.clock.stamp()),
        )
        return written.rowcount == 1

    async def end(self, provider: str) -> bool:
        """`provider` works: True when the owners had been told it did not."""
        written = await self._db.execute("DELETE FROM auth_alerts WHERE provider = ?", (provider,))
        return written.rowcount == 1
