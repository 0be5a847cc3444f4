"""Every sentence the bot says, in one place, written for translation.

Each sentence is a `_("…")` (or `ngettext(…)`) call here; bot/i18n.py says it in the reader's
language from the catalogs in bot/locale/. To add a sentence: write a function (or constant)
below with `_()`, use it where the bot speaks, then run `scripts/i18n extract` (README,
"Languages") and translate the new entries in each .po file.

Placeholders are `{name}`, filled by keyword. What comes from outside stays as it is: names
and titles, and a provider's own reasons (adapters/ word their reasons in English, often
quoting the provider; the bot frames them in the reader's language).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot import fit
from bot.domain import (
    Action,
    BulkKind,
    BulkProgress,
    BulkRefusal,
    Guard,
    How,
    NoUndo,
    OperationStatus,
    Outcome,
    ProposalStatus,
    Result,
)
from bot.i18n import Text, _, from_now, joined, local_moment, moment, ngettext, sentence

#: the room of a list of names in a sentence, of the names in one line of /help, and of the
#: groups' outcomes in a summary or notice (its first line takes the rest of 4,096)
NAMES = 1500
HELP_NAMES = 160
SUMMARY = fit.MAX_TEXT - 400

# who is asking ----------------------------------------------------------------------------------

ANONYMOUS = _(
    "I can't tell who you are when you post as a chat or channel. "
    "Send the command from your own account."
)
FAILED = _("Something went wrong on my side; nothing more was done. Please try again.")
STORE_AWAY = _(
    "I cannot reach my database right now, so nothing was done. Please try again in a minute."
)
NOT_ON_MESSAGE = _("That button is not on this message; nothing was done.")


def sorry(reason: object) -> Text:
    """A refusal: "Sorry, <reason>."."""
    return sentence(_("Sorry, {reason}", reason=reason))


# pictures ---------------------------------------------------------------------------------------

NO_PICTURE_IN_REPLY = _(
    "That message has no picture. Reply to a photo or an image file, "
    "or send the photo with the command as its caption."
)
NOT_A_PICTURE = _("Send the command as the caption of a photo or an image file.")
WORKING = _("Working on it…")
WAITING_FOR_CONFIRMATION = _("Sent to WhatsApp, waiting for its confirmation…")
NOT_CONFIRMED = _("WhatsApp accepted the change and did not confirm it")
CANCELLED = _("Cancelled: I am no longer waiting for a photo.")
NOTHING_TO_CANCEL = _("There was nothing to cancel.")
PROPOSE_IT = _("Propose it")
REMOVE_IT = _("Remove it")
KEEP_IT = _("Keep it")
ONLY_ASKER = _("Only the person who asked can answer this.")
KEPT = _("Kept: nothing was changed.")


def propose_removal(title: str) -> Text:
    return _("Propose to the admins of {title} to remove its picture?", title=title)


def confirm_removal(title: str) -> Text:
    return _("Remove the picture of {title}? /undogrouppic puts it back.", title=title)


def send_picture(title: str, minutes: float, proposed: bool) -> Text:
    if proposed:
        return _(
            "Send me the picture you propose for {title}: a photo or an image file, as a reply "
            "to this message or within {minutes} minutes. /cancel stops.",
            title=title,
            minutes=f"{minutes:.0f}",
        )
    return _(
        "Send me the new picture for {title}: a photo or an image file, as a reply to this "
        "message or within {minutes} minutes. /cancel stops.",
        title=title,
        minutes=f"{minutes:.0f}",
    )


def queued(ahead: int) -> Text:
    return ngettext("Queued ({n} ahead of it)…", "Queued ({n} ahead of it)…", ahead)


def account(provider: str) -> Text:
    """The target's title when a change is about a provider account's own picture."""
    return _("the WhatsApp account ({provider})", provider=provider)


def outcome_text(action: Action, outcome: Outcome) -> Text:
    """How a picture request ended, for the person who asked."""
    if outcome.resumed and outcome.result is Result.REFUSED:
        return sentence(_("Not resumed after a restart: {reason}", reason=outcome.reason))
    text = _outcome_text(action, outcome)
    return _("Resumed after a restart. {text}", text=text) if outcome.resumed else text


def _outcome_text(action: Action, outcome: Outcome) -> Text:
    target, reason = outcome.target, outcome.reason
    if outcome.result is Result.SUPERSEDED:
        return sentence(_("Not sent: {reason}, which replaces this one", reason=reason))
    if outcome.result is Result.CANCELLED:
        return sentence(_("Not done: {reason}", reason=reason))
    if outcome.result is Result.REFUSED:
        return sorry(reason)
    if outcome.proposal is not None:
        return _proposal_text(action, outcome)
    if action in (Action.VIEW_GROUP_PICTURE, Action.VIEW_OWN_PICTURE):
        return _view_text(outcome)
    if outcome.awaiting:
        return WAITING_FOR_CONFIRMATION
    if outcome.unconfirmed:
        return _(
            "WhatsApp accepted the new picture for {target} but did not confirm it in time:"
            " look at the group, and send it again if it still shows the old one.",
            target=target,
        )
    removal, about = action is Action.DELETE_GROUP_PICTURE, {"target": target, "reason": reason}
    if not outcome.ok and removal:
        return sentence(_("Could not remove the picture of {target}: {reason}", **about))
    if not outcome.ok:
        return sentence(_("Could not change the picture of {target}: {reason}", **about))
    if removal:
        done = _("Done: the picture of {target} is removed.", target=target)
    elif outcome.url:
        done = _("Done: {target} has a new picture.\n{url}", target=target, url=outcome.url)
    elif reason:  # the provider's remark says what there is instead of a URL
        done = _("Done: {target} has a new picture.", target=target)
    else:
        done = _(
            "Done: {target} has a new picture.\nThe provider did not tell its URL.", target=target
        )
    return joined("\n", [done, sentence(reason)]) if reason else done


def _view_text(outcome: Outcome) -> Text:
    about = {"target": outcome.target, "reason": outcome.reason}
    if not outcome.ok:
        return sentence(_("Could not read the picture of {target}: {reason}", **about))
    if outcome.url:
        return _("The picture of {target}:\n{url}", target=outcome.target, url=outcome.url)
    if outcome.image is not None and outcome.reason:
        return _("The last picture the bot set for {target} ({reason}).", **about)
    if outcome.image is not None:
        return _("The picture of {target}.", target=outcome.target)
    if outcome.reason:
        return _("{target} has no picture ({reason}).", **about)
    return _("{target} has no picture.", target=outcome.target)


def _proposal_text(action: Action, outcome: Outcome) -> Text:
    about = {"target": outcome.target, "reason": outcome.reason, "number": outcome.proposal}
    removal = action is Action.DELETE_GROUP_PICTURE
    if not outcome.ok and removal:
        return sentence(
            _("Could not propose the removal of the picture of {target}: {reason}", **about)
        )
    if not outcome.ok:
        return sentence(_("Could not propose your picture for {target}: {reason}", **about))
    if removal:
        return _(
            "You may not make this change yourself, so I sent the removal of the picture of "
            "{target} to its admins for approval (proposal {number}, {reason}). "
            "I will tell you here what they decide.",
            **about,
        )
    return _(
        "You may not make this change yourself, so I sent your picture for {target} to its "
        "admins for approval (proposal {number}, {reason}). I will tell you here what they decide.",
        **about,
    )


# refusals and reasons made in bot/ --------------------------------------------------------------


def no_group_called(alias: str) -> Text:
    return _("there is no group called {alias}", alias=repr(alias))


def no_provider_called(name: str, configured: list[str]) -> Text:
    return _(
        "there is no provider called {name}. Configured: {configured}.",
        name=repr(name),
        configured=", ".join(configured),
    )


def which_provider(names: list[str]) -> Text:
    return _("which provider? Name one of: {names}.", names=", ".join(names))


WHICH_GROUP = _("which group?")


def which(question: Text, names: list[str]) -> Text:
    """A question about the group, with the groups the person may use."""
    if not names:
        return _("{question} You have no groups you may use.", question=question)
    return _("{question} You may use: {names}.", question=question, names=fit.names(names, NAMES))


def no_group_called_question(alias: str) -> Text:
    return _("there is no group called {alias}.", alias=repr(alias))


ONLY_OWNERS_SET_ACCOUNT = _("only owners may change the account picture")
MAY_NOT_SEE_ACCOUNT = _("you may not see the account picture")


def may_not(action: Action, title: str) -> Text:
    if action is Action.DELETE_GROUP_PICTURE:
        return _("you may not remove the picture of {title}", title=title)
    if action is Action.VIEW_GROUP_PICTURE:
        return _("you may not see the picture of {title}", title=title)
    return _("you may not change the picture of {title}", title=title)


def provider_cannot(label: str, action: Action) -> Text:
    if action is Action.SET_GROUP_PICTURE:
        return _("{label} cannot set a group picture, so nothing was changed", label=label)
    if action is Action.DELETE_GROUP_PICTURE:
        return _("{label} cannot remove a group picture, so nothing was changed", label=label)
    if action is Action.VIEW_GROUP_PICTURE:
        return _("{label} cannot show a group picture, so nothing was changed", label=label)
    if action is Action.SET_OWN_PICTURE:
        return _(
            "{label} cannot set the account's own picture, so nothing was changed", label=label
        )
    return _("{label} cannot show the account's own picture, so nothing was changed", label=label)


def provider_gone(title: str, provider: str) -> Text:
    return _("the provider of {title} ({provider}) is gone", title=title, provider=provider)


def group_gone(alias: str) -> Text:
    return _("the group {alias} is gone", alias=alias)


def open_until(expires_at: str) -> Text:
    return _("open until {moment}", moment=moment(expires_at))


NOBODY_TO_APPROVE = _("I could not reach anyone who may approve it")

# changes: bot/changes.py ------------------------------------------------------------------------


def file_too_big(megabytes: float, limit: int) -> Text:
    return _("the file is {size} MB; the limit is {limit} MB", size=f"{megabytes:.1f}", limit=limit)


def removed_before_run(alias: str) -> Text:
    return _("the group {alias} was removed before the change ran", alias=alias)


def too_old_to_resume(minutes: float) -> Text:
    return _(
        "it was not resumed after a restart: it was older than {minutes} minutes; send it again",
        minutes=f"{minutes:g}",
    )


DOWNLOAD_FAILED = _("I could not download the picture from Telegram; send it again")


def newer_change_reason(name: str, title: str) -> Text:
    return _("{name} sent a newer change for {title}", name=name, title=title)


def provider_not_configured(provider: str) -> Text:
    return _("its provider {provider} is no longer configured", provider=provider)


def group_not_served(target: str, provider: str) -> Text:
    return _(
        "the group {target} is no longer served by {provider}", target=target, provider=provider
    )


def may_no_longer(name: str, action: Action, title: str) -> Text:
    if action is Action.DELETE_GROUP_PICTURE:
        return _("{name} may no longer remove the picture of {title}", name=name, title=title)
    return _("{name} may no longer change the picture of {title}", name=name, title=title)


PICTURE_LOST = _("its picture was lost; send it again")

# pictures the bot cannot use: bot/images.py -----------------------------------------------------


#: files of a kind the bot knows but cannot use
GIF = _("this is a GIF; send a JPEG, PNG or WebP picture")
BMP = _("this is a BMP picture; send a JPEG, PNG or WebP picture")
TIFF = _("this is a TIFF picture; send a JPEG, PNG or WebP picture")
AVIF = _("this is an AVIF picture; send a JPEG, PNG or WebP picture")
PDF = _("this is a PDF, not a picture")
ZIP = _("this is a ZIP archive, not a picture")
DAMAGED = _("the picture is damaged or incomplete")


def far_too_big(limit: int) -> Text:
    return _("the picture is far over {limit} megapixels, the limit", limit=limit)


def too_many_megapixels(megapixels: float, limit: int) -> Text:
    return _(
        "the picture is {megapixels} megapixels; the limit is {limit}",
        megapixels=f"{megapixels:g}",
        limit=limit,
    )


def too_small(width: int, height: int, side: int) -> Text:
    return _(
        "the picture is {width}x{height} px; it must be at least {side} px on its shorter side",
        width=width,
        height=height,
        side=side,
    )


# notices: bot/notify.py -------------------------------------------------------------------------


def who(name: str, user_id: int) -> str:
    return f"{name} ({user_id})"


def notice(
    actor: str, action: Action, target: str, provider: str, url: str | None, requester: str | None
) -> Text:
    """An executed change, for the owners, the group's admins and the notify chat."""
    params = {"actor": actor, "target": target, "provider": provider}
    if action is Action.DELETE_GROUP_PICTURE:
        line = _("{actor} removed the picture of {target} via {provider}", **params)
    else:
        line = _("{actor} changed the picture of {target} via {provider}", **params)
    if requester is not None:
        line = _("{line} (proposed by {requester})", line=line, requester=requester)
    if url:
        return _("{line}.\nNew picture: {url}", line=line, url=url)
    return _("{line}.", line=line)


