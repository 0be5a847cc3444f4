"""The data of the bot's inline buttons: one typed codec, and the rule for reading a press.

Telegram hands the bot whatever `callback_data` a client sends, on any message the bot sent, so
a press is trusted only when its data is one of the buttons on that very message (Telegram
fills in the message, not the client) and decodes to a value of this module. Every wire
format is written here and nowhere else (`Prefix`); bot/ hands the messenger typed values.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from telegram import CallbackQuery, Message

from bot import texts
from bot.config import ALIAS_PATTERN
from bot.domain import Phase
from bot.ids import positive_id

# the buttons bot/ sends through its Messenger are values of its own; they are written here
from bot.messenger import Decision as Decision
from bot.messenger import PutBack as PutBack


class Prefix(enum.StrEnum):
    """Every button's wire format starts with one of these, then `:`-separated numbers (and an
    alias): the one place they are written."""

    APPROVE = "ap"  # Decision: ap:<proposal id>
    REJECT = "rj"  # Decision: rj:<proposal id>
    PUT_BACK = "pb"  # PutBack: pb:<kept picture id of a change made outside the bot>
    REMOVE = "del"  # ConfirmRemoval: del:<asker>:<alias>
    KEEP = "keep"  # KeepPicture: keep:<asker>
    RESTORE = "rs"  # PickRestore: rs:<kept picture id>:<number shown>
    CONFIRM_RESTORE = "rsy"  # ConfirmRestore: rsy:<asker>:<kept picture id>:<number shown>
    CONFIRM_BULK = "bk"  # ConfirmBulk: bk:<asker>:<bulk id>
    KEEP_BULK = "bkk"  # KeepBulk: bkk:<asker>:<bulk id>
    CANCEL_SCHEDULE = "sx"  # CancelSchedule: sx:<scheduled change id>:<phase>
    SKIP_RUN = "sk"  # SkipRun: sk:<scheduled change id>:<run number>
    RESUME_RUN = "rr"  # ResumeRun: rr:<scheduled change id>
    CONFIRM_TIMED_REMOVAL = "dsy"  # ConfirmTimedRemoval: dsy:<asker>:<draft id>
    PAGE = "pg"  # Page: pg:<asker>:<view>:<page>[:<alias>]


#: Telegram's limit for callback_data
MAX_BYTES = 64
_ALIAS = re.compile(ALIAS_PATTERN.removeprefix("^").removesuffix("$"))
#: the lists that have pages (handlers/pages.py): /groups, /admins, /scheduled, and /history
#: with its rows a page (1-20)
_VIEW = re.compile(r"[gas]|h(?:[1-9]|1[0-9]|20)")
NOT_ON_MESSAGE = texts.NOT_ON_MESSAGE


@dataclass(frozen=True)
class ConfirmRemoval:
    """ "Remove it" under /delgrouppic."""

    asker: int
    alias: str


@dataclass(frozen=True)
class KeepPicture:
    """ "Keep it" under /delgrouppic."""

    asker: int


@dataclass(frozen=True)
class PickRestore:
    """ "Restore 3" under /pictures; anyone may press (rights are checked when the restore
    runs)."""

    record: int
    number: int


@dataclass(frozen=True)
class ConfirmRestore:
    """ "Restore it" under "Restore picture 3 on Family?"."""

    asker: int
    record: int
    number: int


@dataclass(frozen=True)
class ConfirmBulk:
    """ "Change them" under the list of groups of a bulk change."""

    asker: int
    bulk: int


@dataclass(frozen=True)
class KeepBulk:
    """ "Keep them" under the list of groups of a bulk change: the question is closed (and
    the pictures kept with it go)."""

    asker: int
    bulk: int


@dataclass(frozen=True)
class CancelSchedule:
    """ "Cancel 2" under /scheduled, naming the step it cancels (the change at its time, or
    the restore of an `until`; None on buttons from before they named it); anyone shown it
    may press (the rights are checked at the press)."""

    entry: int
    phase: Phase | None = None


@dataclass(frozen=True)
class SkipRun:
    """ "Skip next 2" under /scheduled, naming the run it skips (a recurrence's run number: a
    press after that run was made skips nothing); anyone shown it may press (the rights are
    checked at the press)."""

    entry: int
    run: int


@dataclass(frozen=True)
class ResumeRun:
    """ "Resume 2" under /scheduled, beside a paused recurrence; anyone shown it may press
    (the rights are checked at the press)."""

    entry: int


@dataclass(frozen=True)
class ConfirmTimedRemoval:
    """ "Remove it" under `/delgrouppic family at …`; the times are in the draft the store
    keeps (bot/schedule.py), not in the button."""

    asker: int
    draft: int


@dataclass(frozen=True)
class Page:
    """◀ / ▶ under a list with pages: `pg:<asker>:<view>:<page>[:<alias>]`; only the asker
    may press, and the list is read again with their rights at the press. `view` names the
    list (handlers/pages.py), `alias` the group it was asked about."""

    asker: int
    view: str
    page: int
    alias: str | None = None


Callback = (
    Page
    | Decision
    | PutBack
    | ConfirmRemoval
    | ConfirmTimedRemoval
    | KeepPicture
    | PickRestore
    | ConfirmRestore
    | ConfirmBulk
    | KeepBulk
    | CancelSchedule
    | SkipRun
    | ResumeRun
)


def encode(value: Callback) -> str:
    """The callback_data for `value`; ValueError for a value `decode` would refuse."""
    data = ":".join(str(field) for field in _fields(value))
    if decode(data) != value:
        raise ValueError(f"not a valid button: {value!r}")
    return data


def _fields(value: Callback) -> tuple[object, ...]:
    """The prefix and the fields of `value`, in the order its wire format writes them."""
    match value:
        case PutBack(record=record):
            return (Prefix.PUT_BACK, record)
        case Decision(proposal_id=number, approve=approve):
            return (Prefix.APPROVE if approve else Prefix.REJECT, number)
        case ConfirmRemoval(asker=asker, alias=alias):
            return (Prefix.REMOVE, asker, alias)
        case KeepPicture(asker=asker):
            return (Prefix.KEEP, asker)
        case PickRestore(record=record, number=number):
            return (Prefix.RESTORE, record, number)
        case ConfirmRestore(asker=asker, record=record, number=number):
            return (Prefix.CONFIRM_RESTORE, asker, record, number)
        case ConfirmBulk(asker=asker, bulk=bulk):
            return (Prefix.CONFIRM_BULK, asker, bulk)
        case KeepBulk(asker=asker, bulk=bulk):
            return (Prefix.KEEP_BULK, asker, bulk)
        case CancelSchedule(entry=entry, phase=phase):
            return (Prefix.CANCEL_SCHEDULE, entry, *([phase] if phase else []))
        case SkipRun(entry=entry, run=run):
            return (Prefix.SKIP_RUN, entry, run)
        case ResumeRun(entry=entry):
            return (Prefix.RESUME_RUN, entry)
        case ConfirmTimedRemoval(asker=asker, draft=draft):
            return (Prefix.CONFIRM_TIMED_REMOVAL, asker, draft)
        case Page(asker=asker, view=view, page=page, alias=alias):
            return (Prefix.PAGE, asker, view, page, *([alias] if alias is not None else []))


def decode(data: str | None) -> Callback | None:
    """The value behind callback_data, or None for anything this bot did not make."""
    if not data or len(data.encode()) > MAX_BYTES:
        return None
    prefix, *fields = data.split(":")
    number = positive_id(fields[0]) if fields else None
    if number is None:
        return None
    rest = fields[1:]
    if prefix in (Prefix.APPROVE, Prefix.REJECT) and not rest:
        return Decision(number, approve=prefix == Prefix.APPROVE)
    if prefix == Prefix.PUT_BACK and not rest:
        return PutBack(number)
    if prefix == Prefix.REMOVE and len(rest) == 1 and _ALIAS.fullmatch(rest[0]):
        return ConfirmRemoval(number, rest[0])
    if prefix == Prefix.KEEP and not rest:
        return KeepPicture(number)
    if prefix == Prefix.RESUME_RUN and not rest:
        return ResumeRun(number)
    if prefix == Prefix.CANCEL_SCHEDULE and len(rest) <= 1:
        phase = Phase(rest[0]) if rest and rest[0] in set(Phase) else None
        return CancelSchedule(number, phase) if len(rest) == (phase is not None) else None
    if prefix == Prefix.PAGE:
        return _page(number, rest)
    if prefix == Prefix.SKIP_RUN and len(rest) == 1:
        run = 0 if rest[0] == "0" else positive_id(rest[0])  # run 0: the first
        return None if run is None else SkipRun(number, run)
    ids = [positive_id(field) for field in rest]
    if None in ids:
        return None
    numbers = [n for n in ids if n is not None]
    if prefix == Prefix.RESTORE and len(numbers) == 1:
        return PickRestore(number, numbers[0])
    if prefix == Prefix.CONFIRM_RESTORE and len(numbers) == 2:
        return ConfirmRestore(number, numbers[0], numbers[1])
    if prefix == Prefix.CONFIRM_BULK and len(numbers) == 1:
        return ConfirmBulk(number, numbers[0])
    if prefix == Prefix.KEEP_BULK and len(numbers) == 1:
        return KeepBulk(number, numbers[0])
    if prefix == Prefix.CONFIRM_TIMED_REMOVAL and len(numbers) == 1:
        return ConfirmTimedRemoval(number, numbers[0])
    return None


def _page(asker: int, fields: list[str]) -> Page | None:
    if len(fields) not in (2, 3) or not _VIEW.fullmatch(fields[0]):
        return None
    page = positive_id(fields[1])
    alias = fields[2] if len(fields) == 3 else None
    if page is None or (alias is not None and not _ALIAS.fullmatch(alias)):
        return None
    return Page(asker, fields[0], page, alias)


def pressed(query: CallbackQuery) -> tuple[Message, Callback] | None:
    """The bot message and the value of a press, when the data is one of that message's
    buttons and valid; None for a forged, stale or unknown press."""
    message = query.message
    if not isinstance(message, Message) or message.reply_markup is None:
        return None  # an inline message, or one too old for Telegram to show (inaccessible)
    offered = {
        button.callback_data
        for row in message.reply_markup.inline_keyboard
        for button in row
        if isinstance(button.callback_data, str)
    }
    if query.data not in offered:
        return None
    value = decode(query.data)
    return None if value is None else (message, value)


def is_ours(data: object) -> bool:
    """Whether callback data starts like one of this bot's buttons (for a host application that
    has buttons of its own): such a press is answered here, valid or not."""
    return isinstance(data, str) and data.split(":", 1)[0] in set(Prefix)
