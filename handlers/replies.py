"""How the bot words its answers. Plain text only: nothing a user typed can become markup."""

from __future__ import annotations

from bot.domain import (
    Action,
    BulkKind,
    BulkProgress,
    BulkRefusal,
    NoUndo,
    OperationStatus,
    Outcome,
    Result,
)

ANONYMOUS = (
    "I can't tell who you are when you post as a chat or channel. "
    "Send the command from your own account."
)
NO_PICTURE_IN_REPLY = (
    "That message has no picture. Reply to a photo or an image file, "
    "or send the photo with the command as its caption."
)
NOT_A_PICTURE = "Send the command as the caption of a photo or an image file."
WORKING = "Working on it…"


def sentence(text: str) -> str:
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


def outcome_text(action: Action, outcome: Outcome) -> str:
    if outcome.resumed and outcome.result is Result.REFUSED:
        return sentence(f"Not resumed after a restart: {outcome.reason}")
    text = _outcome_text(action, outcome)
    return f"Resumed after a restart. {text}" if outcome.resumed else text


def queued_text(ahead: int) -> str:
    return f"Queued ({ahead} ahead of it)…"


def _outcome_text(action: Action, outcome: Outcome) -> str:
    if outcome.result is Result.SUPERSEDED:
        return sentence(f"Not sent: {outcome.reason}, which replaces this one")
    if outcome.result is Result.CANCELLED:
        return sentence(f"Not done: {outcome.reason}")
    if outcome.result is Result.REFUSED:
        return sentence(f"Sorry, {outcome.reason}")
    if outcome.proposal is not None:
        return _proposal_text(action, outcome)
    if action in (Action.VIEW_GROUP_PICTURE, Action.VIEW_OWN_PICTURE):
        return _view_text(outcome)
    if not outcome.ok:
        verb = "remove" if action is Action.DELETE_GROUP_PICTURE else "change"
        return sentence(f"Could not {verb} the picture of {outcome.target}: {outcome.reason}")
    if action is Action.DELETE_GROUP_PICTURE:
        text = f"Done: the picture of {outcome.target} is removed."
    else:
        text = f"Done: {outcome.target} has a new picture."
        text += f"\n{outcome.url}" if outcome.url else "\nThe provider did not tell its URL."
    return text + (f"\n{sentence(outcome.reason)}" if outcome.reason else "")


def _view_text(outcome: Outcome) -> str:
    if not outcome.ok:
        return sentence(f"Could not read the picture of {outcome.target}: {outcome.reason}")
    if outcome.url:
        return f"The picture of {outcome.target}:\n{outcome.url}"
    note = f" ({outcome.reason})" if outcome.reason else ""
    return f"{outcome.target} has no picture{note}."


def _proposal_text(action: Action, outcome: Outcome) -> str:
    what = (
        "the removal of the picture of"
        if action is Action.DELETE_GROUP_PICTURE
        else "your picture for"
    )
    if not outcome.ok:
        return sentence(f"Could not propose {what} {outcome.target}: {outcome.reason}")
    return (
        f"You may not make this change yourself, so I sent {what} {outcome.target} to its "
        f"admins for approval (proposal {outcome.proposal}, {outcome.reason}). "
        "I will tell you here what they decide."
    )


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