def failed_notice(
    actor: str,
    action: Action,
    target: str,
    provider: str,
    reason: str | None,
    requester: str | None,
) -> Text:
    params = {"actor": actor, "target": target, "provider": provider}
    if action is Action.DELETE_GROUP_PICTURE:
        line = _("{actor} tried to remove the picture of {target} via {provider}", **params)
    else:
        line = _("{actor} tried to change the picture of {target} via {provider}", **params)
    if requester is not None:
        line = _("{line} (proposed by {requester})", line=line, requester=requester)
    return _("{line}, but it failed: {reason}", line=line, reason=reason)


def map_changed(actor: str, summary: object) -> Text:
    return _("{actor} {summary}.", actor=actor, summary=summary)


def auth_alert(provider: str, reason: str | None) -> Text:
    return _(
        "Alert: the provider {provider} fails to authenticate: {reason}. Every change through it "
        "fails until this is fixed; I will not repeat this alert.",
        provider=provider,
        reason=reason,
    )


def works_again(provider: str) -> Text:
    return _("The provider {provider} works again.", provider=provider)


# proposals: bot/proposals.py, bot/approvals.py, handlers/approvals.py ---------------------------

APPROVE = _("Approve")
REJECT = _("Reject")


def decided(status: ProposalStatus, name: str) -> Text:
    """The one button a decided proposal keeps."""
    if status is ProposalStatus.APPROVED:
        return _("✅ Approved by {name}", name=name)
    if status is ProposalStatus.REJECTED:
        return _("❌ Rejected by {name}", name=name)
    return _("⌛ Expired")


