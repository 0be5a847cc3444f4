"""`python -m bot [run|check|grant|revoke] --config config.yaml`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sqlite3
import sys
from pathlib import Path

from adapters import Provider
from bot.config import AppConfig, ConfigError, StorageSettings, load_config
from bot.domain import ANY_GROUP, Role
from bot.ids import parse_user_id
from bot.logs import configure_logging

USAGE = """\
python -m bot [run] --config config.yaml [--debug]   run the bot
python -m bot check --config config.yaml             validate the config, ask each provider
python -m bot grant USER_ID SCOPE ROLE --config ...  SCOPE: an alias or '*'; ROLE: admin|requester
python -m bot revoke USER_ID SCOPE --config ...\
"""


def _parser(command: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m bot {command}", usage=USAGE)
    parser.add_argument("--config", default="config.yaml", help="path to config.yaml")
    if command == "run":
        parser.add_argument("--debug", action="store_true", help="log at DEBUG level")
    if command in ("grant", "revoke"):
        parser.add_argument("user_id")
        parser.add_argument("scope")
    if command == "grant":
        parser.add_argument("role", choices=[Role.ADMIN.value, Role.REQUESTER.value])
    return parser


async def _check(config: AppConfig) -> int:
    from bot.app import create_providers

    providers = create_providers(config)
    failed = 0
    try:
        for name, provider in providers.items():
            result = await provider.check()
            state = "ok" if result.ok else "FAILED"
            failed += not result.ok
            detail = f" - {result.reason}" if result.reason else ""
            print(f"{name} ({provider.label}): {state}{detail}")
            failed += await _check_groups(config, name, provider)
    finally:
        for provider in providers.values():
            await provider.aclose()
    return 1 if failed else 0


async def _check_groups(config: AppConfig, name: str, provider: Provider) -> int:
    """One line per group of `provider` where it tells whether the group's picture may change
    (a Telegram chat: is the bot an administrator with that right?); the number not ok."""
    failed = 0
    for alias, group in config.groups.items():
        if group.provider != name:
            continue
        result = await provider.check_group(group.chat_id)
        if result is None:
            continue
        failed += not result.ok
        print(f"  {alias}: {'ok' if result.ok else 'FAILED'} - {result.reason}")
    return failed


async def _change_grant(config: AppConfig, args: argparse.Namespace, command: str) -> int:
    from bot import agreement
    from bot.app import config_groups
    from bot.clock import Clock
    from bot.store import Store

    try:
        user_id = parse_user_id(args.user_id)
    except ValueError as problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    store = await Store.open(config.storage.target)
    try:
        if store.shared:  # the running instances' config must be this one
            now = Clock().stamp()
            await agreement.check(store, "", agreement.fingerprint(config), now)
        await store.groups.sync_config(config_groups(config), config.links)
        if args.scope != ANY_GROUP and await store.groups.get(args.scope) is None:
            print(f"error: there is no group called {args.scope!r}", file=sys.stderr)
            return 2
        if command == "grant":
            await store.grants.add(user_id, args.scope, Role(args.role), granted_by=None)
            print(f"granted {args.role} on {args.scope} to {user_id}")
        elif await store.grants.remove(user_id, args.scope):
            print(f"revoked {user_id}'s grant on {args.scope}")
        else:
            print(f"{user_id} had no grant on {args.scope}")
        return 0
    finally:
        await store.close()


def _run(config: AppConfig) -> int:
    """Run the bot; a Telegram that refuses the token or cannot be reached is one line."""
    from telegram.error import InvalidToken, NetworkError

    from bot.http_server import ListenError
    from bot.logs import RedactSecrets
    from bot.runner import run

    try:
        asyncio.run(run(config))
    except ListenError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except InvalidToken:
        print("error: Telegram refused the bot token (telegram.token)", file=sys.stderr)
        return 1
    except NetworkError as error:
        reason = RedactSecrets(config.secrets()).redact(str(error))
        where = config.telegram.api_base_url
        print(f"error: could not reach Telegram at {where}: {reason}", file=sys.stderr)
        return 1
    return 0


class StoreUnreachable(Exception):
    """The store cannot be reached, or a newer version migrated it: one line, without its
    password."""


async def _reach_store(target: str | Path) -> None:
    """Open (and migrate) the store once, before Telegram is asked anything."""
    from bot.store import Store, StoreTooNew, StoreUnavailable

    try:
        store = await Store.open(target)
    except (StoreUnavailable, StoreTooNew) as problem:
        raise StoreUnreachable(str(problem)) from None
    await store.close()


def _check_storage(storage: StorageSettings) -> None:
    """Create the store's folder and open the file once (or reach PostgreSQL), so that a store
    that cannot work is one line now instead of a traceback later (the bot opens the store
    only after Telegram)."""
    if storage.url is not None:
        asyncio.run(_reach_store(storage.target))
        return
    path = storage.path
    if str(path) == ":memory:":
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(path)) as db:
            db.execute("PRAGMA schema_version")
    except (OSError, sqlite3.Error) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise ConfigError(f"storage.path: cannot create or open {path}: {reason}") from None
    asyncio.run(_reach_store(path))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv and argv[0] in ("run", "check", "grant", "revoke") else "run"
    args = _parser(command).parse_args(argv)
    try:
        config = load_config(args.config)
        _check_storage(config.storage)
        configure_logging(
            config.secrets(), debug=getattr(args, "debug", False), style=config.logging.format
        )
        if command == "check":
            return asyncio.run(_check(config))
        if command in ("grant", "revoke"):
            return asyncio.run(_change_grant(config, args, command))
        return _run(config)
    except ConfigError as error:
        for line in str(error).splitlines():
            print(f"config error: {line}", file=sys.stderr)
        return 2
    except StoreUnreachable as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
