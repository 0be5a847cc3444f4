"""GOWA over HTTP against a fake GOWA; every request the adapter sends is checked against GOWA's
own OpenAPI file (in shared/ beside the repo) when the fixture tears down."""

from __future__ import annotations

import base64
import functools
import io
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from PIL import Image
from pydantic import ValidationError

from adapters import Capability, FailureKind, PictureResult, PreparedPicture, create_provider
from adapters.gowa import HIDDEN_PICTURE, LOGGED_OUT, NO_PICTURE, GowaProvider, GowaSettings
from bot.images import prepare_picture
from tests.fakes.gowa import NOT_CONNECTED, Failure, FakeGowa, GowaRequest
from tests.fakes.serve import Stage
from tests.openapi_conformance import OpenApiContract, Recorded

SPEC = Path(__file__).resolve().parents[1].parent / "shared/specs/gowa/openapi.yaml"
USER = "admin"
PASSWORD = "gowa-pa55-7f1c"
DEVICE = "my-phone"
OWN = "6281234567890@s.whatsapp.net"
GROUP = "120363025246125888@g.us"
OLD_GROUP = "6281234567890-1581234048@g.us"


def jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(out, "JPEG", quality=85)
    return out.getvalue()


PICTURE = prepare_picture(jpeg(1200, 900))

Start = Callable[..., Awaitable[tuple[FakeGowa, GowaProvider]]]

# One server for the module (starting uvicorn per test would cost seconds), see `Stage`; so
# every test here, network or not, is async and runs in the module's loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@functools.cache
def contract() -> OpenApiContract:
    return OpenApiContract(SPEC)


@pytest_asyncio.fixture(loop_scope="module")
async def start(stage: tuple[Stage, str]) -> AsyncIterator[Start]:
    """Put a fake on stage (default: Basic auth, one device, both groups known) and make an
    adapter for it.

    `prefix` is the base path put in base_url (default: the fake's own); other keywords are
    settings, None meaning "not configured". At teardown every recorded request must match
    GOWA's OpenAPI file, with Basic auth required when the adapter has credentials."""
    app, url = stage
    started: list[tuple[FakeGowa, GowaSettings]] = []
    async with AsyncExitStack() as stack:

        async def _start(
            fake: FakeGowa | None = None, *, prefix: str | None = None, **overrides: Any
        ) -> tuple[FakeGowa, GowaProvider]:
            assert not started, "one fake per test"
            fake = fake or FakeGowa(username=USER, password=PASSWORD, groups=[GROUP, OLD_GROUP])
            app.app = fake.app
            values = {
                "kind": "gowa",
                "base_url": url + (fake.base_path if prefix is None else prefix),
                "timeout_seconds": 2.0,
                "username": USER,
                "password": PASSWORD,
                "device_id": DEVICE,
                "own_jid": OWN,
            } | overrides
            settings = GowaSettings.model_validate(values)
            provider = create_provider("gowa", settings)
            assert isinstance(provider, GowaProvider)
            stack.push_async_callback(provider.aclose)
            started.append((fake, settings))
            return fake, provider

        yield _start
    app.app = None
    if SPEC.exists():
        for fake, settings in started:
            for request in fake.requests:
                contract().assert_conforms(request, security=settings.username is not None)


def assert_failure(result: PictureResult, kind: FailureKind, *words: str) -> None:
    assert not result.ok, result
    assert result.kind is kind, result
    assert result.reason is not None
    for word in words:
        assert word in result.reason, result.reason
    assert PASSWORD not in result.reason


def only(requests: list[GowaRequest]) -> GowaRequest:
    assert len(requests) == 1, requests
    return requests[0]


async def run(provider: GowaProvider, operation: str) -> PictureResult:
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


async def test_set_group_picture_uploads_then_reads_the_new_url(start: Start) -> None:
    fake, provider = await start()

    result = await provider.set_group_picture(GROUP, PICTURE)

    assert result.ok and result.url == fake.avatars[GROUP] and result.reason is None
    upload, follow_up = fake.requests
    assert (upload.method, upload.path) == ("POST", "/group/photo")
    assert upload.content_type.startswith("multipart/form-data")
    assert set(upload.fields) == {"group_id", "photo"}
    assert upload.fields["group_id"].data == GROUP.encode()
    photo = upload.fields["photo"]
    assert (photo.data, photo.content_type, photo.filename) == (
        PICTURE.jpeg,
        "image/jpeg",
        "avatar.jpg",
    )
    assert (follow_up.method, follow_up.path) == ("GET", "/user/avatar")
    assert follow_up.query == [("phone", GROUP), ("is_preview", "false")]


