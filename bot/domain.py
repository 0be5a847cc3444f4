"""The nouns every layer passes around: who acts, on what, what happened, and what the store keeps.

Plain data only (dataclasses and enums): no SQL, no Telegram, no provider calls. The rules over
these nouns live beside them: who may do what in bot/permissions.py and bot/access.py, how a
change runs in bot/changes.py.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from adapters import PreparedPicture, Provider

#: a grant's scope that covers every group
ANY_GROUP = "*"
#: an operation's target when it changes a provider account's own picture
ACCOUNT_PREFIX = "account:"
#: the request key of the change a scheduled change's phase makes
SCHEDULED_RUN = "schedule:"


# who may do what ---------------------------------------------------------------------------------


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


#: the actions about the account's own picture (no group)
ACCOUNT_ACTIONS = frozenset({Action.SET_OWN_PICTURE, Action.VIEW_OWN_PICTURE})


class MapChange(str, enum.Enum):
    """The audit log's `action` for each kind of change to the admin map."""

    GRANT = "grant"
    REVOKE = "revoke"
    ADD_GROUP = "add_group"
    REMOVE_GROUP = "remove_group"
    LINK = "link"
    UNLINK = "unlink"
    #: what the bot does about a group's picture changed outside it (bot/watch.py)
    GUARD = "guard"


@dataclass(frozen=True)
class Actor:
    """Who asked, and where: the Telegram user and chat."""

    user_id: int
    chat_id: int
    name: str


#: who makes the changes that put back a picture changed outside the bot (bot/watch.py), on
#: behalf of its group's policy: no Telegram user or chat has the id 0
GUARD = Actor(user_id=0, chat_id=0, name="guard")


class Refusal(Exception):
    """The request is refused before any provider call; `reason` is plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# what the store keeps ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """A WhatsApp (or MAX) group: one chat of one provider. `id` is the store's key for it;
    grants, links and proposals belong to that key, not to the alias, which can be reused."""

    alias: str
    provider: str
    chat_id: str
    title: str
    id: int | None = None  # None until stored


@dataclass(frozen=True)
class Link:
    """A Telegram chat's default group."""

    telegram_chat_id: int
    alias: str
    source: str  # config | chat
    group_id: int


@dataclass(frozen=True)
class Grant:
    user_id: int
    scope: str  # the group's alias, or "*"
    role: Role
    granted_by: int | None = None
    granted_at: str | None = None
    #: the group it is for; None for "*" (every group)
    group_id: int | None = None

    def covers(self, group: Group) -> bool:
        return self.group_id is None or self.group_id == group.id


class AuditOutcome(enum.StrEnum):
    """What an audit row says happened (a StrEnum: it reads as its value in text)."""

    DONE = "done"
    FAILED = "failed"
    REFUSED = "refused"
    PROPOSED = "proposed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class AuditEntry:
    user_id: int | None
    chat_id: int | None
    action: str  # an Action or a MapChange value
    target: str | None  # a group alias, account:<provider>, or None
    outcome: AuditOutcome
    provider: str | None = None
    reason: str | None = None
    url: str | None = None
    at: str = ""
    id: int | None = None
    #: who proposed a change that `user_id` approved (or rejected)
    requested_by: int | None = None
    #: the group `target` named when the row was written (its history: a reused alias names
    #: another group)
    group_id: int | None = None


class How(enum.StrEnum):
    """How a change came about, when not by an ordinary command (kept as these words)."""

    #: put back the picture from before the last change (worked out at its time, when scheduled)
    UNDO = "undo"
    #: put back a kept picture picked under /pictures
    RESTORE = "restore"
    #: made outside the bot, and seen by watching (bot/watch.py): only in the picture history
    OUTSIDE = "outside"


class Guard(enum.StrEnum):
    """What the bot does when a group's picture was changed outside it (bot/watch.py)."""

    #: tell the owners, the group's admins and the notify chat, with the new picture
    NOTIFY = "notify"
    #: put back the picture the bot last knew, at once
    RESTORE = "restore"
    #: keep it in the picture history only
    OFF = "off"


def how_of(word: str | None) -> How | None:
    """A kept `how` column read back."""
    return None if word is None else How(word)


