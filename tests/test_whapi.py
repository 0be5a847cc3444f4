"""Whapi.Cloud over HTTP against a fake Whapi.Cloud; every request the adapter sends is checked
against Whapi's published OpenAPI 1.8.7 file (in shared/ beside the repo) at fixture teardown.

Where that spec and `shared/docs/providers-2.md` §3 disagree, the adapter and the fake follow
providers-2.md (and Whapi's 2026 operation manifest, `B_manifest.json`):

- Success bodies are `{"success": true}`; the spec's `ResponseSuccess` requires a `result` key
  (a typo). The adapter reads `success` and treats `false` as a refusal.
- 429 (rate limited) is in the manifest's error map of every operation, not in the 1.8.7 spec;
  the fake sends it with an optional `Retry-After`.
- `GET /groups/{id}` and `/users/profile` list no 401/402/403 in the spec; the manifest lists
  them for every operation, and on a channel that is not logged in Whapi answers 401 "Need
  channel authorization for ..." everywhere, so the fake does too.
- `media` (and the profile's `icon`) is sent as a base64 data URI
  (`data:image/jpeg;name=avatar.jpg;base64,...`), the form Whapi's own examples use; the spec
  only says "base64". The raw `image/jpeg` body the spec also allows is not used.
- `GET /groups/{id}/icon` answers image bytes or 204 (providers-2.md §0 correction 7), not a
  URL: the URL comes from the group's `chat_pic_full` in `GET /groups/{id}`.
- providers-2.md writes `GET /groups/{id}?resync=false`; the 1.8.7 spec does not declare
  `resync` (the manifest does, default false), so the adapter leaves it out: same meaning.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from PIL import Image
from pydantic import ValidationError

from adapters import Capability, FailureKind, PictureResult, PreparedPicture, create_provider
from adapters.whapi import (
    BAD_TOKEN,
    CHANNEL_LOGGED_OUT,
    NO_PICTURE,
    WhapiProvider,
    WhapiSettings,
)
from bot.images import prepare_picture
from bot.retry import RETRYABLE, RetryPolicy, with_retries
from tests.fakes.serve import Stage
from tests.fakes.whapi import Failure, FakeWhapi, WhapiRequest
from tests.openapi_conformance import OpenApiContract, Recorded
from tests.pictures import photo_bytes

SPEC = Path(__file__).resolve().parents[1].parent / "shared/specs/whapi/openapi-1.8.7.yaml"
TOKEN = "wh4pi-ch4nnel-t0ken-SECRET"
GROUP = "120363025246125888@g.us"
OLD_GROUP = "6281234567890-1581234048@g.us"
LOCKED = "120363000000000777@g.us"  # only admins may edit its info; the account is no admin
UNKNOWN = "120363999999999999@g.us"
OWN = FakeWhapi.OWN

PICTURE = prepare_picture(photo_bytes(1200, 900))

Start = Callable[..., Awaitable[tuple[FakeWhapi, WhapiProvider]]]

# One server for the module (starting uvicorn per test would cost seconds), see `Stage`; so
# every test here, network or not, is async and runs in the module's loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@functools.cache
def contract() -> OpenApiContract:
    return OpenApiContract(SPEC)


@pytest_asyncio.fixture(loop_scope="module")
async def start(stage: tuple[Stage, str]) -> AsyncIterator[Start]:
    """Put a fake on stage (default: three known groups, one of them locked) and make an
    adapter for it; keywords are settings. At teardown every recorded request must match
    Whapi's OpenAPI file, Bearer auth included."""
    app, url = stage
    fakes: list[FakeWhapi] = []
    async with AsyncExitStack() as stack:

        async def _start(
            fake: FakeWhapi | None = None, **overrides: Any
        ) -> tuple[FakeWhapi, WhapiProvider]:
            assert not fakes, "one fake per test"
            fake = fake or FakeWhapi(
                token=TOKEN, groups=[GROUP, OLD_GROUP, LOCKED], not_admin_of=[LOCKED]
            )
            app.app = fake.app
            values = {
                "kind": "whapi",
                "base_url": url,
                "token": TOKEN,
                "timeout_seconds": 2.0,
            } | overrides
            provider = create_provider("whapi", WhapiSettings.model_validate(values))
            assert isinstance(provider, WhapiProvider)
            stack.push_async_callback(provider.aclose)
            fakes.append(fake)
            return fake, provider

        yield _start
    app.app = None
    if SPEC.exists():
        for fake in fakes:
            for request in fake.requests:
                contract().assert_conforms(request)


