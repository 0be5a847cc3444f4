"""Wasend (wasend.dev): group pictures by public URL, which Wasend's servers download.

Wasend is very probably a hosted WAHA: its paths mirror WAHA's without the `/api` prefix.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, SecretStr

from adapters.base import (
    Capability,
    FailureKind,
    PictureResult,
    PreparedPicture,
    Provider,
    ProviderSettings,
)
from adapters.http import ProviderHttp, Reply, common_failure, returns_result, unreadable
from adapters.waha_sessions import NEEDS_LOGIN as _NEEDS_LOGIN
from adapters.waha_sessions import path_segment as _segment
from adapters.whatsapp import whatsapp_group_id_problem

_QUOTE_LIMIT = 150


class WasendSettings(ProviderSettings):
    kind: Literal["wasend"]
    base_url: str = "https://api.wasend.dev"
    api_key: SecretStr = Field(min_length=1)
    #: the session's `uniqueSessionId`
    session_id: str


class WasendProvider(Provider):
    """Set, remove and show group pictures through Wasend (no own-picture endpoints)."""

    kind: ClassVar[str] = "wasend"
    label: ClassVar[str] = "Wasend"
    settings_model: ClassVar[type[ProviderSettings]] = WasendSettings
    capabilities: ClassVar[Capability] = (
        Capability.SET_GROUP
        | Capability.DELETE_GROUP
        | Capability.GET_GROUP
        | Capability.NEEDS_PUBLIC_URL
    )

    def __init__(self, name: str, settings: WasendSettings) -> None:
        super().__init__(name, settings)
        self._session_id = settings.session_id
        self._api_key = settings.api_key.get_secret_value()
        self._http = ProviderHttp(
            self.label,
            settings.base_url.rstrip("/"),
            settings.timeout_seconds,
            headers={"Authorization": f"Bearer {self._api_key}"},
        )

    def check_group_id(self, chat_id: str) -> str | None:
        return whatsapp_group_id_problem(chat_id)

    @returns_result
    async def set_group_picture(self, group_id: str, picture: PreparedPicture) -> PictureResult:
        if picture.public_url is None:
            raise ValueError("Wasend downloads pictures: publish it and use with_public_url()")
        reply = await self._http.request(
            "PUT", self._picture_path(group_id), json={"url": picture.public_url}
        )
        if reply.status == 422:
            return PictureResult.failure(
                FailureKind.BAD_IMAGE,
                "Wasend could not download or use the picture from our link: "
                "is server.public_url reachable from the internet?",
            )
        failure = self._failure(reply)
        if failure:
            return failure
        url = reply.get("url")
        if not isinstance(url, str) or url == picture.public_url:
            url = None  # an echo of our short-lived link is not the avatar's address
        return PictureResult.success(url)

    @returns_result
    async def delete_group_picture(self, group_id: str) -> PictureResult:
        reply = await self._http.request("DELETE", self._picture_path(group_id))
        return self._failure(reply) or PictureResult.success()

    @returns_result
    async def get_group_picture(self, group_id: str) -> PictureResult:
        reply = await self._http.request(
            "GET", self._picture_path(group_id), params={"refresh": "false"}
        )
        failure = self._failure(reply)
        if failure:
            return failure
        url = _picture_url(reply)
        return PictureResult.success(url, note=None if url else "no picture set")

    @returns_result
    async def check(self) -> PictureResult:
        # GET /sessions/{id} is inferred from WAHA's GET /api/sessions/{session}: Wasend mirrors it
        reply = await self._http.request("GET", f"/sessions/{_segment(self._session_id)}")
        if reply.status == 404:
            return PictureResult.failure(
                FailureKind.NOT_FOUND,
                f"Wasend does not know session {self._session_id!r} (HTTP 404): check session_id",
            )
        failure = self._failure(reply)
        if failure:
            return failure
        status = reply.get("status")
        if status in _NEEDS_LOGIN:
            return PictureResult.failure(
                FailureKind.AUTH,
                f"the Wasend session is {status}: log the WhatsApp account in again on wasend.dev",
            )
        return PictureResult.success(note=f"session {status}" if isinstance(status, str) else None)

    async def aclose(self) -> None:
        await self._http.aclose()

    def _picture_path(self, group_id: str) -> str:
        return f"/{_segment(self._session_id)}/groups/{_segment(group_id)}/picture"

    def _failure(self, reply: Reply) -> PictureResult | None:
        """Plain words for a Wasend "no", or None when the reply is a success."""
        if 200 <= reply.status < 300:
            if not isinstance(reply.body, dict):
                return unreadable(self.label, reply)
            if reply.get("success") is False:
                return PictureResult.failure(
                    FailureKind.BAD_REQUEST, f"Wasend said no{self._quoted(reply)}"
                )
            return None
        if reply.status == 400:
            return PictureResult.failure(
                FailureKind.BAD_REQUEST,
                f"Wasend rejected the request (HTTP 400){self._quoted(reply)}",
            )
        if reply.status == 401:
            return PictureResult.failure(
                FailureKind.AUTH, "Wasend refused our API key (HTTP 401): check api_key"
            )
        if reply.status == 403:
            return PictureResult.failure(
                FailureKind.NOT_ALLOWED,
                "Wasend refused the change (HTTP 403): the connected WhatsApp account is not "
                "an admin of the group, or the group settings forbid changes",
            )
        if reply.status == 404:
            return PictureResult.failure(
                FailureKind.NOT_FOUND,
                "Wasend does not know that session or group (HTTP 404): "
                "check session_id and the group id",
            )
        return common_failure(self.label, reply)

    def _quoted(self, reply: Reply) -> str:
        """': <the provider's message>' shortened to one line, without our key; '' if none."""
        message = reply.get("message") or reply.get("error")
        if isinstance(message, list):
            message = "; ".join(str(part) for part in message)
        if not isinstance(message, str) or not message.strip():
            return ""
        text = " ".join(message.replace(self._api_key, "***").split())
        if len(text) > _QUOTE_LIMIT:
            text = text[: _QUOTE_LIMIT - 1] + "…"
        return f": {text}"


def _picture_url(reply: Reply) -> str | None:
    """The url of both documented shapes: {"picture": {"url": ...}} and {"url": ...}."""
    picture = reply.get("picture")
    url = picture.get("url") if isinstance(picture, dict) else reply.get("url")
    return url if isinstance(url, str) and url else None
