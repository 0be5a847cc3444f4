"""The admin map from chat: /grant /revoke /admins /groups /addgroup /removegroup /link /unlink
/history /notify. Parse the command, call bot/admin_map.py or bot/overview.py, word the answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from itertools import groupby

from telegram import Message, MessageOriginHiddenUser, MessageOriginUser, Update
from telegram.ext import ContextTypes

from adapters import Capability
from bot.app import UseCases
from bot.domain import Actor, AuditEntry, Refusal
from bot.ids import parse_user_id
from bot.overview import DEFAULT_HISTORY, GroupInfo, Managers
from bot.words import short
from handlers.common import Handler, message_of, services_of, with_actor
from handlers.replies import sentence

USAGE = {
    "grant": "/grant <user id> <group|*> <admin|requester>, or as a reply to a message of that "
    "person: /grant <group|*> <admin|requester>",
    "revoke": "/revoke <user id> <group|*>, or as a reply to a message of that person: "
    "/revoke <group|*>",
    "addgroup": "/addgroup <alias> <provider> <chat id> [title]",
    "removegroup": "/removegroup <alias>",
    "link": "/link <group>",
    "history": "/history [group] [number of rows]",
    "notify": "/notify on or /notify off",
}
_USERNAME = (
    "I cannot look up {name}: a bot cannot resolve usernames. Use the numeric Telegram id "
    "(/start tells each person theirs), or send the command as a reply to one of their messages."
)
_BY_ID = "Use their numeric Telegram id instead (/start tells each person theirs)."
#: the user Telegram names as the sender of channel posts copied into a discussion group
_TELEGRAM_SERVICE = 777000
_LINE_LIMIT = 180

#: a command's work: the use cases, who asks, the arguments -> the answer
Work = Callable[[UseCases, Actor, list[str], Message], Awaitable[str]]


def command(work: Work) -> Handler:
    """A handler that finds the actor, runs `work` and replies; a refusal becomes "Sorry, ..."."""

    @with_actor
    async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor) -> None:
        message = message_of(update)
        use_cases = await services_of(context).use_cases()
        try:
            text = await work(use_cases, actor, list(context.args or []), message)
        except Refusal as refusal:
            text = sentence(f"Sorry, {refusal.reason}")
        await message.reply_text(text)

    return handler


def _done(summary: str) -> str:
    return f"Done: {summary}."


class _Usage(Refusal):
    def __init__(self, name: str) -> None:
        super().__init__(f"that is not how it goes. Usage: {USAGE[name]}")


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
        raise Refusal(_USERNAME.format(name=short(first)))
    try:
        return _Person(parse_user_id(first)), args[1:]
    except ValueError as problem:
        raise Refusal(str(problem)) from None


def _author(replied: Message) -> _Person:
    """Who wrote `replied`: for a forward, its original author, and only when Telegram names
    them (the forwarder is not the author, and 777000 is Telegram copying a channel post)."""
    origin = replied.forward_origin
    if isinstance(origin, MessageOriginHiddenUser):
        raise Refusal(
            "the author of that message hides their account, so Telegram does not tell me who "
            f"they are. {_BY_ID}"
        )
    if origin is not None and not isinstance(origin, MessageOriginUser):
        raise Refusal(
            f"that message was forwarded from a chat or channel, not from a person. {_BY_ID}"
        )
    if origin is None and replied.sender_chat is not None:
        raise Refusal(f"that message was posted as a chat or channel, not by a person. {_BY_ID}")
    user = origin.sender_user if origin is not None else replied.from_user
    if user is None or user.id == _TELEGRAM_SERVICE:
        raise Refusal(f"Telegram does not tell me who wrote that message. {_BY_ID}")
    if user.is_bot:
        raise Refusal("that message is a bot's; reply to a message of the person")
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
        return (
            f"Change notifications are {'on' if on else 'off'} for you. "
            f"/notify {'off' if on else 'on'} turns them {'off' if on else 'on'}."
        )
    if on:
        return "Done: you will hear about every change to the groups you manage."
    return "Done: you will no longer hear about changes made by others."


# views -----------------------------------------------------------------------------------------


@command
async def groups_command(cases: UseCases, actor: Actor, args: list[str], message: Message) -> str:
    groups = await cases.overview.groups(actor)
    if not groups:
        return (
            "You may not act on any group yet. Ask an owner for access; "
            f"your Telegram id is {actor.user_id}."
        )
    return "Your groups:\n" + "\n".join(_group_line(info) for info in groups)


def _group_line(info: GroupInfo) -> str:
    group = info.group
    if info.provider is None:
        provider = f"{group.provider} (no longer configured)"
    else:
        able = [
            f"{verb} {'yes' if info.can(capability) else 'no'}"
            for verb, capability in (
                ("set", Capability.SET_GROUP),
                ("remove", Capability.DELETE_GROUP),
                ("read", Capability.GET_GROUP),
            )
        ]
        provider = f"{group.provider} ({info.provider.label}): {', '.join(able)}"
    return f"{group.alias} - {group.title}\n    via {provider}; you are {info.role.value}"


@command
async def admins_command(cases: UseCases, actor: Actor, args: list[str], message: Message) -> str:
    if len(args) > 1:
        raise Refusal("name at most one group: /admins [group]")
    return _managers_text(await cases.overview.managers(actor, args[0] if args else None))


def _managers_text(managers: Managers) -> str:
    lines = [f"owners (config.yaml, every right): {', '.join(map(str, managers.owners))}"]
    for scope, grants in groupby(managers.grants, key=lambda grant: grant.scope):
        holders = ", ".join(f"{grant.user_id} {grant.role.value}" for grant in grants)
        lines.append(f"{scope}: {holders}")
    if not managers.grants:
        lines.append("no grants")
    return "Who may do what:\n" + "\n".join(lines)


@command
async def history_command(cases: UseCases, actor: Actor, args: list[str], message: Message) -> str:
    numbers = [arg for arg in args if arg.isdecimal()]
    names = [arg for arg in args if not arg.isdecimal()]
    if len(numbers) > 1 or len(names) > 1:
        raise _Usage("history")
    alias = names[0] if names else None
    rows = await cases.overview.history(
        actor, alias, int(numbers[0]) if numbers else DEFAULT_HISTORY
    )
    about = f" of {short(alias)}" if alias else ""
    if not rows:
        return f"Nothing in the history{about} yet."
    return f"History{about}, newest first:\n" + "\n".join(_history_line(row) for row in rows)


def _history_line(row: AuditEntry) -> str:
    when = row.at[:16].replace("T", " ")
    who = str(row.user_id) if row.user_id is not None else "the bot"
    line = f"{when} {who} {row.action.replace('_', ' ')} {row.target or '-'}: {row.outcome}"
    if row.requested_by is not None:
        line += f" (proposed by {row.requested_by})"
    if detail := row.url or row.reason:
        line += f" - {detail}"
    return short(line, _LINE_LIMIT)
