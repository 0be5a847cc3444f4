"""How the bot words its answers. Plain text only: nothing a user typed can become markup.

The sentences themselves live in bot/texts.py (translated through bot/locale/); `tr()` says one
in the language of the person whose update is being handled.
"""

from __future__ import annotations

from bot import texts
from bot.domain import BulkKind, BulkProgress, BulkRefusal, NoUndo, OperationStatus
from bot.i18n import sentence, tr
from bot.texts import (
    ANONYMOUS,
    NO_PICTURE_IN_REPLY,
    NOT_A_PICTURE,
    WORKING,
    outcome_text,
    sorry,
)
from bot.texts import queued as queued_text

__all__ = [
    "ANONYMOUS",
    "NOT_A_PICTURE",
    "NO_PICTURE_IN_REPLY",
    "WORKING",
    "outcome_text",
    "queued_text",
    "sentence",
    "sorry",
    "texts",
    "tr",
]


# picture history, undo, restore ------------------------------------------------------------------

UNDO_NOTHING = "Nothing to undo: I remember no change I made to the picture of {title}."
UNDO_UNKNOWN = (
    "I can't undo the last change of {title}: its provider could not tell me the picture it"
    " had before, so nothing was changed."
)
UNDO_CANNOT_REMOVE = (
    "Before the last change {title} had no picture, and {provider} cannot remove a picture,"
    " so nothing was changed."
)
NO_PICTURES = "I keep no pictures of {title} yet: they are kept from the next change I make."
RESTORE_LIST = "Put one of these pictures back on {title}:"
RESTORE_LABEL = "Restore {number}"
RESTORE_QUESTION = "Restore picture {number} on {title}?"
RESTORE_YES = "Restore it"
RESTORE_NO = "Keep it"
ONLY_ASKER = "Only the person who asked can answer this."
PICTURE_GONE = "That picture is no longer kept; nothing was changed."
_HOW = {"undo": "undo", "restore": "restore"}


def undo_refused_text(why: str, title: str, provider: str) -> str:
    texts = {"nothing": UNDO_NOTHING, "unknown": UNDO_UNKNOWN, "cannot_remove": UNDO_CANNOT_REMOVE}
    return texts[why].format(title=title, provider=provider)


def picture_caption(number: int, at: str, actor_name: str, actor_id: int, how: str | None) -> str:
    """A kept picture in the /pictures album: which, when, who and how."""
    when = at.replace("T", " ")[:16] + " UTC"
    way = f" ({_HOW[how]})" if how in _HOW else ""
    return f"{number} · {when} · set by {actor_name} ({actor_id}){way}"


# many groups at once -----------------------------------------------------------------------------

BULK_VERB = {
    BulkKind.SET: "change the picture of",
    BulkKind.DELETE: "remove the picture of",
    BulkKind.UNDO: "undo the last picture change of",
}
BULK_GO = {BulkKind.SET: "Change them", BulkKind.DELETE: "Remove them", BulkKind.UNDO: "Undo them"}
BULK_KEEP = "Keep them"
BULK_PROPOSE = "Propose them"
BULK_PROPOSE_PLAN = (
    "You may only propose this, so I will send the admins one proposal to {verb} these"
    " {count} groups: {names}."
)
BULK_PROPOSED = (
    "Sent to the admins as one proposal to {verb} {names}. I will tell you here what they decide."
)
BULK_DECISIONS = {
    "approved": "Approved: making the changes now.",
    "rejected": "Rejected.",
    "already_decided": "Already decided by {who}.",
    "expired": "This proposal expired before anyone decided it; nothing was changed.",
    "not_allowed": "Sorry, you may not decide this proposal for: {who}.",
    "unknown": "I know no such proposal.",
}
BULK_NOTHING = "Nothing to do: I may not {verb} any of these groups."
BULK_PLAN = "I will {verb} these {count} groups: {names}."
BULK_REFUSED_HEAD = "Left alone:"
BULK_ASK_PHOTO = (
    "Send me the new picture for {names}: a photo or an image file, as a reply to this message"
    " or within {minutes:.0f} minutes. /cancel stops."
)
BULK_TAKEN = "This change of many groups was already started, or is not yours to start."
BULK_DONE_HEAD = "Done: {done} of {total} groups changed · {failed} failed · {refused} refused."
#: cells of the progress bar
BAR_CELLS = 8
_BULK_STATUS = {
    OperationStatus.FAILED: "failed",
    OperationStatus.REFUSED: "refused",
    OperationStatus.CANCELLED: "cancelled",
    OperationStatus.SUPERSEDED: "replaced by a newer change",
}


def refusal_words(reason: str | NoUndo) -> str:
    """Why a group of a list is left alone, in the words of the single-group answers."""
    if isinstance(reason, NoUndo):
        if reason is NoUndo.NOTHING:
            return "nothing to undo"
        if reason is NoUndo.UNKNOWN:
            return "the picture before the last change is unknown"
        return "there was no picture before, and its provider cannot remove one"
    return reason


def bulk_plan_text(
    kind: BulkKind, targets: list[str], refused: list[BulkRefusal], proposal: bool = False
) -> str:
    lines = []
    if targets:
        plan = BULK_PROPOSE_PLAN if proposal else BULK_PLAN
        lines.append(
            plan.format(verb=BULK_VERB[kind], count=len(targets), names=", ".join(targets))
        )
    else:
        lines.append(BULK_NOTHING.format(verb=BULK_VERB[kind]))
    if refused:
        lines.append(BULK_REFUSED_HEAD)
        lines += [f"{r.name}: {refusal_words(r.reason)}" for r in refused]
    return "\n".join(lines)


def bulk_progress_text(progress: BulkProgress) -> str:
    """ "▓▓▓▓░░░░ 5/12 · 1 failed · 6 waiting", or at the end every group's URL or reason."""
    if not progress.final:
        filled = round(BAR_CELLS * progress.finished / max(progress.total, 1))
        bar = "▓" * filled + "░" * (BAR_CELLS - filled)
        return (
            f"{bar} {progress.finished}/{progress.total} · {progress.failed} failed"
            f" · {progress.waiting} waiting"
        )
    done = [r for r in progress.results if r.status is OperationStatus.DONE]
    lines = [
        BULK_DONE_HEAD.format(
            done=len(done),
            total=progress.total,
            failed=len(progress.results) - len(done),  # the refused are counted apart
            refused=len(progress.refused),
        )
    ]
    for result in progress.results:
        if result.status is OperationStatus.DONE:
            lines.append(f"✅ {result.name}: {result.url or 'done'}")
        else:
            lines.append(
                f"❌ {result.name}: {_BULK_STATUS.get(result.status, 'failed')}: {result.reason}"
            )
    lines += [f"⛔ {r.name}: {refusal_words(r.reason)}" for r in progress.refused]
    return "\n".join(lines)
