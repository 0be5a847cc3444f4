"""Who may do what: pure logic over the config's owners and the store's grants. Deny by default."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

ANY_GROUP = "*"


class Role(str, enum.Enum):
    OWNER = "owner"  # from config: every right
    ADMIN = "admin"  # set, delete and view the pictures of the groups in scope
    REQUESTER = "requester"  # view the pictures of the groups in scope


class Action(str, enum.Enum):
    SET_GROUP_PICTURE = "set_group_picture"
    DELETE_GROUP_PICTURE = "delete_group_picture"
    VIEW_GROUP_PICTURE = "view_group_picture"
    SET_OWN_PICTURE = "set_own_picture"
    VIEW_OWN_PICTURE = "view_own_picture"


#: what each granted role allows on a group in its scope
GROUP_RIGHTS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(
        {Action.SET_GROUP_PICTURE, Action.DELETE_GROUP_PICTURE, Action.VIEW_GROUP_PICTURE}
    ),
    Role.REQUESTER: frozenset({Action.VIEW_GROUP_PICTURE}),
}

#: account-wide actions an admin of any group may take (setting the account picture is owners')
ADMIN_ACCOUNT_RIGHTS = frozenset({Action.VIEW_OWN_PICTURE})


@dataclass(frozen=True)
class Grant:
    user_id: int
    scope: str  # a group alias, or "*"
    role: Role
    granted_by: int | None = None
    granted_at: str | None = None


def may(
    user_id: int,
    action: Action,
    alias: str | None,
    *,
    owners: Iterable[int],
    grants: Iterable[Grant],
) -> bool:
    """Whether `user_id` may take `action` on group `alias` (None for account-wide actions)."""
    if user_id in owners:
        return True
    held = [grant for grant in grants if grant.user_id == user_id]
    if alias is None:
        return action in ADMIN_ACCOUNT_RIGHTS and any(g.role is Role.ADMIN for g in held)
    return any(
        grant.scope in (alias, ANY_GROUP) and action in GROUP_RIGHTS.get(grant.role, ())
        for grant in held
    )
