"""The admin map from chat: /grant /revoke /admins /groups /addgroup /removegroup /link /unlink
/history /notify. Parse the command, call bot/admin_map.py or bot/overview.py, word the answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from itertools import groupby

from telegram import Message, MessageOriginHiddenUser, MessageOriginUser, Update
from telegram.ext import ContextTypes

from adapters import Capability
from bot import fit, texts
from bot.app import UseCases
from bot.domain import Actor, AuditEntry, Guard, Refusal
from bot.i18n import Text, chosen_language, joined, moment, reader, reading
from bot.ids import parse_user_id
from bot.overview import DEFAULT_HISTORY, MAX_HISTORY, GroupInfo
from bot.words import short
from handlers import pages
from handlers.common import Handler, message_of, services_of, with_actor
from handlers.replies import sorry, tr

#: the user Telegram names as the sender of channel posts copied into a discussion group
_TELEGRAM_SERVICE = 777000
#: grants of one scope on one line of /admins
_HOLDERS_A_LINE = 8
#: the characters the accounts' guards take in /groups: with a page's entries (pages.ITEM each)
#: and its heading, within Telegram's 4,096
ACCOUNT_GUARDS = 300

#: a command's work: the use cases, who asks, the arguments -> the answer
Work = Callable[[UseCases, Actor, list[str], Message], Awaitable[str]]
#: what /language answers to, besides the languages: follow the Telegram app again
_AUTO = "auto"


def command(work: Work) -> Handler:
    """A handler that finds the actor, runs `work` and replies; a refusal becomes "Sorry, ..."."""

    @with_actor
    async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor) -> None:
        message = message_of(update)
        use_cases = await services_of(context).use_cases()
        try:
            text = await work(use_cases, actor, list(context.args or []), message)
        except Refusal as refusal:
            text = sorry(refusal.reason)
        await message.reply_text(tr(fit.message(text)))

    return handler


def _done(summary: str) -> str:
    return texts.done(summary)


class _Usage(Refusal):
    def __init__(self, name: str) -> None:
        super().__init__(texts.usage(name))


@dataclass(frozen=True)
class _Person:
    user_id: int
    #: the name Telegram shows, when the command named the person by a message of theirs
    name: str | None = None


def _person(args: list[str], message: Message, wanted: int, name: str) -> tuple[_Person, list[str]]:
    """The person (first argument, or the author of the message replied to) and the rest."""
    replied = message.reply_to_message
    if len(args) == wanted - 1 and replied is not None:
        return _author(replied), args
    if len(args) != wanted:
        raise _Usage(name)
    first = args[0]
    if first.startswith("@") or not first.lstrip("-").isdecimal():
        raise Refusal(texts.username(short(first)))
    try:
        return _Person(parse_user_id(first)), args[1:]
    except ValueError as problem:
        raise Refusal(problem.args[0]) from None


def _author(replied: Message) -> _Person:
    """Who wrote `replied`: for a forward, its original author, and only when Telegram names
    them (the forwarder is not the author, and 777000 is Telegram copying a channel post)."""
    origin = replied.forward_origin
    if isinstance(origin, MessageOriginHiddenUser):
        raise Refusal(texts.HIDDEN_AUTHOR)
    if origin is not None and not isinstance(origin, MessageOriginUser):
        raise Refusal(texts.FORWARDED_FROM_CHAT)
    if origin is None and replied.sender_chat is not None:
        raise Refusal(texts.POSTED_AS_CHAT)
    user = origin.sender_user if origin is not None else replied.from_user
    if user is None or user.id == _TELEGRAM_SERVICE:
        raise Refusal(texts.UNKNOWN_AUTHOR)
    if user.is_bot:
        raise Refusal(texts.BOT_AUTHOR)
    return _Person(user.id, user.full_name)


# changes ---------------------------------------------------------------------------------------


@command
async def grant_command(cases: UseCases, actor: Actor, args: list[str], message: Message) -> str:
    person, (scope, role) = _person(args, message, 3, "grant")
    return _done(await cases.admin_map.grant(actor, person.user_id, scope, role, name=person.name))


@command
async def revoke_command(cases: UseCases, actor: Actor, args: list[str], message: Message) -> str:
    person, (scope,) = _person(args, message, 2, "revoke")
    return _done(await cases.admin_map.revoke(actor, person.user_id, scope))


@command
async def addgroup_command(cases: UseCases, actor: Actor, args: list[str], message: Message) -> str:
    if len(args) < 3:
        raise _Usage("addgroup")
    alias, provider, chat_id, *title = args
    summary = await cases.admin_map.add_group(
        actor, alias, provider, chat_id, " ".join(title) or None
    )
    return _done(summary)


@command
async def removegroup_command(
    cases: UseCases, actor: Actor, args: list[str], message: Message
) -> str:
    if len(args) != 1:
        raise _Usage("removegroup")
    return _done(await cases.admin_map.remove_group(actor, args[0]))


@command
async def link_command(cases: UseCases, actor: Actor, args: list[str], message: Message) -> str:
    if len(args) != 1:
        raise _Usage("link")
    return _done(await cases.admin_map.link(actor, args[0]))


@command
async def unlink_command(cases: UseCases, actor: Actor, args: list[str], message: Message) -> str:
    return _done(await cases.admin_map.unlink(actor))


@command
async def notify_command(cases: UseCases, actor: Actor, args: list[str], message: Message) -> str:
    wanted = {"on": True, "off": False}.get(args[0].lower()) if len(args) == 1 else None
    if args and wanted is None:
        raise _Usage("notify")
    on = await cases.admin_map.notifications(actor, wanted)
    if wanted is None:
        return texts.notifications_are(on)
    return texts.NOTIFY_ON if on else texts.NOTIFY_OFF


@command
async def guard_command(cases: UseCases, actor: Actor, args: list[str], message: Message) -> str:
    """/guard <group>: its guard; /guard <group> notify|restore|off: choose it."""
    if len(args) not in (1, 2):
        raise _Usage("guard")
    guard = None
    if len(args) == 2:
        guard = next((g for g in Guard if g.value == args[1].lower()), None)
        if guard is None:
            raise _Usage("guard")
    return await cases.guards.choose(actor, args[0].lower(), guard)


@command
async def language_command(cases: UseCases, actor: Actor, args: list[str], message: Message) -> str:
    """/language: which language the bot speaks with the caller; /language en|ru|pt|auto."""
    languages = cases.languages
    if not args:
        chosen = await languages.chosen(actor.user_id)
        return texts.language_is(texts.LANGUAGE_NAMES[reader()], chosen is not None)
    wanted = chosen_language(args[0]) if len(args) == 1 else None
    if len(args) == 1 and args[0].lower() == _AUTO:
        await languages.choose(actor.user_id, None)
        user = message.from_user
        reading(await languages.of_sender(actor.user_id, user.language_code if user else None))
        return texts.LANGUAGE_AUTO
    if wanted is None:
        raise _Usage("language")
    await languages.choose(actor.user_id, wanted)
    reading(wanted)
    return texts.language_set(texts.LANGUAGE_NAMES[wanted])


# views -----------------------------------------------------------------------------------------


def _no_args(args: list[str]) -> tuple[str, str | None]:
    return "g", None


groups_command = pages.command(_no_args)


@pages.view("g")
async def _groups_view(
    cases: UseCases, actor: Actor, code: str, alias: str | None, page: int
) -> pages.Listing:
    total, groups = await cases.overview.groups(actor, *pages.window(page))
    if total and not groups:  # past the end: the list shrank, or the data was forged
        page = pages.count(total)
        total, groups = await cases.overview.groups(actor, *pages.window(page))
    head: list[object] = [texts.your_groups(total) if groups else texts.no_groups(actor.user_id)]
    accounts = await cases.guards.of_accounts(actor)
    if accounts:
        guards = [f"{name}: {guard.value}" for name, guard in accounts]
        head.append(texts.account_guards_line(fit.names(guards, ACCOUNT_GUARDS)))
    if not groups:
        return pages.Listing(joined("\n", head), [])
    items = [pages.Item(_group_line(info)) for info in groups]
    return pages.counted(joined("\n", head), items, page, total)


def _group_line(info: GroupInfo) -> Text:
    group = info.group
    provider: Text
    if info.provider is None:
        provider = texts.provider_gone_line(group.provider)
    else:
        able = [
            texts.able(verb, info.can(capability))
            for verb, capability in (
                ("set", Capability.SET_GROUP),
                ("remove", Capability.DELETE_GROUP),
                ("read", Capability.GET_GROUP),
            )
        ]
        provider = texts.provider_line(group.provider, info.provider.label, able)
    title = fit.shorten(group.title, fit.NAME)
    lines = [texts.group_line(group.alias, title, provider, info.role.value)]
    if info.guard is not None:
        lines.append(texts.guard_line(info.guard))
    if info.trouble:
        lines.append(texts.cannot_change_now(info.trouble))
    return joined("\n", lines)


def _admins_args(args: list[str]) -> tuple[str, str | None]:
    if len(args) > 1:
        raise Refusal(texts.AT_MOST_ONE_GROUP)
    return "a", pages.alias(args[0]) if args else None


admins_command = pages.command(_admins_args)


@pages.view("a")
async def _admins_view(
    cases: UseCases, actor: Actor, code: str, alias: str | None, page: int
) -> pages.Listing:
    managers = await cases.overview.managers(actor, alias)
    head: list[object] = [
        texts.WHO_MAY,
        texts.owners_line(fit.names([str(owner) for owner in managers.owners], 1000)),
    ]
    lines = []
    for scope, grants in groupby(managers.grants, key=lambda grant: grant.scope):
        holders = [f"{grant.user_id} {grant.role.value}" for grant in grants]
        for start in range(0, len(holders), _HOLDERS_A_LINE):  # a scope held by many
            lines.append(f"{scope}: {', '.join(holders[start : start + _HOLDERS_A_LINE])}")
    if not managers.grants:
        head.append(texts.NO_GRANTS)
    return pages.page_of(joined("\n", head), lines, page, lambda _, line: pages.Item(line))


def _audit_args(args: list[str]) -> tuple[str, str | None]:
    numbers = [arg for arg in args if arg.isdecimal()]
    names = [arg for arg in args if not arg.isdecimal()]
    if len(numbers) > 1 or len(names) > 1:
        raise _Usage("history")
    size = max(1, min(int(numbers[0]) if numbers else DEFAULT_HISTORY, MAX_HISTORY))
    return f"h{size}", pages.alias(names[0]) if names else None


audit_command = pages.command(_audit_args)


@pages.view("h")
async def _audit_view(
    cases: UseCases, actor: Actor, code: str, alias: str | None, page: int
) -> pages.Listing:
    """The audit log, newest first, `size` rows a page (the code's number); its length is
    not counted (it may hold many thousands of rows)."""
    size = int(code[1:])
    skip = (page - 1) * size
    rows = await cases.overview.audit_log(actor, alias, size, skip)
    if not rows and page > 1:  # past the end: the rows went, or the data was forged
        return await _audit_view(cases, actor, code, alias, 1)
    if not rows:
        return pages.Listing(texts.no_audit_rows(alias), [])
    more = len(rows) == size and bool(await cases.overview.audit_log(actor, alias, 1, skip + size))
    items = [pages.Item(_audit_line(row)) for row in rows]
    return pages.Listing(texts.audit_head(alias), items, page, None, more)


def _audit_line(row: AuditEntry) -> Text:
    """One audit row: when (in the reader's locale), who, what, the outcome. The action and
    outcome are the audit log's own words (English, as stored), like its reasons."""
    who: object = str(row.user_id) if row.user_id is not None else texts.THE_BOT
    parts: list[object] = [
        _when(row.at),
        who,
        f"{row.action.replace('_', ' ')} {row.target or '-'}: {row.outcome}",
    ]
    if row.requested_by is not None:
        parts.append(texts.proposed_by(row.requested_by))
    if detail := row.url or row.reason:
        parts.append(f"- {detail}")
    return joined(" ", parts)


def _when(at: str) -> Text:
    """The audit row's time: English keeps its sortable 2026-12-06 14:05 (UTC)."""
    english = at[:16].replace("T", " ")
    stamp = moment(at)
    return Text(lambda language: english if language == "en" else stamp.in_language(language))