def invitation(
    requester: str,
    picture: bool,
    title: str,
    alias: str,
    provider: str,
    until: str,
    how: How | None = None,
) -> Text:
    params = {
        "requester": requester,
        "title": title,
        "alias": alias,
        "provider": provider,
        "until": moment(until),
    }
    if picture:
        return _(
            "{requester} proposes this picture for {title} ({alias}, via {provider}). "
            "The first decision counts; open until {until}.",
            **params,
        )
    if how is How.UNDO:
        return _(
            "{requester} proposes to undo the last picture change of {title} ({alias}, via"
            " {provider}): the picture from before it comes back. The first decision counts;"
            " open until {until}.",
            **params,
        )
    return _(
        "{requester} proposes to remove the picture of {title} ({alias}, via {provider}). "
        "The first decision counts; open until {until}.",
        **params,
    )


def only_deciders(action: Action, title: str) -> Text:
    if action is Action.DELETE_GROUP_PICTURE:
        return _(
            "only those who may remove the picture of {title} may decide this proposal",
            title=title,
        )
    return _(
        "only those who may change the picture of {title} may decide this proposal", title=title
    )


CANNOT_BE_MADE = _("it can no longer be made")


def what(action: Action, title: str, how: How | None = None) -> Text:
    """What a proposal asks for (`how`: an undo worked out at its time)."""
    if how is How.UNDO:
        return _("undo the last picture change of {title}", title=title)
    if action is Action.DELETE_GROUP_PICTURE:
        return _("remove the picture of {title}", title=title)
    return _("change the picture of {title}", title=title)


def rejected(action: Action, title: str, decider: str, how: How | None = None) -> Text:
    return _(
        "Your proposal to {what} was rejected by {decider}.",
        what=what(action, title, how),
        decider=decider,
    )


def approved(
    action: Action, title: str, decider: str, outcome: Outcome, how: How | None = None
) -> Text:
    asked = what(action, title, how)
    if not outcome.ok:
        return _(
            "Your proposal to {what} was approved by {decider}, but it could not be done: {reason}",
            what=asked,
            decider=decider,
            reason=outcome.reason,
        )
    if outcome.url:
        return _(
            "Your proposal to {what} was approved by {decider}. Done.\nNew picture: {url}",
            what=asked,
            decider=decider,
            url=outcome.url,
        )
    return _(
        "Your proposal to {what} was approved by {decider}. Done.", what=asked, decider=decider
    )


def expired(action: Action, title: str, ttl: timedelta, how: How | None = None) -> Text:
    hours = ttl.total_seconds() / 3600
    if hours >= 1:
        duration = ngettext("{n} h", "{n} h", round(hours), n=f"{hours:g}")
    else:
        minutes = ttl.total_seconds() / 60
        duration = ngettext("{n} min", "{n} min", round(minutes), n=f"{minutes:g}")
    return _(
        "Your proposal to {what} expired: nobody decided within {duration}.",
        what=what(action, title, how),
        duration=duration,
    )


def not_reached(asked: object) -> Text:
    """A proposal no copy of which reached anyone who may decide it (closed at once)."""
    return _(
        "I could not send your proposal to {what} to anyone who may approve it, so nothing will"
        " change.",
        what=asked,
    )


def closed_because(asked: object, why: object) -> Text:
    """A proposal nothing can come of any more, closed without a decision."""
    return _("Your proposal to {what} was closed: {why}. Nothing was changed.", what=asked, why=why)


def too_late_until(until_at: str) -> Text:
    return _(
        "it was approved after {until}, the time its earlier picture was to come back",
        until=moment(until_at),
    )


def may_not_decide_for(names: str) -> Text:
    return _("you may not decide this proposal for: {who}", who=names)


def gone_named(names: str) -> Text:
    """Added to a decision on a list whose groups were partly removed since."""
    return _("Removed since, so left out: {names}.", names=names)


TOO_LATE_ALERT = _(
    "Too late: the time its earlier picture was to come back has passed; nothing was changed."
)
APPROVED_NOW = _("Approved: making the change now.")
REJECTED_NOW = _("Rejected.")
EXPIRED_ALERT = _("This proposal expired before anyone decided it; nothing was changed.")
NO_SUCH_PROPOSAL = _("I know no such proposal.")


def already(status: ProposalStatus, decider: str) -> Text:
    if status is ProposalStatus.APPROVED:
        return _("Already approved by {decider}.", decider=decider)
    return _("Already rejected by {decider}.", decider=decider)


# the admin map: bot/admin_map.py, bot/overview.py, handlers/admin.py ----------------------------

ONLY_OWNERS_GRANT = _("only owners may grant rights")
ONLY_OWNERS_REVOKE = _("only owners may revoke rights")
ONLY_OWNERS_ADD = _("only owners may add groups")
ONLY_OWNERS_REMOVE = _("only owners may remove groups")
NO_NOTIFICATIONS = _("you get no change notifications: they go to owners and group admins")


def not_a_role(roles: list[str], role: str) -> Text:
    return _("a role is {roles}, not {role}", roles=" or ".join(roles), role=repr(role))


def is_owner(user_id: int) -> Text:
    return _("{user_id} is an owner (config.yaml) and may do everything", user_id=user_id)


def already_role(user_id: int, role: str, scope: str) -> Text:
    return _("{user_id} already is {role} on {scope}", user_id=user_id, role=role, scope=scope)


def granted(role: str, scope: str, grantee: str, was: str | None) -> Text:
    params = {"role": role, "scope": scope, "grantee": grantee}
    if was:
        return _("granted {role} on {scope} to {grantee} (was {was})", was=was, **params)
    return _("granted {role} on {scope} to {grantee}", **params)


def no_grant(user_id: int, scope: str) -> Text:
    return _("{user_id} has no grant on {scope}", user_id=user_id, scope=scope)


def revoked(user_id: int, role: str, scope: str) -> Text:
    return _("revoked {user_id}'s {role} grant on {scope}", user_id=user_id, role=role, scope=scope)


BAD_ALIAS = _("an alias is 1-32 lowercase letters, digits, - or _")


def no_group_id(chat_id: str, label: str, problem: str) -> Text:
    return _(
        "{chat_id} is no group id for {label}: {problem}",
        chat_id=repr(chat_id),
        label=label,
        problem=problem,
    )


def config_alias(alias: str) -> Text:
    return _("{alias} is a group of config.yaml; choose another alias", alias=alias)


def alias_taken(alias: str) -> Text:
    return _("there already is a group called {alias}", alias=alias)


def known_as(alias: str) -> Text:
    return _("that group is already known as {alias}", alias=alias)


def group_added(alias: str, title: str, chat_id: str, provider: str) -> Text:
    return _(
        "added the group {alias} ({title}: {chat_id} via {provider})",
        alias=alias,
        title=title,
        chat_id=chat_id,
        provider=provider,
    )


def from_config(alias: str) -> Text:
    return _("{alias} comes from config.yaml; remove it there", alias=alias)


def removed_by(name: str, alias: str) -> Text:
    return _("{name} removed the group {alias} before the change ran", name=name, alias=alias)


def group_removed(alias: str) -> Text:
    return _("removed the group {alias} with its grants and chat links", alias=alias)


def may_not_link(title: str) -> Text:
    return _("you may not link this chat to {title}", title=title)


def link_from_config(alias: str) -> Text:
    return _("this chat's link to {alias} comes from config.yaml; change it there", alias=alias)


def already_linked(alias: str) -> Text:
    return _("this chat already is linked to {alias}", alias=alias)


def may_not_replace_link(alias: str) -> Text:
    return _("you may not replace this chat's link to {alias}", alias=alias)


