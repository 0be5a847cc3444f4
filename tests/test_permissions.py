"""Who may do what: deny by default, owners everything, grants scoped to one group or '*'."""

from __future__ import annotations

import pytest

from bot.permissions import Action, Grant, Role, may

OWNER, ADMIN, WILDCARD_ADMIN, REQUESTER, STRANGER = 1, 2, 3, 4, 5
GRANTS = [
    Grant(ADMIN, "family", Role.ADMIN),
    Grant(WILDCARD_ADMIN, "*", Role.ADMIN),
    Grant(REQUESTER, "family", Role.REQUESTER),
]


def allowed(user: int, action: Action, alias: str | None) -> bool:
    return may(user, action, alias, owners={OWNER}, grants=GRANTS)


@pytest.mark.parametrize("action", [Action.SET_GROUP_PICTURE, Action.DELETE_GROUP_PICTURE,
                                    Action.VIEW_GROUP_PICTURE])
def test_group_actions(action):
    assert allowed(OWNER, action, "work")
    assert allowed(ADMIN, action, "family")
    assert not allowed(ADMIN, action, "work")  # out of scope
    assert allowed(WILDCARD_ADMIN, action, "work")
    assert not allowed(STRANGER, action, "family")


def test_a_requester_may_look_but_not_change():
    assert allowed(REQUESTER, Action.VIEW_GROUP_PICTURE, "family")
    assert not allowed(REQUESTER, Action.SET_GROUP_PICTURE, "family")
    assert not allowed(REQUESTER, Action.DELETE_GROUP_PICTURE, "family")


def test_only_owners_change_the_account_picture_admins_may_see_it():
    assert allowed(OWNER, Action.SET_OWN_PICTURE, None)
    assert not allowed(WILDCARD_ADMIN, Action.SET_OWN_PICTURE, None)
    assert allowed(ADMIN, Action.VIEW_OWN_PICTURE, None)
    assert not allowed(REQUESTER, Action.VIEW_OWN_PICTURE, None)
    assert not allowed(STRANGER, Action.VIEW_OWN_PICTURE, None)


def test_someone_elses_grant_gives_nothing():
    assert not may(STRANGER, Action.SET_GROUP_PICTURE, "family", owners=set(),
                   grants=[Grant(ADMIN, "family", Role.ADMIN)])
