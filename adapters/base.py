"""The provider seam: what every WhatsApp provider adapter offers and returns.

An adapter never raises for a provider's "no": it returns a `PictureResult` whose `reason` is
plain words for a person and whose `kind` is what the bot decides on. It raises only for bugs.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr


class Capability(enum.Flag):
    """What a provider can do with pictures."""

    NONE = 0
    SET_GROUP = enum.auto()
    DELETE_GROUP = enum.auto()
    GET_GROUP = enum.auto()
    SET_OWN = enum.auto()
    DELETE_OWN = enum.auto()
    GET_OWN = enum.auto()
    #: the provider downloads the picture from a public URL instead of taking the bytes
    NEEDS_PUBLIC_URL = enum.auto()


class FailureKind(str, enum.Enum):
    NOT_SUPPORTED = "not_supported"  # the provider has no such operation
    NOT_ALLOWED = "not_allowed"  # WhatsApp/the provider refuses this account this change
    NOT_FOUND = "not_found"  # unknown group, session or device
    BAD_IMAGE = "bad_image"  # the provider or WhatsApp refused the picture
    RATE_LIMITED = "rate_limited"  # try again later (see retry_after)
    UNAVAILABLE = "unavailable"  # timeouts, connection errors, 502/503/504, unreadable answers
    #: the provider failed and gave no sign that trying again helps (HTTP 500, no reason given)
    PROVIDER_ERROR = "provider_error"
    AUTH = "auth"  # our credentials, or the WhatsApp session needs a new login
    BAD_REQUEST = "bad_request"  # the provider rejected the request itself


@dataclass(frozen=True)
class PreparedPicture:
    """A picture WhatsApp accepts: a square baseline RGB JPEG of at most 640 px and 100 KB."""

    jpeg: bytes
    side: int
    #: set for providers with NEEDS_PUBLIC_URL: where the provider can download `jpeg`
    public_url: str | None = None

    content_type: ClassVar[str] = "image/jpeg"
    filename: ClassVar[str] = "avatar.jpg"

    def with_public_url(self, url: str) -> PreparedPicture:
        return replace(self, public_url=url)


@dataclass(frozen=True)
class Awaited:
    """A change the provider accepted and confirms later (Meta's Cloud API, by a webhook)."""

    request_id: str
    #: how long to wait for the confirmation before saying it did not come
    within_seconds: float


@dataclass(frozen=True)
class PictureResult:
    ok: bool
    #: the avatar URL, when the provider tells it
    url: str | None = None
    #: plain words for a person (why it failed, or a remark on a success)
    reason: str | None = None
    kind: FailureKind | None = None
    #: seconds to wait before trying again, when the provider says so
    retry_after: float | None = None
    #: the picture itself, for a provider that has no URL to show (a Telegram chat's photo)
    image: bytes | None = None
    #: accepted, and the outcome comes later (`ok` is True until then)
    awaited: Awaited | None = None

    @classmethod
    def success(
        cls, url: str | None = None, note: str | None = None, image: bytes | None = None
    ) -> PictureResult:
        return cls(ok=True, url=url or None, reason=note, image=image)

    @classmethod
    def accepted(cls, request_id: str, within_seconds: float) -> PictureResult:
        return cls(ok=True, awaited=Awaited(request_id, within_seconds))

    @classmethod
    def failure(
        cls, kind: FailureKind, reason: str, retry_after: float | None = None
    ) -> PictureResult:
        return cls(ok=False, kind=kind, reason=reason, retry_after=retry_after)


@dataclass(frozen=True)
class Confirmation:
    """What a provider's webhook says of a change it accepted earlier (`PictureResult.awaited`)."""

    request_id: str
    result: PictureResult


@dataclass(frozen=True)
class PictureEvent:
    """A provider's webhook says a group's picture may have changed outside the bot (the bot
    then reads it, as watching does: bot/watch.py)."""

    chat_id: str


#: what one webhook body says
Said = Confirmation | PictureEvent


class UnreadableWebhook(ValueError):
    """A webhook body this provider does not send (answered 400)."""


def webhook_json(body: bytes) -> dict[str, Any]:
    """A webhook's body as the JSON object every provider sends; `UnreadableWebhook` else."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UnreadableWebhook("not JSON") from None
    if not isinstance(payload, dict):
        raise UnreadableWebhook("not a JSON object")
    return payload


def event_secret(settings: EventSettings) -> str | None:
    """`webhook_secret()` of a provider whose webhook tells of pictures changed outside."""
    secret = settings.webhook_secret
    return secret.get_secret_value() if secret is not None else None


_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{16,}")


def _webhook_secret(value: SecretStr) -> SecretStr:
    if not _WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
        raise ValueError("must be at least 16 characters of A-Z a-z 0-9 _ -")
    return value


#: the last path segment of a provider's webhook URL (/hooks/<provider>/<secret>)
WebhookSecret = Annotated[SecretStr, AfterValidator(_webhook_secret)]


class ProviderSettings(BaseModel):
    """Base of every adapter's config model (one `providers.<name>` entry of config.yaml)."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    #: seconds to wait for one provider answer
    timeout_seconds: float = Field(default=60.0, gt=0)
    #: the account's pace: minimum seconds between two group picture changes (Green API's
    #: limiter allows one a second) and between two changes of its own picture (WhatsApp:
    #: one every 10 s, "rate-overlimit" otherwise)
    group_interval_seconds: float = Field(default=1.0, ge=0)
    own_interval_seconds: float = Field(default=10.0, ge=0)
    #: what the bot does about the account's own picture changed outside it, when `watch:` is
    #: on and the provider can read it (bot/watch.py; bot/domain.py `Guard` names the same)
    guard: Literal["notify", "restore", "off"] = "notify"


class EventSettings(ProviderSettings):
    """A provider that can tell of pictures changed outside the bot through its webhook."""

    #: the last segment of the webhook URL to add at the provider; absent: it sends none
    webhook_secret: WebhookSecret | None = None


class Provider:
    """Base class of the adapters. Every operation defaults to "this provider cannot"."""

    #: the `kind:` value in config.yaml
    kind: ClassVar[str]
    #: the name people read ("Green API")
    label: ClassVar[str]
    settings_model: ClassVar[type[ProviderSettings]]
    capabilities: ClassVar[Capability] = Capability.NONE

    def __init__(self, name: str, settings: ProviderSettings) -> None:
        self.name = name
        self.settings = settings

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def check_group_id(self, chat_id: str) -> str | None:
        """Say what is wrong with a group id for this provider, or None when it is well formed."""
        return None

    async def check_group(self, group_id: str) -> PictureResult | None:
        """Whether this account may change that group's picture now, where the provider tells
        it cheaply (`check` and `/groups` say it per group); None when it cannot tell."""
        return None

    def _cannot(self, what: str) -> PictureResult:
        return PictureResult.failure(FailureKind.NOT_SUPPORTED, f"{self.label} cannot {what}")

    async def set_group_picture(self, group_id: str, picture: PreparedPicture) -> PictureResult:
        return self._cannot("set a group picture")

    async def delete_group_picture(self, group_id: str) -> PictureResult:
        return self._cannot("remove a group picture")

    async def get_group_picture(self, group_id: str) -> PictureResult:
        return self._cannot("show a group picture")

    async def watch_group_picture(self, group_id: str) -> PictureResult:
        """The group's picture as WhatsApp has it now, for watching (bot/watch.py): where the
        provider caches what `get_group_picture` shows, past its cache."""
        return await self.get_group_picture(group_id)

    async def set_own_picture(self, picture: PreparedPicture) -> PictureResult:
        return self._cannot("set the account's own picture")

    async def delete_own_picture(self) -> PictureResult:
        return self._cannot("remove the account's own picture")

    async def get_own_picture(self) -> PictureResult:
        return self._cannot("show the account's own picture")

    async def check(self) -> PictureResult:
        """Ask the provider something harmless: is it there, and are we authorised?"""
        return PictureResult.success(note="nothing to check")

    # webhooks: POST/GET /hooks/<provider name>/<secret> (bot/hooks.py) -----------------------

    def webhook_secret(self) -> str | None:
        """The secret last segment of this provider's webhook URL; None: it sends none."""
        return None

    def webhook_challenge(self, query: Mapping[str, str]) -> str | None:
        """The answer to a GET that verifies the webhook URL; None refuses it (403)."""
        return None

    def webhook_authentic(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Whether a POST comes from the provider (a signature), beyond the secret URL."""
        return True

    def read_webhook(self, body: bytes) -> Sequence[Said]:
        """What a webhook body says; raises `UnreadableWebhook` for a body it does not send."""
        raise UnreadableWebhook(f"{self.label} sends no webhooks")

    async def aclose(self) -> None:
        """Release network clients; called once at shutdown."""
