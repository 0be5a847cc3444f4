"""The bot's own traffic to Telegram keeps to the flood limits: a burst of notices to one group
all arrive, paced by python-telegram-bot's AIORateLimiter, with each 429 sent again after its
retry_after. The fake Bot API enforces a flood limit scaled down from a minute to a second."""

from __future__ import annotations

import asyncio

import pytest

from bot.config import AppConfig, parse_config
from bot.runner import build_application, rate_limiter
from handlers.messenger import TelegramMessenger
from tests.conftest import BOT_TOKEN, raw_config
from tests.fakes.serve import serve
from tests.fakes.telegram import FakeTelegram, FloodLimit

NOTIFY_CHAT = -1001000000001
# PTB itself reads RetryAfter.retry_after, which warns about its type in a future version
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def config(tmp_path, api: str) -> AppConfig:
    telegram = {"token": BOT_TOKEN, "api_base_url": api}
    return parse_config(raw_config(tmp_path, "http://127.0.0.1:9", telegram=telegram), {})


async def test_a_burst_of_60_notices_to_one_group_all_arrive(tmp_path):
    telegram = FakeTelegram(token=BOT_TOKEN)
    group = telegram.group_chat(NOTIFY_CHAT, "Announcements")
    # Telegram's 20 a minute per group, as 10 a second; the bot is set a little faster than
    # that, so that the fake's 429s (and the bot's retries after retry_after) happen too
    telegram.flood_limit = FloodLimit(messages=10, seconds=1)
    async with serve(telegram.app) as api:
        application = build_application(
            config(tmp_path, api), rate_limiter(group_max_rate=12, group_time_period=1)
        )
        await application.initialize()
        try:
            messenger = TelegramMessenger(application.bot)
            texts = [f"notice {n}" for n in range(60)]
            await asyncio.gather(*(messenger.send(NOTIFY_CHAT, text) for text in texts))
        finally:
            await application.shutdown()
    assert sorted(m.content for m in telegram.bot_messages(group)) == sorted(texts)
    assert telegram.flood_limit.refused > 0  # Telegram did say "too many", and nothing was lost


async def test_the_bot_as_built_sends_a_refused_message_again_after_retry_after(tmp_path):
    telegram = FakeTelegram(token=BOT_TOKEN)
    group = telegram.group_chat(NOTIFY_CHAT, "Announcements")
    telegram.flood_limit = FloodLimit(messages=2, seconds=1)
    async with serve(telegram.app) as api:
        application = build_application(config(tmp_path, api))  # the limiter the bot runs with
        await application.initialize()
        try:
            messenger = TelegramMessenger(application.bot)
            for n in range(3):
                await messenger.send(NOTIFY_CHAT, f"notice {n}")
        finally:
            await application.shutdown()
    assert [m.content for m in telegram.bot_messages(group)] == [f"notice {n}" for n in range(3)]
    assert telegram.flood_limit.refused == 1
