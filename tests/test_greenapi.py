"""The Green API adapter against the fake Green API, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import io
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
import pytest_asyncio
from PIL import Image

from adapters import provider_class
from adapters.base import Capability, FailureKind, PictureResult, PreparedPicture
from adapters.greenapi import GreenApiProvider, GreenApiSettings
from tests.fakes.greenapi import JPEG_MAGIC, FakeGreenApi, Fault
from tests.fakes.serve import serve

#: one event loop (and one served app) for the module; so every test here is async
pytestmark = pytest.mark.asyncio(loop_scope="module")

TOKEN = "tok-4f9e2c7a1b-secret"
GROUP = "120363043968066561@g.us"
MAX_GROUP = "-10000000000000"


def _jpeg(side: int = 8) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (side, side), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


PICTURE = PreparedPicture(jpeg=_jpeg(), side=8)


def _settings(url: str, fake: FakeGreenApi, **overrides: Any) -> GreenApiSettings:
    return GreenApiSettings.model_validate(
        {
            "kind": "greenapi",
            "api_url": url,
            "id_instance": fake.id_instance,
            "api_token_instance": fake.token,
            "product": fake.product,
            "timeout_seconds": 5,
            **overrides,
        }
    )


class _Plug:
    """The module's one served app; each test plugs its own fake in (a server costs 0.2 s)."""

    fake: FakeGreenApi | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert self.fake is not None
        await self.fake.app(scope, receive, send)


Connect = Callable[..., AbstractAsyncContextManager[GreenApiProvider]]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def server() -> AsyncIterator[tuple[_Plug, str]]:
    plug = _Plug()
    async with serve(plug) as url:
        yield plug, url


@pytest.fixture
def connect(server: tuple[_Plug, str]) -> Connect:
    """`async with connect(fake, **settings) as provider`: an adapter talking to `fake`."""
    plug, url = server

    @asynccontextmanager
    async def connected(fake: FakeGreenApi, **overrides: Any) -> AsyncIterator[GreenApiProvider]:
        plug.fake = fake
        provider = GreenApiProvider("green", _settings(url, fake, **overrides))
        try:
            yield provider
        finally:
            await provider.aclose()

    return connected


@pytest.fixture
def fake() -> FakeGreenApi:
    return FakeGreenApi(token=TOKEN, groups={GROUP})


@pytest.fixture
def max_fake() -> FakeGreenApi:
    return FakeGreenApi(token=TOKEN, groups={MAX_GROUP}, product="max")


@pytest_asyncio.fixture(loop_scope="module")
async def green(connect: Connect, fake: FakeGreenApi) -> AsyncIterator[GreenApiProvider]:
    async with connect(fake) as provider:
        yield provider


@pytest_asyncio.fixture(loop_scope="module")
async def max_green(connect: Connect, max_fake: FakeGreenApi) -> AsyncIterator[GreenApiProvider]:
    async with connect(max_fake) as provider:
        yield provider


def assert_failure(result: PictureResult, kind: FailureKind, *words: str) -> None:
    assert not result.ok
    assert result.kind is kind, result
    for word in words:
        assert word.lower() in (result.reason or "").lower(), result.reason
    assert TOKEN not in (result.reason or "")


# -- the registry and the settings ----------------------------------------------------------


async def test_registered_and_token_kept_secret() -> None:
    assert provider_class("greenapi") is GreenApiProvider
    settings = _settings("https://7105.api.greenapi.com", FakeGreenApi(token=TOKEN))
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.model_dump())
    provider = GreenApiProvider("green", settings)
    assert provider.can(Capability.SET_GROUP | Capability.GET_GROUP | Capability.SET_OWN)
    assert provider.can(Capability.GET_OWN)
    assert not provider.can(Capability.DELETE_GROUP)


# -- WhatsApp -------------------------------------------------------------------------------


