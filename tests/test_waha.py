"""WAHA over HTTP against a fake WAHA; every request the adapter sends is checked against WAHA's
own OpenAPI file (in shared/ beside the repo) when the fixture tears down.

Where WAHA's OpenAPI file (2026.7.1) and shared/docs/providers-2.md disagree, the adapter and the
fake follow providers-2.md (§1):
- The file documents only HTTP 200 for the picture routes. WAHA also answers 401 (bad key), 403
  (a session key without the scope), 404 (unknown session: NestJS body; or no such route on old
  WAHA), 422 `{"error": "Session status is not as expected…", "status": …, "expected":
  ["WORKING"]}` and 422 "Plus version"/"not implemented by the engine", and 500 with WhatsApp's
  error word in `exception.message` (`not-authorized`, `forbidden`, `rate-overlimit`,
  `not-acceptable`, `item-not-found`).
- `Result.success` reads as always true; the set routes answer `{"success": false}` when the
  engine refuses (`success ?? true`), and DELETE always `{"success": true}` (`success || true`),
  so a removal is confirmed by reading the picture back with `refresh=true`.
- `ChatPictureResponse.url` is a required string; WAHA answers `{"url": null}` when there is no
  picture (and, on WEBJS before 2026.3.3, sometimes when there is one: waha #1707).
- The file says nothing about reading the account's own picture fresh: `GET /profile` is cached
  and takes no `refresh`, so after a change the adapter reads `GET /chats/{own id}/picture
  ?refresh=true` (inferred from the controllers: both call `getContactProfilePicture`).
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
from adapters.waha import NO_PICTURE, WahaProvider, WahaSettings
from bot.images import prepare_picture
from bot.retry import RETRYABLE
from tests.fakes.serve import Stage
from tests.fakes.waha import Failure, FakeWaha, WahaRequest
from tests.openapi_conformance import OpenApiContract, Recorded
from tests.pictures import photo_bytes

SPEC = Path(__file__).resolve().parents[1].parent / "shared/specs/waha/openapi.json"
KEY = "waha-key-7f1c-SECRET"
OWN = "6281234567890@c.us"
GROUP = "120363025246125888@g.us"
OLD_GROUP = "6281234567890-1581234048@g.us"
GROUP_PATH = "/api/default/groups/120363025246125888%40g.us/picture"
OWN_PICTURE_PATH = "/api/default/chats/6281234567890%40c.us/picture"
OLD_URL = "https://pps.whatsapp.net/v/t61.24694-24/1_n.jpg?oe=old"

PICTURE = prepare_picture(photo_bytes(1200, 900))

Start = Callable[..., Awaitable[tuple[FakeWaha, WahaProvider]]]

# One server for the module (starting uvicorn per test would cost seconds), see `Stage`; so
# every test here, network or not, is async and runs in the module's loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@functools.cache
def contract() -> OpenApiContract:
    return OpenApiContract(SPEC)


@pytest_asyncio.fixture(loop_scope="module")
async def start(stage: tuple[Stage, str]) -> AsyncIterator[Start]:
    """Put a fake on stage (default: key KEY, session "default", both groups known) and make an
    adapter for it; `prefix` is the base path put in base_url (default: the fake's own), other
    keywords are settings. At teardown every recorded request must match WAHA's OpenAPI file."""
    app, url = stage
    started: list[FakeWaha] = []
    async with AsyncExitStack() as stack:

        async def _start(
            fake: FakeWaha | None = None, *, prefix: str | None = None, **overrides: Any
        ) -> tuple[FakeWaha, WahaProvider]:
            assert not started, "one fake per test"
            fake = fake or FakeWaha(api_key=KEY, own_id=OWN, groups=[GROUP, OLD_GROUP])
            app.app = fake.app
            values = {
                "kind": "waha",
                "base_url": url + (fake.base_path if prefix is None else prefix),
                "api_key": KEY,
                "timeout_seconds": 2.0,
            } | overrides
            provider = create_provider("waha", WahaSettings.model_validate(values))
            assert isinstance(provider, WahaProvider)
            stack.push_async_callback(provider.aclose)
            started.append(fake)
            return fake, provider

        yield _start
    app.app = None
    if SPEC.exists():
        for fake in started:
            for request in fake.requests:
                contract().assert_conforms(request)


def assert_failure(result: PictureResult, kind: FailureKind, *words: str) -> None:
    assert not result.ok, result
    assert result.kind is kind, result
    assert result.reason is not None
    for word in words:
        assert word in result.reason, result.reason
    assert KEY not in result.reason
    assert "node_modules" not in result.reason  # never WAHA's stack trace


def calls(fake: FakeWaha) -> list[tuple[str, str, str]]:
    """(method, raw path, query) of every request, in order."""
    return [(r.method, r.raw_path, "&".join(f"{k}={v}" for k, v in r.query)) for r in fake.requests]


def sent_jpeg(request: WahaRequest) -> bytes:
    """The picture in a `{"file": {...}}` body, after checking its documented fields."""
    file = request.json["file"]
    assert set(request.json) == {"file"}
    assert (file["mimetype"], file["filename"]) == ("image/jpeg", "avatar.jpg")
    assert not file["data"].startswith("data:")  # plain base64, as WAHA's examples
    return base64.b64decode(file["data"], validate=True)


async def run(provider: WahaProvider, operation: str) -> PictureResult:
    operations: dict[str, Callable[[], Awaitable[PictureResult]]] = {
        "set_group": lambda: provider.set_group_picture(GROUP, PICTURE),
        "delete_group": lambda: provider.delete_group_picture(GROUP),
        "get_group": lambda: provider.get_group_picture(GROUP),
        "set_own": lambda: provider.set_own_picture(PICTURE),
        "delete_own": provider.delete_own_picture,
        "get_own": provider.get_own_picture,
        "check": provider.check,
    }
    return await operations[operation]()


# -- the operations ------------------------------------------------------------------------


async def test_set_group_picture_sends_the_jpeg_inline_then_reads_the_new_url(
    start: Start,
) -> None:
    fake, provider = await start()

    result = await provider.set_group_picture(GROUP, PICTURE)

    assert result == PictureResult.success(fake.pictures[GROUP].url)
    assert calls(fake) == [("PUT", GROUP_PATH, ""), ("GET", GROUP_PATH, "refresh=true")]
    upload = fake.requests[0]
    assert upload.content_type == "application/json"
    jpeg = sent_jpeg(upload)
    assert jpeg == PICTURE.jpeg == fake.pictures[GROUP].jpeg
    with Image.open(io.BytesIO(jpeg)) as sent:
        assert (sent.format, sent.size) == ("JPEG", (640, 640))


async def test_old_style_group_ids_work_too(start: Start) -> None:
    fake, provider = await start()

    result = await provider.set_group_picture(OLD_GROUP, PICTURE)

    assert result.ok and result.url == fake.pictures[OLD_GROUP].url
    assert (
        fake.requests[0].raw_path == "/api/default/groups/6281234567890-1581234048%40g.us/picture"
    )


async def test_the_new_url_is_read_past_wahas_24h_cache(start: Start) -> None:
    fake, provider = await start()
    fake.set_picture(GROUP)
    assert (await provider.get_group_picture(GROUP)).url == fake.pictures[GROUP].url
    stale = fake.pictures[GROUP].url

    changed = await provider.set_group_picture(GROUP, PICTURE)
    shown = await provider.get_group_picture(GROUP)

    assert changed.url == shown.url == fake.pictures[GROUP].url != stale


async def test_get_group_picture_uses_the_cache(start: Start) -> None:
    fake, provider = await start()
    fake.cache[GROUP] = OLD_URL

    result = await provider.get_group_picture(GROUP)

    assert result == PictureResult.success(OLD_URL)
    assert calls(fake) == [("GET", GROUP_PATH, "refresh=false")]


async def test_a_group_without_picture_is_no_error(start: Start) -> None:
    _, provider = await start()

    assert await provider.get_group_picture(GROUP) == PictureResult.success(note=NO_PICTURE)


async def test_delete_group_picture_is_confirmed_by_a_fresh_read(start: Start) -> None:
    fake, provider = await start()
    fake.set_picture(GROUP)

    result = await provider.delete_group_picture(GROUP)

    assert result == PictureResult.success()
    assert GROUP not in fake.pictures
    assert calls(fake) == [("DELETE", GROUP_PATH, ""), ("GET", GROUP_PATH, "refresh=true")]
    assert fake.requests[0].body == b""


async def test_delete_that_says_success_but_leaves_the_picture_is_a_failure(
    start: Start,
) -> None:
    fake, provider = await start()
    url = fake.set_picture(GROUP)
    fake.refusing.add(GROUP)  # the engine will not change it; WAHA still answers success

    result = await provider.delete_group_picture(GROUP)

    assert_failure(
        result, FailureKind.NOT_ALLOWED, "WAHA answered that the picture was removed", GROUP
    )
    assert "still has it" in (result.reason or "")
    assert fake.pictures[GROUP].url == url
    assert [r.method for r in fake.requests] == ["DELETE", "GET"]


async def test_a_removal_that_cannot_be_read_back_is_reported_unconfirmed(start: Start) -> None:
    fake, provider = await start()
    fake.set_picture(GROUP)
    fake.fail_next("GroupsController_getChatPicture", Failure.ERROR, "rate-overlimit")

    result = await provider.delete_group_picture(GROUP)

    assert result.ok and result.url is None
    assert result.reason is not None
    assert result.reason.startswith("WAHA says the picture is removed, but reading it back")
    assert "rate-overlimit" in result.reason


async def test_set_refused_by_the_engine_is_a_refusal(start: Start) -> None:
    fake, provider = await start()
    fake.refusing.add(GROUP)

    result = await provider.set_group_picture(GROUP, PICTURE)

    assert_failure(result, FailureKind.NOT_ALLOWED, "success: false", GROUP, "admins")
    assert GROUP not in fake.pictures
    assert len(fake.requests) == 1  # nothing to read back


async def test_set_succeeds_even_when_the_new_url_cannot_be_read(start: Start) -> None:
    fake, provider = await start()
    fake.fail_next("GroupsController_getChatPicture", Failure.HTML)

    result = await provider.set_group_picture(GROUP, PICTURE)

    assert result.ok and result.url is None
    assert result.reason is not None
    assert result.reason.startswith("the picture was changed, but its new URL is not known yet")
    assert "HTTP 502" in result.reason
    assert GROUP in fake.pictures


async def test_set_succeeds_when_the_new_url_reads_as_null(start: Start) -> None:
    fake, provider = await start()
    fake.fail_next("GroupsController_getChatPicture", Failure.NULL_URL)

    result = await provider.set_group_picture(GROUP, PICTURE)

    assert result == PictureResult.success(
        note="the picture was changed, but WAHA does not tell its new URL yet"
    )


async def test_own_picture_is_set_read_fresh_and_shown(start: Start) -> None:
    fake, provider = await start()
    fake.cache[OWN] = OLD_URL

    changed = await provider.set_own_picture(PICTURE)
    shown = await provider.get_own_picture()

    assert changed == PictureResult.success(fake.pictures[OWN].url)
    assert shown == changed  # the fresh read renewed WAHA's cache behind GET /profile
    assert calls(fake) == [
        ("PUT", "/api/default/profile/picture", ""),
        ("GET", "/api/default/profile", ""),
        ("GET", OWN_PICTURE_PATH, "refresh=true"),
        ("GET", "/api/default/profile", ""),
    ]
    jpeg = sent_jpeg(fake.requests[0])
    with Image.open(io.BytesIO(jpeg)) as sent:
        assert (sent.format, sent.size) == ("JPEG", (640, 640))


async def test_own_picture_without_picture(start: Start) -> None:
    _, provider = await start()

    assert await provider.get_own_picture() == PictureResult.success(note=NO_PICTURE)


async def test_own_picture_removal_is_confirmed(start: Start) -> None:
    fake, provider = await start()
    fake.set_picture(OWN)

    assert await provider.delete_own_picture() == PictureResult.success()
    assert OWN not in fake.pictures
    assert calls(fake)[0] == ("DELETE", "/api/default/profile/picture", "")
    assert calls(fake)[-1] == ("GET", OWN_PICTURE_PATH, "refresh=true")


async def test_own_picture_removal_that_did_nothing_is_a_failure(start: Start) -> None:
    fake, provider = await start()
    fake.set_picture(OWN)
    fake.refusing.add(OWN)

    result = await provider.delete_own_picture()

    assert_failure(result, FailureKind.PROVIDER_ERROR, "the account still has it")
    assert OWN in fake.pictures


async def test_own_set_that_cannot_learn_the_accounts_id_still_succeeds(start: Start) -> None:
    fake, provider = await start()
    fake.fail_next("ProfileController_getMyProfile", Failure.HTML)

    result = await provider.set_own_picture(PICTURE)

    assert result.ok and result.url is None and OWN in fake.pictures
    assert "not known yet" in (result.reason or "")


async def test_capabilities(start: Start) -> None:
    _, provider = await start()

    assert provider.can(
        Capability.SET_GROUP
        | Capability.DELETE_GROUP
        | Capability.GET_GROUP
        | Capability.SET_OWN
        | Capability.DELETE_OWN
        | Capability.GET_OWN
    )
    assert not provider.can(Capability.NEEDS_PUBLIC_URL)


# -- check and the session's state -----------------------------------------------------------


async def test_check_proves_key_session_and_state(start: Start) -> None:
    fake, provider = await start()

    result = await provider.check()

    assert result == PictureResult.success(
        note=f"the WAHA session 'default' is WORKING, logged in as {OWN}"
    )
    assert calls(fake) == [("GET", "/api/sessions/default", "")]
    assert fake.requests[0].headers["x-api-key"] == KEY


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ("SCAN_QR_CODE", "waits for a QR code scan (SCAN_QR_CODE): someone must scan"),
        ("STARTING", "is still starting (STARTING)"),
        ("STOPPED", "is stopped (STOPPED)"),
        ("FAILED", "has failed (FAILED)"),
        ("PASSKEY_REQUIRED", "(PASSKEY_REQUIRED)"),
        ("SOMETHING_NEW", "is in state 'SOMETHING_NEW', not WORKING"),
    ],
)
async def test_check_names_the_state_of_a_session_that_is_not_working(
    start: Start, status: str, words: str
) -> None:
    fake, provider = await start()
    fake.status = status

    assert_failure(await provider.check(), FailureKind.AUTH, "the WAHA session 'default'", words)


