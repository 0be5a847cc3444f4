"""A change request's one road, from what was asked (bot/requests.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain import Action, Actor, BulkKind, How, PhotoSource
from bot.requests import ChangeRequest, Road
from bot.when import When

OLGA = Actor(111, 111, "Olga")
PHOTO = PhotoSource("file-1")
AT = When(datetime(2030, 1, 1, 18, tzinfo=UTC), None)
SET, DELETE, OWN = Action.SET_GROUP_PICTURE, Action.DELETE_GROUP_PICTURE, Action.SET_OWN_PICTURE


@pytest.mark.parametrize(
    ("request_", "road"),
    [
        (ChangeRequest(SET, OLGA, "family", photo=PHOTO), Road.NOW),
        (ChangeRequest(SET, OLGA, None, photo=PHOTO), Road.NOW),  # the chat's linked group
        (ChangeRequest(SET, OLGA, "family", AT, PHOTO), Road.AT_ITS_TIME),
        (ChangeRequest(SET, OLGA, "family, work", AT, PHOTO), Road.LIST),  # a list with a time
        (ChangeRequest(SET, OLGA, "*", photo=PHOTO), Road.LIST),
        (ChangeRequest(DELETE, OLGA, "family"), Road.CONFIRM),
        (ChangeRequest(DELETE, OLGA, "family", AT), Road.CONFIRM),  # asked first, then kept
        (ChangeRequest(DELETE, OLGA, "*"), Road.LIST),
        (ChangeRequest(SET, OLGA, "family,work", how=How.UNDO), Road.LIST),
        (ChangeRequest(SET, OLGA, "family", AT, how=How.UNDO), Road.AT_ITS_TIME),
        (ChangeRequest(OWN, OLGA, "green", photo=PHOTO), Road.NOW),
    ],
)
def test_each_request_takes_one_road(request_: ChangeRequest, road: Road):
    assert request_.road is road


def test_what_a_list_does_to_each_group_and_which_requests_want_a_photo():
    assert ChangeRequest(SET, OLGA, "a,b").kind is BulkKind.SET
    assert ChangeRequest(DELETE, OLGA, "a,b").kind is BulkKind.DELETE
    assert ChangeRequest(SET, OLGA, "a,b", how=How.UNDO).kind is BulkKind.UNDO
    assert ChangeRequest(SET, OLGA, "family").needs_photo
    assert not ChangeRequest(SET, OLGA, "family", how=How.UNDO).needs_photo
    assert not ChangeRequest(DELETE, OLGA, "family").needs_photo


def test_only_picture_changes_are_requests():
    with pytest.raises(ValueError, match="not a change"):
        ChangeRequest(Action.VIEW_GROUP_PICTURE, OLGA, "family")