def linked(chat_id: int, alias: str) -> Text:
    return _("linked the chat {chat_id} to {alias}", chat_id=chat_id, alias=alias)


NOT_LINKED = _("this chat is not linked to a group")


def may_not_unlink(alias: str) -> Text:
    return _("you may not unlink this chat from {alias}", alias=alias)


def unlinked(chat_id: int, alias: str) -> Text:
    return _("unlinked the chat {chat_id} from {alias}", chat_id=chat_id, alias=alias)


def may_not_see_managers(title: str) -> Text:
    return _("you may not see who manages {title}", title=title)


MAY_NOT_SEE_ANY_MANAGERS = _("you may not see who manages any group")


def may_not_see_audit(alias: str) -> Text:
    return _("you may not see the history of {alias}", alias=repr(alias))


MAY_NOT_SEE_HISTORY = _("you may not see any history")

# Telegram ids: bot/ids.py -----------------------------------------------------------------------

NEGATIVE_ID = _("a user id is a positive number; a negative one is a group or channel")


def not_a_number(text: str) -> Text:
    return _("a user id is a number, such as 222222222; {text} is not one", text=text)


LEADING_ZERO = _("a user id does not start with 0")


def id_too_big(text: str, limit: int) -> Text:
    return _(
        "{text} is too big for a Telegram user id (they fit in 52 bits: at most {limit})",
        text=text,
        limit=limit,
    )


# handlers/admin.py ------------------------------------------------------------------------------

USAGE = {
    "grant": _(
        "/grant <user id> <group|*> <admin|requester>, or as a reply to a message of that "
        "person: /grant <group|*> <admin|requester>"
    ),
    "revoke": _(
        "/revoke <user id> <group|*>, or as a reply to a message of that person: /revoke <group|*>"
    ),
    "addgroup": _("/addgroup <alias> <provider> <chat id> [title]"),
    "removegroup": _("/removegroup <alias>"),
    "link": _("/link <group>"),
    "history": _("/history [group] [number of rows]"),
    "notify": _("/notify on or /notify off"),
    "guard": _(
        "/guard <group or provider> notify|restore|off (a provider: its account's own picture)"
    ),
    "language": _("/language en, /language ru or /language pt"),
}


def usage(name: str) -> Text:
    return _("that is not how it goes. Usage: {usage}", usage=USAGE[name])


def username(name: str) -> Text:
    return _(
        "I cannot look up {name}: a bot cannot resolve usernames. Use the numeric Telegram id "
        "(/start tells each person theirs), or send the command as a reply to one of their "
        "messages.",
        name=name,
    )


BY_ID = _("Use their numeric Telegram id instead (/start tells each person theirs).")
HIDDEN_AUTHOR = _(
    "the author of that message hides their account, so Telegram does not tell me who they "
    "are. {by_id}",
    by_id=BY_ID,
)
FORWARDED_FROM_CHAT = _(
    "that message was forwarded from a chat or channel, not from a person. {by_id}", by_id=BY_ID
)
POSTED_AS_CHAT = _(
    "that message was posted as a chat or channel, not by a person. {by_id}", by_id=BY_ID
)
UNKNOWN_AUTHOR = _("Telegram does not tell me who wrote that message. {by_id}", by_id=BY_ID)
BOT_AUTHOR = _("that message is a bot's; reply to a message of the person")


def done(summary: object) -> Text:
    return _("Done: {summary}.", summary=summary)


def notifications_are(on: bool) -> Text:
    if on:
        return _("Change notifications are on for you. /notify off turns them off.")
    return _("Change notifications are off for you. /notify on turns them on.")


NOTIFY_ON = _("Done: you will hear about every change to the groups you manage.")
NOTIFY_OFF = _("Done: you will no longer hear about changes made by others.")


def no_groups(user_id: int) -> Text:
    return _(
        "You may not act on any group yet. Ask an owner for access; your Telegram id is {user_id}.",
        user_id=user_id,
    )


def your_groups(count: int) -> Text:
    return ngettext("Your groups:", "Your groups:", count)


def able(verb: str, yes: bool) -> Text:
    """One capability in /groups: "set yes", "remove no"…"""
    if verb == "set":
        return _("set yes") if yes else _("set no")
    if verb == "remove":
        return _("remove yes") if yes else _("remove no")
    return _("read yes") if yes else _("read no")


def provider_gone_line(provider: str) -> Text:
    return _("{provider} (no longer configured)", provider=provider)


def provider_line(provider: str, label: str, abilities: list[Text]) -> Text:
    return _(
        "{provider} ({label}): {abilities}",
        provider=provider,
        label=label,
        abilities=joined(", ", abilities),
    )


def cannot_read_current(label: str) -> Text:
    return _("{label} cannot show a group's current picture", label=label)


def none_set_by_bot(why: str) -> Text:
    return _("{why}, and the bot has set none there", why=why)


def cannot_change_now(reason: str) -> Text:
    """A line under a group in /groups: why its picture cannot be changed right now."""
    return _("    ⚠ cannot change its picture now: {reason}", reason=reason)


def group_line(alias: str, title: str, provider: object, role: str) -> Text:
    return _(
        "{alias} - {title}\n    via {provider}; you are {role}",
        alias=alias,
        title=title,
        provider=provider,
        role=role,
    )


AT_MOST_ONE_GROUP = _("name at most one group: /admins [group]")


def owners_line(owners: str) -> Text:
    return _("owners (config.yaml, every right): {owners}", owners=owners)


NO_GRANTS = _("no grants")


WHO_MAY = _("Who may do what:")


def no_audit_rows(alias: str | None) -> Text:
    if alias:
        return _("Nothing in the history of {alias} yet.", alias=alias)
    return _("Nothing in the history yet.")


def audit_head(alias: str | None) -> Text:
    if alias:
        return _("History of {alias}, newest first:", alias=alias)
    return _("History, newest first:")


THE_BOT = _("the bot")


def page_of(page: int, pages: int) -> Text:
    """The last line of a list with pages (handlers/pages.py)."""
    return _("Page {page} of {pages}", page=page, pages=pages)


def page_of_many(page: int) -> Text:
    """The same, for a list whose length is not counted (the history)."""
    return _("Page {page}", page=page)


def proposed_by(user_id: int) -> Text:
    return _("(proposed by {user_id})", user_id=user_id)


# picture history, undo, restore: handlers/picture_history.py, bot/service.py -------------------


def undo_refused(why: NoUndo, title: str, provider: str) -> Text:
    if why is NoUndo.NOTHING:
        return _(
            "Nothing to undo: I remember no change I made to the picture of {title}.", title=title
        )
    if why is NoUndo.UNKNOWN:
        return _(
            "I can't undo the last change of {title}: its provider could not tell me the picture"
            " it had before, so nothing was changed.",
            title=title,
        )
    return _(
        "Before the last change {title} had no picture, and {provider} cannot remove a picture,"
        " so nothing was changed.",
        title=title,
        provider=provider,
    )


def no_pictures(title: str) -> Text:
    return _(
        "I keep no pictures of {title} yet: they are kept from the next change I make.",
        title=title,
    )


def restore_list(title: str) -> Text:
    return _("Put one of these pictures back on {title}:", title=title)


def restore_label(number: int) -> Text:
    return _("Restore {number}", number=number)


def restore_question(number: int, title: str) -> Text:
    return _("Restore picture {number} on {title}?", number=number, title=title)