def assert_failure(result: PictureResult, kind: FailureKind, *words: str) -> None:
    assert not result.ok, result
    assert result.kind is kind, result
    assert result.reason is not None
    for word in words:
        assert word in result.reason, result.reason
    assert TOKEN not in result.reason


def only(requests: list[WhapiRequest]) -> WhapiRequest:
    assert len(requests) == 1, requests
    return requests[0]


def sent_picture(data_uri: str) -> bytes:
    """The JPEG inside a `data:image/jpeg;name=avatar.jpg;base64,...` URI."""
    header, _, encoded = data_uri.partition(",")
    assert header == "data:image/jpeg;name=avatar.jpg;base64", header
    return base64.b64decode(encoded, validate=True)


def assert_square_jpeg(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as image:
        assert (image.format, image.size) == ("JPEG", (640, 640))


async def run(provider: WhapiProvider, operation: str) -> PictureResult:
    operations: dict[str, Callable[[], Awaitable[PictureResult]]] = {
        "set_group": lambda: provider.set_group_picture(GROUP, PICTURE),
        "delete_group": lambda: provider.delete_group_picture(GROUP),
        "get_group": lambda: provider.get_group_picture(GROUP),
        "set_own": lambda: provider.set_own_picture(PICTURE),
        "get_own": provider.get_own_picture,
        "check": provider.check,
    }
    return await operations[operation]()


# -- the five operations --------------------------------------------------------------------


async def test_set_group_icon_sends_the_jpeg_inline_then_reads_the_new_url(start: Start) -> None:
    fake, provider = await start()

    result = await provider.set_group_picture(GROUP, PICTURE)

    assert result == PictureResult.success(fake.icons[GROUP])
    upload, follow_up = fake.requests
    assert (upload.method, upload.raw_path) == ("PUT", "/groups/120363025246125888%40g.us/icon")
    assert upload.content_type == "application/json"
    assert set(upload.json) == {"media", "mime_type"}
    assert upload.json["mime_type"] == "image/jpeg"
    assert sent_picture(upload.json["media"]) == PICTURE.jpeg == fake.images[GROUP]
    assert_square_jpeg(fake.images[GROUP])
    assert (follow_up.method, follow_up.raw_path) == ("GET", "/groups/120363025246125888%40g.us")
    assert follow_up.query == []


async def test_old_style_group_ids_are_percent_encoded_too(start: Start) -> None:
    fake, provider = await start()

    result = await provider.set_group_picture(OLD_GROUP, PICTURE)

    assert result.ok and result.url == fake.icons[OLD_GROUP]
    assert fake.requests[0].raw_path == "/groups/6281234567890-1581234048%40g.us/icon"


async def test_delete_group_icon(start: Start) -> None:
    fake, provider = await start()
    await provider.set_group_picture(GROUP, PICTURE)
    fake.requests.clear()

    result = await provider.delete_group_picture(GROUP)

    assert result == PictureResult.success()
    assert GROUP not in fake.icons
    request = only(fake.requests)
    assert (request.method, request.raw_path) == (
        "DELETE",
        "/groups/120363025246125888%40g.us/icon",
    )
    assert request.body == b""


async def test_show_group_gives_the_full_picture_not_the_preview(start: Start) -> None:
    fake, provider = await start()
    await provider.set_group_picture(GROUP, PICTURE)
    fake.requests.clear()

    result = await provider.get_group_picture(GROUP)

    assert result == PictureResult.success(fake.icons[GROUP])
    assert "s96x96" not in (result.url or "")
    request = only(fake.requests)
    assert (request.method, request.path) == ("GET", f"/groups/{GROUP}")


async def test_a_group_without_icon_is_no_error(start: Start) -> None:
    _, provider = await start()

    assert await provider.get_group_picture(GROUP) == PictureResult.success(note=NO_PICTURE)


async def test_own_picture_is_our_640px_jpeg_and_reads_back(start: Start) -> None:
    fake, provider = await start()

    changed = await provider.set_own_picture(PICTURE)
    read = await provider.get_own_picture()

    assert changed == read == PictureResult.success(fake.icons[OWN])
    upload = fake.requests[0]
    assert (upload.method, upload.path, upload.content_type) == (
        "PATCH",
        "/users/profile",
        "application/json",
    )
    assert set(upload.json) == {"icon"}
    assert sent_picture(upload.json["icon"]) == PICTURE.jpeg == fake.images[OWN]
    assert_square_jpeg(fake.images[OWN])
    assert [(r.method, r.path) for r in fake.requests[1:]] == [("GET", "/users/profile")] * 2


async def test_an_account_without_picture_is_no_error(start: Start) -> None:
    _, provider = await start()

    assert await provider.get_own_picture() == PictureResult.success(note=NO_PICTURE)


async def test_capabilities_and_no_own_picture_removal(start: Start) -> None:
    fake, provider = await start()

    result = await provider.delete_own_picture()

    assert_failure(result, FailureKind.NOT_SUPPORTED, "Whapi.Cloud cannot")
    assert fake.requests == []
    assert provider.can(
        Capability.SET_GROUP
        | Capability.DELETE_GROUP
        | Capability.GET_GROUP
        | Capability.SET_OWN
        | Capability.GET_OWN
    )
    assert not provider.can(Capability.DELETE_OWN)
    assert not provider.can(Capability.NEEDS_PUBLIC_URL)


@pytest.mark.parametrize(
    ("operation", "read", "key"),
    [("set_group", "getGroup", GROUP), ("set_own", "getUserProfile", OWN)],
)
async def test_a_set_whose_url_is_not_synced_yet_is_still_done(
    start: Start, operation: str, read: str, key: str
) -> None:
    fake, provider = await start()
    fake.fail_next(read, Failure.NO_URL)

    result = await run(provider, operation)

    assert result.ok and result.url is None
    assert result.reason == (
        "the picture was changed, but its new URL is not known yet"
        " (Whapi.Cloud does not tell it yet)"
    )
    assert key in fake.icons


async def test_a_set_whose_read_back_fails_is_still_done(start: Start) -> None:
    fake, provider = await start()
    fake.fail_next("getGroup", Failure.HTML)

    result = await provider.set_group_picture(GROUP, PICTURE)

    assert result.ok and result.url is None
    assert result.reason is not None
    assert result.reason.startswith("the picture was changed, but its new URL is not known yet")
    assert "HTTP 502" in result.reason
    assert GROUP in fake.icons


# -- check ------------------------------------------------------------------------------------


async def test_check_asks_health_without_waking_the_channel(start: Start) -> None:
    fake, provider = await start()

    result = await provider.check()

    assert result == PictureResult.success(note="Whapi.Cloud answers and WhatsApp is logged in")
    request = only(fake.requests)
    assert (request.method, request.path, request.query) == (
        "GET",
        "/health",
        [("wakeup", "false")],
    )


@pytest.mark.parametrize(
    ("status", "kind", "words"),
    [
        ("QR", FailureKind.AUTH, (CHANNEL_LOGGED_OUT, "(channel status QR)")),
        ("NOT_INIT", FailureKind.UNAVAILABLE, ("not running", "(channel status NOT_INIT)")),
        ("LAUNCH", FailureKind.UNAVAILABLE, ("still starting", "(channel status LAUNCH)")),
        ("ERROR", FailureKind.PROVIDER_ERROR, ("reports an error", "(channel status ERROR)")),
    ],
)
async def test_check_names_a_channel_status_other_than_auth(
    start: Start, status: str, kind: FailureKind, words: tuple[str, ...]
) -> None:
    fake, provider = await start()
    fake.status = status

    assert_failure(await provider.check(), kind, *words)


async def test_check_with_a_wrong_token(start: Start) -> None:
    _, provider = await start(token="not-the-token")

    assert_failure(await provider.check(), FailureKind.AUTH, BAD_TOKEN)


# -- auth -------------------------------------------------------------------------------------

ALL_OPERATIONS = ("set_group", "get_group", "delete_group", "set_own", "get_own", "check")


async def test_bearer_token_on_every_request_and_never_in_a_url(start: Start) -> None:
    fake, provider = await start()

    for operation in ALL_OPERATIONS:
        assert (await run(provider, operation)).ok, operation

    assert len(fake.requests) == 8  # the two changes each read the new URL back
    for request in fake.requests:
        assert request.headers.get("authorization") == f"Bearer {TOKEN}", request
        assert TOKEN not in request.url, request


async def test_a_logged_out_channel_and_a_wrong_token_are_told_apart(start: Start) -> None:
    """Both are 401 and AUTH (the owners hear about it), but they need different fixes."""
    fake, provider = await start()
    fake.status = "QR"

    logged_out = await provider.set_group_picture(GROUP, PICTURE)

    assert_failure(logged_out, FailureKind.AUTH, CHANNEL_LOGGED_OUT)
    assert GROUP not in fake.icons
    fake.status = "AUTH"
    fake.token = "a-new-token"

    wrong_token = await provider.set_group_picture(GROUP, PICTURE)

    assert_failure(wrong_token, FailureKind.AUTH, BAD_TOKEN)
    assert logged_out.reason != wrong_token.reason
    assert GROUP not in fake.icons


# -- failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "target", "failure", "message", "kind", "words"),
    [
        (
            "get_own",
            "getUserProfile",
            Failure.CHANNEL_LOGGED_OUT,
            None,
            FailureKind.AUTH,
            CHANNEL_LOGGED_OUT,
        ),
        (
            "delete_group",
            "deleteGroupIcon",
            Failure.FORBIDDEN,
            None,
            FailureKind.NOT_ALLOWED,
            f"does not allow this account to edit group {GROUP}",
        ),
        (
            "get_group",
            "getGroup",
            Failure.FORBIDDEN,
            None,
            FailureKind.NOT_ALLOWED,
            '(HTTP 403): "You do not have permissions for this action"',
        ),
        (
            "set_own",
            "updateUserProfile",
            Failure.TRIAL_LIMIT,
            None,
            FailureKind.NOT_ALLOWED,
            "plan does not allow this (HTTP 402)",
        ),
        (
            "set_group",
            "setGroupIcon",
            Failure.SERVER_ERROR,
            "websocket closed",
            FailureKind.PROVIDER_ERROR,
            'internal error (HTTP 500): "websocket closed"',
        ),
        (
            "set_group",
            "setGroupIcon",
            Failure.NOT_SUCCESS,
            None,
            FailureKind.PROVIDER_ERROR,
            "answered that the change did not succeed",
        ),
        (
            "delete_group",
            "deleteGroupIcon",
            Failure.NOT_SUCCESS,
            None,
            FailureKind.PROVIDER_ERROR,
            "did not succeed",
        ),
        ("check", "checkHealth", Failure.HTML, None, FailureKind.UNAVAILABLE, "(HTTP 502)"),
        (
            "set_group",
            "setGroupIcon",
            Failure.HTML,
            None,
            FailureKind.UNAVAILABLE,
            "Whapi.Cloud is unavailable (HTTP 502); try again later",
        ),
    ],
)
async def test_whapi_failures_in_plain_words(
    start: Start,
    operation: str,
    target: str,
    failure: Failure,
    message: str | None,
    kind: FailureKind,
    words: str,
) -> None:
    fake, provider = await start()
    fake.fail_next(target, failure, message)

    assert_failure(await run(provider, operation), kind, words)