class ProposalStatus(str, enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


@dataclass(frozen=True)
class ProposedGroup:
    """One group a proposal is for: its store id (what the decision acts on), and its alias and
    title when proposed (what the copies said)."""

    group_id: int
    alias: str
    title: str


@dataclass(frozen=True)
class Proposal:
    """A requester's change to one group or a list of groups, waiting for (or past) an admin's
    decision: decided, expired, shown and audited as one."""

    id: int
    action: str
    group_id: int  # the first of `groups` still in the store (a list's: it moves on)
    alias: str  # the first group's alias and title when proposed
    title: str
    requested_by: int
    requester_name: str
    chat_id: int  # where the requester asked, and hears the outcome
    jpeg: bytes | None  # the prepared picture; None for a removal
    side: int | None
    status: ProposalStatus
    created_at: str
    expires_at: str
    decided_by: int | None = None
    decided_by_name: str | None = None
    decided_at: str | None = None
    #: what asked for it: a second press or a redelivered update proposes nothing twice
    request_key: str | None = None
    #: a scheduled change: when it is to be made (None: when approved), and when the earlier
    #: picture comes back (None: never)
    run_at: str | None = None
    until_at: str | None = None
    #: an undo: put back the picture from before the last change, worked out at its time
    how: How | None = None
    #: asked as a list of groups (`family,work`, `*`): worded and run as a list
    listed: int = 0
    #: every copy went out to the deciders (0: a restart sends the rest)
    sent: int = 1
    #: a recurrence (`every …`): its words and the zone they are read in
    rhythm: str | None = None
    zone: str | None = None
    groups: tuple[ProposedGroup, ...] = ()

    @property
    def names(self) -> str:
        """Its groups as people read them: `family, work`."""
        return ", ".join(group.alias for group in self.groups) or self.alias


class OperationStatus(str, enum.Enum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SUPERSEDED = "superseded"
    #: refused after it was written down (the picture turned out unusable)
    REFUSED = "refused"
    #: its group was removed before it ran
    CANCELLED = "cancelled"


OPEN_STATUSES = (OperationStatus.PENDING, OperationStatus.RUNNING)


class ByWhom:
    """The `actor` and `requester` of a kept record that holds their ids, chats and names."""

    actor_id: int
    actor_chat_id: int
    actor_name: str
    requester_id: int | None
    requester_chat_id: int | None
    requester_name: str | None

    @property
    def actor(self) -> Actor:
        return Actor(self.actor_id, self.actor_chat_id, self.actor_name)

    @property
    def requester(self) -> Actor | None:
        if self.requester_id is None or self.requester_chat_id is None:
            return None
        return Actor(self.requester_id, self.requester_chat_id, self.requester_name or "")


@dataclass(frozen=True)
class Operation(ByWhom):
    """One accepted picture change, written down before it runs (and before its picture is
    downloaded: then `file_id` names the picture and `jpeg` is None)."""

    action: str
    target: str  # a group alias, or account:<provider>
    provider: str
    actor_id: int
    actor_name: str
    actor_chat_id: int
    requester_id: int | None = None
    requester_name: str | None = None
    requester_chat_id: int | None = None
    #: what asked for it ("<chat>:<message>"): a redelivered update finds it and does nothing
    request_key: str | None = None
    #: the bot's message that shows the change's progress and final answer
    reply_chat_id: int | None = None
    reply_message_id: int | None = None
    jpeg: bytes | None = None
    side: int | None = None
    status: OperationStatus = OperationStatus.PENDING
    attempts: int = 0
    url: str | None = None
    reason: str | None = None
    created_at: str = ""
    updated_at: str = ""
    #: the group it changes (None for the account's picture, or once the group is removed)
    group_id: int | None = None
    #: the Telegram file of a picture not yet downloaded
    file_id: str | None = None
    id: int | None = None
    how: How | None = None
    #: the change to many groups at once it belongs to
    bulk_id: int | None = None
    #: the provider accepted it and confirms it later: its request id, and until when (ISO
    #: time) the change waits for that
    awaiting: str | None = None
    awaiting_until: str | None = None

    @property
    def scheduled(self) -> bool:
        """Made by the scheduler for a scheduled change, which tells its outcome itself."""
        return (self.request_key or "").startswith(SCHEDULED_RUN)

    @property
    def request_message(self) -> MessageRef | None:
        """The message that asked for the change, when one did (a command: "<chat>:<message>";
        not a scheduled run or an approval): the answer of a change that never showed its
        progress quotes it."""
        chat, _, message = (self.request_key or "").partition(":")
        try:
            return MessageRef(int(chat), int(message))
        except ValueError:
            return None


# a change on its way -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """What a change is about: a group, or the account of one provider."""

    provider: Provider
    title: str
    group: Group | None = None
    #: the actor may only propose this change; the group's admins decide
    needs_approval: bool = False

    @classmethod
    def account(cls, provider: Provider) -> Target:
        from bot import texts  # the sentences need these nouns first

        return cls(provider=provider, title=texts.account(provider.name))

    @property
    def audit_name(self) -> str:
        return self.group.alias if self.group else f"{ACCOUNT_PREFIX}{self.provider.name}"

    @property
    def name(self) -> str:
        """What the user names it by: the group's alias, or the provider's name."""
        return self.group.alias if self.group else self.provider.name


@dataclass(frozen=True)
class PhotoSource:
    """A picture the user sent, not yet downloaded: the Telegram file, which can be fetched
    again after a restart."""

    file_id: str
    file_size: int | None = None


@dataclass(frozen=True)
class Change:
    action: Action
    target: Target
    actor: Actor
    picture: PreparedPicture | None
    #: who proposed it, when `actor` approved it
    requester: Actor | None = None
    how: How | None = None
    #: the change to many groups at once it belongs to (its notice is the bulk's summary)
    bulk_id: int | None = None


@dataclass(frozen=True)
class MessageRef:
    chat_id: int
    message_id: int


@dataclass(frozen=True)
class Progress:
    """Where a change's answer is shown, what asked for it, and how to say it was taken up or
    must wait."""

    reply: MessageRef | None = None
    #: "<chat id>:<message id>" of the request: a second press or a redelivered update must
    #: not run it twice
    request_key: str | None = None
    queued: Callable[[int], Awaitable[object]] | None = None
    #: when `reply` is None: the answer message once it is sent, written down with the change
    #: then. A change that ends within a moment is answered once, at its end, so this may
    #: never come (handlers/answers.py).
    replied: Callable[[], Awaitable[MessageRef]] | None = None
    #: says that the provider accepted the change and its confirmation is awaited; returns
    #: the message that said it (the outcome edits it later)
    waiting: Callable[[], Awaitable[MessageRef]] | None = None


class Result(str, enum.Enum):
    """What became of a request: the one field an `Outcome` is read by."""

    DONE = "done"  # made (or, for a view, read)
    FAILED = "failed"  # the provider (or the proposal's delivery) failed
    REFUSED = "refused"  # refused before any provider call; nothing changed
    PROPOSED = "proposed"  # sent to the group's admins for approval
    SUPERSEDED = "superseded"  # a newer change for the same target replaced it before it ran
    CANCELLED = "cancelled"  # its group was removed before it ran
    DUPLICATE = "duplicate"  # the same request was already taken up (a second press)


@dataclass(frozen=True)
class Outcome:
    result: Result
    target: str
    url: str | None = None
    #: why it failed or was refused, or a remark on a success
    reason: str | None = None
    #: for PROPOSED (or a proposal that failed): its id
    proposal: int | None = None
    #: reported after the bot restarted (the requester's wait was cut off)
    resumed: bool = False
    #: the picture itself, where the provider has no URL to show (a Telegram chat's photo)
    image: bytes | None = field(default=None, repr=False)
    #: the provider accepted the change and confirms it later (the outcome is told then)
    awaiting: bool = False
    #: the provider accepted the change and did not confirm it in time
    unconfirmed: bool = False

    @property
    def ok(self) -> bool:
        return self.result in (Result.DONE, Result.PROPOSED)


# picture history ---------------------------------------------------------------------------------


class Before(str, enum.Enum):
    """What a target had before a change: a picture, none, or the provider could not tell."""

    PICTURE = "picture"
    NONE = "none"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class PictureRecord:
    """One change the bot made to a group's (or the account's) picture, with the picture before
    it (when known) and the picture it set (None for a removal)."""

    id: int
    target_key: str  # group:<group id> or account:<provider>
    target: str
    provider: str
    operation_id: int
    action: str
    how: How | None
    actor_id: int
    actor_name: str
    before_state: Before
    before_jpeg: bytes | None
    before_side: int | None
    after_jpeg: bytes | None
    after_side: int | None
    after_url: str | None
    at: str
    group_id: int | None = None
    done: int = 1


def target_key(target: Target) -> str:
    """The history's key for a target: the group's store id, or the account."""
    if target.group is not None:
        return f"group:{target.group.id}"
    return f"{ACCOUNT_PREFIX}{target.provider.name}"


class NoUndo(enum.Enum):
    """Why an undo changes nothing (the handlers word it)."""

    NOTHING = "nothing"  # no change made through the bot is remembered
    UNKNOWN = "unknown"  # the picture before the last change could not be read
    CANNOT_REMOVE = "cannot_remove"  # there was none before, and the provider cannot remove


# many groups at once -----------------------------------------------------------------------------


class BulkStatus(enum.StrEnum):
    """Where a change to many groups stands: asked -> running -> ending (its summary being
    shown) -> done; a list with a time: asked -> done (its changes are scheduled); a
    requester's: asked -> moved (it is a proposal now: bot/proposals.py); a recurring one
    nobody answered in time: asked -> expired; one its asker kept: asked -> kept (their kept
    pictures go). An approved list proposal runs as a new one, from running. Proposed and
    rejected are lists proposed by a version that kept them apart (adopted as proposals at
    start-up)."""

    ASKED = "asked"
    RUNNING = "running"
    ENDING = "ending"
    DONE = "done"
    MOVED = "moved"
    KEPT = "kept"
    PROPOSED = "proposed"
    REJECTED = "rejected"
    EXPIRED = "expired"


class BulkKind(str, enum.Enum):
    """What a change to many groups at once does to each of them."""

    SET = "set"
    DELETE = "delete"
    UNDO = "undo"


@dataclass(frozen=True)
class BulkRefusal:
    """A group a bulk change leaves alone, and why (a refusal's words, or why no undo)."""

    name: str
    reason: str | NoUndo


@dataclass(frozen=True)
class BulkResult:
    """How one group of a bulk change ended (or that it is still on its way)."""

    name: str
    status: OperationStatus
    url: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class BulkProgress:
    """What the progress message of a bulk change shows."""

    kind: BulkKind
    total: int
    #: groups that ended (refused ones included), of `total`
    finished: int
    #: groups that ended without the change (refused ones included)
    failed: int
    #: changes not started yet (the others of `total` are running or ended)
    waiting: int
    #: the last edit: every group's result, and the groups refused before anything ran
    final: bool = False
    results: tuple[BulkResult, ...] = ()
    refused: tuple[BulkRefusal, ...] = ()


class Phase(enum.StrEnum):
    """Which step of a scheduled change waits: the change at its time, or the restore."""

    AT = "at"
    UNTIL = "until"


class ScheduleStatus(enum.StrEnum):
    #: a draft waiting for its author's confirmation (a timed removal), which nothing runs
    ASKED = "asked"
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    #: a recurrence that failed three runs in a row: nothing runs it (the owners were told)
    PAUSED = "paused"


@dataclass(frozen=True)
class ScheduledChange(ByWhom):
    """A change to make at a set time (`run_at`; None: at once), and, when `until_at` is set,
    to undo at that time: one row of the store's `schedules`, one phase at a time."""

    action: str
    name: str
    title: str
    provider: str
    actor_id: int
    actor_name: str
    actor_chat_id: int
    due_at: str
    how: How | None = None
    group_id: int | None = None
    jpeg: bytes | None = None
    side: int | None = None
    run_at: str | None = None
    until_at: str | None = None
    phase: Phase = Phase.AT
    status: ScheduleStatus = ScheduleStatus.PENDING
    reply_chat_id: int | None = None
    reply_message_id: int | None = None
    request_key: str | None = None
    operation_id: int | None = None
    reason: str | None = None
    created_at: str = ""
    #: an approved proposal's: who proposed it (they hear the outcomes)
    requester_id: int | None = None
    requester_name: str | None = None
    requester_chat_id: int | None = None
    #: a recurrence's `every …` words (bot/rhythm.py; None: it runs once), and the zone they
    #: are read in (its author's when it was kept)
    rhythm: str | None = None
    zone: str | None = None
    #: a recurrence's runs made or skipped so far (which picture of its rotation is next), and
    #: its failed runs in a row
    runs: int = 0
    failures: int = 0
    #: starts skipped once its open window closes (Skip next pressed meanwhile): 0 or 1
    skips: int = 0
    #: the entry whose pictures it rotates (the recurrences of one list share one copy);
    #: None: its own
    album: int | None = None
    id: int | None = None

    @property
    def pictures_key(self) -> int | None:
        """Under which entry a recurrence's pictures are kept."""
        return self.album if self.album is not None else self.id

    @property
    def next_run(self) -> int:
        """The number of the run it starts next: while its window is open, the one after."""
        return self.runs + 1 if self.phase is Phase.UNTIL else self.runs

    @property
    def run_key(self) -> str:
        """The request key of the change this phase makes (one per phase, and a recurrence's
        per run: a restart finds it)."""
        if self.rhythm is not None:
            return f"{SCHEDULED_RUN}{self.id}:{self.phase}:{self.runs}"
        return f"{SCHEDULED_RUN}{self.id}:{self.phase}"
