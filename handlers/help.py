"""/start and /help: the commands this caller may use; the command menu."""

from __future__ import annotations

from telegram import BotCommand, Update
from telegram.ext import ContextTypes

from bot.permissions import Action
from handlers.common import actor_of, services_of
from handlers.replies import ANONYMOUS

#: (command, what it does, the action it needs)
COMMANDS: list[tuple[str, str, Action]] = [
    ("setgrouppic", "<group> set a group's picture (caption of a photo, reply to one, "
     "or send it next)", Action.SET_GROUP_PICTURE),
    ("delgrouppic", "<group> remove a group's picture", Action.DELETE_GROUP_PICTURE),
    ("grouppic", "<group> show a group's picture", Action.VIEW_GROUP_PICTURE),
    ("setprofilepic", "<provider> set the WhatsApp account's picture", Action.SET_OWN_PICTURE),
    ("profilepic", "<provider> show the WhatsApp account's picture", Action.VIEW_OWN_PICTURE),
]

MENU = [BotCommand(name, about.split(" ", 1)[1][:256]) for name, about, _ in COMMANDS] + [
    BotCommand("cancel", "stop waiting for a photo"),
    BotCommand("help", "what you may do here"),
]


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    actor = actor_of(update)
    if actor is None:
        await update.effective_message.reply_text(ANONYMOUS)
        return
    service = await services_of(context).get()
    lines = []
    for name, about, action in COMMANDS:
        choices = await service.choices(actor, action)
        if choices:
            lines.append(f"/{name} {about}\n    you may use: {', '.join(choices)}")
    if not lines:
        text = (
            "I change the pictures of WhatsApp groups, but you have no rights here yet. "
            f"Ask an owner to grant you access; your Telegram id is {actor.user_id}."
        )
    else:
        text = "What you may do:\n\n" + "\n".join(lines) + "\n\n/cancel stops waiting for a photo."
    await update.effective_message.reply_text(text)
