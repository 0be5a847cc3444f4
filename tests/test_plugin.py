"""Plugin mode: avatarops' handlers installed into someone else's PTB Application."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, CommandHandler, ContextTypes

import handlers
from bot.config import parse_config
from tests.conftest import BOT_TOKEN, FAMILY, OWNER, raw_config
from tests.fakes.telegram import FakeTelegram
from tests.pictures import photo_bytes


async def test_install_into_a_bare_application_keeps_the_hosts_handlers_and_hooks(tmp_path, green):
    fake_green, green_url = green
    telegram = FakeTelegram(token=BOT_TOKEN)
    host_events: list[str] = []

    async def host_post_init(app: Application) -> None:
        host_events.append("post_init")

    async def host_post_shutdown(app: Application) -> None:
        host_events.append("post_shutdown")

    async def ping(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("pong")

    application = (
        ApplicationBuilder()
        .token(BOT_TOKEN)
        .request(telegram.request())
        .get_updates_request(telegram.request())
        .updater(None)
        .post_init(host_post_init)
        .post_shutdown(host_post_shutdown)
        .build()
    )
    application.add_handler(CommandHandler("ping", ping))
    services = handlers.install(application, parse_config(raw_config(tmp_path, green_url), {}))

    async with application:  # the host drives the lifecycle itself: no post_init is run
        owner = telegram.user(OWNER, "Olga")
        await owner.send("/ping")
        await owner.send_photo(photo_bytes(), caption="/setgrouppic family")
        await telegram.feed(application)  # the first update opens the services on demand
        replies = [m.content for m in telegram.bot_messages(owner)]
        assert replies[0] == "pong"
        assert replies[1].startswith("Done: Family has a new picture.")
        assert [r.form["groupId"] for r in fake_green.set_calls()] == [FAMILY]
        assert application.post_init and application.post_shutdown
        await application.post_init(application)  # as run_polling would: ours, then the host's
        await application.post_shutdown(application)
    assert host_events == ["post_init", "post_shutdown"]
    assert services.store is None  # closed with the application