async def test_old_style_group_ids_work_too(start: Start) -> None:
    fake, provider = await start()

    result = await provider.set_group_picture(OLD_GROUP, PICTURE)

    assert result.ok and result.url == fake.avatars[OLD_GROUP]


async def test_delete_group_picture_is_multipart_without_photo(start: Start) -> None:
    fake, provider = await start()
    await provider.set_group_picture(GROUP, PICTURE)
    fake.requests.clear()

    result = await provider.delete_group_picture(GROUP)

    assert result == PictureResult.success()
    assert GROUP not in fake.avatars
    request = only(fake.requests)
    assert (request.method, request.path) == ("POST", "/group/photo")
    assert request.content_type.startswith("multipart/form-data")
    assert list(request.fields) == ["group_id"]


async def test_get_group_picture_reads_the_avatar(start: Start) -> None:
    fake, provider = await start()
    fake.avatars[GROUP] = "https://pps.whatsapp.net/v/t61.24694-24/1_n.jpg?oe=1"

    result = await provider.get_group_picture(GROUP)

    assert result == PictureResult.success("https://pps.whatsapp.net/v/t61.24694-24/1_n.jpg?oe=1")
    assert only(fake.requests).query == [("phone", GROUP), ("is_preview", "false")]


async def test_a_group_without_picture_is_no_error(start: Start) -> None:
    _, provider = await start()

    result = await provider.get_group_picture(GROUP)

    assert result == PictureResult.success(note=NO_PICTURE)


async def test_a_picture_hidden_by_privacy_is_no_error(start: Start) -> None:
    fake, provider = await start()
    fake.fail_next(
        "userAvatar", Failure.ERROR, "the user has hidden their profile picture from you"
    )

    result = await provider.get_group_picture(GROUP)

    assert result == PictureResult.success(note=HIDDEN_PICTURE)


async def test_own_picture_is_our_640px_jpeg_and_reads_back(start: Start) -> None:
    fake, provider = await start()

    changed = await provider.set_own_picture(PICTURE)
    read = await provider.get_own_picture()

    assert changed.ok and changed.url == fake.avatars[OWN]
    assert read == PictureResult.success(fake.avatars[OWN])
    upload = fake.requests[0]
    assert (upload.method, upload.path, list(upload.fields)) == ("POST", "/user/avatar", ["avatar"])
    assert upload.fields["avatar"].data == PICTURE.jpeg
    assert upload.fields["avatar"].content_type == "image/jpeg"
    with Image.open(io.BytesIO(upload.fields["avatar"].data)) as sent:
        assert (sent.format, sent.size) == ("JPEG", (640, 640))
    assert [request.query for request in fake.requests[1:]] == [
        [("phone", OWN), ("is_preview", "false")]
    ] * 2


async def test_without_own_jid_the_own_picture_is_set_but_not_read(start: Start) -> None:
    fake, provider = await start(own_jid=None)

    changed = await provider.set_own_picture(PICTURE)
    read = await provider.get_own_picture()

    assert changed == PictureResult.success()
    assert_failure(read, FailureKind.NOT_SUPPORTED, "own_jid")
    assert not provider.can(Capability.GET_OWN)
    assert not provider.can(Capability.SET_OWN | Capability.GET_OWN)
    assert provider.can(Capability.SET_OWN)
    assert only(fake.requests).path == "/user/avatar"


async def test_capabilities_and_no_own_picture_removal(start: Start) -> None:
    fake, provider = await start()

    result = await provider.delete_own_picture()

    assert_failure(result, FailureKind.NOT_SUPPORTED, "GOWA cannot")
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


async def test_set_succeeds_even_when_the_new_url_cannot_be_read(start: Start) -> None:
    fake, provider = await start()
    fake.fail_next("userAvatar", Failure.GATEWAY_TIMEOUT)

    result = await provider.set_group_picture(GROUP, PICTURE)

    assert result.ok and result.url is None
    assert result.reason is not None
    assert result.reason.startswith("the picture was changed, but its new URL could not be read")
    assert "HTTP 504" in result.reason
    assert GROUP in fake.avatars


