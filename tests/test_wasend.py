"""Wasend over HTTP: a fake Wasend that downloads our published picture from the bot's server."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from PIL import Image
from pydantic import SecretStr
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from adapters import FailureKind, PictureResult, PreparedPicture, create_provider
from adapters.base import Capability
from adapters.wasend import WasendProvider, WasendSettings
from bot.media import MediaStore
from bot.server import create_server_app
from tests.fakes.serve import serve
from tests.fakes.wasend import FakeWasend, Mode, Op

KEY = "wasend-key-5f3a9c"
SESSION = "my-session"
GROUP = "120363025246125888@g.us"
BOT_TOKEN = "123456789:AAHsecret-bot-token"
PICTURE_PATH = f"/{SESSION}/groups/120363025246125888%40g.us/picture"

pytestmark = pytest.mark.asyncio(loop_scope="module")


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(out, "JPEG", quality=80)
    return out.getvalue()


def settings(
    base_url: str, *, api_key: str = KEY, session_id: str = SESSION, timeout: float = 2.0
) -> WasendSettings:
    return WasendSettings(
        kind="wasend",
        base_url=base_url,
        api_key=SecretStr(api_key),
        session_id=session_id,
        timeout_seconds=timeout,
    )


class LateApp:
    """An ASGI app bound after its server has started, so that servers outlive one test."""

    app: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


@dataclass
class Env:
    fake: FakeWasend
    media: MediaStore
    wasend_url: str
    bot_url: str
    #: what answers at wasend_url (the fake, unless a test swaps it)
    wasend_server: LateApp

    def provider(
        self, *, api_key: str = KEY, session_id: str = SESSION, timeout: float = 2.0
    ) -> WasendProvider:
        provider = create_provider(
            "wa", settings(self.wasend_url, api_key=api_key, session_id=session_id, timeout=timeout)
        )
        assert isinstance(provider, WasendProvider)
        return provider

    def picture(self, jpeg: bytes | None = None) -> PreparedPicture:
        jpeg = jpeg_bytes() if jpeg is None else jpeg
        return PreparedPicture(jpeg=jpeg, side=64).with_public_url(self.media.publish(jpeg))


async def _health() -> dict[str, Any]:
    return {"ok": True}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def servers() -> AsyncIterator[tuple[LateApp, str, LateApp, str]]:
    """A fake Wasend and the bot's server on loopback, started once for this module."""
    wasend, bot = LateApp(), LateApp()
    async with serve(wasend) as wasend_url, serve(bot) as bot_url:
        yield wasend, wasend_url, bot, bot_url


@pytest_asyncio.fixture(loop_scope="module")
async def env(servers: tuple[LateApp, str, LateApp, str]) -> Env:
    """A fresh fake Wasend and media store behind the module's servers."""
    wasend, wasend_url, bot, bot_url = servers
    fake = FakeWasend(api_key=KEY, session_id=SESSION, groups={GROUP}, slow_seconds=0.6)
    media = MediaStore(None, bot_url)
    wasend.app = fake.app
    bot.app = create_server_app(media=media, health=_health, webhook=None)
    return Env(fake, media, wasend_url, bot_url, wasend)


@pytest_asyncio.fixture(loop_scope="module")
async def wasend(env: Env) -> AsyncIterator[WasendProvider]:
    provider = env.provider()
    yield provider
    await provider.aclose()


def assert_failed(result: PictureResult, kind: FailureKind, *words: str) -> None:
    assert not result.ok and result.kind is kind, result
    assert result.reason and KEY not in result.reason
    for word in words:
        assert word in result.reason, result.reason


async def test_set_sends_our_link_and_wasend_downloads_the_exact_jpeg(
    env: Env, wasend: WasendProvider
) -> None:
    picture = env.picture()
    result = await wasend.set_group_picture(GROUP, picture)
    assert result.ok and result.url == env.fake.pictures[GROUP].url
    assert env.fake.given_urls == [picture.public_url]
    assert picture.public_url and picture.public_url.startswith(f"{env.bot_url}/media/")
    assert env.fake.fetched == [picture.jpeg]
    (request,) = env.fake.requests
    assert (request.method, request.raw_path) == ("PUT", PICTURE_PATH)
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.json == {"url": picture.public_url}