RESTORE_IT = _("Restore it")
PICTURE_GONE = _("That picture is no longer kept; nothing was changed.")
NO_LONGER_KEPT = _("that picture is no longer kept")


def picture_caption(number: int, at: str, actor: str, how: How | None) -> Text:
    """A kept picture in the /pictures album: which, when, who and how."""
    about = {"number": number, "when": moment(at), "who": actor}
    if how is How.UNDO:
        return _("{number} · {when} · set by {who} (undo)", **about)
    if how is How.RESTORE:
        return _("{number} · {when} · set by {who} (restore)", **about)
    if how is How.OUTSIDE and actor:
        return _("{number} · {when} · made outside the bot by {who}", **about)
    if how is How.OUTSIDE:
        return _("{number} · {when} · made outside the bot", **about)
    return _("{number} · {when} · set by {who}", **about)


# watching pictures: bot/watch.py, handlers/admin.py (/guard) ------------------------------------


PUT_BACK = _("Put back the earlier picture")
PUTTING_BACK = _("Putting the earlier picture back…")
PUT_BACK_ALREADY = _("The earlier picture was put back already, or is on its way.")


def outside_change(
    title: str, undo: str, when: datetime, removed: bool, by: str | None = None
) -> Text:
    """The caption of a picture changed outside the bot (the new picture is the photo), who
    changed it when the event said so, and the command (`undo`) that puts the earlier back."""
    about = {"title": title, "when": moment(when), "undo": undo, "who": by}
    if removed and by:
        return _(
            "The picture of {title} was removed outside the bot by {who} (seen {when})."
            " To put the earlier picture back: {undo}",
            **about,
        )
    if removed:
        return _(
            "The picture of {title} was removed outside the bot (seen {when})."
            " To put the earlier picture back: {undo}",
            **about,
        )
    if by:
        return _(
            "The picture of {title} was changed outside the bot by {who} (seen {when})."
            " To put the earlier picture back: {undo}",
            **about,
        )
    return _(
        "The picture of {title} was changed outside the bot (seen {when})."
        " To put the earlier picture back: {undo}",
        **about,
    )


def guard_stopped(title: str, alias: str, changes: int, minutes: int) -> Text:
    """To the owners, once: the bot stops putting a group's picture back."""
    return _(
        "The picture of {title} was changed outside the bot {changes} times within {minutes}"
        " minutes: the bot stops putting it back, so as not to fight another tool, and only"
        " tells about such changes now. /guard {alias} restore starts it again.",
        title=title,
        alias=alias,
        changes=changes,
        minutes=minutes,
    )


GUARD_NAMES = {
    Guard.NOTIFY: _("notify: tell the admins"),
    Guard.RESTORE: _("restore: put the earlier picture back"),
    Guard.OFF: _("off: keep it in the history only"),
}


def guard_set(title: str, guard: Guard) -> Text:
    return _(
        "Pictures of {title} changed outside the bot: {guard}.",
        title=title,
        guard=GUARD_NAMES[guard],
    )


def guard_is(title: str, guard: Guard, watching: bool) -> Text:
    if watching:
        return guard_set(title, guard)
    return _(
        "Pictures of {title} changed outside the bot: {guard} (watching is off in the config).",
        title=title,
        guard=GUARD_NAMES[guard],
    )


def guard_line(guard: Guard) -> Text:
    """Under a group in /groups, while watching is on."""
    return _("    changed outside the bot: {guard}", guard=GUARD_NAMES[guard])


def account_guards_line(guards: object) -> Text:
    """Above the groups in /groups, for the owners while watching is on: "green: notify, …"."""
    return _("Accounts' own pictures changed outside the bot: {guards}", guards=guards)


ONLY_OWNERS_GUARD_ACCOUNT = _("only the owners may choose the guard of an account's own picture")


def may_not_guard(alias: str) -> Text:
    return _("only the owners and the admins of {alias} may choose its guard", alias=alias)


# many groups at once: bot/bulk.py, handlers/bulk.py, bot/notify.py ------------------------------

ONLY_PROPOSE = _("you may only propose a change here: send a list of such groups on its own")
ONLY_DIRECT = _("you may change it yourself: send a list of such groups on its own")
BULK_PICTURE_LOST = _("the picture was lost; send it again")
BULK_QUESTION_EXPIRED = _(
    "this question expired and its pictures are no longer kept; send the command again"
)
KEEP_THEM = _("Keep them")
PROPOSE_THEM = _("Propose them")
LEFT_ALONE = _("Left alone:")


#: what a bulk change does to each group, to end "I will …" and such
BULK_VERB = {
    BulkKind.SET: _("change the picture of"),
    BulkKind.DELETE: _("remove the picture of"),
    BulkKind.UNDO: _("undo the last picture change of"),
}
#: the button that starts a bulk change
BULK_GO = {
    BulkKind.SET: _("Change them"),
    BulkKind.DELETE: _("Remove them"),
    BulkKind.UNDO: _("Undo them"),
}


def refusal_words(reason: object) -> object:
    """Why a group of a list is left alone, in the words of the single-group answers."""
    if reason is NoUndo.NOTHING:
        return _("nothing to undo")
    if reason is NoUndo.UNKNOWN:
        return _("the picture before the last change is unknown")
    if reason is NoUndo.CANNOT_REMOVE:
        return _("there was no picture before, and its provider cannot remove one")
    return reason


def _refused_lines(refused: Sequence[BulkRefusal], mark: str = "") -> list[Text]:
    return [joined(": ", [mark + r.name, refusal_words(r.reason)]) for r in refused]


def bulk_plan(
    kind: BulkKind,
    targets: list[str],
    refused: Sequence[BulkRefusal],
    proposal: bool = False,
    timing: object | None = None,
) -> Text:
    """What a list will change (or propose), when (`timing`: its time or rhythm, said
    under the groups), and which groups it leaves alone and why."""
    verb, names, count = BULK_VERB[kind], fit.names(targets, NAMES), len(targets)
    if not targets:
        head = _("Nothing to do: I may not {verb} any of these groups.", verb=verb)
    elif proposal:
        head = ngettext(
            "You may only propose this, so I will send the admins one proposal to {verb} this"
            " group: {names}.",
            "You may only propose this, so I will send the admins one proposal to {verb} these"
            " {n} groups: {names}.",
            count,
            verb=verb,
            names=names,
        )
    else:
        head = ngettext(
            "I will {verb} this group: {names}.",
            "I will {verb} these {n} groups: {names}.",
            count,
            verb=verb,
            names=names,
        )
    if targets and timing is not None:
        head = joined("\n", [head, timing])
    if not refused:
        return head
    return joined("\n", [head, LEFT_ALONE, fit.lines(_refused_lines(refused), NAMES)])


def bulk_proposed(kind: BulkKind, names: str) -> Text:
    return _(
        "Sent to the admins as one proposal to {verb} {names}. I will tell you here what they"
        " decide.",
        verb=BULK_VERB[kind],
        names=listed(names),
    )


def bulk_ask_photo(names: str, minutes: float) -> Text:
    return _(
        "Send me the new picture for {names}: a photo or an image file, as a reply to this"
        " message or within {minutes} minutes. /cancel stops.",
        names=fit.shorten(names, NAMES),
        minutes=f"{minutes:.0f}",
    )