async def test_not_an_admin_of_a_locked_group(start: Start) -> None:
    fake, provider = await start()

    result = await provider.set_group_picture(LOCKED, PICTURE)

    assert_failure(
        result,
        FailureKind.NOT_ALLOWED,
        f"WhatsApp does not allow this account to edit group {LOCKED}",
        "must be one of its admins",
    )
    assert LOCKED not in fake.icons


@pytest.mark.parametrize("operation", ["set", "delete", "get"])
async def test_unknown_group(start: Start, operation: str) -> None:
    _, provider = await start()
    calls = {
        "set": lambda: provider.set_group_picture(UNKNOWN, PICTURE),
        "delete": lambda: provider.delete_group_picture(UNKNOWN),
        "get": lambda: provider.get_group_picture(UNKNOWN),
    }

    result = await calls[operation]()

    assert_failure(
        result,
        FailureKind.NOT_FOUND,
        f"Whapi.Cloud does not know group {UNKNOWN}, or the account is not a member",
    )


@pytest.mark.parametrize(("retry_after", "wait"), [("7", 7.0), (None, None)])
async def test_rate_limited(start: Start, retry_after: str | None, wait: float | None) -> None:
    fake, provider = await start()
    fake.fail_next("setGroupIcon", Failure.RATE_LIMITED, retry_after=retry_after)

    result = await provider.set_group_picture(GROUP, PICTURE)

    hint = "try again in 7 s" if wait else "try again in a moment"
    assert_failure(result, FailureKind.RATE_LIMITED, "(HTTP 429)", hint)
    assert result.retry_after == wait