async def test_set_without_a_public_url_is_a_bug(wasend: WasendProvider) -> None:
    with pytest.raises(ValueError):
        await wasend.set_group_picture(GROUP, PreparedPicture(jpeg=jpeg_bytes(), side=64))


async def test_set_ignores_an_echo_of_our_own_link(env: Env, wasend: WasendProvider) -> None:
    picture = env.picture()
    env.wasend_server.app = JSONResponse({"success": True, "url": picture.public_url})
    assert await wasend.set_group_picture(GROUP, picture) == PictureResult.success()


@pytest.mark.parametrize("link", ["not an image", "unknown"])
async def test_a_link_wasend_cannot_use_is_a_bad_image(
    env: Env, wasend: WasendProvider, link: str
) -> None:
    if link == "not an image":
        picture = env.picture(b"<html>not a jpeg</html>")
    else:  # what the bot's server answers alike for expired, forged and unknown tokens
        picture = PreparedPicture(jpeg_bytes(), 64).with_public_url(f"{env.bot_url}/media/a.1.b")
    result = await wasend.set_group_picture(GROUP, picture)
    assert_failed(result, FailureKind.BAD_IMAGE, "could not download", "server.public_url")
    assert GROUP not in env.fake.pictures


async def test_delete_removes_the_picture(env: Env, wasend: WasendProvider) -> None:
    assert (await wasend.set_group_picture(GROUP, env.picture())).ok
    assert await wasend.delete_group_picture(GROUP) == PictureResult.success()
    assert GROUP not in env.fake.pictures
    request = env.fake.requests[-1]
    assert (request.method, request.raw_path) == ("DELETE", PICTURE_PATH)


@pytest.mark.parametrize("shape", ["docs", "sdk"])
async def test_get_reads_both_documented_shapes(
    env: Env, wasend: WasendProvider, shape: Any
) -> None:
    env.fake.get_shape = shape
    empty = await wasend.get_group_picture(GROUP)
    assert empty == PictureResult.success(note="no picture set")
    request = env.fake.requests[-1]
    assert (request.raw_path, request.query) == (PICTURE_PATH, "refresh=false")
    assert (await wasend.set_group_picture(GROUP, env.picture())).ok
    avatar = env.fake.pictures[GROUP].url
    assert await wasend.get_group_picture(GROUP) == PictureResult.success(avatar)


FAILURES: list[tuple[Mode, FailureKind, tuple[str, ...], float | None]] = [
    ("400", FailureKind.BAD_REQUEST, ("HTTP 400", "url must be a URL address"), None),
    ("403", FailureKind.NOT_ALLOWED, ("HTTP 403", "not an admin", "group settings"), None),
    ("429", FailureKind.RATE_LIMITED, ("HTTP 429", "in a moment"), None),
    ("429-retry-after", FailureKind.RATE_LIMITED, ("HTTP 429", "in 7 s"), 7.0),
    ("500", FailureKind.PROVIDER_ERROR, ("HTTP 500",), None),
    ("502-html", FailureKind.UNAVAILABLE, ("HTTP 502",), None),
    ("invalid-json", FailureKind.UNAVAILABLE, ("not JSON",), None),
    ("success-false", FailureKind.BAD_REQUEST, ("url must be a URL address",), None),
    ("slow", FailureKind.UNAVAILABLE, ("did not answer within 0.3 s",), None),
]


@pytest.mark.parametrize("op", ["set", "delete", "get"])
@pytest.mark.parametrize(("mode", "kind", "words", "retry_after"), FAILURES)
async def test_failures_become_plain_words(
    env: Env,
    op: Op,
    mode: Mode,
    kind: FailureKind,
    words: tuple[str, ...],
    retry_after: float | None,
) -> None:
    env.fake.fail_next(op, mode)
    provider = env.provider(timeout=0.3)
    try:
        if op == "set":
            result = await provider.set_group_picture(GROUP, env.picture())
        elif op == "delete":
            result = await provider.delete_group_picture(GROUP)
        else:
            result = await provider.get_group_picture(GROUP)
    finally:
        await provider.aclose()
    assert_failed(result, kind, *words)
    assert result.retry_after == retry_after