async def test_check_proves_credentials_and_device(start: Start) -> None:
    fake, provider = await start()

    result = await provider.check()

    assert result.ok and result.reason is not None and DEVICE in result.reason
    assert only(fake.requests).path == "/app/status"


async def test_check_says_when_the_session_is_logged_out(start: Start) -> None:
    fake, provider = await start()
    fake.logged_in = False

    assert_failure(await provider.check(), FailureKind.AUTH, LOGGED_OUT)
    assert_failure(await provider.set_group_picture(GROUP, PICTURE), FailureKind.AUTH, LOGGED_OUT)


# -- headers, base path ---------------------------------------------------------------------

ALL_OPERATIONS = ("set_group", "get_group", "delete_group", "set_own", "get_own", "check")


async def test_basic_auth_and_device_id_on_every_request(start: Start) -> None:
    fake, provider = await start()

    for operation in ALL_OPERATIONS:
        assert (await run(provider, operation)).ok, operation

    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert len(fake.requests) == 8  # the two changes each read the new URL back
    for request in fake.requests:
        assert request.headers.get("authorization") == expected, request
        assert request.headers.get("x-device-id") == DEVICE, request


async def test_no_auth_and_no_device_id_when_not_configured(start: Start) -> None:
    fake, provider = await start(
        FakeGowa(groups=[GROUP]), username=None, password=None, device_id=None
    )

    for operation in ALL_OPERATIONS:
        assert (await run(provider, operation)).ok, operation

    for request in fake.requests:
        assert "authorization" not in request.headers, request
        assert "x-device-id" not in request.headers, request


async def test_device_ids_are_percent_encoded_for_gowa_to_decode(start: Start) -> None:
    device = "büro+1"
    fake, provider = await start(
        FakeGowa(username=USER, password=PASSWORD, devices=[device, DEVICE]), device_id=device
    )

    result = await provider.check()

    assert result.ok and device in (result.reason or "")
    assert only(fake.requests).headers["x-device-id"] == "b%C3%BCro%2B1"


async def test_base_path_prefix_in_base_url(start: Start) -> None:
    fake, provider = await start(
        FakeGowa(username=USER, password=PASSWORD, groups=[GROUP], base_path="/wa")
    )

    for operation in ALL_OPERATIONS:
        assert (await run(provider, operation)).ok, operation

    assert {request.full_path for request in fake.requests} == {
        "/wa/group/photo",
        "/wa/user/avatar",
        "/wa/app/status",
    }


async def test_a_missing_base_path_prefix_is_named(start: Start) -> None:
    fake, provider = await start(
        FakeGowa(username=USER, password=PASSWORD, base_path="/wa"), prefix=""
    )

    assert_failure(await provider.check(), FailureKind.NOT_FOUND, "base_url", "APP_BASE_PATH")
    assert fake.requests == []


