"""Shared test pieces: the people, the groups, pictures, and a bot driven in-process."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram.ext import Application, ApplicationBuilder

import handlers
from bot.app import Services
from bot.clock import Clock
from bot.config import parse_config
from bot.domain import Role
from bot.store import Store
from tests.fakes.greenapi import FakeGreenApi
from tests.fakes.serve import Stage, serve
from tests.fakes.telegram import FakeTelegram, FakeUser
from tests.postgres import Server, running_server

BOT_TOKEN = "123456:TEST-bot-token-SECRET"
GREEN_TOKEN = "green-token-SECRET"
GREEN_ID = "7105000000"
FAMILY = "120363043968066561@g.us"
WORK = "120363000000000002@g.us"
LINKED_CHAT = -1001234567890
OWNER, OTHER_OWNER, ADMIN, WORK_ADMIN, REQUESTER, STRANGER = 111, 112, 222, 223, 224, 333


def raw_config(tmp_path, green_url: str, **extra: Any) -> dict[str, Any]:
    """config.yaml as the tests write it: Green API for two groups, one linked chat."""
    return {
        # a list's progress may be edited at once: waiting 2 s between edits for Telegram's
        # flood limits would only slow the tests down
        "telegram": {"token": BOT_TOKEN, "edit_interval_seconds": 0},
        "storage": {"path": str(tmp_path / "avatarops.sqlite3")},
        "owners": [OWNER, OTHER_OWNER],
        "providers": {
            "green": {
                "kind": "greenapi",
                "api_url": green_url,
                "id_instance": GREEN_ID,
                "api_token_instance": GREEN_TOKEN,
                "timeout_seconds": 1,
                # the pace of a real account would only slow the tests down
                "group_interval_seconds": 0,
                "own_interval_seconds": 0,
            }
        },
        "reliability": {"max_attempts": 2, "base_delay_seconds": 0.01, "max_delay_seconds": 0.05},
        "groups": {
            "family": {"provider": "green", "chat_id": FAMILY, "title": "Family"},
            "work": {"provider": "green", "chat_id": WORK, "title": "Work"},
        },
        "links": {LINKED_CHAT: "family"},
        **extra,
    }


class FakeClock(Clock):
    """The bot's clock in tests: starts at `start` (the real time), moves only when told; what
    sleeps on it (the scheduler) wakes when it has moved far enough."""

    def __init__(self, start: datetime | None = None) -> None:
        self.moment = start or datetime.now(UTC)
        self._moved = asyncio.Event()

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()

    async def sleep_until(self, moment: datetime) -> None:
        while self.moment < moment:
            await self._moved.wait()


#: what the store holds, table by table, without the timestamps and ids (see `Bot.tables`)
SNAPSHOT = {
    "groups": "SELECT alias, provider, chat_id, title, source FROM groups",
    "grants": "SELECT user_id, IFNULL(alias, '*'), role, granted_by"
    " FROM grants LEFT JOIN groups ON groups.id = grants.group_id",
    "links": "SELECT telegram_chat_id, alias, links.source"
    " FROM links JOIN groups ON groups.id = links.group_id",
    "notify_optouts": "SELECT user_id FROM notify_optouts",
    "proposals": "SELECT id, action, alias, requested_by, chat_id, status, decided_by"
    " FROM proposals",
    "proposal_messages": "SELECT proposal_id, chat_id FROM proposal_messages",
    "audit": "SELECT user_id, action, target, outcome, requested_by FROM audit",
}


@dataclass
class Bot:
    """The bot installed into a bare PTB Application, talking to the fake Telegram in-process."""

    telegram: FakeTelegram
    application: Application
    green: FakeGreenApi
    services: Services
    clock: FakeClock = field(default_factory=FakeClock)

    @property
    def store(self) -> Store:
        assert self.services.store is not None
        return self.services.store

    def user(self, user_id: int, name: str, language_code: str | None = None) -> FakeUser:
        return self.telegram.user(user_id, name, language_code=language_code)

    async def deliver(self) -> None:
        """Let the bot process everything users sent so far (each update to completion, and
        the notices they gave, which go out in the background)."""
        await self.telegram.feed(self.application)
        await self.services.notices_sent()

    async def say(self, user: FakeUser, text: str, **kwargs: Any) -> str:
        """Send a text and return the bot's last answer in that chat."""
        await user.send(text, **kwargs)
        return await self.answer(kwargs.get("chat", user))

    async def reply_to(self, chat: Any, message: dict[str, Any]) -> str:
        """Deliver, then the bot's answer to one message (the bot quotes what it answers)."""
        await self.deliver()
        for candidate in self.telegram.bot_messages(chat):
            if candidate.reply_to_message_id == message["message_id"]:
                return candidate.content
        raise AssertionError(f"no answer to that message:\n{self.telegram.transcript(chat)}")

    async def answer(self, chat: Any) -> str:
        await self.deliver()
        messages = self.telegram.bot_messages(chat)
        assert messages, "the bot said nothing"
        return messages[-1].content

    def tables(self) -> dict[str, list[tuple]]:
        """Every row of the store (read straight from the file), for "nothing else changed"."""
        with sqlite3.connect(self.services.config.storage.path) as db:
            return {
                table: sorted(db.execute(query).fetchall(), key=repr)
                for table, query in SNAPSHOT.items()
            }

    def menu(self, language_code: str = "") -> dict[str, str]:
        """The command menu the bot registered for `language_code` ("": the default one):
        command -> description."""
        [call] = [
            call
            for call in self.telegram.calls("setMyCommands")
            if call.params.get("language_code", "") == language_code
        ]
        return {command["command"]: command["description"] for command in call.params["commands"]}

    def sent_to(self) -> list[int]:
        """The chat of every sendMessage and sendPhoto so far, delivered or not, in order."""
        calls = self.telegram.calls()
        return [c.params["chat_id"] for c in calls if c.method in ("sendMessage", "sendPhoto")]