def bulk_decision(verdict: str, who: str | None, scheduled: bool = False) -> Text:
    """The answer to a press on Approve / Reject of a proposed list (`scheduled`: one with a
    time, kept to be made then)."""
    if verdict == "approved" and scheduled:
        return _("Approved: each group's change is scheduled; /scheduled lists them.")
    if verdict == "approved":
        return _("Approved: making the changes now.")
    if verdict == "rejected":
        return REJECTED_NOW
    if verdict == "already_decided":
        return _("Already decided by {who}.", who=who or "")
    if verdict == "expired":
        return EXPIRED_ALERT
    if verdict == "not_allowed":
        return sorry(may_not_decide_for(who or ""))
    return NO_SUCH_PROPOSAL


def _failed(count: int) -> Text:
    return ngettext("{n} failed", "{n} failed", count)


def _status(status: OperationStatus) -> Text:
    if status is OperationStatus.REFUSED:
        return _("refused")
    if status is OperationStatus.CANCELLED:
        return _("cancelled")
    if status is OperationStatus.SUPERSEDED:
        return _("replaced by a newer change")
    return _("failed")


def _results(progress: BulkProgress, marks: bool) -> list[Text]:
    """Each group's outcome: what went wrong first, then the URLs."""
    lines = []
    for result in sorted(progress.results, key=lambda r: r.status is OperationStatus.DONE):
        if result.status is OperationStatus.DONE:
            mark = "✅ " if marks else ""
            url = fit.shorten(result.url or _("done"), fit.REASON)
            lines.append(joined(": ", [mark + result.name, url]))
        else:
            mark = "❌ " if marks else ""
            reason = fit.shorten(result.reason or "", fit.REASON)
            parts = [mark + result.name, _status(result.status), reason]
            lines.append(joined(": ", parts))
    return lines


#: cells of the progress bar
BAR_CELLS = 8


def bulk_progress(progress: BulkProgress) -> Text:
    """ "▓▓▓▓░░░░ 5/12 · 1 failed · 6 waiting", or at the end every group's URL or reason."""
    if not progress.final:
        filled = round(BAR_CELLS * progress.finished / max(progress.total, 1))
        bar = "▓" * filled + "░" * (BAR_CELLS - filled)
        return joined(
            " · ",
            [
                f"{bar} {progress.finished}/{progress.total}",
                _failed(progress.failed),
                ngettext("{n} waiting", "{n} waiting", progress.waiting),
            ],
        )
    done = sum(r.status is OperationStatus.DONE for r in progress.results)
    head = sentence(
        joined(
            " · ",
            [
                ngettext(
                    "Done: {done} of {n} group changed",
                    "Done: {done} of {n} groups changed",
                    progress.total,
                    done=done,
                ),
                _failed(len(progress.results) - done),  # the refused are counted apart
                ngettext("{n} refused", "{n} refused", len(progress.refused)),
            ],
        )
    )
    return joined("\n", [head, fit.lines(_summary_lines(progress), SUMMARY)])


def _summary_lines(progress: BulkProgress) -> list[Text]:
    """The summary's lines: the failures, the refusals, then the groups changed."""
    results = _results(progress, marks=True)
    failed = len(progress.results) - sum(r.status is OperationStatus.DONE for r in progress.results)
    refused = _refused_lines(progress.refused, "⛔ ")
    return [*results[:failed], *refused, *results[failed:]]


def bulk_summary_fits(progress: BulkProgress) -> bool:
    """Whether the summary names every group (else its full result goes as a CSV document)."""
    return fit.fits(joined("\n", _summary_lines(progress)), SUMMARY)


BULK_RESULTS_CAPTION = _("Every group's outcome (the message above names what went wrong first).")


def bulk_notice(actor: str, progress: BulkProgress) -> Text:
    """The one notice of a bulk change: who, how many, and each group's URL or reason."""
    done = sum(r.status is OperationStatus.DONE for r in progress.results)
    about = {
        "actor": actor,
        "done": done,
        "failed": len(progress.results) - done,
        "refused": len(progress.refused),
    }
    if progress.kind is BulkKind.DELETE:
        head = ngettext(
            "{actor} removed the pictures of {done} of {n} group at once ({failed} failed,"
            " {refused} refused).",
            "{actor} removed the pictures of {done} of {n} groups at once ({failed} failed,"
            " {refused} refused).",
            progress.total,
            **about,
        )
    elif progress.kind is BulkKind.UNDO:
        head = ngettext(
            "{actor} undid the last picture change of {done} of {n} group at once ({failed}"
            " failed, {refused} refused).",
            "{actor} undid the last picture change of {done} of {n} groups at once ({failed}"
            " failed, {refused} refused).",
            progress.total,
            **about,
        )
    else:
        head = ngettext(
            "{actor} changed the pictures of {done} of {n} group at once ({failed} failed,"
            " {refused} refused).",
            "{actor} changed the pictures of {done} of {n} groups at once ({failed} failed,"
            " {refused} refused).",
            progress.total,
            **about,
        )
    return joined("\n", [head, fit.lines(_results(progress, marks=False), SUMMARY)])


def bulk_invitation(requester: str, kind: BulkKind, names: list[str], until: object) -> Text:
    """The deciders' copy of a requester's list."""
    # a photo's caption (at most 1,024 characters) with the rest of the sentence
    about = {"who": requester, "names": fit.names(names, 500), "until": until}
    if kind is BulkKind.DELETE:
        return ngettext(
            "{who} proposes to remove the picture of {n} group: {names}. The first decision"
            " counts; open until {until}.",
            "{who} proposes to remove the pictures of {n} groups at once: {names}. Approve or"
            " reject them as one; the first decision counts; open until {until}.",
            len(names),
            **about,
        )
    if kind is BulkKind.UNDO:
        return ngettext(
            "{who} proposes to undo the last picture change of {n} group: {names}. The first"
            " decision counts; open until {until}.",
            "{who} proposes to undo the last picture change of {n} groups at once: {names}."
            " Approve or reject them as one; the first decision counts; open until {until}.",
            len(names),
            **about,
        )
    return ngettext(
        "{who} proposes this picture for {n} group: {names}. The first decision counts; open"
        " until {until}.",
        "{who} proposes this picture for {n} groups at once: {names}. Approve or reject them as"
        " one; the first decision counts; open until {until}.",
        len(names),
        **about,
    )


def listed(names: str) -> Text:
    """A list's groups (`names`: "family, work") as many as fit in a message, then how many
    more: a thousand of them must leave room for the rest of the sentence."""
    return fit.names(names.split(", "), NAMES)


def bulk_what(kind: BulkKind, names: str) -> Text:
    """What a list does, naming its groups (`names`: "family, work"), as many as fit."""
    action = Action.DELETE_GROUP_PICTURE if kind is BulkKind.DELETE else Action.SET_GROUP_PICTURE
    return what(action, listed(names), How.UNDO if kind is BulkKind.UNDO else None)


def bulk_expired(kind: BulkKind, names: str) -> Text:
    return _(
        "Your proposal to {what} expired: nobody decided in time.", what=bulk_what(kind, names)
    )


def bulk_working(kind: BulkKind) -> Text:
    """The approver's progress message, before its first edit."""
    return _("Approved: working on it ({what} the groups)…", what=BULK_VERB[kind])


# /language --------------------------------------------------------------------------------------

LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "pt_BR": "Português (Brasil)"}


def language_is(name: str, chosen: bool) -> Text:
    if chosen:
        return _(
            "I speak {language} with you, as you chose. /language en, /language ru or "
            "/language pt changes it; /language auto follows your Telegram app again.",
            language=name,
        )
    return _(
        "I speak {language} with you, as your Telegram app does. /language en, /language ru "
        "or /language pt changes it.",
        language=name,
    )


