"""Picture history: /undogrouppic, /undoprofilepic, /pictures and its Restore buttons."""

from __future__ import annotations

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
    ReplyParameters,
    Update,
)
from telegram.ext import ContextTypes

from bot.domain import Action, Actor, How, PictureRecord, Progress, Refusal, Result
from bot.service import UndoRefused
from handlers import requests
from handlers.answers import Answer
from handlers.callbacks import ConfirmRestore, KeepPicture, PickRestore, PutBack, encode
from handlers.common import (
    asker_pressed,
    message_of,
    presser,
    query_of,
    services_of,
    with_actor,
)
from handlers.messenger import in_rows
from handlers.replies import ANONYMOUS, outcome_text, sorry, texts, tr

UNDO_COMMANDS = {
    "undogrouppic": Action.SET_GROUP_PICTURE,
    "undoprofilepic": Action.SET_OWN_PICTURE,
}
#: Telegram's limits: an album holds 2 to 10 pictures; a keyboard row, a few buttons
ALBUM_SIZE = 10
BUTTONS_PER_ROW = 5


@with_actor
async def undo_command(update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor) -> None:
    """`/undogrouppic family`, `/undoprofilepic green`: put back the picture before the last
    change made through the bot (an ordinary change, or a proposal for a requester)."""
    message = message_of(update)
    command = (message.text or "/").split(maxsplit=1)[0][1:].split("@")[0].lower()
    request = await requests.request_of(
        message, context, actor, UNDO_COMMANDS[command], context.args, how=How.UNDO
    )
    if request is not None:
        await requests.carry(message, context, request)


@with_actor
async def pictures_command(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor
) -> None:
    """`/pictures family`: the kept pictures as an album, newest first, then Restore buttons."""
    message = message_of(update)
    service = (await services_of(context).use_cases()).avatars
    name = context.args[0] if context.args else None
    try:
        target, records = await service.pictures(actor, name)
    except Refusal as refusal:
        await message.reply_text(tr(sorry(refusal.reason)))
        return
    if not records:
        await message.reply_text(tr(texts.no_pictures(target.title)))
        return
    numbered = list(enumerate(records, start=1))
    for start in range(0, len(numbered), ALBUM_SIZE):
        await _send_album(message, numbered[start : start + ALBUM_SIZE])
    buttons = [
        InlineKeyboardButton(
            tr(texts.restore_label(number)),
            callback_data=encode(PickRestore(record.id, number)),
        )
        for number, record in numbered
    ]
    await message.reply_text(
        tr(texts.restore_list(target.title)), reply_markup=in_rows(buttons, BUTTONS_PER_ROW)
    )


def _who(record: PictureRecord) -> str:
    """Who made a kept change ("": made outside the bot by someone no event named)."""
    return texts.who(record.actor_name, record.actor_id) if record.actor_name else ""


async def _send_album(message: Message, numbered: list[tuple[int, PictureRecord]]) -> None:
    captions = [tr(texts.picture_caption(n, r.at, _who(r), r.how)) for n, r in numbered]
    pictures = [record.after_jpeg or b"" for _, record in numbered]
    if len(numbered) == 1:  # an album needs two at least
        await message.reply_photo(pictures[0], caption=captions[0])
        return
    await message.reply_media_group(
        [
            InputMediaPhoto(jpeg, caption=caption)
            for jpeg, caption in zip(pictures, captions, strict=True)
        ]
    )


async def restore_pressed(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    pressed: Message,
    value: PickRestore | ConfirmRestore,
) -> None:
    """A press on "Restore 3" asks to confirm; "Restore it" runs it as a set, with the rights
    of the person pressing, checked now."""
    query = query_of(update)
    actor = await presser(update, texts.ONLY_ASKER)
    if actor is None:
        return
    service = (await services_of(context).use_cases()).avatars
    if isinstance(value, PickRestore):
        found = await service.picture_record(value.record)
        if found is None:
            await query.answer(tr(texts.PICTURE_GONE), show_alert=True)
            return
        await query.answer()
        group, _ = found
        confirm = ConfirmRestore(actor.user_id, value.record, value.number)
        buttons = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(tr(texts.RESTORE_IT), callback_data=encode(confirm)),
                    InlineKeyboardButton(
                        tr(texts.KEEP_IT), callback_data=encode(KeepPicture(actor.user_id))
                    ),
                ]
            ]
        )
        await pressed.reply_text(
            tr(texts.restore_question(value.number, group.title)),
            reply_markup=buttons,
        )
        return
    if await asker_pressed(update, value.asker) is None:
        return
    answer = Answer(pressed=pressed)
    outcome = await answer.wait(service.restore(actor, value.record, answer.progress()))
    if outcome.result is not Result.DUPLICATE:
        await answer.say(outcome_text(Action.SET_GROUP_PICTURE, outcome))


async def put_back_pressed(
    update: Update, context: ContextTypes.DEFAULT_TYPE, notice: Message, value: PutBack
) -> None:
    """ "Put back the earlier picture" under a picture changed outside the bot: anyone shown it
    may press; the rights are checked at the press, and the first press wins (the change is
    written down under one request key per change seen)."""
    query = query_of(update)
    actor = await presser(update, ANONYMOUS)
    if actor is None:
        return
    service = (await services_of(context).use_cases()).avatars
    progress = Progress(request_key=f"putback:{value.record}")
    assert progress.request_key is not None
    if await service.already_requested(progress.request_key):
        await query.answer(tr(texts.PUT_BACK_ALREADY), show_alert=True)
        return
    await query.answer(tr(texts.PUTTING_BACK))
    try:
        action, outcome = await service.put_back(actor, value.record, progress)
    except UndoRefused as refused:
        target = refused.target
        said = texts.undo_refused(refused.why, target.title, target.provider.label)
    else:
        if outcome.result is Result.DUPLICATE:  # a press racing this one came first
            return
        said = outcome_text(action, outcome)
    await context.bot.send_message(
        actor.chat_id,
        tr(said),
        reply_parameters=ReplyParameters(notice.message_id, allow_sending_without_reply=True),
    )
