"""/start and /help: the commands this caller may use; the command menu."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import BotCommand, Update
from telegram.ext import ContextTypes

from bot.app import UseCases
from bot.domain import Action, Actor
from handlers.common import message_of, services_of, with_actor


@dataclass(frozen=True)
class Command:
    name: str
    args: str
    about: str
    #: the action it needs; the caller sees the command when they may take it somewhere
    action: Action
    #: name the groups (or providers) the caller may use it on
    list_choices: bool = False


COMMANDS: list[Command] = [
    Command(
        "setgrouppic",
        "<group>",
        "set a group's picture (caption of a photo, reply to one, or send it next)",
        Action.SET_GROUP_PICTURE,
        list_choices=True,
    ),
    Command(
        "delgrouppic",
        "<group>",
        "remove a group's picture",
        Action.DELETE_GROUP_PICTURE,
        list_choices=True,
    ),
    Command(
        "grouppic",
        "<group>",
        "show a group's picture",
        Action.VIEW_GROUP_PICTURE,
        list_choices=True,
    ),
    Command(
        "undogrouppic",
        "<group>",
        "put back a group's picture from before the last change I made",
        Action.SET_GROUP_PICTURE,
        list_choices=True,
    ),
    Command(
        "pictures",
        "<group>",
        "a group's recent pictures, each with a Restore button",
        Action.VIEW_GROUP_PICTURE,
        list_choices=True,
    ),
    Command(
        "setprofilepic",
        "<provider>",
        "set the WhatsApp account's picture",
        Action.SET_OWN_PICTURE,
        list_choices=True,
    ),
    Command(
        "undoprofilepic",
        "<provider>",
        "put back the WhatsApp account's picture from before my last change",
        Action.SET_OWN_PICTURE,
        list_choices=True,
    ),
    Command(
        "profilepic",
        "<provider>",
        "show the WhatsApp account's picture",
        Action.VIEW_OWN_PICTURE,
        list_choices=True,
    ),
    Command(
        "groups", "", "your groups, and what their providers can do", Action.VIEW_GROUP_PICTURE
    ),
    Command("admins", "[group]", "who may do what", Action.VIEW_GRANTS),
    Command("history", "[group] [n]", "the latest changes and attempts", Action.VIEW_HISTORY),
    Command("link", "<group>", "make a group the default of this chat", Action.LINK_CHAT),
    Command("unlink", "", "forget this chat's default group", Action.LINK_CHAT),
    Command("notify", "on|off", "your change notifications", Action.CHOOSE_NOTIFICATIONS),
    Command(
        "grant", "<user> <group|*> <admin|requester>", "give someone a role", Action.MANAGE_GRANTS
    ),
    Command("revoke", "<user> <group|*>", "take a role away", Action.MANAGE_GRANTS),
    Command(
        "addgroup",
        "<alias> <provider> <chat id> [title]",
        "add a WhatsApp group",
        Action.MANAGE_GROUPS,
    ),
    Command("removegroup", "<alias>", "remove a group added from chat", Action.MANAGE_GROUPS),
]

MENU = [BotCommand(command.name, command.about[:256]) for command in COMMANDS] + [
    BotCommand("cancel", "stop waiting for a photo"),
    BotCommand("help", "what you may do here"),
]


@with_actor
async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor) -> None:
    lines = await _lines(await services_of(context).use_cases(), actor)
    if not lines:
        text = (
            "I change the pictures of WhatsApp groups, but you have no rights here yet. "
            f"Ask an owner to grant you access; your Telegram id is {actor.user_id}."
        )
    else:
        text = "What you may do:\n\n" + "\n".join(lines) + "\n\n/cancel stops waiting for a photo."
    await message_of(update).reply_text(text)


async def _lines(cases: UseCases, actor: Actor) -> list[str]:
    lines = []
    for command in COMMANDS:
        usage = f"/{command.name} {command.args}".rstrip() + f" {command.about}"
        if command.list_choices:
            choices = await cases.avatars.choices(actor, command.action)
            if choices:
                lines.append(f"{usage}\n    you may use: {', '.join(choices)}")
        elif await cases.overview.allowed(actor, command.action):
            lines.append(usage)
    direct = set(await cases.avatars.choices(actor, Action.SET_GROUP_PICTURE))
    proposable = [
        alias
        for alias in await cases.avatars.choices(actor, Action.PROPOSE_CHANGE)
        if alias not in direct
    ]
    if proposable:
        lines.insert(
            0,
            "/setgrouppic and /delgrouppic <group> propose a new picture or its removal; an "
            f"admin of the group decides\n    you may propose for: {', '.join(proposable)}",
        )
    return lines
