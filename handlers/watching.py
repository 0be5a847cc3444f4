"""Telegram's own word that a chat's photo changed: the `new_chat_photo` / `delete_chat_photo`
service messages of the chats the bot is in (a Telegram chat managed as a group, `kind:
telegram`, is then read at once, bot/watch.py). The bot's own changes are dropped here."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes, filters

from bot.domain import Actor
from handlers.common import actor_of, message_of, services_of

#: the service messages of a changed or removed chat photo, in groups and in channels
CHAT_PHOTO_CHANGED = filters.StatusUpdate.NEW_CHAT_PHOTO | filters.StatusUpdate.DELETE_CHAT_PHOTO


async def chat_photo_changed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Hand the change on, with who made it when Telegram says (not for an anonymous admin or
    a channel); one the bot made itself (its own setChatPhoto) is no news."""
    message = message_of(update)
    if message.from_user is not None and message.from_user.id == context.bot.id:
        return
    await services_of(context).chat_photo_changed(message.chat_id, _author(update))


def _author(update: Update) -> Actor | None:
    """Who changed it, named by their @username where they have one, else their full name."""
    actor = actor_of(update)
    user = update.effective_user
    if actor is None or user is None or not user.username:
        return actor
    return Actor(user_id=actor.user_id, chat_id=actor.chat_id, name=f"@{user.username}")
