"""A change request: what a person asked for, as one value the handlers parse once.

`/setgrouppic family,work at 18:00`, `/delgrouppic *`, `/undogrouppic family until in 3h` and
`/setprofilepic green` are all a `ChangeRequest`: what (set, remove, undo, and the photo), where
(one group, a list or `*`, or an account), when (now, at, until) and who asked. Its `road` is
the one way it goes; rights are then checked per target on that road, where a requester's
change becomes a proposal that carries the list and the times with it (bot/proposals.py), so
lists, times and proposals compose instead of being special-cased:

- `LIST`: several groups: a plan (bot/bulk.py) shows what changes and what is left alone, then
  each group is changed now, kept for its time or as a recurrence of its own, or proposed as
  one proposal;
- `CONFIRM`: a removal of one group is asked first (Remove it / Keep it), then goes like below;
- `RECUR`: kept with its rhythm (`every …`, bot/rhythm.py), each run an ordinary change;
- `AT_ITS_TIME`: kept for its time (bot/schedule.py);
- `NOW`: made now (bot/service.py, bot/changes.py).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bot.domain import Action, Actor, BulkKind, How, PhotoSource
from bot.rhythm import Rhythm
from bot.when import When


class Road(enum.Enum):
    LIST = "list"
    CONFIRM = "confirm"
    RECUR = "recur"
    AT_ITS_TIME = "at_its_time"
    NOW = "now"


#: the actions a request may ask for
REQUESTABLE = frozenset(
    {Action.SET_GROUP_PICTURE, Action.DELETE_GROUP_PICTURE, Action.SET_OWN_PICTURE}
)


def names_in(text: str) -> list[str] | None:
    """The groups a command names when it names several (`family,work` or `*`), else None."""
    if text.strip() == "*":
        return ["*"]
    if "," not in text:
        return None
    return [name.strip().lower() for name in text.split(",") if name.strip()]


@dataclass(frozen=True)
class ChangeRequest:
    """One change someone asked for. `names` is what they named: a group alias, a list
    (`family,work`), `*`, a provider for the account's own picture, or None (the chat's linked
    group, or the only provider)."""

    action: Action
    asker: Actor
    names: str | None = None
    when: When | None = None
    photo: PhotoSource | None = None
    #: UNDO: put back what the target had before the last change made through the bot
    how: How | None = None
    #: `every …`: the change recurs (then `when` is None)
    every: Rhythm | None = None
    #: an album's photos in the order sent (`photo` is the captioned one): a recurrence
    #: rotates them
    album: tuple[PhotoSource, ...] = ()

    def __post_init__(self) -> None:
        if self.action not in REQUESTABLE:
            raise ValueError(f"not a change: {self.action}")

    @property
    def needs_photo(self) -> bool:
        """A set that is not an undo comes with a picture."""
        return self.action is not Action.DELETE_GROUP_PICTURE and self.how is not How.UNDO

    @property
    def many(self) -> bool:
        return (
            self.action is not Action.SET_OWN_PICTURE
            and self.names is not None
            and names_in(self.names) is not None
        )

    @property
    def kind(self) -> BulkKind:
        """What it does to each group of a list."""
        if self.how is How.UNDO:
            return BulkKind.UNDO
        if self.action is Action.DELETE_GROUP_PICTURE:
            return BulkKind.DELETE
        return BulkKind.SET

    @property
    def road(self) -> Road:
        if self.many:
            return Road.LIST
        if self.every is not None:
            return Road.RECUR
        if self.action is Action.DELETE_GROUP_PICTURE:
            return Road.CONFIRM
        if self.when is not None:
            return Road.AT_ITS_TIME
        return Road.NOW
