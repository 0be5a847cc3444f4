"""Scheduled pictures: `at …` / `until …` on the picture commands, /scheduled with its Cancel
buttons, and /timezone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Message, Update
from telegram.ext import ContextTypes

from bot.app import UseCases
from bot.domain import Action, Actor, MessageRef, Refusal, ScheduleStatus
from bot.i18n import Text, cut, joined
from bot.requests import ChangeRequest
from bot.schedule import Scheduler, describe, due
from bot.when import BadTime, When
from handlers import pages
from handlers.callbacks import CancelSchedule, ConfirmTimedRemoval, ResumeRun, SkipRun
from handlers.common import (
    asker_pressed,
    message_of,
    presser,
    query_of,
    removal_question,
    services_of,
    with_actor,
)
from handlers.replies import WORKING, sorry, texts, tr


async def scheduler_of(context: ContextTypes.DEFAULT_TYPE) -> Scheduler:
    return (await services_of(context).use_cases()).schedule


async def submit(
    message: Message, context: ContextTypes.DEFAULT_TYPE, request: ChangeRequest
) -> None:
    """Keep a change for its time; the bot's reply says when it runs, and later how it went."""
    assert request.when is not None
    scheduler = await scheduler_of(context)
    key = f"{message.chat_id}:{message.message_id}"
    if await scheduler.already(key):  # redelivered after a restart
        return
    answer = await message.reply_text(tr(WORKING), do_quote=True)
    reply = MessageRef(answer.chat_id, answer.message_id)
    await _said(
        answer.edit_text,
        scheduler.schedule(
            request.asker,
            request.action,
            request.names,
            request.photo,
            request.when,
            reply,
            key,
            how=request.how,
        ),
    )


async def recur(
    message: Message, context: ContextTypes.DEFAULT_TYPE, request: ChangeRequest
) -> None:
    """Keep a recurring change (`every …`); the bot's reply says when it first runs, and later
    answers it only when a run fails."""
    assert request.every is not None
    if request.action is Action.DELETE_GROUP_PICTURE or request.photo is None:
        await message.reply_text(tr(sorry(texts.ONLY_PICTURES_RECUR)))
        return
    scheduler = await scheduler_of(context)
    key = f"{message.chat_id}:{message.message_id}"
    if await scheduler.already(key):  # redelivered after a restart
        return
    answer = await message.reply_text(tr(WORKING), do_quote=True)
    reply = MessageRef(answer.chat_id, answer.message_id)
    photos = list(request.album) or [request.photo]
    await _said(
        answer.edit_text,
        scheduler.recur(
            request.asker, request.action, request.names, photos, request.every, reply, key
        ),
    )


async def ask_removal(
    message: Message,
    context: ContextTypes.DEFAULT_TYPE,
    actor: Actor,
    name: str | None,
    when: When,
) -> None:
    """`/delgrouppic family at …`: checked now, then the Remove it (a requester's: Propose it)
    / Keep it question of a removal without a time, saying when; the times wait in the store
    (a draft) for the press."""
    scheduler = await scheduler_of(context)
    try:
        target, draft, times = await scheduler.draft(actor, Action.DELETE_GROUP_PICTURE, name, when)
    except Refusal as refusal:
        await message.reply_text(tr(sorry(refusal.reason)))
        return
    question, buttons = removal_question(target, ConfirmTimedRemoval(actor.user_id, draft))
    await message.reply_text(tr(joined("\n", [question, times])), reply_markup=buttons)


async def removal_confirmed(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    question: Message,
    value: ConfirmTimedRemoval,
) -> None:
    """Remove it under a removal with a time: only the asker may press, once; the question
    then says when it runs (and later how it went)."""
    actor = await asker_pressed(update, value.asker)
    if actor is None:
        return
    query = query_of(update)
    scheduler = await scheduler_of(context)
    draft = await scheduler.draft_of(actor, value.draft)
    if draft is None:  # a second press: the first one is answered on the question
        return
    reply = MessageRef(question.chat_id, question.message_id)
    request = f"{question.chat_id}:{question.message_id}"
    await _said(query.edit_message_text, scheduler.schedule_draft(actor, draft, reply, request))