async def test_set_group_picture_uploads_the_jpeg(
    fake: FakeGreenApi, green: GreenApiProvider
) -> None:
    result = await green.set_group_picture(GROUP, PICTURE)

    assert result.ok and result.url == fake.avatar_of(GROUP)
    assert result.url and result.url.startswith("https://pps.whatsapp.net/")
    [call] = fake.set_calls()
    assert call.http_method == "POST"
    assert call.path == f"/waInstance{fake.id_instance}/setGroupPicture/{TOKEN}"
    assert call.form == {"groupId": GROUP}
    assert call.file == PICTURE.jpeg and call.file.startswith(JPEG_MAGIC)
    assert (call.file_name, call.file_content_type) == ("avatar.jpg", "image/jpeg")


async def test_get_group_picture_after_a_set(green: GreenApiProvider) -> None:
    set_result = await green.set_group_picture(GROUP, PICTURE)
    got = await green.get_group_picture(GROUP)
    assert got.ok and got.url == set_result.url


@pytest.mark.parametrize("hidden", [False, True])
async def test_get_group_picture_absent(
    fake: FakeGreenApi, green: GreenApiProvider, hidden: bool
) -> None:
    if hidden:  # privacy: `available: false`, even though a picture exists
        fake.set_avatar(GROUP, "https://pps.whatsapp.net/v/hidden.jpg")
        fake.hidden.add(GROUP)
    result = await green.get_group_picture(GROUP)
    assert result.ok and result.url is None
    assert "no picture" in (result.reason or "")
    assert fake.calls("getAvatar")[0].json == {"chatId": GROUP}


async def test_own_picture_discovers_the_own_chat_id_once(
    fake: FakeGreenApi, green: GreenApiProvider
) -> None:
    set_result = await green.set_own_picture(PICTURE)
    first = await green.get_own_picture()
    second = await green.get_own_picture()

    assert set_result.ok and set_result.url == fake.avatar_of(fake.own_chat_id)
    assert first.url == second.url == set_result.url
    assert len(fake.calls("getSettings")) == 1
    assert [c.json for c in fake.calls("getAvatar")] == [{"chatId": fake.own_chat_id}] * 2
    [upload] = fake.calls("setProfilePicture")
    assert upload.form == {} and upload.file == PICTURE.jpeg


async def test_configured_own_chat_id_is_not_asked(connect: Connect, fake: FakeGreenApi) -> None:
    fake.set_avatar("79990001122@c.us", "https://pps.whatsapp.net/v/own.jpg")
    async with connect(fake, own_chat_id="79990001122@c.us") as green:
        result = await green.get_own_picture()
    assert result.url == "https://pps.whatsapp.net/v/own.jpg"
    assert not fake.calls("getSettings")


async def test_own_chat_id_unknown(green: GreenApiProvider, fake: FakeGreenApi) -> None:
    fake.own_chat_id = ""  # what a logged-out instance reports
    assert_failure(await green.get_own_picture(), FailureKind.UNAVAILABLE, "own_chat_id")
    fake.fail_next("getSettings", Fault.unauthorized())
    assert_failure(await green.get_own_picture(), FailureKind.AUTH, "api_token_instance")
    assert not fake.calls("getAvatar")


async def test_delete_is_not_supported_and_sends_nothing(
    fake: FakeGreenApi, green: GreenApiProvider
) -> None:
    assert_failure(
        await green.delete_group_picture(GROUP), FailureKind.NOT_SUPPORTED, "cannot remove"
    )
    assert_failure(await green.delete_own_picture(), FailureKind.NOT_SUPPORTED)
    assert fake.requests == []


