"""Who may do what: pure logic over the config's owners and the store's grants. Deny by default."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

ANY_GROUP = "*"


class Role(str, enum.Enum):
    OWNER = "owner"  # from config: every right
    ADMIN = "admin"  # set, delete and view the pictures of the groups in scope
    REQUESTER = "requester"  # view the pictures of the groups in scope, propose changes


class Action(str, enum.Enum):
    SET_GROUP_PICTURE = "set_group_picture"
    DELETE_GROUP_PICTURE = "delete_group_picture"
    VIEW_GROUP_PICTURE = "view_group_picture"
    SET_OWN_PICTURE = "set_own_picture"
    VIEW_OWN_PICTURE = "view_own_picture"
    #: ask the group's admins to make a change (set or delete) instead of making it
    PROPOSE_CHANGE = "propose_change"
    #: make a group the default of a Telegram chat
    LINK_CHAT = "link_chat"
    VIEW_GRANTS = "view_grants"
    VIEW_HISTORY = "view_history"
    #: turn one's own change notifications on or off
    CHOOSE_NOTIFICATIONS = "choose_notifications"
    # owners only (in no role's rights): the admin map itself
    MANAGE_GRANTS = "manage_grants"
    MANAGE_GROUPS = "manage_groups"


#: what each granted role allows on a group in its scope; an admin holds every requester right
GROUP_RIGHTS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(
        {
            Action.SET_GROUP_PICTURE,
            Action.DELETE_GROUP_PICTURE,
            Action.VIEW_GROUP_PICTURE,
            Action.PROPOSE_CHANGE,
            Action.LINK_CHAT,
            Action.VIEW_GRANTS,
            Action.VIEW_HISTORY,
        }
    ),
    Role.REQUESTER: frozenset(
        {Action.VIEW_GROUP_PICTURE, Action.PROPOSE_CHANGE, Action.VIEW_HISTORY}
    ),
}

#: account-wide actions an admin of any group may take (setting the account picture is owners')
ADMIN_ACCOUNT_RIGHTS = frozenset({Action.VIEW_OWN_PICTURE, Action.CHOOSE_NOTIFICATIONS})

#: the changes a requester proposes; deciding one needs the right to make it
PROPOSABLE = frozenset({Action.SET_GROUP_PICTURE, Action.DELETE_GROUP_PICTURE})


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


def may_decide(
    user_id: int, action: Action, alias: str, *, owners: Iterable[int], grants: Iterable[Grant]
) -> bool:
    """Whether `user_id` may approve or reject a proposed `action`: whoever may make it."""
    return action in PROPOSABLE and may(user_id, action, alias, owners=owners, grants=grants)


def role_in(
    user_id: int, alias: str, *, owners: Iterable[int], grants: Iterable[Grant]
) -> Role | None:
    """The strongest role `user_id` holds on group `alias`, if any."""
    if user_id in owners:
        return Role.OWNER
    held = {g.role for g in grants if g.user_id == user_id and g.scope in (alias, ANY_GROUP)}
    return next((role for role in (Role.ADMIN, Role.REQUESTER) if role in held), None)