async def test_whapi_refuses_what_is_not_a_picture(start: Start) -> None:
    fake, provider = await start()

    result = await provider.set_group_picture(GROUP, PreparedPicture(b"not a picture", 640))

    assert_failure(
        result,
        FailureKind.BAD_REQUEST,
        '(HTTP 400): "Wrong request parameters: media is not an image"',
    )
    assert GROUP not in fake.icons


async def test_slow_answer(start: Start) -> None:
    fake, provider = await start(
        FakeWhapi(token=TOKEN, groups=[GROUP], slow_seconds=0.5), timeout_seconds=0.2
    )
    fake.fail_next("getUserProfile", Failure.SLOW)

    assert_failure(await provider.get_own_picture(), FailureKind.UNAVAILABLE, "within 0.2 s")


async def test_nobody_listening() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = provider_for(base_url=f"http://127.0.0.1:{port}", token=TOKEN)
    try:
        assert_failure(
            await provider.check(), FailureKind.UNAVAILABLE, "could not reach Whapi.Cloud"
        )
    finally:
        await provider.aclose()


async def test_the_token_never_shows_even_if_whapi_echoes_it(start: Start) -> None:
    fake, provider = await start()
    fake.fail_next("setGroupIcon", Failure.SERVER_ERROR, f"bad token {TOKEN}")

    assert_failure(
        await provider.set_group_picture(GROUP, PICTURE),
        FailureKind.PROVIDER_ERROR,
        '"bad token ***"',
    )


