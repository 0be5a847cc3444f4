"""Who may do what: deny by default, owners everything, grants scoped to one group or '*'."""

from __future__ import annotations

import pytest

from bot.domain import Action, Grant, Group, Role
from bot.permissions import may, may_decide, role_in

OWNER, ADMIN, WILDCARD_ADMIN, REQUESTER, STRANGER = 1, 2, 3, 4, 5
GROUPS = {
    "family": Group("family", "green", "1@g.us", "Family", id=1),
    "work": Group("work", "green", "2@g.us", "Work", id=2),
    # a later group under a name a removed group had: grants belong to ids, not names
    "reused": Group("family", "green", "3@g.us", "Other", id=3),
}
GRANTS = [
    Grant(ADMIN, "family", Role.ADMIN, group_id=1),
    Grant(WILDCARD_ADMIN, "*", Role.ADMIN),
    Grant(REQUESTER, "family", Role.REQUESTER, group_id=1),
]


def allowed(user: int, action: Action, alias: str | None) -> bool:
    return may(user, action, GROUPS[alias] if alias else None, owners={OWNER}, grants=GRANTS)


@pytest.mark.parametrize(
    "action", [Action.SET_GROUP_PICTURE, Action.DELETE_GROUP_PICTURE, Action.VIEW_GROUP_PICTURE]
)
def test_group_actions(action):
    assert allowed(OWNER, action, "work")
    assert allowed(ADMIN, action, "family")
    assert not allowed(ADMIN, action, "work")  # out of scope
    assert allowed(WILDCARD_ADMIN, action, "work")
    assert not allowed(STRANGER, action, "family")
    assert not allowed(ADMIN, action, "reused") and allowed(WILDCARD_ADMIN, action, "reused")


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
    assert not may(
        STRANGER,
        Action.SET_GROUP_PICTURE,
        GROUPS["family"],
        owners=set(),
        grants=[Grant(ADMIN, "family", Role.ADMIN, group_id=1)],
    )


def test_the_admin_map_itself_is_for_owners_only():
    for action in (Action.MANAGE_GRANTS, Action.MANAGE_GROUPS):
        assert allowed(OWNER, action, None)
        for user in (ADMIN, WILDCARD_ADMIN, REQUESTER, STRANGER):
            assert not allowed(user, action, None)
            assert not allowed(user, action, "family")


def test_linking_a_chat_and_seeing_grants_are_for_the_groups_admins():
    for action in (Action.LINK_CHAT, Action.VIEW_GRANTS):
        assert allowed(ADMIN, action, "family") and allowed(WILDCARD_ADMIN, action, "work")
        assert not allowed(ADMIN, action, "work")
        assert not allowed(REQUESTER, action, "family")


def test_requesters_propose_and_read_the_history_of_their_groups():
    for action in (Action.PROPOSE_CHANGE, Action.VIEW_HISTORY):
        assert allowed(REQUESTER, action, "family") and allowed(ADMIN, action, "family")
        assert not allowed(REQUESTER, action, "work")
        assert not allowed(STRANGER, action, "family")
    # the whole history (alias None) is the owners'
    assert allowed(OWNER, Action.VIEW_HISTORY, None)
    assert not allowed(WILDCARD_ADMIN, Action.VIEW_HISTORY, None)


def test_admins_of_any_group_choose_their_notifications():
    assert allowed(ADMIN, Action.CHOOSE_NOTIFICATIONS, None)
    assert not allowed(REQUESTER, Action.CHOOSE_NOTIFICATIONS, None)


def test_deciding_a_proposal_needs_the_right_to_make_the_change():
    def decides(user: int, action: Action, alias: str) -> bool:
        return may_decide(user, action, GROUPS[alias], owners={OWNER}, grants=GRANTS)

    assert decides(ADMIN, Action.SET_GROUP_PICTURE, "family")
    assert decides(OWNER, Action.DELETE_GROUP_PICTURE, "work")
    assert not decides(ADMIN, Action.SET_GROUP_PICTURE, "work")
    assert not decides(REQUESTER, Action.SET_GROUP_PICTURE, "family")
    assert not decides(ADMIN, Action.VIEW_GROUP_PICTURE, "family")  # nothing to decide


def test_role_in_names_the_strongest_role():
    def role(user: int, alias: str) -> Role | None:
        return role_in(user, GROUPS[alias], owners={OWNER}, grants=GRANTS)

    assert role(OWNER, "family") is Role.OWNER
    assert role(ADMIN, "family") is Role.ADMIN and role(ADMIN, "work") is None
    assert role(WILDCARD_ADMIN, "work") is Role.ADMIN
    assert role(REQUESTER, "family") is Role.REQUESTER
    both = [*GRANTS, Grant(REQUESTER, "*", Role.ADMIN)]
    assert role_in(REQUESTER, GROUPS["family"], owners=(), grants=both) is Role.ADMIN