def language_set(name: str) -> Text:
    return _("Done: I will speak {language} with you.", language=name)


LANGUAGE_AUTO = _("Done: I will speak the language of your Telegram app.")

# scheduled pictures: bot/when.py, bot/schedule.py, handlers/schedule.py -------------------------


def unknown_zone(name: str) -> Text:
    return _(
        "I know no time zone called {name}; write an IANA name such as Europe/Berlin or "
        "America/Sao_Paulo",
        name=repr(name),
    )


def unreadable_time(said: str) -> Text:
    return _(
        "I can't read the time {said}; write for example at 18:00, at tomorrow 9:00, "
        "at 2026-12-24 18:00, in 2h, in 30m, or until 2026-12-27 09:00",
        said=repr(said),
    )


def local_time(when: datetime, zone: ZoneInfo) -> Text:
    """`Tue 24 Dec 18:00 (Europe/Moscow)`, in the reader's locale."""
    return local_moment(when, zone.key)


def time_past(when: object) -> Text:
    return _("{when} has passed already; nothing was scheduled", when=when)


def too_far(days: int) -> Text:
    return _("a change can be scheduled at most {days} days ahead", days=days)


def unreadable_rhythm(said: str) -> Text:
    return _(
        "I can't read the rhythm {said}; write for example every day at 09:00, every monday at "
        "08:00, every weekday at 08:00, every weekend day at 10:00, every 6h, or every friday at "
        "18:00 until monday at 08:00",
        said=repr(said),
    )


def every_too_often(minutes: str) -> Text:
    return _("a change can recur at most every {minutes} minutes", minutes=minutes)


SAY_WHAT_TIME = _("say at what time, for example every weekday at 08:00")
WINDOW_OVERLAPS = _(
    "the earlier picture must come back before the next run; for example every friday at "
    "18:00 until monday at 08:00"
)


def until_before_at(when: object) -> Text:
    return _(
        "the earlier picture cannot come back at {when}, before the change itself is made; "
        "nothing was scheduled",
        when=when,
    )


def scheduled_what(action: str, title: str) -> Text:
    """What a scheduled change does (`action`: an Action's value, or How.UNDO)."""
    if action == Action.DELETE_GROUP_PICTURE.value:
        return _("remove the picture of {title}", title=title)
    if action == How.UNDO:
        return _("put back the earlier picture of {title}", title=title)
    return _("change the picture of {title}", title=title)


def scheduled_for(what: object, when: datetime, now: datetime, zone: ZoneInfo) -> Text:
    return _(
        "Scheduled for {when}, {relative}: {what}.",
        when=local_time(when, zone),
        relative=from_now(when - now),
        what=what,
    )


def comes_back(when: datetime, now: datetime, zone: ZoneInfo) -> Text:
    return _(
        "The earlier picture comes back at {when}, {relative}.",
        when=local_time(when, zone),
        relative=from_now(when - now),
    )


SEE_SCHEDULED = _("/scheduled lists it, with a button to cancel it.")


def not_made(reason: object) -> Text:
    return sentence(_("The scheduled change was not made: {reason}", reason=reason))


def too_late(minutes: float, limit: float, approved: bool = False) -> Text:
    """Why a scheduled change was not made so late (`approved`: its proposal was approved that
    long after its time)."""
    about = {"minutes": f"{minutes:.0f}", "limit": f"{limit:g}"}
    if approved:
        return _(
            "it was approved {minutes} minutes after its time (at most {limit} minutes late are"
            " allowed)",
            **about,
        )
    return _(
        "the bot was not running at its time, and it is now {minutes} minutes late (at most "
        "{limit} minutes are allowed)",
        **about,
    )


def not_put_back(title: str, name: str) -> Text:
    return _(
        "The earlier picture of {title} was not put back: {name} changed the picture since, "
        "and theirs stays.",
        title=title,
        name=name,
    )


def cannot_put_back(title: str) -> Text:
    return _(
        "The earlier picture of {title} was not put back: I could not read what it was.",
        title=title,
    )


def recurring_what(what: object, rhythm: str, pictures: int) -> Text:
    """What a recurrence does: `what`, its `every …` words, how many pictures it rotates."""
    if pictures > 1:
        return ngettext(
            "{what}, {rhythm}, rotating {n} picture",
            "{what}, {rhythm}, rotating {n} pictures",
            pictures,
            what=what,
            rhythm=rhythm,
        )
    return _("{what}, {rhythm}", what=what, rhythm=rhythm)


EVERY_NOT_AT = _(
    "a recurring change runs at its rhythm's own times; leave out at, in and until before every"
)
RECUR_WITH_PHOTOS = _(
    "send the photo, or an album of 2 to 10 photos, with the command as its caption, or send "
    "the command as a reply to a photo"
)
ONLY_PICTURES_RECUR = _(
    "only a new picture can recur; send /setgrouppic <group> every … as the caption of a photo"
)


def recurring_from(what: object, first: object) -> Text:
    return _("Recurring: {what}. First run: {first}.", what=what, first=first)


SEE_RECURRING = _(
    "/scheduled lists it, with buttons to stop it or skip its next run. You hear from me only "
    "when a run fails."
)
SEE_RECURRING_LIST = _(
    "/scheduled lists each group's recurrence, with buttons to stop it or skip its next run. "
    "You hear from me only when a run fails, in a message of its own."
)


def proposed_rhythm(rhythm: str, pictures: int = 1, *, first_shown: bool = False) -> Text:
    """When a proposed recurrence runs, as its requester reads it (a rotation: how many of
    their pictures); `first_shown`: as the deciders read it, under the first picture."""
    if pictures > 1 and first_shown:
        return ngettext(
            "To recur {rhythm}, from its approval, rotating {n} picture (the first is shown).",
            "To recur {rhythm}, from its approval, rotating {n} pictures (the first is shown).",
            pictures,
            rhythm=rhythm,
        )
    if pictures > 1:
        return ngettext(
            "To recur {rhythm}, from its approval, rotating your {n} picture.",
            "To recur {rhythm}, from its approval, rotating your {n} pictures.",
            pictures,
            rhythm=rhythm,
        )
    return _("To recur {rhythm}, from its approval.", rhythm=rhythm)


def planned_rhythm(rhythm: str, pictures: int) -> Text:
    """When a list asked with `every …` recurs, in the question that asks to confirm it
    (its first run counts from the press)."""
    if pictures > 1:
        return ngettext(
            "To recur {rhythm}, from your confirmation, rotating {n} picture.",
            "To recur {rhythm}, from your confirmation, rotating {n} pictures.",
            pictures,
            rhythm=rhythm,
        )
    return _("To recur {rhythm}, from your confirmation.", rhythm=rhythm)


def album_refused(number: int, reason: object) -> Text:
    return _(
        "picture {number} of the album cannot be used, so none was kept: {reason}",
        number=number,
        reason=reason,
    )


def album_too_long(most: int) -> Text:
    return _("an album holds at most {most} photos; nothing was kept", most=most)


def recurrence_stopped(name: str, what: object) -> Text:
    return _("Stopped by {name}: {what}.", name=name, what=what)


def run_skipped(name: str, what: object, following: object) -> Text:
    return _(
        "Skipped by {name}: the next run of {what} will not be made; the one after is at "
        "{following}.",
        name=name,
        what=what,
        following=following,
    )


