"""The config fingerprint instances on one store compare (bot/agreement.py)."""

from __future__ import annotations

import json

from bot.agreement import differences, fingerprint
from bot.config import parse_config
from tests.test_config import ENV, example


def config(**changes: object):
    raw = example()
    raw["server"] = {"listen": "127.0.0.1:8081", "media_secret": "${MEDIA_SECRET}"}
    raw.update(changes)
    return parse_config(raw, {**ENV, "MEDIA_SECRET": "media-secret-0123456789"})


def test_what_is_each_instances_own_may_differ_and_nothing_secret_is_kept():
    mine = fingerprint(config())
    theirs = fingerprint(
        config(
            server={"listen": "[::1]:8082", "media_secret": "${MEDIA_SECRET}"},
            logging={"format": "json"},
            storage={"path": "elsewhere.sqlite3"},
        )
    )
    assert differences(mine, theirs) == []
    kept = json.dumps(mine)
    assert "media-secret" not in kept and "green-secret" not in kept and "tg-secret" not in kept


def test_every_shared_key_that_differs_is_named():
    raw = example()
    changed = config(
        owners=[111111111, 222],
        groups={
            **raw["groups"],
            "work": {"provider": "green", "chat_id": "120363000000000002@g.us"},
        },
        server={
            "listen": "127.0.0.1:8081",
            "media_secret": "${MEDIA_SECRET}",
            "public_url": "https://b",
        },
    )
    assert differences(fingerprint(config()), fingerprint(changed)) == [
        "groups.work",
        "owners",
        "server.public_url",
    ]


def test_another_bot_token_is_named_alone():
    other = parse_config(
        example(), {**ENV, "TELEGRAM_BOT_TOKEN": "999:other", "MEDIA_SECRET": "x" * 16}
    )
    assert differences(fingerprint(config()), fingerprint(other)) == ["telegram.token"]


def test_a_setting_left_at_its_default_is_not_compared():
    """A newer version may add settings: left out of the file, they are not in the fingerprint,
    so they do not stop a rolling upgrade."""
    mine = fingerprint(config())
    assert not [key for key in mine if key.split(".")[0] in ("history", "schedule", "timezone")]
    assert "providers.green" in mine and "groups.family" in mine
