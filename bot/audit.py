"""Writing the audit log: every attempt, refused ones included."""

from __future__ import annotations

from bot.notify import Actor
from bot.store import AuditEntry, Store


async def record(
    store: Store,
    actor: Actor | None,
    action: str,
    target: str | None,
    outcome: str,
    reason: str | None = None,
    *,
    provider: str | None = None,
    url: str | None = None,
    requested_by: int | None = None,
) -> None:
    """One audit row; `actor` None for what the bot does by itself (an expiry)."""
    await store.record(
        AuditEntry(
            user_id=actor.user_id if actor else None,
            chat_id=actor.chat_id if actor else None,
            action=action,
            target=target,
            provider=provider,
            outcome=outcome,
            reason=reason,
            url=url,
            requested_by=requested_by,
        )
    )