def recurrence_paused(what: object, failures: int, reason: str) -> Text:
    return sentence(
        _(
            "Alert: a recurring change failed {failures} runs in a row and is paused: {what}. "
            "The last failure: {reason}",
            failures=failures,
            what=what,
            reason=reason,
        )
    )


def stop_label(number: int) -> Text:
    return _("Stop {number}", number=number)


def resume_label(number: int) -> Text:
    return _("Resume {number}", number=number)


def paused_line(number: int, what: object, name: str) -> Text:
    """A paused recurrence in /scheduled: it runs no more until someone resumes it."""
    return _(
        "{number}. Paused after failed runs: {what} (by {name})",
        number=number,
        what=what,
        name=name,
    )


def recurrence_resumed(name: str, what: object, following: object) -> Text:
    return _(
        "Resumed by {name}: {what}; its next run is at {following}.",
        name=name,
        what=what,
        following=following,
    )


NOT_PAUSED = _("That recurring change is not paused; nothing was done.")
RECURRENCE_ENDED = _("That recurring change was stopped; nothing was done.")
MAY_NOT_RESUME = _("You may not resume that recurring change.")


def skip_label(number: int) -> Text:
    return _("Skip next {number}", number=number)


SOMEONE = _("someone")
NOT_MADE_NO_UNTIL = _("The change was not made, so there is nothing to put back.")
NOTHING_SCHEDULED = _("Nothing is scheduled.")
SCHEDULED_HEADER = _("Scheduled changes:")


def scheduled_line(number: int, when: object, what: object, name: str) -> Text:
    return _("{number}. {when}: {what} (by {name})", number=number, when=when, what=what, name=name)


def cancel_label(number: int) -> Text:
    return _("Cancel {number}", number=number)


def schedule_cancelled(name: str, what: object) -> Text:
    return _("Cancelled by {name}: {what} will not be made.", name=name, what=what)


SCHEDULE_GONE = _("That scheduled change is no longer waiting; nothing was done.")
MAY_NOT_CANCEL = _("You may not cancel that scheduled change.")


def proposed_times(at: object | None, until: object | None, *, confirming: bool = False) -> Text:
    """When a proposed change is to be made (None: once approved; `confirming`: asked of
    someone who makes it themselves, once they confirm), and undone."""
    if at is not None and until is not None:
        return _(
            "To be made at {at}; the earlier picture comes back at {until}.", at=at, until=until
        )
    if at is not None:
        return _("To be made at {at}.", at=at)
    if confirming:
        return _(
            "To be made once you confirm; the earlier picture comes back at {until}.", until=until
        )
    return _("To be made once approved; the earlier picture comes back at {until}.", until=until)


def proposed_at(run_at: str | None, until_at: str | None) -> Text:
    """`proposed_times` for the times a proposal keeps (ISO, UTC), as moments."""
    return proposed_times(
        moment(run_at) if run_at else None, moment(until_at) if until_at else None
    )


def undo_proposed(target: str, number: int | None, reason: object) -> Text:
    """A requester's scheduled undo went to the deciders (it has no picture to show yet)."""
    return _(
        "You may not make this change yourself, so I sent the undo of the last picture change"
        " of {target} to its admins for approval (proposal {number}, {reason}). I will tell you"
        " here what they decide.",
        target=target,
        number=number,
        reason=reason,
    )


def approved_for_later(
    action: Action, title: str, decider: str, times: object, how: How | None = None
) -> Text:
    return _(
        "Your proposal to {what} was approved by {decider}. {times}",
        what=what(action, title, how),
        decider=decider,
        times=times,
    )


SEE_SCHEDULED_LIST = _(
    "/scheduled lists each group's change, with a button to cancel it. Each group's outcome"
    " comes as a message of its own."
)


def zone_is(zone: str, chosen: bool) -> Text:
    if chosen:
        return _(
            "I show you times in {zone}, as you chose. /timezone <IANA name> changes it, for "
            "example /timezone Europe/Berlin.",
            zone=zone,
        )
    return _(
        "I show you times in {zone}, the bot's time zone. /timezone <IANA name> sets yours, "
        "for example /timezone Europe/Berlin.",
        zone=zone,
    )


def zone_set(zone: str) -> Text:
    return _("Done: I will show you times in {zone}.", zone=zone)


# /help and the command menu: handlers/help.py ---------------------------------------------------

ABOUT = {
    "setgrouppic": _("set a group's picture (caption of a photo, reply to one, or send it next)"),
    "delgrouppic": _("remove a group's picture"),
    "grouppic": _("show a group's picture"),
    "undogrouppic": _("put back a group's picture from before the last change I made"),
    "pictures": _("a group's recent pictures, each with a Restore button"),
    "undoprofilepic": _("put back the WhatsApp account's picture from before my last change"),
    "setprofilepic": _("set the WhatsApp account's picture"),
    "profilepic": _("show the WhatsApp account's picture"),
    "groups": _("your groups, and what their providers can do"),
    "admins": _("who may do what"),
    "history": _("the latest changes and attempts"),
    "link": _("make a group the default of this chat"),
    "unlink": _("forget this chat's default group"),
    "notify": _("your change notifications"),
    "guard": _("what I do when a picture is changed outside me"),
    "grant": _("give someone a role"),
    "revoke": _("take a role away"),
    "addgroup": _("add a WhatsApp group"),
    "removegroup": _("remove a group added from chat"),
    "cancel": _("stop waiting for a photo"),
    "help": _("what you may do here"),
    "language": _("the language I speak with you"),
    "scheduled": _("the picture changes waiting for their time, with Cancel buttons"),
    "timezone": _("the time zone I read and show times in for you"),
}
ARGS = {
    "group": _("<group>"),
    "provider": _("<provider>"),
    "group?": _("[group]"),
    "history": _("[group] [n]"),
    "grant": _("<user> <group|*> <admin|requester>"),
    "revoke": _("<user> <group|*>"),
    "addgroup": _("<alias> <provider> <chat id> [title]"),
    "alias": _("<alias>"),
    "guard": _("<group or provider> [notify|restore|off]"),
}


def no_rights(user_id: int) -> Text:
    return _(
        "I change the pictures of WhatsApp groups, but you have no rights here yet. "
        "Ask an owner to grant you access; your Telegram id is {user_id}.",
        user_id=user_id,
    )


def help_text(lines: Sequence[object]) -> Text:
    return _(
        "What you may do:\n\n{lines}\n\n/cancel stops waiting for a photo.",
        lines=joined("\n", lines),
    )


def you_may_use(usage: object, names: list[str]) -> Text:
    return _("{usage}\n    you may use: {names}", usage=usage, names=fit.names(names, HELP_NAMES))


#: in /help, under the picture commands: the times and rhythms they take
WHEN_USAGE = _(
    "    add at <when>, in <time> or until <when> for a set time, or every <rhythm> to make it "
    "recur (every day at 09:00, every monday at 08:00, every 6h; an album of photos rotates)"
)


def you_may_propose(names: list[str]) -> Text:
    return _(
        "/setgrouppic and /delgrouppic <group> propose a new picture or its removal; an admin "
        "of the group decides\n    you may propose for: {names}",
        names=fit.names(names, HELP_NAMES),
    )


EMPTY_FILE = _("the file is empty")
HEIC = _("this is a HEIC picture, which is not supported; send it as a photo rather than as a file")
UNREADABLE = _("this file is not a picture I can read")