async def test_the_retry_policy_retries_a_429_after_its_retry_after(start: Start) -> None:
    fake, provider = await start()
    fake.fail_next("setGroupIcon", Failure.RATE_LIMITED, retry_after="3")
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    attempted = await with_retries(
        lambda: provider.set_group_picture(GROUP, PICTURE), RetryPolicy(), sleep=sleep
    )

    assert attempted.result == PictureResult.success(fake.icons[GROUP])
    assert (attempted.attempts, waited) == (2, [3.0])


@pytest.mark.parametrize(
    ("failure", "retried"),
    [
        (Failure.RATE_LIMITED, True),
        (Failure.HTML, True),
        (Failure.CHANNEL_LOGGED_OUT, False),
        (Failure.FORBIDDEN, False),
        (Failure.TRIAL_LIMIT, False),
        (Failure.SERVER_ERROR, False),
        (Failure.NOT_SUCCESS, False),
    ],
)
async def test_only_transient_failures_are_retried(
    start: Start, failure: Failure, retried: bool
) -> None:
    fake, provider = await start()
    fake.fail_next("setGroupIcon", failure)

    result = await provider.set_group_picture(GROUP, PICTURE)

    assert (result.kind in RETRYABLE) is retried, result


# -- settings and group ids ------------------------------------------------------------------


