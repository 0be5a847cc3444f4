"""The WhatsApp Business Cloud API: Meta's Graph API (`flavor: meta`) or 360dialog's relay of it.

Only groups the business created through the API exist here; their ids are the API's own opaque
ids, not `@g.us`. Setting a group's picture is a multipart POST to the group node that WhatsApp
only *accepts* (`request_id`): the outcome comes later in a `group_settings_update` webhook, so
the adapter answers `PictureResult.accepted` and reads that webhook (`read_webhook`). There is no
removal and no read of a group's picture, and `DELETE /{group_id}` deletes the whole group: this
module never sends a DELETE. The account's own picture goes through the resumable upload.

Errors come in Graph's envelope `{"error": {"code", "error_subcode", "message", "fbtrace_id"}}`
and are told apart by `code`, never by the message (Meta's advice). 360dialog answers some of its
own errors as plain bodies (400 "You have exceeded the endpoint rate limit").
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal
from urllib.parse import quote

from pydantic import SecretStr, field_validator, model_validator

from adapters.base import (
    Capability,
    Confirmation,
    FailureKind,
    PictureResult,
    PreparedPicture,
    Provider,
    ProviderSettings,
    UnreadableWebhook,
    WebhookSecret,
)
from adapters.http import ProviderHttp, ProviderUnreachable, Reply, common_failure, returns_result

#: the ids Meta returns from group creation: letters and digits (base64 without padding)
_GROUP_ID = re.compile(r"[A-Za-z0-9_-]{8,200}")
GROUP_ID_EXAMPLE = (
    "a Cloud API group id is the id Meta returned when the business created the group,"
    " such as Y2FwaV9ncm91cDoxOTUwNTU1MDA3OToxMjAzNjMzOTQzMjAdOTY0MTUZD"
)
NOT_A_CLOUD_GROUP = (
    "that is a WhatsApp app group (@g.us): the Cloud API manages only groups the business"
    " created through it, named by their Cloud API id"
)
_DEFAULT_URLS = {"meta": "https://graph.facebook.com", "360dialog": "https://waba-v2.360dialog.io"}
_RATE_LIMITS = {4, 80007, 130429, 131056}
_TRANSIENT = {1, 2, 131000, 131016}
#: Graph error code -> (failure kind, plain words); {group} is the group id
_CODES: dict[int, tuple[FailureKind, str]] = {
    131209: (FailureKind.BAD_IMAGE, "WhatsApp refused the picture: it must be square (131209)"),
    131210: (
        FailureKind.BAD_IMAGE,
        "WhatsApp refused the picture: it is too small, at least 192 px (131210)",
    ),
    131215: (
        FailureKind.NOT_ALLOWED,
        "this phone number may not use WhatsApp's Groups API: it needs an Official Business"
        " Account (131215)",
    ),
    131208: (
        FailureKind.RATE_LIMITED,
        "WhatsApp refuses more group changes from this number for now (131208):"
        " wait a few minutes, then try again",
    ),
    190: (
        FailureKind.AUTH,
        "Meta refused the access token: it expired or was revoked (190); make a new system"
        " user token",
    ),
    131041: (
        FailureKind.NOT_FOUND,
        "WhatsApp does not know group {group}, or the business is not in it (131041)",
    ),
    131207: (FailureKind.NOT_ALLOWED, "WhatsApp suspended group {group} (131207)"),
}
_QUOTE_LIMIT = 120
#: the spec makes Content-Type a required header of the business profile's GET too
_JSON = {"Content-Type": "application/json"}


class CloudApiSettings(ProviderSettings):
    kind: Literal["cloudapi"]
    flavor: Literal["meta", "360dialog"] = "meta"
    #: Meta: https://graph.facebook.com; 360dialog: https://waba-v2.360dialog.io
    base_url: str | None = None
    api_version: str = "v23.0"
    #: Meta: a system user token, sent as `Authorization: Bearer`
    access_token: SecretStr | None = None
    #: 360dialog: sent as `D360-API-KEY`
    api_key: SecretStr | None = None
    phone_number_id: str | None = None
    #: Meta: the app that uploads the account's own picture (resumable upload)
    app_id: str | None = None
    #: checks `X-Hub-Signature-256` on the webhooks (required with Meta)
    app_secret: SecretStr | None = None
    #: the webhook URL's last segment, and Meta's `hub.verify_token`
    webhook_secret: WebhookSecret
    #: how long a change waits for WhatsApp's confirmation
    confirm_timeout_seconds: float = 120.0
    own_interval_seconds: float = 10.0

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not re.fullmatch(r"v[0-9]+\.[0-9]+", value):
            raise ValueError("must look like v23.0")
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") if value else value

    @field_validator("phone_number_id", "app_id")
    @classmethod
    def _digits(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[0-9]{1,30}", value):
            raise ValueError("must be the id Meta shows: digits only")
        return value

    @model_validator(mode="after")
    def _flavor_needs(self) -> CloudApiSettings:
        if self.confirm_timeout_seconds <= 0:
            raise ValueError("confirm_timeout_seconds must be more than 0")
        if self.flavor == "meta":
            missing = [
                name
                for name in ("access_token", "phone_number_id", "app_secret")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(f"flavor meta needs {', '.join(missing)}")
        elif self.api_key is None or self.access_token is not None:
            raise ValueError("flavor 360dialog needs api_key (and no access_token)")
        return self


class CloudApiProvider(Provider):
    """Set a group's picture (confirmed by webhook), and the account's own picture."""

    kind: ClassVar[str] = "cloudapi"
    label: ClassVar[str] = "WhatsApp Cloud API"
    settings_model: ClassVar[type[ProviderSettings]] = CloudApiSettings
    capabilities: ClassVar[Capability] = (
        Capability.SET_GROUP | Capability.SET_OWN | Capability.GET_OWN
    )
    settings: CloudApiSettings

    def __init__(self, name: str, settings: CloudApiSettings) -> None:
        super().__init__(name, settings)
        self._meta = settings.flavor == "meta"
        secret = settings.access_token if self._meta else settings.api_key
        assert secret is not None  # the settings' validator
        self._token = secret.get_secret_value()
        self._secrets = [self._token] + [
            value.get_secret_value()
            for value in (settings.app_secret, settings.webhook_secret)
            if value is not None
        ]
        self._auth = (
            {"Authorization": f"Bearer {self._token}"}
            if self._meta
            else {"D360-API-KEY": self._token}
        )
        base = settings.base_url or _DEFAULT_URLS[settings.flavor]
        self._http = ProviderHttp(self.label, base, settings.timeout_seconds, headers=self._auth)
        self._prefix = f"/{settings.api_version}" if self._meta else ""

    def check_group_id(self, chat_id: str) -> str | None:
        if chat_id.endswith("@g.us"):
            return NOT_A_CLOUD_GROUP
        return None if _GROUP_ID.fullmatch(chat_id) else GROUP_ID_EXAMPLE

    @returns_result
    async def set_group_picture(self, group_id: str, picture: PreparedPicture) -> PictureResult:
        reply = await self._call(
            "POST",
            self._group_path(group_id),
            group_id=group_id,
            data={"messaging_product": "whatsapp"},
            files={"file": (picture.filename, picture.jpeg, picture.content_type)},
        )
        request_id = reply.get("request_id")
        if isinstance(request_id, str) and request_id:
            return PictureResult.accepted(request_id, self.settings.confirm_timeout_seconds)
        return PictureResult.success(
            note="WhatsApp accepted the picture without a request id to confirm it by"
        )

    async def delete_group_picture(self, group_id: str) -> PictureResult:
        """The Cloud API has no removal; DELETE /{group_id} would delete the whole group."""
        return self._cannot("remove a group picture (it has no such operation)")

    @returns_result
    async def set_own_picture(self, picture: PreparedPicture) -> PictureResult:
        """The resumable upload: a session, the bytes, then the handle on the profile."""
        if self._meta and self.settings.app_id is None:
            return PictureResult.failure(
                FailureKind.BAD_REQUEST,
                "setting the account's picture through Meta needs app_id in the config",
            )
        uploads = f"{self._prefix}/{self.settings.app_id}/uploads" if self._meta else "/uploads"
        params = {
            "file_name": picture.filename,
            "file_length": str(len(picture.jpeg)),
            "file_type": picture.content_type,
        }
        session = (await self._call("POST", uploads, params=params)).get("id")
        if not isinstance(session, str) or not session.startswith("upload:"):
            return self._undocumented("an upload session")
        auth = {"Authorization": f"OAuth {self._token}"} if self._meta else {}
        upload = await self._call(
            "POST",
            f"{self._prefix}/{quote(session, safe=':')}",
            content=picture.jpeg,
            headers={**auth, "file_offset": "0"},
        )
        handle = upload.get("h")
        if not isinstance(handle, str) or not handle:
            return self._undocumented("an upload handle")
        await self._call(
            "POST",
            self._profile_path(),
            json={"messaging_product": "whatsapp", "profile_picture_handle": handle},
        )
        current = await self.get_own_picture()
        if current.url:
            return PictureResult.success(current.url)
        return PictureResult.success(note="WhatsApp does not tell the new picture's URL yet")

    @returns_result
    async def get_own_picture(self) -> PictureResult:
        reply = await self._call(
            "GET",
            self._profile_path(),
            params={"fields": "profile_picture_url"},
            headers=_JSON,
        )
        data = reply.get("data")
        profile = data[0] if isinstance(data, list) and data else {}
        if isinstance(profile, dict) and isinstance(profile.get("business_profile"), dict):
            profile = profile["business_profile"]
        url = profile.get("profile_picture_url") if isinstance(profile, dict) else None
        if isinstance(url, str) and url:
            return PictureResult.success(url)
        return PictureResult.success(note="no picture set")

    @returns_result
    async def check(self) -> PictureResult:
        """Meta: the phone number's details (the token works; an Official Business Account may
        use groups). 360dialog: the business profile (the key works)."""
        if not self._meta:
            await self._call(
                "GET", self._profile_path(), headers={"Content-Type": "application/json"}
            )
            return PictureResult.success(note="360dialog accepts the API key")
        fields = "display_phone_number,verified_name,is_official_business_account"
        reply = await self._call(
            "GET", f"{self._prefix}/{self.settings.phone_number_id}", params={"fields": fields}
        )
        number = self._clean(str(reply.get("display_phone_number") or "?"))
        if reply.get("is_official_business_account") is not True:
            return PictureResult.failure(
                FailureKind.NOT_ALLOWED,
                f"the token works, but {number} is not an Official Business Account,"
                " which WhatsApp's Groups API needs",
            )
        return PictureResult.success(
            note=f"the token works and {number} may use WhatsApp's Groups API"
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- webhooks ---------------------------------------------------------------------------

    def webhook_secret(self) -> str:
        return self.settings.webhook_secret.get_secret_value()

    def webhook_challenge(self, query: Mapping[str, str]) -> str | None:
        """Meta's verification: hub.mode=subscribe and our verify token; echo hub.challenge."""
        token = query.get("hub.verify_token", "")
        if query.get("hub.mode") != "subscribe" or not hmac.compare_digest(
            token.encode(), self.webhook_secret().encode()
        ):
            return None
        return query.get("hub.challenge")

    def webhook_authentic(self, headers: Mapping[str, str], body: bytes) -> bool:
        """X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body with the app secret>. 360dialog
        without an app secret relies on the secret URL alone."""
        if self.settings.app_secret is None:
            return not self._meta
        key = self.settings.app_secret.get_secret_value().encode()
        expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(
            headers.get("x-hub-signature-256", "").encode(), expected.encode()
        )

    def read_webhook(self, body: bytes) -> list[Confirmation]:
        """The picture outcomes of `group_settings_update` changes; other fields say nothing
        about pictures and give none."""
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise UnreadableWebhook("not JSON") from None
        if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
            raise UnreadableWebhook("not a WhatsApp Business Account webhook")
        entries = payload.get("entry")
        if not isinstance(entries, list):
            raise UnreadableWebhook("not a WhatsApp Business Account webhook")
        found = []
        for entry in entries:
            changes = entry.get("changes") if isinstance(entry, dict) else None
            for change in changes if isinstance(changes, list) else []:
                if isinstance(change, dict) and change.get("field") == "group_settings_update":
                    found += self._confirmations(change.get("value"))
        return found

    def _confirmations(self, value: Any) -> list[Confirmation]:
        groups = value.get("groups") if isinstance(value, dict) else None
        found = []
        for group in groups if isinstance(groups, list) else []:
            if not isinstance(group, dict):
                continue
            request_id, picture = group.get("request_id"), group.get("profile_picture")
            if not isinstance(request_id, str) or not isinstance(picture, dict):
                continue  # a subject or description change: not the bot's
            group_id = str(group.get("group_id") or "?")
            if picture.get("update_successful") is True:
                result = PictureResult.success(note="WhatsApp confirmed the new picture")
            else:
                errors = picture.get("errors") or group.get("errors")
                first = errors[0] if isinstance(errors, list) and errors else {}
                result = self._error(first if isinstance(first, dict) else {}, group_id)
            found.append(Confirmation(request_id, result))
        return found

    # -- plumbing ---------------------------------------------------------------------------

    def _group_path(self, group_id: str) -> str:
        node = quote(group_id, safe="")
        return f"{self._prefix}/{node}" if self._meta else f"/groups/{node}"

    def _profile_path(self) -> str:
        if self._meta:
            return f"{self._prefix}/{self.settings.phone_number_id}/whatsapp_business_profile"
        return "/whatsapp_business_profile"

    async def _call(
        self, method: str, path: str, *, group_id: str | None = None, **request: Any
    ) -> Reply:
        """One request; its 2xx answer, or `ProviderUnreachable` with the failure."""
        reply = await self._http.request(method, path, **request)
        if 200 <= reply.status < 300:
            return reply
        raise ProviderUnreachable(self._failure(reply, group_id))

    def _failure(self, reply: Reply, group_id: str | None) -> PictureResult:
        error = reply.get("error")
        if isinstance(error, dict) and isinstance(error.get("code"), int):
            result = self._error(error, group_id or "?")
            wait = _regain_seconds(reply)
            if result.kind is FailureKind.RATE_LIMITED and wait is not None:
                return PictureResult.failure(result.kind, result.reason or "", wait)
            return result
        said = self._clean(reply.text)
        if reply.status == 400 and "rate limit" in said.lower():  # 360dialog's own
            return PictureResult.failure(
                FailureKind.RATE_LIMITED, f"360dialog is rate-limiting us: {said}"
            )
        if reply.status == 401:
            return PictureResult.failure(
                FailureKind.AUTH, f"{self.label} refused our credentials (HTTP 401)"
            )
        return common_failure(self.label, reply)

    def _error(self, error: Mapping[str, Any], group: str) -> PictureResult:
        """Plain words for one Graph error object (an HTTP answer's, or a webhook's)."""
        code = error.get("code")
        said = self._clean(str(error.get("message") or error.get("title") or ""))
        if isinstance(code, int) and code in _CODES:
            kind, words = _CODES[code]
            return PictureResult.failure(kind, words.format(group=group))
        if code in _RATE_LIMITS:
            return PictureResult.failure(
                FailureKind.RATE_LIMITED,
                f"Meta is rate-limiting this app or number ({code}): the bot tries again later",
            )
        if code in _TRANSIENT or error.get("is_transient") is True:
            return PictureResult.failure(
                FailureKind.UNAVAILABLE, f"WhatsApp had a passing problem ({code}): {said}"
            )
        if code in (3, 10) or (isinstance(code, int) and 200 <= code <= 299):
            return PictureResult.failure(
                FailureKind.NOT_ALLOWED,
                f"the token lacks a permission this needs ({code}): {said}",
            )
        return PictureResult.failure(
            FailureKind.BAD_REQUEST, f"WhatsApp refused the request ({code}): {said}"
        )

    def _undocumented(self, what: str) -> PictureResult:
        return PictureResult.failure(
            FailureKind.UNAVAILABLE, f"{self.label} answered without {what}"
        )

    def _clean(self, text: str) -> str:
        text = " ".join(text.split())
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text[: _QUOTE_LIMIT - 1] + "…" if len(text) > _QUOTE_LIMIT else text


def _regain_seconds(reply: Reply) -> float | None:
    """Seconds until Meta lets calls through again: `Retry-After`, or the longest
    `estimated_time_to_regain_access` (minutes) of `x-business-use-case-usage`."""
    wait = reply.retry_after()
    if wait is not None:
        return wait
    try:
        usage = json.loads(reply.headers.get("x-business-use-case-usage", ""))
    except json.JSONDecodeError:
        return None
    minutes = [
        item.get("estimated_time_to_regain_access")
        for items in (usage.values() if isinstance(usage, dict) else [])
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, dict)
    ]
    known = [m for m in minutes if isinstance(m, int | float) and m > 0]
    return max(known) * 60 if known else None