@pytest.mark.parametrize(
    ("state", "kind", "words"),
    [
        ("notAuthorized", FailureKind.AUTH, ("not logged in", "QR code")),
        ("blocked", FailureKind.NOT_ALLOWED, ("banned",)),
        ("starting", FailureKind.UNAVAILABLE, ("starting",)),
        ("yellowCard", FailureKind.NOT_ALLOWED, ("spam",)),
        ("sleepMode", FailureKind.UNAVAILABLE, ("phone",)),
        ("somethingNew", FailureKind.UNAVAILABLE, ("somethingNew",)),
        ("{weird}", FailureKind.UNAVAILABLE, ("{weird}",)),
    ],
)
async def test_check_reports_the_state(
    fake: FakeGreenApi,
    green: GreenApiProvider,
    state: str,
    kind: FailureKind,
    words: tuple[str, ...],
) -> None:
    assert (await green.check()).ok
    fake.state = state
    assert_failure(await green.check(), kind, *words)
    assert fake.calls("getStateInstance")[0].http_method == "GET"


# -- MAX (/v3) ------------------------------------------------------------------------------


async def test_max_set_group_picture(max_fake: FakeGreenApi, max_green: GreenApiProvider) -> None:
    result = await max_green.set_group_picture(MAX_GROUP, PICTURE)

    assert result.ok and result.url == max_fake.avatar_of(MAX_GROUP)
    [call] = max_fake.set_calls()
    assert call.path == f"/v3/waInstance{max_fake.id_instance}/setGroupPicture/{TOKEN}"
    assert call.form == {"chatId": MAX_GROUP, "groupId": MAX_GROUP}
    assert call.file == PICTURE.jpeg


async def test_max_avatars_and_own_chat_id(
    server: tuple[_Plug, str], connect: Connect, max_fake: FakeGreenApi
) -> None:
    # an api_url copied from the MAX SDK (with /v3) works as well
    async with connect(max_fake, api_url=server[1] + "/v3/") as max_green:
        assert (await max_green.get_group_picture(MAX_GROUP)).url is None
        await max_green.set_own_picture(PICTURE)
        own = await max_green.get_own_picture()
    assert own.ok and own.url == max_fake.avatar_of("10000000")
    assert [c.method for c in max_fake.requests] == [
        "getAvatar",
        "setProfilePicture",
        "getAccountSettings",
        "getAvatar",
    ]
    assert all(c.path.startswith("/v3/waInstance") for c in max_fake.requests)


async def test_max_words_name_max(max_fake: FakeGreenApi, max_green: GreenApiProvider) -> None:
    max_fake.fail_next("setGroupPicture", Fault.refused("not-authorized"))
    assert_failure(
        await max_green.set_group_picture(MAX_GROUP, PICTURE),
        FailureKind.NOT_ALLOWED,
        "MAX account",
    )


# -- group ids ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("product", "chat_id", "problem"),
    [
        ("whatsapp", GROUP, None),
        ("whatsapp", "11001234567-1581234048@g.us", None),
        ("whatsapp", "79876543210@c.us", "person"),
        ("whatsapp", "120363043968066561", "@g.us"),
        ("whatsapp", "family@g.us", "@g.us"),
        ("whatsapp", MAX_GROUP, "@g.us"),
        ("max", MAX_GROUP, None),
        ("max", "10000000", "personal chat"),
        ("max", GROUP, "negative number"),
        ("max", "-12a", "negative number"),
    ],
)
async def test_check_group_id(product: str, chat_id: str, problem: str | None) -> None:
    fake = FakeGreenApi(token=TOKEN, product=product)  # type: ignore[arg-type]
    provider = GreenApiProvider("green", _settings("https://7105.api.greenapi.com", fake))
    said = provider.check_group_id(chat_id)
    if problem is None:
        assert said is None
    else:
        assert said is not None and problem in said


# -- failures -------------------------------------------------------------------------------

Call = Callable[[GreenApiProvider], Awaitable[PictureResult]]
SET_GROUP: Call = lambda p: p.set_group_picture(GROUP, PICTURE)  # noqa: E731
SET_OWN: Call = lambda p: p.set_own_picture(PICTURE)  # noqa: E731
GET_GROUP: Call = lambda p: p.get_group_picture(GROUP)  # noqa: E731
CHECK: Call = lambda p: p.check()  # noqa: E731

