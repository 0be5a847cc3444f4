"""Who may do what: pure rules over the config's owners and the store's grants. Deny by default.

bot/access.py asks these rules with the store's grants; nothing else should need them.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.domain import Action, Grant, Group, Role

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


def may(
    user_id: int,
    action: Action,
    group: Group | None,
    *,
    owners: Iterable[int],
    grants: Iterable[Grant],
) -> bool:
    """Whether `user_id` may take `action` on `group` (None for account-wide actions)."""
    if user_id in owners:
        return True
    held = [grant for grant in grants if grant.user_id == user_id]
    if group is None:
        return action in ADMIN_ACCOUNT_RIGHTS and any(g.role is Role.ADMIN for g in held)
    return any(grant.covers(group) and action in GROUP_RIGHTS.get(grant.role, ()) for grant in held)


def may_decide(
    user_id: int, action: Action, group: Group, *, owners: Iterable[int], grants: Iterable[Grant]
) -> bool:
    """Whether `user_id` may approve or reject a proposed `action`: whoever may make it."""
    return action in PROPOSABLE and may(user_id, action, group, owners=owners, grants=grants)


def role_in(
    user_id: int, group: Group, *, owners: Iterable[int], grants: Iterable[Grant]
) -> Role | None:
    """The strongest role `user_id` holds on `group`, if any."""
    if user_id in owners:
        return Role.OWNER
    held = {g.role for g in grants if g.user_id == user_id and g.covers(group)}
    return next((role for role in (Role.ADMIN, Role.REQUESTER) if role in held), None)
