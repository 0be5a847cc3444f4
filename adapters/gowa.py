"""GOWA (aldinokemal/go-whatsapp-web-multidevice): group photos and the account's own avatar.

GOWA answers `{"code", "message", "results"}`. Nearly every WhatsApp-side refusal is HTTP 500
with whatsmeow's error text as `message`, so that text is what tells a non-admin from a rate
limit or a refused image.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from pydantic import SecretStr, field_validator, model_validator

from adapters.base import (
    Capability,
    FailureKind,
    PictureResult,
    PreparedPicture,
    Provider,
    ProviderSettings,
)
from adapters.http import (
    ProviderHttp,
    ProviderUnreachable,
    Reply,
    common_failure,
    returns_result,
    unreadable,
)
from adapters.whatsapp import whatsapp_group_id_problem, whatsapp_refusal

LOGGED_OUT = "the WhatsApp session is logged out: scan a new QR code in GOWA"
NO_PICTURE = "no picture set"
HIDDEN_PICTURE = "WhatsApp's privacy settings hide this picture from the account GOWA uses"

#: `message` words of a 401 from a session that needs a new login (other 401s: Basic auth)
_LOGGED_OUT_WORDS = ("not logged in", "not connect")
#: `message` words of a GET /user/avatar 500 that are an answer, not a failure
_NO_PICTURE_WORDS = ("does not have a profile picture", "no avatar found")
_HIDDEN_WORDS = ("hidden their profile picture",)


class GowaSettings(ProviderSettings):
    kind: Literal["gowa"]
    #: GOWA's address, with the APP_BASE_PATH prefix when it has one (http://host:3000/wa)
    base_url: str
    #: HTTP Basic, as in GOWA's APP_BASIC_AUTH=user:pass; both or neither
    username: str | None = None
    password: SecretStr | None = None
    #: sent as X-Device-Id; needed when several devices are registered
    device_id: str | None = None
    #: the account's own JID (6281234567890@s.whatsapp.net), to read its own picture
    own_jid: str | None = None

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _both_credentials(self) -> GowaSettings:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together (GOWA's APP_BASIC_AUTH=user:pass)")
        return self


class GowaProvider(Provider):
    kind = "gowa"
    label = "GOWA"
    settings_model = GowaSettings
    capabilities = (
        Capability.SET_GROUP
        | Capability.DELETE_GROUP
        | Capability.GET_GROUP
        | Capability.SET_OWN
        | Capability.GET_OWN
    )
    settings: GowaSettings

    def __init__(self, name: str, settings: GowaSettings) -> None:
        super().__init__(name, settings)
        # GOWA URL-decodes X-Device-Id, so any id travels safely percent-encoded
        headers = (
            {"X-Device-Id": quote(settings.device_id, safe="")} if settings.device_id else None
        )
        auth = None
        if settings.username is not None and settings.password is not None:
            auth = (settings.username, settings.password.get_secret_value())
        self._http = ProviderHttp(
            self.label, settings.base_url, settings.timeout_seconds, headers=headers, auth=auth
        )

    def can(self, capability: Capability) -> bool:
        """GET_OWN needs `own_jid`: GOWA reads any avatar by JID, its own included."""
        if Capability.GET_OWN in capability and not self.settings.own_jid:
            return False
        return super().can(capability)

    def check_group_id(self, chat_id: str) -> str | None:
        return whatsapp_group_id_problem(chat_id)

    @returns_result
    async def set_group_picture(self, group_id: str, picture: PreparedPicture) -> PictureResult:
        await self._post_form(
            "/group/photo", {"group_id": group_id}, upload=("photo", picture), group_id=group_id
        )
        return await self._changed(group_id)

    @returns_result
    async def delete_group_picture(self, group_id: str) -> PictureResult:
        await self._post_form("/group/photo", {"group_id": group_id}, group_id=group_id)
        return PictureResult.success()

    async def get_group_picture(self, group_id: str) -> PictureResult:
        return await self._avatar(group_id)

    @returns_result
    async def set_own_picture(self, picture: PreparedPicture) -> PictureResult:
        # always our 640 px JPEG: GOWA crops a larger own avatar to its middle 640 px
        await self._post_form("/user/avatar", {}, upload=("avatar", picture))
        return await self._changed(self.settings.own_jid)

    async def get_own_picture(self) -> PictureResult:
        if not self.settings.own_jid:
            return self._cannot("show the account's own picture until own_jid is set in its config")
        return await self._avatar(self.settings.own_jid)

    @returns_result
    async def check(self) -> PictureResult:
        """GET /app/status: goes through GOWA's auth and device checks, and tells the login."""
        results = _results(await self._call("GET", "/app/status"))
        if results.get("is_logged_in") is False:
            return PictureResult.failure(FailureKind.AUTH, LOGGED_OUT)
        device = results.get("device_id") or self.settings.device_id
        where = f" (device {device})" if device else ""
        return PictureResult.success(note=f"GOWA answers and WhatsApp is logged in{where}")

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- plumbing ---------------------------------------------------------------------------

    async def _call(
        self, method: str, path: str, *, group_id: str | None = None, **request: Any
    ) -> Reply:
        """One request; its JSON 2xx answer, or `ProviderUnreachable` with the failure."""
        return self._ok(await self._http.request(method, path, **request), group_id)

    def _ok(self, reply: Reply, group_id: str | None = None) -> Reply:
        if 200 <= reply.status < 300 and reply.is_json:
            return reply
        raise ProviderUnreachable(self._failure(reply, group_id))

    async def _post_form(
        self,
        path: str,
        fields: dict[str, str],
        *,
        upload: tuple[str, PreparedPicture] | None = None,
        group_id: str | None = None,
    ) -> Reply:
        """POST multipart/form-data, even with no file (GOWA removes a group photo that way)."""
        parts: dict[str, Any] = {name: (None, value) for name, value in fields.items()}
        if upload is not None:
            name, picture = upload
            parts[name] = (picture.filename, picture.jpeg, picture.content_type)
        return await self._call("POST", path, group_id=group_id, files=parts)

    @returns_result
    async def _avatar(self, jid: str) -> PictureResult:
        """GET /user/avatar. "No picture" and "hidden by privacy" come as 500s: both are answers."""
        reply = await self._http.request(
            "GET", "/user/avatar", params={"phone": jid, "is_preview": "false"}
        )
        if reply.status == 500:
            said = _message(reply).lower()
            if any(words in said for words in _NO_PICTURE_WORDS):
                return PictureResult.success(note=NO_PICTURE)
            if any(words in said for words in _HIDDEN_WORDS):
                return PictureResult.success(note=HIDDEN_PICTURE)
        url = _results(self._ok(reply)).get("url")
        if isinstance(url, str) and url:
            return PictureResult.success(url)
        return PictureResult.success(note=NO_PICTURE)

    async def _changed(self, jid: str | None) -> PictureResult:
        """Success of a change, with the new avatar URL when GOWA can tell it."""
        if not jid:
            return PictureResult.success()
        current = await self._avatar(jid)
        if current.url:
            return PictureResult.success(current.url)
        return PictureResult.success(
            note=f"the picture was changed, but its new URL could not be read: {current.reason}"
        )

    def _failure(self, reply: Reply, group_id: str | None) -> PictureResult:
        """Plain words for an answer that is not a JSON 2xx."""
        said = self._quote(_message(reply))
        if reply.status == 401:
            return self._unauthorised(said)
        if not reply.is_json:
            if reply.status == 404:
                return PictureResult.failure(
                    FailureKind.NOT_FOUND,
                    "GOWA has no such endpoint at base_url (HTTP 404): check base_url,"
                    " including the APP_BASE_PATH prefix when GOWA has one",
                )
            return unreadable(self.label, reply)
        code = reply.get("code")
        if code == "DEVICE_ID_REQUIRED":
            return PictureResult.failure(
                FailureKind.BAD_REQUEST, "several devices are registered in GOWA: set device_id"
            )
        if code == "DEVICE_NOT_FOUND":
            device = _results(reply).get("device_id") or self.settings.device_id
            return PictureResult.failure(
                FailureKind.NOT_FOUND,
                f"GOWA has no device {device!r}: check device_id (GOWA lists them at /app/devices)",
            )
        if code == "INVALID_IMAGE_FORMAT":
            return PictureResult.failure(FailureKind.BAD_IMAGE, f"GOWA refused the picture: {said}")
        if code == "VALIDATION_ERROR":
            return PictureResult.failure(
                FailureKind.BAD_REQUEST, f"GOWA rejected the request: {said}"
            )
        if reply.status in (408, 504):
            return PictureResult.failure(
                FailureKind.UNAVAILABLE,
                f"WhatsApp did not answer GOWA in time (HTTP {reply.status}); try again",
            )
        if reply.status == 500:
            return self._whatsapp_refusal(said, group_id)
        return common_failure(self.label, reply)

    def _unauthorised(self, said: str) -> PictureResult:
        """401 comes from Basic auth (plain text), or from a session that is not logged in."""
        if any(words in said.lower() for words in _LOGGED_OUT_WORDS):
            return PictureResult.failure(FailureKind.AUTH, LOGGED_OUT)
        if self.settings.username is None:
            words = "GOWA wants a username and password (HTTP 401): set username/password"
        else:
            words = "GOWA refused our credentials (HTTP 401): check username/password"
        return PictureResult.failure(FailureKind.AUTH, words)

    def _whatsapp_refusal(self, said: str, group_id: str | None) -> PictureResult:
        """A 500: whatsmeow's error text is the only clue to what WhatsApp refused."""
        refusal = whatsapp_refusal(said, group_id)
        if refusal is not None:
            return refusal
        lowered = said.lower()
        if "not a valid image" in lowered:
            return PictureResult.failure(
                FailureKind.BAD_IMAGE, "WhatsApp refused the image (not a valid image)"
            )
        if "decode image" in lowered or "cannot be compressed" in lowered:
            return PictureResult.failure(
                FailureKind.BAD_IMAGE, f"GOWA could not process the image: {said}"
            )
        return PictureResult.failure(
            FailureKind.PROVIDER_ERROR, f"GOWA had an internal error (HTTP 500): {said}"
        )

    def _quote(self, message: str) -> str:
        """GOWA's words, short and on one line, quoted; never with our password in them."""
        text = " ".join(message.split())
        if self.settings.password is not None and self.settings.password.get_secret_value():
            text = text.replace(self.settings.password.get_secret_value(), "***")
        if len(text) > 120:
            text = text[:119] + "…"
        return f'"{text}"' if text else "(no message)"


def _message(reply: Reply) -> str:
    message = reply.get("message")
    return message if isinstance(message, str) else reply.text


def _results(reply: Reply) -> dict[str, Any]:
    results = reply.get("results")
    return results if isinstance(results, dict) else {}
