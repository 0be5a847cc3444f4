"""Many groups at once: `/setgrouppic family,work,school` or `*` (any photo form),
`/delgrouppic` and `/undogrouppic` with the same lists. The bot lists what it will change and
what it refuses, asks for a confirmation when more than one group would change, and shows the
progress in one message (bot/bulk.py runs it)."""

from __future__ import annotations

from telegram import ForceReply, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import ContextTypes

from bot.domain import Actor, MessageRef, Refusal
from bot.requests import ChangeRequest
from handlers.callbacks import ConfirmBulk, KeepBulk, encode
from handlers.common import asker_pressed, query_of, services_of
from handlers.replies import WORKING, sorry, texts, tr


async def ask(message: Message, context: ContextTypes.DEFAULT_TYPE, request: ChangeRequest) -> None:
    """List the groups it will change and those it refuses; ask to confirm when it would
    change more than one, else start at once (or, with a time or a rhythm, keep one
    scheduled change or recurrence per group: bot/bulk.py; a requester's: propose it, with
    its time or rhythm)."""
    assert request.names is not None
    actor, kind = request.asker, request.kind
    bulks = (await services_of(context).use_cases()).bulks
    try:
        plan = await bulks.ask(
            actor, kind, request.names, request.photo, request.when, request.every, request.album
        )
    except Refusal as refusal:  # a recurring list's picture (of its album) cannot be used
        await message.reply_text(tr(sorry(refusal.reason)), do_quote=True)
        return
    names = [t.name for t in plan.targets]
    text = texts.bulk_plan(kind, names, plan.refused, plan.proposal, plan.timing)
    if plan.bulk_id is None:
        await message.reply_text(tr(text), do_quote=True)
        return
    if len(plan.targets) == 1 and not plan.refused:
        shown = await message.reply_text(tr(WORKING), do_quote=True)
        await _run(shown, context, actor, plan.bulk_id)
        return
    buttons = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    tr(texts.PROPOSE_THEM if plan.proposal else texts.BULK_GO[kind]),
                    callback_data=encode(ConfirmBulk(actor.user_id, plan.bulk_id)),
                ),
                InlineKeyboardButton(
                    tr(texts.KEEP_THEM),
                    callback_data=encode(KeepBulk(actor.user_id, plan.bulk_id)),
                ),
            ]
        ]
    )
    await message.reply_text(tr(text), reply_markup=buttons, do_quote=True)


async def ask_for_photo(message: Message, names: str, wait_seconds: float) -> Message:
    """The question of the ask-then-send form for a list (rights are checked with the photo)."""
    return await message.reply_text(
        tr(texts.bulk_ask_photo(names, wait_seconds / 60)),
        reply_markup=ForceReply(selective=True),
    )


async def confirm_pressed(
    update: Update, context: ContextTypes.DEFAULT_TYPE, pressed: Message, value: ConfirmBulk
) -> None:
    """The confirmation: only the asker may give it; the message becomes the progress."""
    actor = await asker_pressed(update, value.asker)
    if actor is not None:
        await _run(pressed, context, actor, value.bulk)


async def keep_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE, value: KeepBulk) -> None:
    """Keep them: only the asker may press; the question is closed, so a later press on its
    other button changes nothing, and what it kept goes."""
    actor = await asker_pressed(update, value.asker)
    if actor is not None:
        await (await services_of(context).use_cases()).bulks.keep(actor, value.bulk)
        await query_of(update).edit_message_text(tr(texts.KEPT))


async def _run(shown: Message, context: ContextTypes.DEFAULT_TYPE, actor: Actor, bulk: int) -> None:
    bulks = (await services_of(context).use_cases()).bulks
    try:
        ran = await bulks.confirm(actor, bulk, MessageRef(shown.chat_id, shown.message_id))
    except Refusal as refusal:
        await shown.edit_text(tr(sorry(refusal.reason)))
        return
    # None: a second (or racing) press on the same question, whose first press shows the
    # outcome in this very message; nothing more to say
    if ran is not None and ran.said is not None:  # scheduled, or proposed
        await shown.edit_text(tr(ran.said))