# -- failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "target", "failure", "message", "kind", "words"),
    [
        ("set_group", "setGroupPhoto", Failure.LOGGED_OUT, None, FailureKind.AUTH, LOGGED_OUT),
        (
            "get_own",
            "/user/avatar",
            Failure.LOGGED_OUT,
            NOT_CONNECTED,
            FailureKind.AUTH,
            LOGGED_OUT,
        ),
        (
            "set_group",
            "setGroupPhoto",
            Failure.ERROR,
            "info query returned status 401: not-authorized",
            FailureKind.NOT_ALLOWED,
            f"not allow this account to edit group {GROUP}",
        ),
        (
            "delete_group",
            "/group/photo",
            Failure.ERROR,
            "info query returned status 403: forbidden",
            FailureKind.NOT_ALLOWED,
            "admins",
        ),
        (
            "set_own",
            "userChangeAvatar",
            Failure.ERROR,
            "info query returned status 429: rate-overlimit",
            FailureKind.RATE_LIMITED,
            "wait",
        ),
        (
            "set_group",
            "setGroupPhoto",
            Failure.ERROR,
            "the given data is not a valid image",
            FailureKind.BAD_IMAGE,
            "WhatsApp refused the image",
        ),
        (
            "set_group",
            "setGroupPhoto",
            Failure.ERROR,
            "image cannot be compressed enough to meet WhatsApp requirements (max 102400 bytes)",
            FailureKind.BAD_IMAGE,
            "could not process the image",
        ),
        (
            "set_own",
            "userChangeAvatar",
            Failure.ERROR,
            "failed to decode image: image: unknown format",
            FailureKind.BAD_IMAGE,
            "could not process the image",
        ),
        (
            "set_group",
            "setGroupPhoto",
            Failure.ERROR,
            "websocket: close 1006 (abnormal closure)",
            FailureKind.PROVIDER_ERROR,
            '"websocket: close 1006 (abnormal closure)"',
        ),
        (
            "get_group",
            "userAvatar",
            Failure.REQUEST_TIMEOUT,
            None,
            FailureKind.UNAVAILABLE,
            "HTTP 408",
        ),
        (
            "delete_group",
            "/group/photo",
            Failure.GATEWAY_TIMEOUT,
            None,
            FailureKind.UNAVAILABLE,
            "HTTP 504",
        ),
        ("check", "appStatus", Failure.HTML, None, FailureKind.UNAVAILABLE, "not JSON"),
    ],
)
async def test_gowa_failures_in_plain_words(
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


async def test_wrong_password(start: Start) -> None:
    _, provider = await start(password="not-the-password")

    assert_failure(await provider.check(), FailureKind.AUTH, "check username/password")


async def test_credentials_missing(start: Start) -> None:
    _, provider = await start(username=None, password=None)

    assert_failure(await provider.check(), FailureKind.AUTH, "set username/password")


async def test_several_devices_and_no_device_id(start: Start) -> None:
    _, provider = await start(
        FakeGowa(username=USER, password=PASSWORD, devices=["a", "b"]), device_id=None
    )

    assert_failure(await provider.check(), FailureKind.BAD_REQUEST, "set device_id")


async def test_unknown_device(start: Start) -> None:
    _, provider = await start(device_id="old-phone")

    assert_failure(await provider.get_group_picture(GROUP), FailureKind.NOT_FOUND, "'old-phone'")


async def test_gowa_refuses_what_is_not_an_image(start: Start) -> None:
    fake, provider = await start()

    result = await provider.set_group_picture(
        GROUP, PreparedPicture(jpeg=b"not a picture", side=640)
    )

    assert_failure(result, FailureKind.BAD_IMAGE, "GOWA refused the picture", "invalid image file")
    assert GROUP not in fake.avatars


async def test_blank_group_id(start: Start) -> None:
    _, provider = await start()

    result = await provider.delete_group_picture("")

    assert_failure(result, FailureKind.BAD_REQUEST, "group_id: cannot be blank")


async def test_unknown_group(start: Start) -> None:
    _, provider = await start()

    result = await provider.set_group_picture("120363999999999999@g.us", PICTURE)

    assert_failure(result, FailureKind.NOT_FOUND, "120363999999999999@g.us")


async def test_slow_answer(start: Start) -> None:
    fake, provider = await start(
        FakeGowa(username=USER, password=PASSWORD, slow_seconds=0.5), timeout_seconds=0.2
    )
    fake.fail_next("userAvatar", Failure.SLOW)

    assert_failure(await provider.get_own_picture(), FailureKind.UNAVAILABLE, "within 0.2 s")


async def test_nobody_listening() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = GowaSettings(kind="gowa", base_url=f"http://127.0.0.1:{port}", timeout_seconds=2)
    provider = GowaProvider("gowa", settings)
    try:
        assert_failure(await provider.check(), FailureKind.UNAVAILABLE, "could not reach GOWA")
    finally:
        await provider.aclose()


async def test_the_password_never_shows_even_if_gowa_echoes_it(start: Start) -> None:
    fake, provider = await start()
    fake.fail_next("setGroupPhoto", Failure.ERROR, f"bad auth {USER}:{PASSWORD}")

    assert_failure(
        await provider.set_group_picture(GROUP, PICTURE), FailureKind.PROVIDER_ERROR, "***"
    )


# -- settings and group ids ------------------------------------------------------------------


@pytest.mark.parametrize("group_id", [GROUP, OLD_GROUP, "120363043968066561@g.us"])
async def test_well_formed_group_ids(group_id: str) -> None:
    provider = GowaProvider("gowa", GowaSettings(kind="gowa", base_url="http://gowa:3000"))
    assert provider.check_group_id(group_id) is None


@pytest.mark.parametrize(
    ("chat_id", "words"),
    [
        (OWN, "a person's id"),
        ("6281234567890@c.us", "a person's id"),
        ("120363025246125888", "looks like 120363"),
        ("family", "looks like 120363"),
        ("123@g.us", "looks like 120363"),
    ],
)
async def test_malformed_group_ids(chat_id: str, words: str) -> None:
    provider = GowaProvider("gowa", GowaSettings(kind="gowa", base_url="http://gowa:3000"))
    assert words in (provider.check_group_id(chat_id) or "")


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"username": USER}, "username and password go together"),
        ({"password": PASSWORD}, "username and password go together"),
        ({"base_url": "gowa:3000"}, "http://"),
    ],
)
async def test_settings_are_checked(values: dict[str, str], words: str) -> None:
    with pytest.raises(ValidationError) as error:
        GowaSettings.model_validate({"kind": "gowa", "base_url": "http://gowa:3000"} | values)
    messages = " ".join(problem["msg"] for problem in error.value.errors())
    assert words in messages
    assert PASSWORD not in messages


