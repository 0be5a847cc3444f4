"""/start and /help: the commands this caller may use; the command menu (per language)."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import BotCommand, Update
from telegram.ext import ContextTypes

from bot import fit
from bot.app import UseCases
from bot.domain import Action, Actor
from bot.i18n import Text, joined, say, tr
from bot.texts import (
    ABOUT,
    ARGS,
    WHEN_USAGE,
    help_text,
    no_rights,
    you_may_propose,
    you_may_use,
)
from handlers.common import message_of, services_of, with_actor


@dataclass(frozen=True)
class Command:
    name: str
    #: how its arguments are written, and what it does (said in the reader's language: make
    #: them with _() in bot/texts.py)
    args: str
    about: str
    #: the action it needs; the caller sees the command when they may take it somewhere
    action: Action
    #: name the groups (or providers) the caller may use it on
    list_choices: bool = False


def _command(name: str, args: str, action: Action, list_choices: bool = False) -> Command:
    return Command(name, args, ABOUT[name], action, list_choices)


COMMANDS: list[Command] = [
    _command("setgrouppic", ARGS["group"], Action.SET_GROUP_PICTURE, list_choices=True),
    _command("delgrouppic", ARGS["group"], Action.DELETE_GROUP_PICTURE, list_choices=True),
    _command("grouppic", ARGS["group"], Action.VIEW_GROUP_PICTURE, list_choices=True),
    _command("undogrouppic", ARGS["group"], Action.SET_GROUP_PICTURE, list_choices=True),
    _command("pictures", ARGS["group"], Action.VIEW_GROUP_PICTURE, list_choices=True),
    _command("setprofilepic", ARGS["provider"], Action.SET_OWN_PICTURE, list_choices=True),
    _command("undoprofilepic", ARGS["provider"], Action.SET_OWN_PICTURE, list_choices=True),
    _command("profilepic", ARGS["provider"], Action.VIEW_OWN_PICTURE, list_choices=True),
    _command("groups", "", Action.VIEW_GROUP_PICTURE),
    _command("admins", ARGS["group?"], Action.VIEW_GRANTS),
    _command("history", ARGS["history"], Action.VIEW_HISTORY),
    _command("link", ARGS["group"], Action.LINK_CHAT),
    _command("unlink", "", Action.LINK_CHAT),
    _command("notify", "on|off", Action.CHOOSE_NOTIFICATIONS),
    _command("guard", ARGS["guard"], Action.SET_GROUP_PICTURE),
    _command("grant", ARGS["grant"], Action.MANAGE_GRANTS),
    _command("revoke", ARGS["revoke"], Action.MANAGE_GRANTS),
    _command("addgroup", ARGS["addgroup"], Action.MANAGE_GROUPS),
    _command("removegroup", ARGS["alias"], Action.MANAGE_GROUPS),
]
USAGE_LANGUAGE = "en|ru|pt"
#: in the menu, after the commands above: anyone may use these
EVERYONE = ("language", "timezone", "scheduled", "cancel", "help")


def menu(language: str) -> list[BotCommand]:
    """The command menu in `language` (setMyCommands with its language_code)."""
    about = [(command.name, command.about) for command in COMMANDS]
    about += [(name, ABOUT[name]) for name in EVERYONE]
    return [BotCommand(name, say(language, text)[:256]) for name, text in about]


@with_actor
async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor) -> None:
    lines = await _lines(await services_of(context).use_cases(), actor)
    language = _usage(_command("language", USAGE_LANGUAGE, Action.VIEW_GROUP_PICTURE))
    text = help_text([*lines, language]) if lines else no_rights(actor.user_id)
    await message_of(update).reply_text(tr(fit.message(text)))


async def _lines(cases: UseCases, actor: Actor) -> list[Text]:
    lines = []
    for command in COMMANDS:
        usage = _usage(command)
        if command.list_choices:
            choices = await cases.avatars.choices(actor, command.action)
            if choices:
                lines.append(you_may_use(usage, choices))
        elif await cases.overview.allowed(actor, command.action):
            lines.append(usage)
    direct = set(await cases.avatars.choices(actor, Action.SET_GROUP_PICTURE))
    proposable = [
        alias
        for alias in await cases.avatars.choices(actor, Action.PROPOSE_CHANGE)
        if alias not in direct
    ]
    if proposable:
        lines.insert(0, you_may_propose(proposable))
    if direct or proposable:  # right after the picture commands' first line
        lines.insert(1, WHEN_USAGE)
    return lines


def _usage(command: Command) -> Text:
    """ "/name args about", each part in the reader's language."""
    parts: list[object] = [f"/{command.name}"]
    if command.args:
        parts.append(command.args)
    return joined(" ", [*parts, command.about])
