"""The Telegram face of avatarops. `install()` adds its handlers to any PTB Application."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import texts
from bot.app import Services
from bot.clock import Clock
from bot.config import AppConfig
from bot.i18n import CODES, ENGLISH, LANGUAGES, reading, tr
from bot.metrics import Metrics
from bot.store import StoreUnavailable
from handlers import (
    admin,
    approvals,
    bulk,
    callbacks,
    pages,
    picture_history,
    pictures,
    schedule,
    watching,
)
from handlers.common import SERVICES_KEY, Handler, query_of
from handlers.help import help_command, menu
from handlers.messenger import TelegramMessenger

log = logging.getLogger(__name__)

#: any python-telegram-bot Application: a host's may carry its own context types
AnyApplication = Application[Any, Any, Any, Any, Any, Any]

_NEW_MESSAGES = filters.UpdateType.MESSAGE  # edited messages do not re-run a command
_PICTURES = filters.PHOTO | filters.Document.ALL
ADMIN_COMMANDS = {
    "grant": admin.grant_command,
    "revoke": admin.revoke_command,
    "admins": admin.admins_command,
    "groups": admin.groups_command,
    "addgroup": admin.addgroup_command,
    "removegroup": admin.removegroup_command,
    "link": admin.link_command,
    "unlink": admin.unlink_command,
    "history": admin.audit_command,
    "notify": admin.notify_command,
    "guard": admin.guard_command,
    "language": admin.language_command,
}


def install(
    application: AnyApplication,
    config: AppConfig,
    *,
    group: int = 0,
    clock: Clock | None = None,
    answer_all_buttons: bool = True,
    metrics: Metrics | None = None,
) -> Services:
    """Add the avatarops handlers to `application` and tie its services to the app's lifecycle.

    The services open at start-up (post_init) or at the first update, whichever comes first,
    and close at shutdown; hooks the application already had still run. `clock` is for tests.
    Every button press that reaches `group` is answered (an unknown one with a plain "not on
    this message"); a host with buttons of its own passes `answer_all_buttons=False`, and then
    only presses whose data starts like one of ours are answered here.
    """
    services = Services(config, TelegramMessenger(application.bot), clock, metrics)
    application.bot_data[SERVICES_KEY] = services
    set_commands = list(pictures.SET_COMMANDS)
    view_commands = list(pictures.VIEW_COMMANDS)
    first = len(application.handlers.get(group, []))
    application.add_handlers(
        [
            CommandHandler(["start", "help"], help_command, filters=_NEW_MESSAGES),
            CommandHandler(set_commands, pictures.set_picture_command, filters=_NEW_MESSAGES),
            CommandHandler("delgrouppic", pictures.delete_command, filters=_NEW_MESSAGES),
            CommandHandler(view_commands, pictures.view_command, filters=_NEW_MESSAGES),
            CommandHandler("cancel", pictures.cancel_command, filters=_NEW_MESSAGES),
            CommandHandler(
                list(picture_history.UNDO_COMMANDS),
                picture_history.undo_command,
                filters=_NEW_MESSAGES,
            ),
            CommandHandler("pictures", picture_history.pictures_command, filters=_NEW_MESSAGES),
            CommandHandler("scheduled", schedule.scheduled_command, filters=_NEW_MESSAGES),
            CommandHandler("timezone", schedule.timezone_command, filters=_NEW_MESSAGES),
            *[
                CommandHandler(name, handler, filters=_NEW_MESSAGES)
                for name, handler in ADMIN_COMMANDS.items()
            ],
            MessageHandler(
                _NEW_MESSAGES & filters.CaptionRegex(rf"^/({'|'.join(set_commands)})(@\w+)?(\s|$)"),
                pictures.caption_command,
            ),
            MessageHandler(_NEW_MESSAGES & _PICTURES, pictures.pending_photo),
            MessageHandler(watching.CHAT_PHOTO_CHANGED, watching.chat_photo_changed),
            CallbackQueryHandler(
                _button_pressed, pattern=None if answer_all_buttons else callbacks.is_ours
            ),
        ],
        group=group,
    )
    for handler in application.handlers[group][first:]:  # each answers in its reader's language
        handler.callback = _speaking(handler.callback)
    application.add_error_handler(_log_error)
    _chain_lifecycle(application, services)
    return services


def _speaking(handler: Handler) -> Handler:
    """`handler`, answering in the language of the person who sent the update (bot/languages.py
    says which; the language their Telegram app shows is kept for the notices they get)."""

    async def speaking(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        services: Services = context.application.bot_data[SERVICES_KEY]
        if user is not None and not user.is_bot:
            languages = (await services.use_cases()).languages
            reading(await languages.of_sender(user.id, user.language_code))
        else:  # an anonymous admin, a channel: nobody in particular
            reading((await services.use_cases()).languages.default)
        await handler(update, context)

    return speaking


async def _button_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every press is answered; only a valid button of the message pressed does anything."""
    query = query_of(update)
    found = callbacks.pressed(query)
    if found is None:
        await query.answer(tr(callbacks.NOT_ON_MESSAGE))
        return
    message, value = found
    if isinstance(value, callbacks.Page):
        await pages.turned(update, context, message, value)
    elif isinstance(value, callbacks.Decision):
        await approvals.decision_pressed(update, context, message, value)
    elif isinstance(value, callbacks.PutBack):
        await picture_history.put_back_pressed(update, context, message, value)
    elif isinstance(value, callbacks.PickRestore | callbacks.ConfirmRestore):
        await picture_history.restore_pressed(update, context, message, value)
    elif isinstance(value, callbacks.ConfirmBulk):
        await bulk.confirm_pressed(update, context, message, value)
    elif isinstance(value, callbacks.KeepBulk):
        await bulk.keep_pressed(update, context, value)
    elif isinstance(value, callbacks.CancelSchedule):
        await schedule.cancel_pressed(update, context, value)
    elif isinstance(value, callbacks.SkipRun):
        await schedule.skip_pressed(update, context, value)
    elif isinstance(value, callbacks.ResumeRun):
        await schedule.resume_pressed(update, context, value)
    elif isinstance(value, callbacks.ConfirmTimedRemoval):
        await schedule.removal_confirmed(update, context, message, value)
    else:
        await pictures.removal_answered(update, context, message, value)


def _chain_lifecycle(application: AnyApplication, services: Services) -> None:
    previous_init, previous_shutdown = application.post_init, application.post_shutdown

    async def post_init(app: AnyApplication) -> None:
        await services.use_cases()
        for language in LANGUAGES:  # English is also the menu of every other language
            code = None if language == ENGLISH else CODES[language]
            await app.bot.set_my_commands(menu(language), language_code=code)
        if previous_init:
            await previous_init(app)

    async def post_shutdown(app: AnyApplication) -> None:
        await services.aclose()
        if previous_shutdown:
            await previous_shutdown(app)

    application.post_init = post_init
    application.post_shutdown = post_shutdown


async def _log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    said = texts.FAILED
    if isinstance(context.error, StoreUnavailable):  # nothing was written: a plain answer
        log.warning("update refused: %s", context.error)
        said = texts.STORE_AWAY
    else:
        log.error("update failed", exc_info=context.error)
    if isinstance(update, Update) and update.callback_query:
        try:  # the press may have been answered already; then this one is refused, and that's ok
            await update.callback_query.answer(tr(said))
        except Exception:
            log.debug("the failed press was answered already")
    if isinstance(update, Update) and update.effective_message:
        try:
            await update.effective_message.reply_text(tr(said))
        except Exception:
            log.warning("could not tell the user about the failure", exc_info=True)
