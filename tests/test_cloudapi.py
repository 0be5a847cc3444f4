"""The Cloud API adapter against the fake Graph API; every request it sends to Meta is checked
against Meta's published OpenAPI file (shared/specs/meta-cloud) at fixture teardown.

Where the spec and shared/docs/providers-3.md disagree, the adapter follows providers-3.md:

- The resumable upload (`/{app_id}/uploads`, `/upload:<id>`) is not in the spec: those two
  requests are checked by hand here, as Meta's upload guide describes them.
- The spec makes `Content-Type` a required header of every operation with a body and of the
  business profile's GET; the multipart POST's header carries a boundary, which the spec's enum
  cannot list, so the group change is checked with the bare media type.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from PIL import Image

from adapters import Capability, FailureKind, PictureResult, create_provider
from adapters.cloudapi import NOT_A_CLOUD_GROUP, CloudApiProvider, CloudApiSettings
from bot.app import create_providers
from bot.config import ConfigError, parse_config
from bot.images import prepare_picture
from bot.retry import RetryPolicy, with_retries
from tests.fakes.graph import FakeGraph, GraphRequest
from tests.fakes.serve import Stage
from tests.openapi_conformance import OpenApiContract
from tests.pictures import photo_bytes

SPEC = (
    Path(__file__).resolve().parents[1].parent
    / "shared/specs/meta-cloud/business-messaging-api_v23.0.yaml"
)
TOKEN = "EAAGmeta-system-user-token-SECRET"
APP_SECRET = "app-secret-SECRET"
HOOK_SECRET = "hook_secret-0123456789"
GROUP = "Y2FwaV9ncm91cDoxOTUwNTU1MDA3OToxMjAzNjMzOTQzMjAdOTY0MTUZD"
OTHER = "Y2FwaV9ncm91cDoxOTUwNTU1MDA3OToxMjAzNjMzOTQzMjAdOTY0MTUxX"
PICTURE = prepare_picture(photo_bytes(1200, 900))
UPLOAD_STEPS = ("/uploads", "/upload:")

Start = Callable[..., Awaitable[tuple[FakeGraph, CloudApiProvider]]]
pytestmark = pytest.mark.asyncio(loop_scope="module")


#: the spec's templates for the requests the adapter sends to Meta: the group node and the
#: phone number node match the same URLs, so each request is judged by its own template
TEMPLATES = {
    "group": "/{Version}/{group_id}",
    "number": "/{Version}/{Phone-Number-ID}",
    "profile": "/{Version}/{Phone-Number-ID}/whatsapp_business_profile",
}


@functools.cache
def contract(template: str) -> OpenApiContract:
    return OpenApiContract(SPEC, paths=[template], binary_parts=True)


def template_of(request: GraphRequest, phone_number_id: str) -> str:
    if request.path.endswith("/whatsapp_business_profile"):
        return TEMPLATES["profile"]
    if request.path == f"/v23.0/{phone_number_id}":
        return TEMPLATES["number"]
    return TEMPLATES["group"]


def conformable(request: GraphRequest) -> GraphRequest:
    """The request as the spec can judge it: a multipart Content-Type without its boundary."""
    bare = request.content_type.split(";")[0]
    return replace(request, headers={**request.headers, "content-type": bare})


@pytest_asyncio.fixture(loop_scope="module")
async def start(stage: tuple[Stage, str]) -> AsyncIterator[Start]:
    app, url = stage
    fakes: list[FakeGraph] = []
    async with AsyncExitStack() as stack:

        async def _start(**overrides: Any) -> tuple[FakeGraph, CloudApiProvider]:
            flavor = overrides.get("flavor", "meta")
            fake = FakeGraph(flavor=flavor, token=TOKEN, app_secret=APP_SECRET, groups={GROUP})
            fake.confirming = "held"
            app.app = fake.app
            values: dict[str, Any] = {
                "kind": "cloudapi",
                "base_url": url,
                "webhook_secret": HOOK_SECRET,
                "timeout_seconds": 2.0,
            }
            if flavor == "meta":
                values |= {
                    "access_token": TOKEN,
                    "phone_number_id": fake.phone_number_id,
                    "app_id": fake.app_id,
                    "app_secret": APP_SECRET,
                }
            else:
                values |= {"api_key": TOKEN}
            provider = create_provider("meta", CloudApiSettings.model_validate(values | overrides))
            assert isinstance(provider, CloudApiProvider)
            stack.push_async_callback(provider.aclose)
            fakes.append(fake)
            return fake, provider

        yield _start
    app.app = None
    for fake in fakes:
        assert not [r for r in fake.requests if r.method == "DELETE"], "DELETE deletes a group"
        if fake.flavor == "meta" and SPEC.exists():
            for request in fake.requests:
                if not any(step in request.path for step in UPLOAD_STEPS):
                    template = template_of(request, fake.phone_number_id)
                    contract(template).assert_conforms(conformable(request))


def assert_failure(result: PictureResult, kind: FailureKind, reason: str) -> None:
    assert (result.ok, result.kind, result.reason) == (False, kind, reason), result


async def test_a_group_picture_is_accepted_and_confirmed_later(start: Start):
    fake, provider = await start()
    result = await provider.set_group_picture(GROUP, PICTURE)
    [accepted] = fake.accepted
    assert result.ok and result.awaited is not None
    assert result.awaited.request_id == accepted.request_id
    assert result.awaited.within_seconds == 120
    [sent] = fake.requests
    assert (sent.method, sent.path) == ("POST", f"/v23.0/{GROUP}")
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent.content_type.startswith("multipart/form-data")
    with Image.open(io.BytesIO(accepted.jpeg)) as image:
        assert (image.format, image.size) == ("JPEG", (640, 640))
    assert fake.pictures == {}  # nothing shows before WhatsApp confirms


async def test_removal_and_reading_are_not_offered_and_send_nothing(start: Start):
    fake, provider = await start()
    assert not provider.can(Capability.DELETE_GROUP) and not provider.can(Capability.GET_GROUP)
    removal = await provider.delete_group_picture(GROUP)
    assert removal.kind is FailureKind.NOT_SUPPORTED
    assert fake.requests == [] and fake.deleted_groups == []


@pytest.mark.parametrize(
    "code, kind, reason",
    [
        (131209, FailureKind.BAD_IMAGE, "WhatsApp refused the picture: it must be square (131209)"),
        (
            131210,
            FailureKind.BAD_IMAGE,
            "WhatsApp refused the picture: it is too small, at least 192 px (131210)",
        ),
        (
            131215,
            FailureKind.NOT_ALLOWED,
            "this phone number may not use WhatsApp's Groups API: it needs an Official"
            " Business Account (131215)",
        ),
        (
            131208,
            FailureKind.RATE_LIMITED,
            "WhatsApp refuses more group changes from this number for now (131208): wait a few"
            " minutes, then try again",
        ),
        (
            190,
            FailureKind.AUTH,
            "Meta refused the access token: it expired or was revoked (190); make a new system"
            " user token",
        ),
        (
            131041,
            FailureKind.NOT_FOUND,
            f"WhatsApp does not know group {GROUP}, or the business is not in it (131041)",
        ),
        (
            80007,
            FailureKind.RATE_LIMITED,
            "Meta is rate-limiting this app or number (80007): the bot tries again later",
        ),
    ],
)
async def test_each_graph_error_code_has_its_own_sentence(start: Start, code, kind, reason):
    fake, provider = await start()
    fake.fail_next(code)
    result = await provider.set_group_picture(GROUP, PICTURE)
    assert_failure(result, kind, reason)
    assert TOKEN not in repr(result)


async def test_a_rate_limit_says_when_access_comes_back(start: Start):
    fake, provider = await start()
    fake.fail_next(4, is_transient=True)
    result = await provider.set_group_picture(GROUP, PICTURE)
    assert result.kind is FailureKind.RATE_LIMITED and result.retry_after is None
    usage = {"102290129340398": [{"type": "whatsapp", "estimated_time_to_regain_access": 2}]}
    fake.fail_next(130429, headers={"x-business-use-case-usage": json.dumps(usage)})
    result = await provider.set_group_picture(GROUP, PICTURE)
    assert result.kind is FailureKind.RATE_LIMITED and result.retry_after == 120


async def test_an_app_group_id_is_refused_saying_why(start: Start):
    _, provider = await start()
    assert provider.check_group_id("120363043968066561@g.us") == NOT_A_CLOUD_GROUP
    assert provider.check_group_id(GROUP) is None
    assert provider.check_group_id("not a group!") is not None


async def test_the_own_picture_goes_through_the_resumable_upload(start: Start):
    fake, provider = await start()
    result = await provider.set_own_picture(PICTURE)
    assert result.ok and result.url == fake.profile_url
    assert fake.pictures["own"] == PICTURE.jpeg
    session, upload, profile, read = fake.requests
    assert (session.method, session.path) == ("POST", f"/v23.0/{fake.app_id}/uploads")
    assert dict(session.query) == {
        "file_name": "avatar.jpg",
        "file_length": str(len(PICTURE.jpeg)),
        "file_type": "image/jpeg",
    }
    assert upload.path.startswith("/v23.0/upload:") and upload.headers["file_offset"] == "0"
    assert upload.headers["authorization"] == f"OAuth {TOKEN}" and upload.body == PICTURE.jpeg
    assert profile.path == f"/v23.0/{fake.phone_number_id}/whatsapp_business_profile"
    assert json.loads(profile.body)["profile_picture_handle"].startswith("4:upload:")
    assert (read.method, dict(read.query)) == ("GET", {"fields": "profile_picture_url"})
    assert (await provider.get_own_picture()).url == fake.profile_url


async def test_check_asks_the_phone_numbers_details(start: Start):
    fake, provider = await start()
    fine = await provider.check()
    assert fine.ok and fine.reason == (
        "the token works and +1 555-000-0000 may use WhatsApp's Groups API"
    )
    fake.official = False
    assert_failure(
        await provider.check(),
        FailureKind.NOT_ALLOWED,
        "the token works, but +1 555-000-0000 is not an Official Business Account, which"
        " WhatsApp's Groups API needs",
    )
    fake.fail_next(190)
    assert (await provider.check()).kind is FailureKind.AUTH
    assert {r.path for r in fake.requests} == {f"/v23.0/{fake.phone_number_id}"}


async def test_360dialog_speaks_its_own_paths_and_header(start: Start):
    fake, provider = await start(flavor="360dialog")
    result = await provider.set_group_picture(GROUP, PICTURE)
    assert result.awaited is not None
    own = await provider.set_own_picture(PICTURE)
    assert own.ok and own.url == fake.profile_url
    assert [r.path.split(":")[0] for r in fake.requests] == [
        f"/groups/{GROUP}",
        "/uploads",
        "/upload",
        "/whatsapp_business_profile",
        "/whatsapp_business_profile",
    ]
    assert all(r.headers["d360-api-key"] == TOKEN for r in fake.requests)
    assert all("authorization" not in r.headers for r in fake.requests)


def signed(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"x-hub-signature-256": f"sha256={digest}"}


async def test_webhooks_are_read_only_when_signed_and_say_each_outcome(start: Start):
    fake, provider = await start()
    await provider.set_group_picture(GROUP, PICTURE)
    accepted = fake.accepted[0]
    good = fake.settings_update(accepted, ok=True)
    bad = fake.settings_update(accepted, ok=False, error=131210)
    assert provider.webhook_authentic(signed(good), good)
    assert not provider.webhook_authentic(signed(good, "another-secret"), good)
    assert not provider.webhook_authentic({}, good)
    assert not provider.webhook_authentic(signed(good), good + b" ")
    [confirmed] = provider.read_webhook(good)
    assert confirmed.request_id == accepted.request_id and confirmed.result.ok
    [failed] = provider.read_webhook(bad)
    assert failed.result.kind is FailureKind.BAD_IMAGE
    assert failed.result.reason == (
        "WhatsApp refused the picture: it is too small, at least 192 px (131210)"
    )
    other_field = json.dumps(
        {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "x"}]}]}
    ).encode()
    assert provider.read_webhook(other_field) == []
    for unreadable in (b"not json", b"[]", b'{"object": "page", "entry": []}'):
        with pytest.raises(ValueError):
            provider.read_webhook(unreadable)


async def test_metas_verification_echoes_the_challenge_only_for_our_token(start: Start):
    _, provider = await start()
    asked = {
        "hub.mode": "subscribe",
        "hub.verify_token": HOOK_SECRET,
        "hub.challenge": "1158201444",
    }
    assert provider.webhook_challenge(asked) == "1158201444"
    assert provider.webhook_challenge({**asked, "hub.verify_token": "wrong-secret-123456"}) is None
    assert provider.webhook_challenge({**asked, "hub.mode": "unsubscribe"}) is None


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"webhook_secret": "short"}, "at least 16 characters"),
        ({"webhook_secret": "has spaces in it, sadly"}, "at least 16 characters"),
        ({"app_secret": None}, "flavor meta needs app_secret"),
        ({"api_version": "23"}, "must look like v23.0"),
        ({"phone_number_id": "+1555"}, "digits only"),
    ],
)
async def test_settings_say_what_is_missing(change, problem):
    values = {
        "kind": "cloudapi",
        "access_token": TOKEN,
        "phone_number_id": "106540352242922",
        "app_secret": APP_SECRET,
        "webhook_secret": HOOK_SECRET,
    } | change
    with pytest.raises(ValueError, match=problem):
        CloudApiSettings.model_validate(values)


async def test_the_cloud_api_needs_the_bots_public_url_for_its_confirmations():
    raw = {
        "telegram": {"token": "123:tg"},
        "owners": [1],
        "providers": {
            "meta": {
                "kind": "cloudapi",
                "access_token": TOKEN,
                "phone_number_id": "106540352242922",
                "app_secret": APP_SECRET,
                "webhook_secret": HOOK_SECRET,
            }
        },
        "groups": {"shop": {"provider": "meta", "chat_id": "120363043968066561@g.us"}},
    }
    with pytest.raises(ConfigError) as refused:
        create_providers(parse_config(raw, {}))
    assert str(refused.value).splitlines() == [
        f"groups.shop.chat_id: {NOT_A_CLOUD_GROUP}",
        "providers.meta: WhatsApp Cloud API confirms changes through a webhook at"
        " server.public_url/hooks/meta/<webhook_secret>; set server.public_url",
    ]
    secrets = parse_config(raw, {}).secrets()
    assert {TOKEN, APP_SECRET, HOOK_SECRET} <= set(secrets)  # masked in the logs


async def test_360dialog_without_an_app_secret_trusts_its_secret_url_alone(start: Start):
    _, provider = await start(flavor="360dialog")
    assert provider.webhook_authentic({}, b"{}")


async def test_rate_limits_are_tried_again_with_back_off_until_accepted(start: Start):
    fake, provider = await start()
    fake.fail_next(131208)
    fake.fail_next(4, is_transient=True)
    policy = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05)
    attempted = await with_retries(lambda: provider.set_group_picture(GROUP, PICTURE), policy)
    assert attempted.attempts == 3
    assert attempted.result.awaited is not None
    assert len(fake.accepted) == 1
    fake.fail_next(131209)  # a refused picture is not tried again
    refused = await with_retries(lambda: provider.set_group_picture(GROUP, PICTURE), policy)
    assert refused.attempts == 1 and refused.result.kind is FailureKind.BAD_IMAGE