VALIDATION = "Validation failed. Details: 'chatId' must be one of the next formats: 7900@c.us"
K = FailureKind


def case(
    name: str, call: Call, fault: Fault, kind: FailureKind, *words: str, wait: float | None = None
) -> Any:
    """One failure case: what the fake does, the kind we expect, key words of the reason."""
    return pytest.param(call, fault, kind, words, wait, id=name)


FAILURES = [
    # HTTP 200 with `set...Picture: false`
    case("timed-out", SET_GROUP, Fault.refused("Timed Out"), K.NOT_FOUND, "group id", "not in"),
    case("empty-reason", SET_GROUP, Fault.refused(""), K.PROVIDER_ERROR, "no reason given"),
    case(
        "null-reason", SET_OWN, Fault.refused(None), K.PROVIDER_ERROR, "profile", "no reason given"
    ),
    case("not-admin", SET_GROUP, Fault.refused("not-authorized"), K.NOT_ALLOWED, "admin"),
    case("forbidden", SET_GROUP, Fault.refused("forbidden"), K.NOT_ALLOWED, "edit its info"),
    case("odd-reason", SET_GROUP, Fault.refused("Odd Thing"), K.PROVIDER_ERROR, '"Odd Thing"'),
    case(
        "own-overlimit",
        SET_OWN,
        Fault.refused("rate-overlimit"),
        K.RATE_LIMITED,
        "one profile picture change every 10 s",
        "wait 10 s",
        wait=10,
    ),
    case(
        "group-overlimit",
        SET_GROUP,
        Fault.refused("rate-overlimit"),
        K.RATE_LIMITED,
        "wait 10 s",
        wait=10,
    ),
    # HTTP 400 bodies
    case(
        "starting",
        SET_GROUP,
        Fault.bad_request("instance in starting process try later"),
        K.UNAVAILABLE,
        "starting",
    ),
    case(
        "starting-or-logged-out",
        SET_GROUP,
        Fault.bad_request("instance is starting or not authorized"),
        K.AUTH,
        "starting",
        "QR code",
    ),
    case(
        "logged-out",
        GET_GROUP,
        Fault.bad_request("instance account not authorized"),
        K.AUTH,
        "not logged in",
    ),
    case(
        "expired",
        SET_GROUP,
        Fault.bad_request("Instance account is expired. Renew your instance from personal area"),
        K.AUTH,
        "expired",
        "renew",
    ),
    case("deleted", CHECK, Fault.bad_request("Instance is deleted"), K.AUTH, "deleted"),
    case(
        "validation",
        SET_GROUP,
        Fault.bad_request("Bad Request Validation failed"),
        K.BAD_REQUEST,
        "invalid",
    ),
    case(
        "validation-field",
        GET_GROUP,
        Fault.bad_request(VALIDATION, as_json=True),
        K.BAD_REQUEST,
        "chatId",
        "invalid",
    ),
    case("bad-data", SET_GROUP, Fault.bad_request("bad request data"), K.BAD_REQUEST, "HTTP 400"),
    case("file-empty", SET_GROUP, Fault.bad_request("File is empty"), K.BAD_IMAGE, "empty"),
    case("media-type", SET_OWN, Fault.bad_request("Unsupported media type"), K.BAD_IMAGE, "JPEG"),
    # other statuses
    case("401", SET_GROUP, Fault.unauthorized(), K.AUTH, "HTTP 401", "api_token_instance"),
    case("403", CHECK, Fault.forbidden(), K.AUTH, "HTTP 403", "id_instance", "api_url"),
    case("429-group", SET_GROUP, Fault.too_many(), K.RATE_LIMITED, "HTTP 429", "1 s", wait=1),
    case("429-own", SET_OWN, Fault.too_many(), K.RATE_LIMITED, "10 s", wait=10),
    case("429-retry-after", GET_GROUP, Fault.too_many("7"), K.RATE_LIMITED, "7 s", wait=7),
    case("466", SET_GROUP, Fault.quota(), K.NOT_ALLOWED, "quota", "HTTP 466"),
    case("500", SET_GROUP, Fault.server_error(), K.PROVIDER_ERROR, "HTTP 500"),
    case("502-html", CHECK, Fault.bad_gateway(), K.UNAVAILABLE, "HTTP 502"),
    case("invalid-json", SET_GROUP, Fault.invalid_json(), K.UNAVAILABLE, "not JSON"),
]


