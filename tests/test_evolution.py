"""Evolution API (v1 and v2) over HTTP against a fake Evolution; every request the adapter sends
is checked against Evolution's own OpenAPI file of that version (in shared/ beside the repo) when
the fixture tears down.

Where the published specs and `shared/docs/providers-2.md` disagree, the adapter follows
providers-2.md (read from Evolution's code), and these differences are accepted:

- `GET /` (getEvoInfo, both versions) declares a required path parameter `instance` although
  its path has no place for one; the server takes no parameter there.
- v1 `PUT /group/updateGroupPicture` (mislabelled `createGroup`) types `image` as an object; the
  server reads it as a string (a URL or raw base64), so the adapter sends a string.
- Both specs give only `200` with no body for the picture changes; the server answers
  `201 {"update": "success"}` for a group and `200` for the own picture. The adapter accepts
  any 2xx (responses are not validated here).
- Errors: the specs document only 404 for connectionState; the code answers 401, 404, 400 and
  500 in the `{"status", "error", "response": {"message"}}` envelope on every route, which the
  fake speaks.
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
from pydantic import SecretStr, ValidationError

from adapters import Capability, FailureKind, PictureResult, PreparedPicture, create_provider
from adapters.evolution import NO_PICTURE, NOT_KNOWN_YET, EvolutionProvider, EvolutionSettings
from bot.images import prepare_picture
from tests.fakes.evolution import EvolutionRequest, Failure, FakeEvolution
from tests.fakes.serve import Stage
from tests.openapi_conformance import OpenApiContract, Recorded
from tests.pictures import photo_bytes

SPECS = Path(__file__).resolve().parents[1].parent / "shared/specs/evolution"
API_KEY = "evo-global-key-SECRET"
TOKEN = "evo-instance-token-SECRET"
INSTANCE = "my-instance"
OWN = "5511999990000@s.whatsapp.net"
GROUP = "120363025246125888@g.us"
OLD_GROUP = "6281234567890-1581234048@g.us"
PICTURE = prepare_picture(photo_bytes(1200, 900))

#: (version, method, path, words of the problem) the specs get wrong; see the module docstring
DEVIATIONS = {
    (1, "GET", "/"): "Missing required path parameter: instance",
    (2, "GET", "/"): "Missing required path parameter: instance",
    (1, "PUT", f"/group/updateGroupPicture/{INSTANCE}"): "is not of type 'object'",
}

Start = Callable[..., Awaitable[tuple[FakeEvolution, EvolutionProvider]]]

# One server for the module (starting uvicorn per test would cost seconds), see `Stage`; so
# every test here, network or not, is async and runs in the module's loop.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@functools.cache
def contract(version: int) -> OpenApiContract:
    return OpenApiContract(SPECS / f"evolution-openapi-v{version}.json")


def spec_problems(version: int, request: EvolutionRequest | Recorded) -> list[str]:
    """What the spec of `version` finds wrong with a request, less the documented deviations."""
    accepted = DEVIATIONS.get((version, request.method, request.path))
    problems = contract(version).problems(request)
    return [problem for problem in problems if accepted is None or accepted not in problem]


def fake_evolution(version: int = 2, **options: Any) -> FakeEvolution:
    return FakeEvolution(version=version, api_key=API_KEY, groups=[GROUP, OLD_GROUP], **options)


@pytest_asyncio.fixture(loop_scope="module")
async def start(stage: tuple[Stage, str]) -> AsyncIterator[Start]:
    """Put a fake on stage (default: v2, both groups known) and make an adapter for it; keywords
    are settings. At teardown every recorded request must match the spec of the version the
    adapter spoke (the configured one, else the server's)."""
    app, url = stage
    started: list[tuple[FakeEvolution, EvolutionSettings]] = []
    async with AsyncExitStack() as stack:

        async def _start(
            fake: FakeEvolution | None = None, **overrides: Any
        ) -> tuple[FakeEvolution, EvolutionProvider]:
            assert not started, "one fake per test"
            fake = fake or fake_evolution()
            app.app = fake.app
            values = {
                "kind": "evolution",
                "base_url": url,
                "api_key": API_KEY,
                "instance": INSTANCE,
                "timeout_seconds": 2.0,
                "reconnect_wait_seconds": 5.0,
            } | overrides
            settings = EvolutionSettings.model_validate(values)
            provider = create_provider("evo", settings)
            assert isinstance(provider, EvolutionProvider)
            stack.push_async_callback(provider.aclose)
            started.append((fake, settings))
            return fake, provider

        yield _start
    app.app = None
    if SPECS.exists():
        for fake, settings in started:
            spoken = fake.version if settings.api_version == "auto" else int(settings.api_version)
            for request in fake.requests:
                assert spec_problems(spoken, request) == [], request


def assert_failure(result: PictureResult, kind: FailureKind, *words: str) -> None:
    assert not result.ok, result
    assert result.kind is kind, result
    assert result.reason is not None
    for word in words:
        assert word in result.reason, result.reason
    assert "SECRET" not in result.reason


def calls(fake: FakeEvolution) -> list[tuple[str, str]]:
    return [(request.method, request.path) for request in fake.requests]


def changes(fake: FakeEvolution) -> list[EvolutionRequest]:
    return [request for request in fake.requests if "/update" in request.path]


def decoded(request: EvolutionRequest, field: str) -> bytes:
    return base64.b64decode(request.json[field], validate=True)


async def run(provider: EvolutionProvider, operation: str) -> PictureResult:
    operations: dict[str, Callable[[], Awaitable[PictureResult]]] = {
        "set_group": lambda: provider.set_group_picture(GROUP, PICTURE),
        "get_group": lambda: provider.get_group_picture(GROUP),
        "set_own": lambda: provider.set_own_picture(PICTURE),
        "get_own": provider.get_own_picture,
        "check": provider.check,
    }
    return await operations[operation]()


# -- the four operations, in both versions ----------------------------------------------------


async def test_v2_posts_the_group_picture_as_raw_base64_then_reads_the_url(start: Start) -> None:
    fake, provider = await start()

    result = await provider.set_group_picture(GROUP, PICTURE)

    assert result == PictureResult.success(fake.pictures[GROUP])
    assert calls(fake) == [
        ("GET", "/"),
        ("POST", f"/group/updateGroupPicture/{INSTANCE}"),
        ("POST", f"/chat/fetchProfilePictureUrl/{INSTANCE}"),
    ]
    _, change, read = fake.requests
    assert change.query == [("groupJid", GROUP)]
    assert change.content_type == "application/json"
    assert list(change.json) == ["image"]
    assert decoded(change, "image") == PICTURE.jpeg == fake.uploads[GROUP]
    with Image.open(io.BytesIO(fake.uploads[GROUP])) as sent:
        assert (sent.format, sent.size) == ("JPEG", (640, 640))
    assert read.json == {"number": GROUP}


@pytest.mark.parametrize("version", [1, 2])
async def test_the_servers_version_picks_put_or_post(start: Start, version: int) -> None:
    fake, provider = await start(fake_evolution(version))

    group = await provider.set_group_picture(GROUP, PICTURE)
    own = await provider.set_own_picture(PICTURE)

    assert group.url == fake.pictures[GROUP] and own.url == fake.pictures[OWN]
    method = "PUT" if version == 1 else "POST"
    assert [(r.method, r.path) for r in changes(fake)] == [
        (method, f"/group/updateGroupPicture/{INSTANCE}"),
        (method, f"/chat/updateProfilePicture/{INSTANCE}"),
    ]
    assert calls(fake).count(("GET", "/")) == 1  # asked once, then remembered
    assert fake.uploads == {GROUP: PICTURE.jpeg, OWN: PICTURE.jpeg}


@pytest.mark.parametrize(("configured", "version"), [(1, 1), ("2", 2)])
async def test_a_configured_version_is_not_asked(
    start: Start, configured: int | str, version: int
) -> None:
    fake, provider = await start(fake_evolution(version), api_version=configured)

    assert (await provider.set_group_picture(GROUP, PICTURE)).ok

    assert ("GET", "/") not in calls(fake)
    assert changes(fake)[0].method == ("PUT" if version == 1 else "POST")


async def test_old_style_group_ids_work_too(start: Start) -> None:
    fake, provider = await start()

    result = await provider.set_group_picture(OLD_GROUP, PICTURE)

    assert result.ok and result.url == fake.pictures[OLD_GROUP]
    assert changes(fake)[0].query == [("groupJid", OLD_GROUP)]


async def test_get_group_picture(start: Start) -> None:
    fake, provider = await start()
    fake.pictures[GROUP] = "https://pps.whatsapp.net/v/t61.24694-24/1_n.jpg?oe=1"

    result = await provider.get_group_picture(GROUP)

    assert result == PictureResult.success(fake.pictures[GROUP])
    assert calls(fake) == [("POST", f"/chat/fetchProfilePictureUrl/{INSTANCE}")]


async def test_a_null_picture_is_no_error(start: Start) -> None:
    _, provider = await start()

    assert await provider.get_group_picture(GROUP) == PictureResult.success(note=NO_PICTURE)


@pytest.mark.parametrize("version", [1, 2])
async def test_own_picture_reads_the_own_number_once(start: Start, version: int) -> None:
    fake, provider = await start(fake_evolution(version), reconnect_wait_seconds=5)

    changed = await provider.set_own_picture(PICTURE)
    read = await provider.get_own_picture()

    assert changed == PictureResult.success(fake.pictures[OWN])
    assert read == changed
    change = changes(fake)[0]
    assert list(change.json) == ["picture"] and decoded(change, "picture") == PICTURE.jpeg
    listing = [r for r in fake.requests if r.path == "/instance/fetchInstances"]
    assert [r.query for r in listing] == [[("instanceName", INSTANCE)]]
    reads = [r.json for r in fake.requests if "fetchProfilePictureUrl" in r.path]
    assert reads == [{"number": OWN}] * 2


async def test_removing_a_group_picture_is_refused_without_a_call(start: Start) -> None:
    fake, provider = await start()

    result = await provider.delete_group_picture(GROUP)

    assert_failure(result, FailureKind.NOT_SUPPORTED, "Evolution API cannot remove a group picture")
    assert fake.requests == []
    assert provider.can(
        Capability.SET_GROUP | Capability.GET_GROUP | Capability.SET_OWN | Capability.GET_OWN
    )
    assert not provider.can(Capability.DELETE_GROUP)
    assert not provider.can(Capability.NEEDS_PUBLIC_URL)


@pytest.mark.parametrize("failure", [Failure.HTML, None])
async def test_a_change_succeeds_when_its_url_cannot_be_read(
    start: Start, failure: Failure | None
) -> None:
    fake, provider = await start()
    if failure is None:
        fake.hidden.add(GROUP)  # Evolution answers null
    else:
        fake.fail_next("fetchProfilePictureUrl", failure)

    result = await provider.set_group_picture(GROUP, PICTURE)

    assert result.ok and result.url is None
    assert result.reason is not None and result.reason.startswith(NOT_KNOWN_YET)
    assert ("HTTP 502" if failure else "does not show it yet") in result.reason
    assert fake.uploads[GROUP] == PICTURE.jpeg


# -- the trap: the instance reconnects after the account's own picture changed --------------


async def test_after_the_own_picture_the_account_waits_for_open(start: Start) -> None:
    fake, provider = await start(fake_evolution(reconnect_seconds=0.6))

    own = await provider.set_own_picture(PICTURE)
    group = await provider.set_group_picture(GROUP, PICTURE)

    assert own == PictureResult.success(fake.pictures[OWN])
    assert group == PictureResult.success(fake.pictures[GROUP])
    polls = [r.state for r in fake.requests if "connectionState" in r.path]
    assert polls[0] == "connecting" and polls[-1] == "open" and polls.count("open") == 1
    paths = [r.path for r in fake.requests]
    own_change = paths.index(f"/chat/updateProfilePicture/{INSTANCE}")
    assert paths[own_change + 1] == f"/instance/connectionState/{INSTANCE}"  # waits first
    # nothing but the polls reached Evolution until it was open again
    assert all(r.state == "open" for r in fake.requests if "connectionState" not in r.path)


async def test_the_wait_is_bounded_and_the_next_change_waits_again(start: Start) -> None:
    fake, provider = await start(fake_evolution(reconnect_seconds=60), reconnect_wait_seconds=0.2)

    own = await provider.set_own_picture(PICTURE)
    group = await provider.set_group_picture(GROUP, PICTURE)
    sent_while_reconnecting = len(changes(fake))
    fake.reconnected()
    retried = await provider.set_group_picture(GROUP, PICTURE)

    assert own.ok and own.url is None and own.reason is not None
    assert own.reason.startswith(NOT_KNOWN_YET) and "still reconnecting" in own.reason
    assert_failure(
        group, FailureKind.UNAVAILABLE, f"instance '{INSTANCE}' is still reconnecting", "connecting"
    )
    assert sent_while_reconnecting == 1  # only the own picture: the group change never went out
    assert retried == PictureResult.success(fake.pictures[GROUP])
    assert all(r.state == "open" for r in fake.requests if "connectionState" not in r.path)


async def test_check_tells_the_reconnection_instead_of_waiting(start: Start) -> None:
    fake, provider = await start(fake_evolution(reconnect_seconds=60), reconnect_wait_seconds=0)

    await provider.set_own_picture(PICTURE)
    fake.requests.clear()
    result = await provider.check()

    assert_failure(result, FailureKind.UNAVAILABLE, "still connecting", "state: connecting")
    assert len(fake.requests) == 1


# -- check --------------------------------------------------------------------------------------


async def test_check_asks_for_the_connection_state(start: Start) -> None:
    fake, provider = await start()

    result = await provider.check()

    assert result.ok and result.reason == f"instance '{INSTANCE}' is connected to WhatsApp"
    assert calls(fake) == [("GET", f"/instance/connectionState/{INSTANCE}")]
    assert fake.requests[0].headers["apikey"] == API_KEY


@pytest.mark.parametrize(
    ("state", "kind", "words"),
    [
        ("connecting", FailureKind.UNAVAILABLE, "state: connecting"),
        ("close", FailureKind.AUTH, "state: close"),
        ("refused", FailureKind.AUTH, "scan its QR code"),
        (None, FailureKind.PROVIDER_ERROR, "is not running"),
    ],
)
async def test_check_names_a_state_that_is_not_open(
    start: Start, state: str | None, kind: FailureKind, words: str
) -> None:
    fake, provider = await start()
    fake.state = state

    assert_failure(await provider.check(), kind, words)


# -- failures -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "target", "failure", "message", "kind", "words"),
    [
        (
            "set_group",
            "updateGroupPicture",
            Failure.ERROR,
            "Error: not-authorized",
            FailureKind.NOT_ALLOWED,
            f"does not allow this account to edit group {GROUP}",
        ),
        (
            "set_group",
            "updateGroupPicture",
            Failure.ERROR,
            "Error: forbidden",
            FailureKind.NOT_ALLOWED,
            "only admins may edit its info",
        ),
        (
            "set_own",
            "updateProfilePicture",
            Failure.ERROR,
            "Error: rate-overlimit",
            FailureKind.RATE_LIMITED,
            "wait a few minutes",
        ),
        (
            "set_group",
            "updateGroupPicture",
            Failure.ERROR,
            "Error: Timed Out",
            FailureKind.UNAVAILABLE,
            "did not answer Evolution API in time",
        ),
        (
            "set_group",
            "updateGroupPicture",
            Failure.ERROR,
            "[object Object]",
            FailureKind.BAD_IMAGE,
            "refused the picture",
        ),
        (
            "set_own",
            "updateProfilePicture",
            Failure.ERROR,
            "Error: No image processing library available",
            FailureKind.PROVIDER_ERROR,
            "neither sharp nor jimp",
        ),
        (
            "set_group",
            "updateGroupPicture",
            Failure.ERROR,
            "Error: stream errored out",
            FailureKind.PROVIDER_ERROR,
            '(HTTP 500): "Error update group picture: Error: stream errored out"',
        ),
        (
            "set_group",
            "updateGroupPicture",
            Failure.REFUSED,
            '["Method not available on WhatsApp Business API"]',
            FailureKind.NOT_SUPPORTED,
            "only for WhatsApp (Baileys) instances",
        ),
        (
            "set_group",
            "updateGroupPicture",
            Failure.REFUSED,
            '[{"property": "image", "message": "The \\"image\\" cannot be empty"}]',
            FailureKind.BAD_REQUEST,
            '(HTTP 400): "image: The "image" cannot be empty"',
        ),
        ("get_group", "fetchProfilePictureUrl", Failure.HTML, None, FailureKind.UNAVAILABLE, "502"),
        ("check", "connectionState", Failure.HTML, None, FailureKind.UNAVAILABLE, "HTTP 502"),
        (
            "get_own",
            "fetchInstances",
            Failure.ERROR,
            "Error: database down",
            FailureKind.PROVIDER_ERROR,
            "database down",
        ),
        (
            "set_group",
            "getEvoInfo",
            Failure.EMPTY_WELCOME,
            None,
            FailureKind.BAD_REQUEST,
            "set api_version to 1 or 2",
        ),
        ("set_own", "getEvoInfo", Failure.HTML, None, FailureKind.UNAVAILABLE, "HTTP 502"),
    ],
)
async def test_evolution_failures_in_plain_words(
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


async def test_a_failed_version_question_is_asked_again(start: Start) -> None:
    fake, provider = await start()
    fake.fail_next("getEvoInfo", Failure.HTML)

    first = await provider.set_group_picture(GROUP, PICTURE)
    second = await provider.set_group_picture(GROUP, PICTURE)

    assert not first.ok and second.ok
    assert calls(fake).count(("GET", "/")) == 2


async def test_wrong_api_key(start: Start) -> None:
    fake, provider = await start(api_key="evo-wrong-key-SECRET")

    for operation in ("set_group", "get_group", "set_own", "get_own", "check"):
        assert_failure(await run(provider, operation), FailureKind.AUTH, "check api_key")
    assert fake.uploads == {}


async def test_the_instance_token_works_as_api_key(start: Start) -> None:
    fake, provider = await start(fake_evolution(instance_token=TOKEN), api_key=TOKEN)

    for operation in ("set_group", "get_group", "set_own", "get_own", "check"):
        assert (await run(provider, operation)).ok, operation
    assert {r.headers.get("apikey") for r in fake.requests if r.path != "/"} == {TOKEN}


async def test_unknown_instance(start: Start) -> None:
    _, provider = await start(instance="old-instance")

    assert_failure(await provider.check(), FailureKind.NOT_FOUND, "no instance 'old-instance'")


async def test_instance_names_are_percent_encoded(start: Start) -> None:
    fake, provider = await start(fake_evolution(instance="sales team"), instance="sales team")

    assert (await provider.check()).ok
    assert fake.requests[0].raw_path == "/instance/connectionState/sales%20team"


async def test_a_disconnected_instance(start: Start) -> None:
    fake, provider = await start()
    fake.state = "close"

    changed = await provider.set_group_picture(GROUP, PICTURE)
    read = await provider.get_group_picture(GROUP)

    assert_failure(changed, FailureKind.UNAVAILABLE, "not connected to WhatsApp right now")
    assert read == PictureResult.success(note=NO_PICTURE)  # Evolution says null, not why


async def test_unknown_group(start: Start) -> None:
    _, provider = await start()

    result = await provider.set_group_picture("120363999999999999@g.us", PICTURE)

    assert_failure(result, FailureKind.NOT_FOUND, "120363999999999999@g.us")


async def test_locked_group(start: Start) -> None:
    fake, provider = await start()
    fake.locked_groups.add(GROUP)

    result = await provider.set_group_picture(GROUP, PICTURE)

    assert_failure(result, FailureKind.NOT_ALLOWED, f"edit group {GROUP}")
    assert GROUP not in fake.pictures


async def test_evolution_refuses_what_is_not_an_image(start: Start) -> None:
    fake, provider = await start()

    result = await provider.set_group_picture(GROUP, PreparedPicture(b"not a picture", 640))

    assert_failure(result, FailureKind.BAD_IMAGE, "unsupported image format")
    assert GROUP not in fake.pictures


async def test_a_wrong_api_version_names_the_missing_route(start: Start) -> None:
    fake, provider = await start(fake_evolution(2), api_version=1)

    result = await provider.set_group_picture(GROUP, PICTURE)

    assert_failure(
        result, FailureKind.BAD_REQUEST, f"PUT /group/updateGroupPicture/{INSTANCE}", "api_version"
    )
    assert fake.uploads == {}


async def test_slow_answer(start: Start) -> None:
    fake, provider = await start(fake_evolution(slow_seconds=0.5), timeout_seconds=0.2)
    fake.fail_next("connectionState", Failure.SLOW)

    assert_failure(await provider.check(), FailureKind.UNAVAILABLE, "within 0.2 s")


async def test_nobody_listening() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = EvolutionSettings(
        kind="evolution",
        base_url=f"http://127.0.0.1:{port}",
        api_key=SecretStr(API_KEY),
        instance=INSTANCE,
    )
    provider = EvolutionProvider("evo", settings)
    try:
        assert_failure(
            await provider.check(), FailureKind.UNAVAILABLE, "could not reach Evolution API"
        )
    finally:
        await provider.aclose()


async def test_the_key_never_shows_even_if_evolution_echoes_it(start: Start) -> None:
    fake, provider = await start()
    fake.fail_next("updateGroupPicture", Failure.ERROR, f"Error: bad key {API_KEY}")

    assert_failure(
        await provider.set_group_picture(GROUP, PICTURE), FailureKind.PROVIDER_ERROR, "***"
    )


async def test_the_key_travels_only_in_the_apikey_header(start: Start) -> None:
    fake, provider = await start()

    for operation in ("set_group", "get_group", "set_own", "get_own", "check"):
        assert (await run(provider, operation)).ok, operation

    for request in fake.requests:
        assert API_KEY not in request.raw_path + repr(request.query), request
        assert API_KEY.encode() not in request.body, request
        assert request.headers.get("apikey") == API_KEY, request


# -- settings and group ids ------------------------------------------------------------------


async def test_settings_defaults_and_yaml_numbers() -> None:
    base = {"kind": "evolution", "base_url": "https://evo.example.com/", "instance": "x"}
    settings = EvolutionSettings.model_validate(base | {"api_key": API_KEY})
    assert (settings.api_version, settings.reconnect_wait_seconds) == ("auto", 30.0)
    assert settings.base_url == "https://evo.example.com"
    assert API_KEY not in repr(settings)
    for number, text in ((1, "1"), (2, "2")):
        assert (
            EvolutionSettings.model_validate(
                base | {"api_key": API_KEY, "api_version": number}
            ).api_version
            == text
        )


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"api_version": 3}, "api_version"),
        ({"api_version": True}, "api_version"),
        ({"base_url": "evo.example.com"}, "http://"),
        ({"instance": ""}, "instance"),
        ({"reconnect_wait_seconds": -1}, "reconnect_wait_seconds"),
        ({"api_key": None}, "api_key"),
    ],
)
async def test_settings_are_checked(values: dict[str, Any], words: str) -> None:
    raw = {
        "kind": "evolution",
        "base_url": "https://evo.example.com",
        "api_key": API_KEY,
        "instance": INSTANCE,
    } | values
    with pytest.raises(ValidationError) as error:
        EvolutionSettings.model_validate(raw)
    described = " ".join(f"{problem['loc']} {problem['msg']}" for problem in error.value.errors())
    assert words in described
    assert API_KEY not in str(error.value)