def provider_for(**values: Any) -> WhapiProvider:
    return WhapiProvider("whapi", WhapiSettings.model_validate({"kind": "whapi", **values}))


@pytest.mark.parametrize("group_id", [GROUP, OLD_GROUP, "120363043968066561@g.us"])
async def test_well_formed_group_ids(group_id: str) -> None:
    assert provider_for(token=TOKEN).check_group_id(group_id) is None


@pytest.mark.parametrize(
    ("chat_id", "words"),
    [
        ("6281234567890@s.whatsapp.net", "a person's id"),
        ("6281234567890@c.us", "a person's id"),
        ("120363025246125888", "looks like 120363"),
        ("120363025246125888@g.us/../icon", "looks like 120363"),
        ("123@g.us", "looks like 120363"),
    ],
)
async def test_malformed_group_ids(chat_id: str, words: str) -> None:
    assert words in (provider_for(token=TOKEN).check_group_id(chat_id) or "")


async def test_settings_default_to_whapis_gateway_and_hide_the_token() -> None:
    settings = WhapiSettings.model_validate({"kind": "whapi", "token": TOKEN})

    assert settings.base_url == "https://gate.whapi.cloud"
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.model_dump())


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({}, "Field required"),
        ({"token": ""}, "not empty, no spaces"),
        ({"token": "abc\r\nX-Evil: 1"}, "not empty, no spaces"),
        ({"token": TOKEN, "base_url": "gate.whapi.cloud"}, "http://"),
    ],
)
async def test_settings_are_checked(values: dict[str, str], words: str) -> None:
    with pytest.raises(ValidationError) as error:
        WhapiSettings.model_validate({"kind": "whapi"} | values)
    messages = " ".join(problem["msg"] for problem in error.value.errors())
    assert words in messages
    assert TOKEN not in str(error.value)


# -- the conformance checker against Whapi's file ---------------------------------------------


def spec_contract() -> OpenApiContract:
    if not SPEC.exists():
        pytest.skip(f"Whapi's OpenAPI file is missing: expected {SPEC} (shared/ beside the repo)")
    return contract()


def icon_request(body: dict[str, str], headers: dict[str, str] | None = None) -> Recorded:
    return Recorded(
        "PUT",
        f"/groups/{GROUP}/icon",
        headers={"Authorization": "Bearer x"} if headers is None else headers,
        content_type="application/json",
        body=json.dumps(body).encode(),
    )


async def test_conformance_accepts_the_documented_icon_body() -> None:
    assert (
        spec_contract().problems(icon_request({"media": "data:,", "mime_type": "image/jpeg"})) == []
    )


@pytest.mark.parametrize(
    ("request_", "words"),
    [
        (icon_request({"image": "data:,"}), "'media' is a required property"),
        (icon_request({"media": "data:,"}, headers={}), "bearerAuth"),
        (
            Recorded("GET", "/groups/123@g.us", headers={"Authorization": "Bearer x"}),
            "does not match",
        ),
        (
            Recorded(
                "GET", f"/groups/{GROUP}", [("resync", "false")], {"Authorization": "Bearer x"}
            ),
            "'resync' is not declared",
        ),
    ],
)
async def test_conformance_rejects_deviations(request_: Recorded, words: str) -> None:
    problems = spec_contract().problems(request_)

    assert any(words in problem for problem in problems), problems