async def _said(
    edit: Callable[[str], Awaitable[object]], scheduling: Awaitable[Text | None]
) -> None:
    """Say (with `edit`) when a change kept for its time runs, or why it was not kept; a change
    that runs at once shows its outcome there itself."""
    try:
        said = await scheduling
    except Refusal as refusal:
        await edit(tr(sorry(refusal.reason)))
        return
    if said is not None:
        await edit(tr(said))


def _scheduled_args(args: list[str]) -> tuple[str, str | None]:
    return "s", pages.alias(args[0]) if args else None


#: `/scheduled [group]`: the pending scheduled changes this person may see, with a Cancel
#: button each
scheduled_command = pages.command(_scheduled_args)


@pages.view("s")
async def _scheduled_view(
    cases: UseCases, actor: Actor, code: str, alias: str | None, page: int
) -> pages.Listing:
    scheduler = cases.schedule
    total, entries = await scheduler.visible_page(actor, alias, *pages.window(page))
    if total and not entries:  # past the end: changes ran or were cancelled meanwhile
        page = pages.count(total)
        total, entries = await scheduler.visible_page(actor, alias, *pages.window(page))
    if not entries:
        return pages.Listing(texts.NOTHING_SCHEDULED, [])
    zone = await scheduler.zone_of(actor.user_id)
    first = pages.window(page)[0] + 1
    items = []
    for number, entry in enumerate(entries, start=first):
        when = texts.local_time(due(entry), zone)
        assert entry.id is not None
        pictures = await scheduler.pictures_of(entry)
        what = describe(entry, pictures)
        cancel = CancelSchedule(entry.id, entry.phase)
        if entry.status is ScheduleStatus.PAUSED:  # waits for Resume, not for a time
            line = texts.paused_line(number, what, entry.actor_name)
            resume = (texts.resume_label(number), ResumeRun(entry.id))
            items.append(pages.Item(line, resume, (texts.stop_label(number), cancel)))
            continue
        line = texts.scheduled_line(number, when, what, entry.actor_name)
        if entry.rhythm is None:
            items.append(pages.Item(line, (texts.cancel_label(number), cancel)))
            continue
        skip = (texts.skip_label(number), SkipRun(entry.id, entry.next_run))
        items.append(pages.Item(line, (texts.stop_label(number), cancel), skip))
    return pages.counted(texts.SCHEDULED_HEADER, items, page, total)


async def cancel_pressed(
    update: Update, context: ContextTypes.DEFAULT_TYPE, value: CancelSchedule
) -> None:
    """A press on "Cancel 2" under /scheduled."""
    await _pressed(
        update, context, texts.MAY_NOT_CANCEL, lambda s, a: s.cancel(a, value.entry, value.phase)
    )


async def resume_pressed(
    update: Update, context: ContextTypes.DEFAULT_TYPE, value: ResumeRun
) -> None:
    """A press on "Resume 2" beside a paused recurrence."""
    await _pressed(update, context, texts.MAY_NOT_RESUME, lambda s, a: s.resume(a, value.entry))


async def skip_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE, value: SkipRun) -> None:
    """A press on "Skip next 2" under /scheduled."""
    await _pressed(
        update, context, texts.MAY_NOT_CANCEL, lambda s, a: s.skip(a, value.entry, value.run)
    )


async def _pressed(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    refusal: Text,
    act: Callable[[Scheduler, Actor], Awaitable[Text]],
) -> None:
    """A button under /scheduled: the rights are checked at the press (`refusal` for one who
    has none), and what `act` says comes back as an alert."""
    query = query_of(update)
    actor = await presser(update, refusal)
    if actor is None:
        return
    said = await act(await scheduler_of(context), actor)
    await query.answer(tr(cut(said, 190)), show_alert=True)


@with_actor
async def timezone_command(
    update: Update, context: ContextTypes.DEFAULT_TYPE, actor: Actor
) -> None:
    """`/timezone` shows the zone times are shown in; `/timezone Europe/Berlin` chooses it."""
    message = message_of(update)
    scheduler = await scheduler_of(context)
    if not context.args:
        chosen = await scheduler.chosen_zone(actor.user_id)
        await message.reply_text(
            tr(texts.zone_is(chosen or scheduler.default_zone, chosen is not None))
        )
        return
    try:
        zone = await scheduler.choose_zone(actor.user_id, context.args[0])
    except BadTime as bad:
        await message.reply_text(tr(sorry(bad.reason)))
        return
    await message.reply_text(tr(texts.zone_set(zone)))