async def test_a_wrong_key_is_an_auth_failure_that_never_shows_the_key(env: Env) -> None:
    provider = env.provider(api_key="wrong-" + KEY)
    result = await provider.set_group_picture(GROUP, env.picture())
    await provider.aclose()
    assert_failed(result, FailureKind.AUTH, "HTTP 401", "api_key")
    assert "wrong-" not in (result.reason or "")


async def test_a_quoted_message_never_shows_the_key(env: Env, wasend: WasendProvider) -> None:
    env.fake.error_message = f"bad header Authorization: Bearer {KEY}\n" + "x" * 300
    env.fake.fail_next("set", "400")
    result = await wasend.set_group_picture(GROUP, env.picture())
    assert_failed(result, FailureKind.BAD_REQUEST, "Bearer ***")
    assert "\n" not in (result.reason or "") and len(result.reason or "") < 200


@pytest.mark.parametrize(
    ("group", "session"), [("120363000000000000@g.us", SESSION), (GROUP, "other")]
)
async def test_unknown_group_or_session_is_not_found(env: Env, group: str, session: str) -> None:
    provider = env.provider(session_id=session)
    result = await provider.get_group_picture(group)
    await provider.aclose()
    assert_failed(result, FailureKind.NOT_FOUND, "HTTP 404", "session_id")


async def test_an_unreachable_wasend_is_unavailable() -> None:
    provider = WasendProvider("wa", settings("http://127.0.0.1:9"))
    result = await provider.delete_group_picture(GROUP)
    await provider.aclose()
    assert_failed(result, FailureKind.UNAVAILABLE, "could not reach Wasend")


async def test_check_asks_for_the_session(env: Env, wasend: WasendProvider) -> None:
    assert await wasend.check() == PictureResult.success(note="session WORKING")
    assert env.fake.requests[-1].raw_path == f"/sessions/{SESSION}"


@pytest.mark.parametrize("status", ["SCAN_QR_CODE", "FAILED", "STOPPED"])
async def test_check_reports_a_session_that_needs_a_login(
    env: Env, wasend: WasendProvider, status: str
) -> None:
    env.fake.session_status = status
    assert_failed(await wasend.check(), FailureKind.AUTH, status, "log the WhatsApp account in")


async def test_check_reports_a_wrong_key_and_an_unknown_session(env: Env) -> None:
    for provider, kind in (
        (env.provider(api_key="nope"), FailureKind.AUTH),
        (env.provider(session_id="gone"), FailureKind.NOT_FOUND),
    ):
        result = await provider.check()
        await provider.aclose()
        assert_failed(result, kind)


async def test_the_bot_token_never_reaches_wasend(env: Env, wasend: WasendProvider) -> None:
    # the picture came from Telegram's file URL; Wasend must only ever see our own link
    telegram_file = f"https://api.telegram.org/file/bot{BOT_TOKEN}/photos/file_7.jpg"
    picture = env.picture()
    assert (await wasend.set_group_picture(GROUP, picture)).ok
    await wasend.get_group_picture(GROUP)
    await wasend.delete_group_picture(GROUP)
    assert env.fake.given_urls == [picture.public_url] != [telegram_file]
    seen = env.fake.given_urls + [repr(request) for request in env.fake.requests]
    assert not [text for text in seen if BOT_TOKEN in text or "api.telegram.org" in text]


async def test_capabilities() -> None:
    provider = WasendProvider("wa", settings("http://127.0.0.1:9"))
    assert provider.can(Capability.NEEDS_PUBLIC_URL) and provider.can(Capability.DELETE_GROUP)
    assert not provider.can(Capability.SET_OWN)
    await provider.aclose()


async def test_own_picture_is_not_supported(wasend: WasendProvider) -> None:
    assert_failed(await wasend.set_own_picture(PreparedPicture(b"", 1)), FailureKind.NOT_SUPPORTED)


@pytest.mark.parametrize(
    ("chat_id", "ok"),
    [
        (GROUP, True),
        ("11001234567-1581234048@g.us", True),
        ("120363025246125888", False),
        ("4915112345678@c.us", False),
        ("abc@g.us", False),
    ],
)
async def test_group_ids(chat_id: str, ok: bool) -> None:
    provider = WasendProvider("wa", settings("http://127.0.0.1:9"))
    assert (provider.check_group_id(chat_id) is None) is ok
    await provider.aclose()
