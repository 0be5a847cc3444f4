"""Reading Telegram updates: who asked, in which chat, with which picture."""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    PhotoSize,
    Update,
)
from telegram.ext import ContextTypes

from bot.app import Services
from bot.domain import Actor, PhotoSource, Target
from bot.i18n import Text
from handlers.callbacks import ConfirmRemoval, ConfirmTimedRemoval, KeepPicture, encode
from handlers.replies import ANONYMOUS, texts, tr

SERVICES_KEY = "avatarops.services"
#: the shorter side an avatar needs; smaller Telegram variants are upscaled thumbnails
AVATAR_SIDE = 640
_COMMAND = re.compile(r"^/(?P<command>\w+)(?:@(?P<bot>\w+))?(?:\s+(?P<args>.*))?$", re.DOTALL)


def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    services: Services = context.application.bot_data[SERVICES_KEY]
    return services


def message_of(update: Update) -> Message:
    """The message of an update that a handler was registered for (commands, photos, presses)."""
    message = update.effective_message
    if message is None:
        raise ValueError("this handler takes only updates with a message")
    return message


def query_of(update: Update) -> CallbackQuery:
    """The button press of an update a CallbackQueryHandler passed on."""
    if update.callback_query is None:
        raise ValueError("this handler takes only button presses")
    return update.callback_query


def chat_data_of(context: ContextTypes.DEFAULT_TYPE) -> dict[Any, Any]:
    """The chat's own data (every update these handlers take has a chat)."""
    if context.chat_data is None:
        raise ValueError("this handler takes only updates in a chat")
    return context.chat_data


#: what PTB runs for an update
Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]
#: a handler that needs to know who is asking
ActorHandler = Callable[[Update, ContextTypes.DEFAULT_TYPE, Actor], Awaitable[None]]


def with_actor(handler: ActorHandler) -> Handler:
    """Run `handler` with the person asking; a post made as a chat (an anonymous group admin,
    a channel) could be anyone's, so it is answered with a request to post as oneself."""

    @functools.wraps(handler)
    async def wrapper(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        actor = actor_of(update)
        if actor is None:
            await message_of(update).reply_text(tr(ANONYMOUS))
            return
        await handler(update, context, actor)

    return wrapper


def actor_of(update: Update) -> Actor | None:
    """The person behind an update; None when they post as a chat (anonymous admin, channel)."""
    message = update.effective_message
    user = update.effective_user
    if user is None or update.effective_chat is None or (message and message.sender_chat):
        return None
    return Actor(user_id=user.id, chat_id=update.effective_chat.id, name=user.full_name)


@dataclass(frozen=True)
class CommandText:
    command: str
    args: list[str]


def parse_command(text: str | None, bot_username: str | None) -> CommandText | None:
    """`/cmd@bot args` from a caption; None when it is no command, or one for another bot."""
    match = _COMMAND.match((text or "").strip())
    if match is None:
        return None
    addressed = match.group("bot")
    if addressed and bot_username and addressed.lower() != bot_username.lower():
        return None
    return CommandText(match.group("command").lower(), (match.group("args") or "").split())


def pick_photo(sizes: Sequence[PhotoSize]) -> PhotoSize:
    """The smallest variant whose shorter side is enough for an avatar, else the largest.
    Telegram promises no order, so pick by size, not position."""
    big_enough = [s for s in sizes if min(s.width, s.height) >= AVATAR_SIDE]
    if big_enough:
        return min(big_enough, key=lambda s: s.width * s.height)
    return max(sizes, key=lambda s: s.width * s.height)


def photo_source(message: Message | None) -> PhotoSource | None:
    """The picture a message carries (a photo, or a file), not yet downloaded."""
    if message is None:
        return None
    media = pick_photo(message.photo) if message.photo else message.document
    if media is None:
        return None
    return PhotoSource(file_id=media.file_id, file_size=media.file_size)


def removal_question(
    target: Target, confirm: ConfirmRemoval | ConfirmTimedRemoval
) -> tuple[Text, InlineKeyboardMarkup]:
    """The question before a removal (a requester's: before proposing it), and its Remove it
    (or Propose it) and Keep it buttons, which only the asker may press."""
    remove, question = (
        (texts.PROPOSE_IT, texts.propose_removal(target.title))
        if target.needs_approval
        else (texts.REMOVE_IT, texts.confirm_removal(target.title))
    )
    buttons = [
        InlineKeyboardButton(tr(remove), callback_data=encode(confirm)),
        InlineKeyboardButton(tr(texts.KEEP_IT), callback_data=encode(KeepPicture(confirm.asker))),
    ]
    return question, InlineKeyboardMarkup([buttons])


async def presser(update: Update, refusal: Text) -> Actor | None:
    """The person pressing a button; None, the press answered with `refusal`, for a press made
    as a chat (an anonymous admin), which could be anyone's."""
    actor = actor_of(update)
    if actor is None:
        await query_of(update).answer(tr(refusal), show_alert=True)
    return actor


async def asker_pressed(update: Update, asker: int) -> Actor | None:
    """The person pressing a button that only `asker` may press, the press answered; None (the
    press refused) for anyone else."""
    query, actor = query_of(update), actor_of(update)
    if actor is None or actor.user_id != asker:
        await query.answer(tr(texts.ONLY_ASKER), show_alert=True)
        return None
    await query.answer()
    return actor