@pytest.mark.parametrize(
    ("chat_id", "problem"),
    [
        (GROUP, None),
        (OLD_GROUP, None),
        (OWN, "a person's id"),
        ("120363025246125888", "looks like 120363"),
    ],
)
async def test_group_ids(chat_id: str, problem: str | None) -> None:
    settings = EvolutionSettings(
        kind="evolution", base_url="http://evo:8080", api_key=SecretStr(API_KEY), instance=INSTANCE
    )
    found = EvolutionProvider("evo", settings).check_group_id(chat_id)
    assert found is None if problem is None else problem in (found or "")


# -- the conformance checker on Evolution's specs ---------------------------------------------


def checked_specs() -> None:
    if not SPECS.exists():
        pytest.skip(f"Evolution's OpenAPI files are missing: expected {SPECS} (shared/ beside)")


def group_change(method: str, body: dict[str, Any]) -> Recorded:
    return Recorded(
        method,
        f"/group/updateGroupPicture/{INSTANCE}",
        [("groupJid", GROUP)],
        {"apikey": API_KEY},
        "application/json",
        json.dumps(body).encode(),
    )


async def test_conformance_knows_put_from_post() -> None:
    checked_specs()

    assert spec_problems(2, group_change("POST", {"image": "AAAA"})) == []
    assert spec_problems(1, group_change("PUT", {"image": "AAAA"})) == []
    assert spec_problems(2, group_change("PUT", {"image": "AAAA"})) != []
    assert spec_problems(1, group_change("POST", {"image": "AAAA"})) != []


async def test_conformance_rejects_a_wrong_field_or_a_missing_key() -> None:
    checked_specs()

    assert any("url" in p for p in spec_problems(2, group_change("POST", {"url": "AAAA"})))
    without_key = Recorded("GET", f"/instance/connectionState/{INSTANCE}")
    assert any("ApiKeyAuth" in p for p in spec_problems(2, without_key))