@pytest.mark.parametrize("operation", ["set_group", "delete_group", "get_group", "set_own"])
async def test_every_picture_call_names_the_state_of_a_waiting_session(
    start: Start, operation: str
) -> None:
    fake, provider = await start()
    fake.status = "SCAN_QR_CODE"

    result = await run(provider, operation)

    assert_failure(result, FailureKind.AUTH, "the WAHA session 'default' waits for a QR code scan")
    assert result.kind not in RETRYABLE
    assert fake.pictures == {}


async def test_unknown_session(start: Start) -> None:
    fake, provider = await start(session="sales")

    for operation in ("check", "set_group"):
        assert_failure(
            await run(provider, operation), FailureKind.NOT_FOUND, "WAHA has no session 'sales'"
        )
    assert [r.raw_path.split("/")[2:4] for r in fake.requests] == [
        ["sessions", "sales"],
        ["sales", "groups"],
    ]


async def test_session_names_are_one_path_segment(start: Start) -> None:
    fake, provider = await start(FakeWaha(api_key=KEY, session="sales team"), session="sales team")

    assert (await provider.check()).ok
    assert fake.requests[0].raw_path == "/api/sessions/sales%20team"


async def test_wrong_key(start: Start) -> None:
    fake, provider = await start(api_key="not-the-key")

    for operation in ("check", "set_group", "get_own"):
        assert_failure(await run(provider, operation), FailureKind.AUTH, "check api_key")
    assert fake.pictures == {}


