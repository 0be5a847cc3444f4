"""Writing the audit log: every attempt, refused ones included. The only writer of audit rows
(inside a caller's transaction when it must land together with another write)."""

from __future__ import annotations

from bot.domain import Actor, AuditEntry, AuditOutcome
from bot.store import Store


async def record(
    store: Store,
    actor: Actor | None,
    action: str,
    target: str | None,
    outcome: AuditOutcome,
    reason: str | None = None,
    *,
    provider: str | None = None,
    url: str | None = None,
    requested_by: int | None = None,
) -> None:
    """One audit row; `actor` None for what the bot does by itself (an expiry). `action` is
    an `Action` or a `MapChange` (both are str enums)."""
    await store.audit.add(
        AuditEntry(
            user_id=actor.user_id if actor else None,
            chat_id=actor.chat_id if actor else None,
            action=str(getattr(action, "value", action)),
            target=target,
            provider=provider,
            outcome=outcome,
            reason=reason,
            url=url,
            requested_by=requested_by,
        )
    )
