"""The bot started the way the README starts it (`python -m bot --config ...`), for e2e tests."""

from __future__ import annotations

import asyncio
import os
import re
import resource
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.fakes.telegram import BotMessage, FakeTelegram, FakeUser

ROOT = Path(__file__).resolve().parents[1]
WORKING = "Working on it…"
#: a change notice: "Olga (111) changed the picture of Family via green..."
NOTICE = re.compile(r"^.+ \(\d+\) (changed|removed|tried to)")
#: every secret the tests configure contains this marker, so one search finds any leak of one,
#: whatever part of it leaked and however it was encoded
SECRET_MARKER = "SECRET"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str


async def run_cli(*args: str, config: Path, env: dict[str, str]) -> Finished:
    """`python -m bot <args> --config <config>` to completion (grant, revoke, check); async, so
    the fake servers in this event loop can answer it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        "--config",
        str(config),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None  # communicate() waited for the exit
    return Finished(process.returncode, stdout.decode(), stderr.decode())


def write_config(tmp_path: Path, raw: dict[str, Any]) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def secrets_from_environment(raw: dict[str, Any], api: str) -> dict[str, Any]:
    """`raw` (tests.conftest.raw_config) as the README runs the bot: the Bot API at `api`, and
    the bot token and Green API's token read from the environment (`${…}`), as a secret is."""
    raw["telegram"] = {"token": "${TELEGRAM_BOT_TOKEN}", "api_base_url": api}
    raw["providers"]["green"]["api_token_instance"] = "${GREEN_API_TOKEN}"
    return raw


@dataclass
class BotProcess:
    process: asyncio.subprocess.Process
    log_path: Path

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


async def spawn_bot(
    config: Path,
    telegram: FakeTelegram,
    env: dict[str, str],
    *args: str,
    debug: bool = True,
    open_files: int | None = None,
) -> BotProcess:
    """Start the bot (with DEBUG logging unless told not; with at most `open_files` files, when
    given) and wait until it has set its command menu and asks Telegram for updates (each
    start of the same config logs to its own file)."""
    log_path = config.parent / f"bot-{len(list(config.parent.glob('bot-*.log')))}.log"
    menus_before = len(telegram.calls("setMyCommands"))
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "--config",
            str(config),
            *(["--debug"] * debug),
            *args,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=None if open_files is None else lambda: _limit_files(open_files),
        )
    bot = BotProcess(process, log_path)
    for _ in range(300):
        menus = telegram.calls("setMyCommands")
        if len(menus) > menus_before and _receiving(telegram, after=menus[-1]):
            return bot
        if process.returncode is not None:
            raise AssertionError(f"the bot exited at start-up:\n{bot.log}")
        await asyncio.sleep(0.05)
    process.kill()
    raise AssertionError(f"the bot did not start within 15 s:\n{bot.log}")


@asynccontextmanager
async def running_bot(
    config: Path, telegram: FakeTelegram, env: dict[str, str], *args: str
) -> AsyncIterator[BotProcess]:
    """The bot from `spawn_bot`, stopped with SIGTERM at the end; then no secret may appear in
    its log or in anything it sent Telegram."""
    bot = await spawn_bot(config, telegram, env, *args)
    try:
        yield bot
    finally:
        await stop_bot(bot, telegram)
    assert bot.process.returncode == 0, f"the bot exited with {bot.process.returncode}:\n{bot.log}"
    assert "DEBUG" in bot.log
    assert SECRET_MARKER not in bot.log, "a secret reached the log"
    for call in telegram.calls():
        # the webhook secret is Telegram's to know: it sends it back with every update
        sent = {
            k: v
            for k, v in call.params.items()
            if (call.method, k) != ("setWebhook", "secret_token")
        }
        assert SECRET_MARKER not in repr(sent), f"a secret reached Telegram: {call.method}"


async def stop_bot(bot: BotProcess, telegram: FakeTelegram) -> None:
    """SIGTERM, as a service manager stops it; kill it and fail when it does not stop."""
    telegram.close()  # end the pending long poll, so the bot can stop at once
    if bot.process.returncode is None:
        bot.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(bot.process.wait(), 15)
        except TimeoutError:
            bot.process.kill()
            await bot.process.wait()
            raise AssertionError(f"the bot did not stop on SIGTERM:\n{bot.log}") from None


def _limit_files(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))


def _receiving(telegram: FakeTelegram, after: object) -> bool:
    """Whether the bot asked for updates (or set its webhook) after the call `after`."""
    calls = telegram.calls()
    position = next(i for i, call in enumerate(calls) if call is after)
    return any(call.method in ("getUpdates", "setWebhook") for call in calls[position + 1 :])


def bot_env(**secrets: str) -> dict[str, str]:
    """A minimal environment: the secrets config.yaml names, and what Python needs."""
    keep = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "SYSTEMROOT") if k in os.environ}
    return {**keep, **secrets}


async def answer_to(telegram: FakeTelegram, chat: Any, message: dict, timeout: float = 20) -> str:
    """The bot's final answer after a user's message: the first later bot message in that chat
    that is not the 'working on it' placeholder (edits count), nor a notice about someone's
    change (notices go out in the background, so one may arrive after a later message)."""

    def final(candidate: BotMessage) -> bool:
        return (
            candidate.message_id > message["message_id"]
            and candidate.content != WORKING
            and not NOTICE.match(candidate.content)
        )

    return (await telegram.wait_for_bot_message(chat, predicate=final, timeout=timeout)).content


async def confirm_removal(telegram: FakeTelegram, user: FakeUser, group: str) -> str:
    """/delgrouppic <group>, press "Remove it" on the bot's question, and the final answer that
    replaces the question."""
    sent = await user.send(f"/delgrouppic {group}")
    question = await telegram.wait_for_bot_message(
        user, predicate=lambda m: m.message_id > sent["message_id"]
    )
    await user.press(question, question.callback_data("Remove it"))

    def final(message: BotMessage) -> bool:
        return message.message_id == question.message_id and message.content.startswith(
            ("Done", "Could not")
        )

    return (await telegram.wait_for_bot_message(user, predicate=final)).content