# -- WhatsApp's and WAHA's refusals ------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "target", "failure", "message", "kind", "words"),
    [
        (
            "set_group",
            "GroupsController_setPicture",
            Failure.ERROR,
            "not-authorized",
            FailureKind.NOT_ALLOWED,
            f"does not allow this account to edit group {GROUP}: it is not an admin",
        ),
        (
            "delete_group",
            "GroupsController_deletePicture",
            Failure.ERROR,
            "forbidden",
            FailureKind.NOT_ALLOWED,
            "only admins may edit its info",
        ),
        (
            "set_own",
            "ProfileController_setProfilePicture",
            Failure.ERROR,
            "not-authorized",
            FailureKind.NOT_ALLOWED,
            "does not allow this account to change its own picture",
        ),
        (
            "get_group",
            "GroupsController_getChatPicture",
            Failure.ERROR,
            "not-authorized",
            FailureKind.NOT_ALLOWED,
            "does not let this account see the picture",
        ),
        (
            "set_group",
            "GroupsController_setPicture",
            Failure.ERROR,
            "rate-overlimit",
            FailureKind.RATE_LIMITED,
            "rate-overlimit",
        ),
        (
            "set_own",
            "ProfileController_setProfilePicture",
            Failure.ERROR,
            "rate-overlimit",
            FailureKind.RATE_LIMITED,
            "wait a few minutes",
        ),
        (
            "set_group",
            "GroupsController_setPicture",
            Failure.ERROR,
            "not-acceptable",
            FailureKind.BAD_IMAGE,
            "WhatsApp refused the picture (not-acceptable)",
        ),
        (
            "set_group",
            "GroupsController_setPicture",
            Failure.ERROR,
            "bad-request",
            FailureKind.BAD_REQUEST,
            "(bad-request)",
        ),
        (
            "set_group",
            "GroupsController_setPicture",
            Failure.ERROR,
            "2 UNKNOWN: server returned error 463",
            FailureKind.PROVIDER_ERROR,
            'internal error (HTTP 500): "2 UNKNOWN: server returned error 463"',
        ),
        (
            "set_group",
            "GroupsController_setPicture",
            Failure.PLUS_ONLY,
            None,
            FailureKind.NOT_SUPPORTED,
            "needs WAHA Plus",
        ),
        (
            "set_own",
            "ProfileController_setProfilePicture",
            Failure.NOT_IMPLEMENTED,
            None,
            FailureKind.NOT_SUPPORTED,
            "engine of this WAHA session cannot",
        ),
        (
            "delete_group",
            "GroupsController_deletePicture",
            Failure.SCOPE,
            None,
            FailureKind.AUTH,
            "HTTP 403",
        ),
        (
            "get_own",
            "ProfileController_getMyProfile",
            Failure.HTML,
            None,
            FailureKind.UNAVAILABLE,
            "unavailable (HTTP 502)",
        ),
        ("check", "SessionsController_get", Failure.HTML, None, FailureKind.UNAVAILABLE, "502"),
    ],
)
async def test_waha_failures_in_plain_words(
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

    result = await run(provider, operation)

    assert_failure(result, kind, words)
    assert (kind in RETRYABLE) == (kind in (FailureKind.RATE_LIMITED, FailureKind.UNAVAILABLE))
    assert fake.pictures == {}


async def test_unknown_group(start: Start) -> None:
    _, provider = await start()

    result = await provider.set_group_picture("120363999999999999@g.us", PICTURE)

    assert_failure(result, FailureKind.NOT_FOUND, "120363999999999999@g.us", "not a member")


async def test_waha_refuses_what_is_not_an_image(start: Start) -> None:
    fake, provider = await start()

    result = await provider.set_group_picture(GROUP, PreparedPicture(jpeg=b"nope", side=640))

    assert_failure(result, FailureKind.BAD_IMAGE, "not-acceptable")
    assert GROUP not in fake.pictures


async def test_the_key_never_shows_even_if_waha_echoes_it(start: Start) -> None:
    fake, provider = await start()
    fake.fail_next("GroupsController_setPicture", Failure.ERROR, f"bad key {KEY}")

    result = await provider.set_group_picture(GROUP, PICTURE)

    assert_failure(result, FailureKind.PROVIDER_ERROR, '"bad key ***"')


async def test_the_key_travels_only_in_its_header(start: Start) -> None:
    fake, provider = await start()

    for operation in ("set_group", "delete_group", "get_group", "set_own", "get_own", "check"):
        assert (await run(provider, operation)).ok, operation

    assert len(fake.requests) == 10
    for request in fake.requests:
        assert request.headers["x-api-key"] == KEY
        assert KEY not in request.raw_path and KEY not in str(request.query)
        assert KEY not in request.body.decode()


# -- base path, transport ------------------------------------------------------------------------


async def test_base_path_prefix_in_base_url(start: Start) -> None:
    fake, provider = await start(FakeWaha(api_key=KEY, groups=[GROUP], base_path="/waha"))

    assert (await provider.set_group_picture(GROUP, PICTURE)).ok
    assert (await provider.check()).ok
    assert len(fake.requests) == 3


async def test_a_missing_base_path_prefix_is_named(start: Start) -> None:
    fake, provider = await start(FakeWaha(api_key=KEY, base_path="/waha"), prefix="")

    assert_failure(await provider.check(), FailureKind.NOT_FOUND, "base_url", "2025.2.7")
    assert fake.requests == []


async def test_slow_answer(start: Start) -> None:
    fake, provider = await start(
        FakeWaha(api_key=KEY, groups=[GROUP], slow_seconds=0.5), timeout_seconds=0.2
    )
    fake.fail_next("GroupsController_getChatPicture", Failure.SLOW)

    result = await provider.get_group_picture(GROUP)

    assert_failure(result, FailureKind.UNAVAILABLE, "within 0.2 s")


async def test_nobody_listening() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = WahaProvider("waha", settings(base_url=f"http://127.0.0.1:{port}"))
    try:
        assert_failure(await provider.check(), FailureKind.UNAVAILABLE, "could not reach WAHA")
    finally:
        await provider.aclose()


# -- settings and group ids ------------------------------------------------------------------


def settings(**values: Any) -> WahaSettings:
    return WahaSettings.model_validate(
        {"kind": "waha", "base_url": "http://waha:3000/", "api_key": KEY} | values
    )


async def test_settings_defaults_and_secret() -> None:
    parsed = settings()

    assert (parsed.base_url, parsed.session, parsed.timeout_seconds) == (
        "http://waha:3000",
        "default",
        60.0,
    )
    assert KEY not in repr(parsed) and KEY not in str(parsed.model_dump())


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"base_url": "waha:3000"}, "base_url"),
        ({"api_key": ""}, "api_key"),
        ({"session": ""}, "session"),
        ({"token": "x"}, "token"),
    ],
)
async def test_settings_are_checked(values: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        settings(**values)
    assert [problem["loc"][0] for problem in error.value.errors()] == [field]
    assert KEY not in str(error.value)


async def test_api_key_is_required() -> None:
    with pytest.raises(ValidationError):
        WahaSettings.model_validate({"kind": "waha", "base_url": "http://waha:3000"})


@pytest.mark.parametrize("group_id", [GROUP, OLD_GROUP])
async def test_well_formed_group_ids(group_id: str) -> None:
    assert WahaProvider("waha", settings()).check_group_id(group_id) is None


@pytest.mark.parametrize(
    ("chat_id", "words"),
    [(OWN, "a person's id"), ("120363025246125888", "looks like 120363"), ("x@g.us", "120363")],
)
async def test_malformed_group_ids(chat_id: str, words: str) -> None:
    assert words in (WahaProvider("waha", settings()).check_group_id(chat_id) or "")


# -- the conformance checker on WAHA's file ----------------------------------------------------


def spec_contract() -> OpenApiContract:
    if not SPEC.exists():
        pytest.skip(f"WAHA's OpenAPI file is missing: expected {SPEC} (shared/ beside the repo)")
    return contract()


def set_picture_request(file: dict[str, str], headers: dict[str, str] | None = None) -> Recorded:
    return Recorded(
        "PUT",
        f"/api/default/groups/{GROUP}/picture",
        headers={"X-Api-Key": "k"} if headers is None else headers,
        content_type="application/json",
        body=json.dumps({"file": file}).encode(),
    )


async def test_conformance_accepts_the_binary_file_we_send() -> None:
    file = {"mimetype": "image/jpeg", "filename": "avatar.jpg", "data": "/9j/"}
    assert spec_contract().problems(set_picture_request(file)) == []


@pytest.mark.parametrize(
    "file",
    [
        {"data": "/9j/", "filename": "avatar.jpg"},  # no mimetype
        {"mimetype": "image/jpeg", "base64": "/9j/"},  # not WAHA's name
    ],
)
async def test_conformance_rejects_other_file_shapes(file: dict[str, str]) -> None:
    assert spec_contract().problems(set_picture_request(file)) != []


async def test_conformance_requires_the_api_key() -> None:
    file = {"mimetype": "image/jpeg", "data": "/9j/"}
    problems = spec_contract().problems(set_picture_request(file, headers={}))

    assert any("api_key" in problem or "X-Api-Key" in problem for problem in problems), problems


async def test_conformance_rejects_an_undeclared_query_parameter() -> None:
    request = Recorded(
        "GET", f"/api/default/groups/{GROUP}/picture", [("fresh", "true")], {"X-Api-Key": "k"}
    )

    assert any("'fresh'" in problem for problem in spec_contract().problems(request))
