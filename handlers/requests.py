"""The picture commands' one way in: a message becomes a `ChangeRequest` (bot/requests.py)
once, and the request goes down its road. Every picture command (set, remove, undo, for a
group, a list or an account, now or at a time, asked or with the photo) ends here."""

from __future__ import annotations

from telegram import Message
from telegram.ext import ContextTypes

from bot import rhythm
from bot.domain import Action, Actor, BulkKind, How, PhotoSource, Refusal, Result
from bot.requests import ChangeRequest, Road, names_in
from bot.service import UndoRefused
from bot.when import BadTime, parse, split
from handlers import bulk, schedule
from handlers.answers import Answer
from handlers.callbacks import ConfirmRemoval
from handlers.common import removal_question, services_of
from handlers.replies import NOT_A_PICTURE, outcome_text, sorry, texts, tr


def named(words: list[str]) -> str | None:
    """The group a command names: its first word, or a whole comma list (`family, work`)."""
    if not words:
        return None
    joined = " ".join(words)
    return joined if names_in(joined) is not None else words[0]


async def request_of(
    message: Message,
    context: ContextTypes.DEFAULT_TYPE,
    actor: Actor,
    action: Action,
    args: list[str] | None,
    *,
    photo: PhotoSource | None = None,
    how: How | None = None,
) -> ChangeRequest | None:
    """The request a command's words make (times read in the sender's zone, a rhythm after
    `every`); None, after a plain answer, when its time or rhythm cannot be used."""
    words, every_words = rhythm.split(list(args or []))
    words, time_words = split(words)
    when = every = None
    try:
        if time_words and every_words:
            raise BadTime(texts.EVERY_NOT_AT)
        if time_words or every_words:
            scheduler = await schedule.scheduler_of(context)
            zone = await scheduler.zone_of(actor.user_id)
            when = parse(time_words, scheduler.now(), zone)
            every = rhythm.parse(every_words, scheduler.min_every) if every_words else None
    except BadTime as bad:
        await message.reply_text(tr(sorry(bad.reason)))
        return None
    return ChangeRequest(action, actor, named(words), when, photo, how, every)


async def carry(
    message: Message, context: ContextTypes.DEFAULT_TYPE, request: ChangeRequest
) -> None:
    """Send `request` down its one road; `message` is what asked for it (its answer quotes
    it, and its id keeps a redelivered update from making the change twice)."""
    if request.needs_photo and request.photo is None:
        await message.reply_text(tr(NOT_A_PICTURE))
        return
    match request.road:
        case Road.LIST:  # bot/bulk.py: a plan, confirmed, then each group on its way
            assert request.names is not None
            if request.every is not None and request.kind is not BulkKind.SET:
                await message.reply_text(tr(sorry(texts.ONLY_PICTURES_RECUR)))
                return
            await bulk.ask(message, context, request)
        case Road.CONFIRM:
            await _ask_removal(message, context, request)
        case Road.RECUR:  # its reply says when it first runs; later only failures
            await schedule.recur(message, context, request)
        case Road.AT_ITS_TIME:  # its reply says when, and later how it went
            assert request.when is not None
            await schedule.submit(message, context, request)
        case Road.NOW:
            await _now(message, context, request)


async def _ask_removal(
    message: Message, context: ContextTypes.DEFAULT_TYPE, request: ChangeRequest
) -> None:
    """A removal is asked first: checked now, then Remove it (a requester's: Propose it) /
    Keep it; with a time, the times wait in the store for the press."""
    if request.when is not None:
        await schedule.ask_removal(message, context, request.asker, request.names, request.when)
        return
    service = (await services_of(context).use_cases()).avatars
    try:
        target = await service.authorize(request.asker, request.action, request.names)
    except Refusal as refusal:
        await message.reply_text(tr(sorry(refusal.reason)))
        return
    question, buttons = removal_question(target, ConfirmRemoval(request.asker.user_id, target.name))
    await message.reply_text(tr(question), reply_markup=buttons)


async def _now(
    message: Message, context: ContextTypes.DEFAULT_TYPE, request: ChangeRequest
) -> None:
    """Made now (a requester's: proposed), answered once with its outcome."""
    service = (await services_of(context).use_cases()).avatars
    answer = Answer(request=message)
    if await service.already_requested(answer.request_key):  # redelivered after a restart
        return
    actor, action, name, photo = request.asker, request.action, request.names, request.photo
    if request.how is How.UNDO:
        try:
            action, outcome = await answer.wait(
                service.undo(actor, action, name, answer.progress())
            )
        except UndoRefused as refused:
            target = refused.target
            await answer.say(texts.undo_refused(refused.why, target.title, target.provider.label))
            return
    else:
        assert photo is not None
        if action is Action.SET_GROUP_PICTURE:
            work = service.set_group_picture(actor, name, photo, answer.progress())
        else:
            work = service.set_own_picture(actor, name, photo, answer.progress())
        outcome = await answer.wait(work)
    if outcome.result is not Result.DUPLICATE:
        await answer.say(outcome_text(action, outcome))