@pytest.fixture
async def green() -> AsyncIterator[tuple[FakeGreenApi, str]]:
    fake = FakeGreenApi(id_instance=GREEN_ID, token=GREEN_TOKEN, groups={FAMILY, WORK})
    async with serve(fake.app) as url:
        yield fake, url


async def start_bot(
    raw: dict[str, Any],
    green: FakeGreenApi,
    telegram: FakeTelegram | None = None,
    *,
    grants: bool = True,
    clock: FakeClock | None = None,
) -> tuple[Bot, Application]:
    """The bot on `raw`; `grants`: give ADMIN, WORK_ADMIN and REQUESTER their usual roles;
    `clock`: the clock of a bot before a restart (a new one from now on, else)."""
    telegram = telegram or FakeTelegram(token=BOT_TOKEN)
    clock = clock or FakeClock()
    application = (
        ApplicationBuilder()
        .token(BOT_TOKEN)
        .request(telegram.request())
        .get_updates_request(telegram.request())
        .updater(None)
        .concurrent_updates(True)  # as bot/runner.py runs it
        .build()
    )
    services = handlers.install(application, parse_config(raw, {}), clock=clock)
    await application.initialize()
    if application.post_init is not None:  # install() set it: it opens the services
        await application.post_init(application)
    bot = Bot(telegram, application, green, services, clock)
    if not grants:
        return bot, application
    await bot.store.grants.add(ADMIN, "family", Role.ADMIN, granted_by=OWNER)
    await bot.store.grants.add(WORK_ADMIN, "work", Role.ADMIN, granted_by=OWNER)
    await bot.store.grants.add(REQUESTER, "family", Role.REQUESTER, granted_by=OWNER)
    return bot, application


async def shut_down(application: Application) -> None:
    """The end of a bot from `start_bot`: its services close, then the application."""
    if application.post_shutdown is not None:
        await application.post_shutdown(application)
    await application.shutdown()


@pytest.fixture
async def bot(tmp_path, green) -> AsyncIterator[Bot]:
    fake, url = green
    started, application = await start_bot(raw_config(tmp_path, url), fake)
    yield started
    await shut_down(application)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Server]:
    """One real PostgreSQL server for the session (tests/postgres.py); skipped without one,
    except in CI."""
    with running_server() as server:
        yield server


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> str:
    """A fresh database on the session's PostgreSQL server: its URL."""
    server: Server = request.getfixturevalue("postgres_server")
    return server.new_database()


def storage_at(target: str) -> dict[str, str]:
    """config.yaml's `storage` for a `store_target`."""
    return {"url": target} if target.startswith("postgresql://") else {"path": target}


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request: pytest.FixtureRequest, tmp_path) -> str:
    """What `Store.open` opens, once for each backend: a new SQLite file, or a fresh
    PostgreSQL database's URL."""
    if request.param == "sqlite":
        return str(tmp_path / "db.sqlite3")
    return request.getfixturevalue("postgres_url")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stage() -> AsyncIterator[tuple[Stage, str]]:
    """One server for a test module whose tests each put their own fake on the `Stage` (the
    module runs in one event loop: `pytestmark = pytest.mark.asyncio(loop_scope="module")`)."""
    app = Stage()
    async with serve(app) as url:
        yield app, url


@dataclass
class Cdn:
    """Where WhatsApp would serve the pictures: `put` one, get its URL."""

    base: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    #: downloads so far
    hits: int = 0

    def put(self, name: str, data: bytes) -> str:
        self.files[name] = data
        return f"{self.base}/pp/{name}.jpg"


@pytest.fixture
async def cdn() -> AsyncIterator[Cdn]:
    found = Cdn()

    async def picture(request: Request) -> Response:
        found.hits += 1
        data = found.files.get(request.path_params["name"])
        if data is None:
            return Response(status_code=404)
        return Response(data, media_type="image/jpeg")

    async with serve(Starlette(routes=[Route("/pp/{name}.jpg", picture)])) as url:
        found.base = url
        yield found


async def until(condition: Callable[[], Awaitable[bool] | bool], what: str) -> None:
    """Wait (bounded) until `condition` holds."""
    for _ in range(1000):
        found = condition()
        if found if isinstance(found, bool) else await found:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")