# -- the fake's own checks, and the conformance checker --------------------------------------


@pytest.mark.parametrize(
    ("content_type", "data", "words"),
    [
        ("image/gif", jpeg(8, 8), "unsupported image format: image/gif"),
        ("image/jpeg", b"\xff" * (10 * 1024 * 1024 + 1), "too large"),
        ("image/png", b"GIF89a" + b"\0" * 64, "invalid image file"),
    ],
)
async def test_fake_prechecks_group_photos_like_gowa(
    stage: tuple[Stage, str], content_type: str, data: bytes, words: str
) -> None:
    app, url = stage
    app.app = FakeGowa(groups=[GROUP]).app
    async with httpx.AsyncClient(base_url=url) as client:
        reply = await client.post(
            "/group/photo",
            files={"group_id": (None, GROUP), "photo": ("p", data, content_type)},
        )
    assert reply.status_code == 400
    assert reply.json()["code"] == "INVALID_IMAGE_FORMAT"
    assert words in reply.json()["message"]


def spec_contract() -> OpenApiContract:
    if not SPEC.exists():
        pytest.skip(f"GOWA's OpenAPI file is missing: expected {SPEC} (shared/ beside the repo)")
    return contract()


def hand_made_group_photo(photo_field: str) -> Recorded:
    request = httpx.Request(
        "POST",
        "http://gowa:3000/wa/group/photo",
        headers={"Authorization": "Basic YWRtaW46eA==", "X-Device-Id": DEVICE},
        files={"group_id": (None, GROUP), photo_field: ("avatar.jpg", b"\xff\xd8", "image/jpeg")},
    )
    return Recorded.from_httpx(request, base_path="/wa")


async def test_conformance_accepts_the_documented_photo_field() -> None:
    assert spec_contract().problems(hand_made_group_photo("photo")) == []


async def test_conformance_rejects_a_photo_sent_as_file() -> None:
    problems = spec_contract().problems(hand_made_group_photo("file"))

    assert problems == [
        "POST /group/photo: form field 'file' is not declared (declared: group_id, photo)"
    ]


@pytest.mark.parametrize(
    ("request_", "words"),
    [
        (Recorded("GET", "/user/avatar", [("phone", GROUP), ("preview", "false")]), "'preview'"),
        (Recorded("GET", "/user/avatar", [("is_preview", "nope")]), "is_preview"),
        (Recorded("DELETE", "/group/photo"), "Operation delete not found"),
        (
            Recorded("POST", "/group/photo", content_type="application/json", body=b"{}"),
            "application/json",
        ),
    ],
)
async def test_conformance_rejects_other_deviations(request_: Recorded, words: str) -> None:
    problems = spec_contract().problems(request_, security=False)

    assert any(words in problem for problem in problems), problems


async def test_conformance_requires_basic_auth_when_asked() -> None:
    problems = spec_contract().problems(Recorded("GET", "/app/status"))

    assert any("basicAuth" in problem for problem in problems), problems