@pytest.mark.parametrize(("call", "fault", "kind", "words", "retry_after"), FAILURES)
async def test_failures_in_plain_words(
    fake: FakeGreenApi,
    green: GreenApiProvider,
    call: Call,
    fault: Fault,
    kind: FailureKind,
    words: tuple[str, ...],
    retry_after: float | None,
) -> None:
    fake.fail_next(None, fault)
    result = await call(green)
    assert_failure(result, kind, *words)
    assert result.retry_after == retry_after
    assert fake.avatar_of(GROUP) is None


@pytest.mark.parametrize(
    ("jpeg", "kind", "words"),
    [
        (b"", FailureKind.BAD_IMAGE, ("empty",)),
        (b"\x89PNG\r\n\x1a\n" + b"0" * 32, FailureKind.BAD_IMAGE, ("JPEG",)),  # header says jpeg
    ],
)
async def test_the_fake_checks_the_file_like_the_server(
    green: GreenApiProvider, jpeg: bytes, kind: FailureKind, words: tuple[str, ...]
) -> None:
    assert_failure(await green.set_group_picture(GROUP, PreparedPicture(jpeg, 8)), kind, *words)


async def test_unknown_group_times_out(fake: FakeGreenApi, green: GreenApiProvider) -> None:
    result = await green.set_group_picture("120363000000000000@g.us", PICTURE)
    assert_failure(result, FailureKind.NOT_FOUND, "Timed Out", "not in that group")


async def test_logged_out_instance(fake: FakeGreenApi, green: GreenApiProvider) -> None:
    fake.state = "notAuthorized"
    assert_failure(await green.set_group_picture(GROUP, PICTURE), FailureKind.AUTH, "QR code")
    assert_failure(await green.get_group_picture(GROUP), FailureKind.AUTH, "QR code")


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"api_token_instance": "wrong-token"}, ("HTTP 401", "api_token_instance")),
        ({"id_instance": "1101000000"}, ("HTTP 403", "id_instance")),
    ],
)
async def test_wrong_credentials(
    connect: Connect, fake: FakeGreenApi, overrides: dict[str, str], words: tuple[str, ...]
) -> None:
    async with connect(fake, **overrides) as green:
        result = await green.set_group_picture(GROUP, PICTURE)
    assert_failure(result, FailureKind.AUTH, *words)
    assert "wrong-token" not in (result.reason or "") and fake.avatar_of(GROUP) is None


async def test_wrong_product_is_a_bad_request(connect: Connect, fake: FakeGreenApi) -> None:
    async with connect(fake, product="max") as green:  # a WhatsApp instance has no /v3
        assert_failure(await green.check(), FailureKind.BAD_REQUEST, "HTTP 404", "product")


async def test_slow_answer_times_out(connect: Connect, fake: FakeGreenApi) -> None:
    started = time.monotonic()
    fake.fail_next("setGroupPicture", Fault.slow(5))
    async with connect(fake, timeout_seconds=0.3) as green:
        result = await green.set_group_picture(GROUP, PICTURE)
    assert_failure(result, FailureKind.UNAVAILABLE, "did not answer within 0.3 s")
    assert time.monotonic() - started < 2


async def test_nobody_listening() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    fake = FakeGreenApi(token=TOKEN)
    green = GreenApiProvider("green", _settings(f"http://127.0.0.1:{port}", fake))
    try:
        assert_failure(await green.check(), FailureKind.UNAVAILABLE, "could not reach")
    finally:
        await green.aclose()
