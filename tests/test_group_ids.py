"""Group ids are checked exactly, per provider, the same at start-up and in /addgroup: ASCII
digits only, realistic lengths, no leading zeros (a copy of a known id with a leading zero would
pass the duplicate check and name the same group twice)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import create_providers
from bot.config import ConfigError, parse_config
from tests.conftest import FAMILY, OWNER, Bot, raw_config, shut_down, start_bot

#: WhatsApp group ids that no provider speaking WhatsApp may take
BAD_WHATSAPP = [
    "12@g.us",  # far too short
    "0" + FAMILY,  # a copy of a known id with a leading zero
    "١٢٠٣٦٣٠٤٣٩٦٨٠٦٦٥٦١@g.us",  # Arabic-Indic digits
    "１２０３６３０４３９６８０６６５６１@g.us",  # fullwidth digits
    "120363043968066561000000@g.us",  # 24 digits
    "79001234567-0581234048@g.us",  # old form, a timestamp with a leading zero
    "079001234567-1581234048@g.us",  # old form, a phone with a leading zero
    "120363043968066561@g.us.",
    "120363043968066561@G.US",
]
BAD_MAX = ["-0", "-010000000000000", "-١٠٠٠٠٠٠٠٠٠٠٠٠٠", "-12", "--10000000000000", "-1e15"]
GOOD = {
    "green": [FAMILY, "79001234567-1581234048@g.us"],
    "max": ["-10000000000000", "-68523145"],
}
WHATSAPP_KINDS = ["green", "wa", "gowa"]


def providers(url: str) -> dict[str, Any]:
    """One provider of every kind (and Green API for MAX), none of them ever called."""
    green = {
        "kind": "greenapi",
        "api_url": url,
        "id_instance": "7105000000",
        "api_token_instance": "token",
    }
    return {
        "green": green,
        "max": {**green, "product": "max"},
        "wa": {"kind": "wasend", "api_key": "key", "session_id": "s", "base_url": url},
        "gowa": {"kind": "gowa", "base_url": url},
    }


def start_up(tmp_path, provider: str, chat_id: str) -> None:
    raw = raw_config(tmp_path, "http://127.0.0.1:9")
    raw["providers"] = providers("http://127.0.0.1:9")
    raw["groups"] = {"club": {"provider": provider, "chat_id": chat_id}}
    raw["links"] = {}
    raw["server"] = {"public_url": "https://bot.example.org"}
    create_providers(parse_config(raw, {}))


@pytest.mark.parametrize("provider", WHATSAPP_KINDS)
@pytest.mark.parametrize("chat_id", BAD_WHATSAPP)
def test_start_up_refuses_a_loose_whatsapp_group_id(tmp_path, provider: str, chat_id: str):
    with pytest.raises(ConfigError) as error:
        start_up(tmp_path, provider, chat_id)
    [line] = str(error.value).splitlines()
    assert line.startswith("groups.club.chat_id: a WhatsApp group id looks like 120363")


@pytest.mark.parametrize("chat_id", [*BAD_MAX, FAMILY, "10000000000000"])
def test_start_up_refuses_a_loose_max_group_id(tmp_path, chat_id: str):
    with pytest.raises(ConfigError) as error:
        start_up(tmp_path, "max", chat_id)
    assert str(error.value).startswith("groups.club.chat_id: a MAX group id is a negative number")


@pytest.mark.parametrize(
    ("provider", "chat_id"),
    [(p, chat_id) for p in WHATSAPP_KINDS for chat_id in GOOD["green"]]
    + [("max", chat_id) for chat_id in GOOD["max"]],
)
def test_start_up_takes_well_formed_ids(tmp_path, provider: str, chat_id: str):
    start_up(tmp_path, provider, chat_id)


@pytest.fixture
async def bot(tmp_path, green):
    """The usual bot, with a second Green API account for MAX."""
    fake, url = green
    raw = raw_config(tmp_path, url)
    raw["providers"]["max"] = {**raw["providers"]["green"], "product": "max"}
    started, application = await start_bot(raw, fake)
    yield started
    await shut_down(application)


@pytest.mark.parametrize(
    ("provider", "chat_id", "problem"),
    [("green", chat_id, "a WhatsApp group id looks like") for chat_id in BAD_WHATSAPP]
    + [("max", chat_id, "a MAX group id is a negative number") for chat_id in BAD_MAX],
)
async def test_addgroup_refuses_what_start_up_refuses(
    bot: Bot, provider: str, chat_id: str, problem: str
):
    owner = bot.user(OWNER, "Olga")
    before = bot.tables()["groups"]
    answer = await bot.say(owner, f"/addgroup club {provider} {chat_id}")
    assert answer.startswith(f"Sorry, {chat_id!r} is no group id for Green API: {problem}")
    assert bot.tables()["groups"] == before
