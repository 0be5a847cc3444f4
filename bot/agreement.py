"""Instances on one store agree on their config, or a newcomer refuses to start.

Two instances whose config.yaml differ would each make the store's groups and links their own
at start-up, deleting the other's groups with their grants, and a media link one signs would
be refused by the other. So an instance on a shared store (PostgreSQL) writes down the
fingerprint of its config while it runs, and refuses to start, naming the keys, while a live
instance has a different one; `grant` and `revoke` check it too. Settings that are each
instance's own may differ: where it listens, its connection limits, how it logs, its path to
the store, its pace toward Telegram.

The fingerprint keeps no secret: each value is an HMAC keyed with the bot token (which every
instance of one bot has), and the token itself is a SHA-256 of a high-entropy string.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.config import AppConfig, ConfigError
from bot.store import Store

#: config keys (and sections) that may differ between the instances of one store
LOCAL_KEYS = (
    "logging",
    "storage",
    "server.listen",
    "server.max_connections",
    "server.header_timeout_seconds",
    "telegram.messages_per_second",
)


class ConfigDisagrees(ConfigError):
    """This config differs from a running instance's on the same store."""


def fingerprint(config: AppConfig) -> dict[str, str]:
    """Config key (two levels: `groups.family`, `server.media_secret`) -> a keyed hash of its
    value, for the settings the file gives (a setting a newer version adds, at its default,
    does not stop a rolling upgrade); keys local to an instance are left out."""
    token = config.telegram.token.get_secret_value().encode()
    found = {"telegram.token": hashlib.sha256(b"avatarops-instance:" + token).hexdigest()}
    for key, value in _flat(_plain(config.model_dump(exclude_unset=True))).items():
        if key == "telegram.token" or any(
            key == local or key.startswith(local + ".") for local in LOCAL_KEYS
        ):
            continue
        text = json.dumps(value, sort_keys=True, default=str).encode()
        found[key] = hmac.new(token, text, hashlib.sha256).hexdigest()
    return found


def differences(mine: dict[str, str], theirs: dict[str, str]) -> list[str]:
    """The keys whose values differ, or that one of the two configs lacks."""
    if mine.get("telegram.token") != theirs.get("telegram.token"):
        return ["telegram.token"]  # every other hash is keyed with it
    return sorted(key for key in mine.keys() | theirs.keys() if mine.get(key) != theirs.get(key))


async def check(store: Store, name: str, mine: dict[str, str], now: str) -> None:
    """ConfigDisagrees when an instance alive at `now` (other than `name`) runs another config."""
    for other, theirs in (await store.instances.others(name, now)).items():
        keys = differences(mine, theirs)
        if keys:
            raise ConfigDisagrees(
                f"{', '.join(keys)}: differs from the config of instance {other}, running on"
                " the same store; instances on one store must have the same config.yaml"
                " (nothing in the store was changed)"
            )


async def join(store: Store, name: str, mine: dict[str, str], now: str, until: str) -> None:
    """Check, then write this instance down (alive until `until`, renewed while it runs)."""
    async with store.instances.joining():
        await check(store, name, mine, now)
        await store.instances.join(name, mine, now, until)


def _plain(value: Any) -> Any:
    """A config as JSON-like values, with its secrets revealed (only to be hashed)."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Path):
        return str(value)
    return value


def _flat(config: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for section, value in config.items():
        if isinstance(value, dict) and value:
            found.update({f"{section}.{key}": item for key, item in value.items()})
        else:
            found[section] = value
    return found
