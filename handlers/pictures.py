"""The picture commands: set (three photo forms), delete (after a confirmation), show."""

from __future__ import annotations

from dataclasses import replace

from telegram import (
    ForceReply,
    Message,
    Update,
)
from telegram.ext import ContextTypes

from bot.domain import (
    Action,
    Actor,
    Refusal,
    Result,
    Target,
)
from bot.requests import ChangeRequest
from handlers import bulk, requests
from handlers.albums import MOST, albums_of
from handlers.answers import Answer
from handlers.callbacks import ConfirmRemoval, KeepPicture
from handlers.common import (
    actor_of,
    asker_pressed,
    message_of,
    parse_command,
    photo_source,
    query_of,
    services_of,
    with_actor,
)
from handlers.replies import (
    ANONYMOUS,
    NO_PICTURE_IN_REPLY,
    NOT_A_PICTURE,
    outcome_text,
    sorry,
    texts,
    tr,
)

SET_COMMANDS = {"setgrouppic": Action.SET_GROUP_PICTURE, "setprofilepic": Action.SET_OWN_PICTURE}
VIEW_COMMANDS = {"grouppic": Action.VIEW_GROUP_PICTURE, "profilepic": Action.VIEW_OWN_PICTURE}


def _command_name(message: Message) -> str:
    return (message.text or "/").split(maxsplit=1)[0][1:].split("@")[0].lower()


def _resolved_name(target: Target) -> str:
    return target.name


@with_actor
async def set_picture_command(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor
) -> None:
    """`/setgrouppic family` as text: the reply form, or ask for the photo."""
    message = message_of(update)
    action = SET_COMMANDS[_command_name(message)]
    request = await requests.request_of(message, context, actor, action, context.args)
    if request is None:
        return
    if message.reply_to_message is not None:
        source = photo_source(message.reply_to_message)
        if source is None:
            await message.reply_text(tr(NO_PICTURE_IN_REPLY))
            return
        await requests.carry(message, context, replace(request, photo=source))
        return
    if request.every is not None:  # its pictures come with it: they are kept with the rhythm
        await message.reply_text(tr(sorry(texts.RECUR_WITH_PHOTOS)))
        return
    await _ask_for_photo(message, context, request)


async def caption_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo or file whose caption is `/setgrouppic family`."""
    message = message_of(update)
    parsed = parse_command(message.caption, context.bot.username)
    if parsed is None or parsed.command not in SET_COMMANDS:
        return
    actor = actor_of(update)
    if actor is None:
        await message.reply_text(tr(ANONYMOUS))
        return
    source = photo_source(message)
    if source is None:
        await message.reply_text(tr(NOT_A_PICTURE))
        return
    request = await requests.request_of(
        message, context, actor, SET_COMMANDS[parsed.command], parsed.args, photo=source
    )
    if request is None:
        return
    if message.media_group_id is not None and request.every is not None:  # a rotation
        album = await albums_of(context).collect(message)
        if not album:
            await message.reply_text(tr(sorry(texts.album_too_long(MOST))))
            return
        request = replace(request, album=tuple(album))
    await requests.carry(message, context, request)


async def pending_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The photo the bot asked for: a reply to its question, or sent before the deadline."""
    message = message_of(update)
    albums_of(context).note(message)  # perhaps one of an album whose caption says `every`
    actor = actor_of(update)
    if actor is None:
        return
    waits = (await services_of(context).use_cases()).photo_waits
    replied = message.reply_to_message
    pending = await waits.take(
        message.chat_id, actor.user_id, replied.message_id if replied else None
    )
    if pending is None:
        return
    action, name, when = pending
    request = ChangeRequest(action, actor, name, when, photo_source(message))
    await requests.carry(message, context, request)


async def cancel_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    actor = actor_of(update)
    waits = (await services_of(context).use_cases()).photo_waits
    if actor and await waits.cancel(message_of(update).chat_id, actor.user_id):
        await message_of(update).reply_text(tr(texts.CANCELLED))
    else:
        await message_of(update).reply_text(tr(texts.NOTHING_TO_CANCEL))


@with_actor
async def delete_command(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor) -> None:
    """`/delgrouppic family`: checked, then a confirmation with buttons (handlers/requests.py)."""
    message = message_of(update)
    action = Action.DELETE_GROUP_PICTURE
    request = await requests.request_of(message, context, actor, action, context.args)
    if request is not None:
        await requests.carry(message, context, request)


async def removal_answered(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    question: Message,
    value: ConfirmRemoval | KeepPicture,
) -> None:
    """A press on Remove it / Keep it. Only the asker may answer; rights are checked again."""
    actor = await asker_pressed(update, value.asker)
    if actor is None:
        return
    query = query_of(update)
    if isinstance(value, KeepPicture):
        await query.edit_message_text(tr(texts.KEPT))
        return
    service = (await services_of(context).use_cases()).avatars
    answer = Answer(pressed=question)
    outcome = await answer.wait(service.delete_group_picture(actor, value.alias, answer.progress()))
    if outcome.result is not Result.DUPLICATE:
        await answer.say(outcome_text(Action.DELETE_GROUP_PICTURE, outcome))


@with_actor
async def view_command(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor) -> None:
    """`/grouppic family` and `/profilepic green`: the current picture's URL."""
    message = message_of(update)
    action = VIEW_COMMANDS[_command_name(message)]
    service = (await services_of(context).use_cases()).avatars
    name = context.args[0] if context.args else None
    if action is Action.VIEW_GROUP_PICTURE:
        outcome = await service.get_group_picture(actor, name)
    else:
        outcome = await service.get_own_picture(actor, name)
    if outcome.image is not None:  # a Telegram chat's photo: its file URL carries the token
        await message.reply_photo(outcome.image, caption=tr(outcome_text(action, outcome)))
        return
    await message.reply_text(tr(outcome_text(action, outcome)))


async def _ask_for_photo(
    message: Message, context: ContextTypes.DEFAULT_TYPE, request: ChangeRequest
) -> None:
    """Ask for the photo of a set given as text alone; the photo (a reply to the question, or
    sent before the deadline) then carries the request on (`pending_photo`)."""
    actor, action, name = request.asker, request.action, request.names
    wait = services_of(context).config.photo_wait_seconds
    if request.many:
        assert name is not None
        question = await bulk.ask_for_photo(message, name, wait)
    else:
        service = (await services_of(context).use_cases()).avatars
        try:
            target = await service.authorize(actor, action, name)
        except Refusal as refusal:
            await message.reply_text(tr(sorry(refusal.reason)))
            return
        question = await message.reply_text(
            tr(texts.send_picture(target.title, wait / 60, target.needs_approval)),
            reply_markup=ForceReply(selective=True),
        )
        name = target.name
    waits = (await services_of(context).use_cases()).photo_waits
    await waits.wait(
        question.chat_id, actor.user_id, action, name, question.message_id, wait, request.when
    )
