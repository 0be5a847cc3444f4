"""Whapi.Cloud (gate.whapi.cloud): group icons and the account's own picture.

The channel token in `Authorization: Bearer` picks the channel: no channel id in any path. Errors
come as `{"error": {"code", "message", "details"}}`. A 401 means one of two things: the token is
wrong, or the token is fine and the WhatsApp channel behind it is not logged in ("Need channel
authorization for ..."); only the message tells them apart.

`GET /groups/{id}/icon` answers image bytes (or 204), not a URL, so the URL people get is the
group's `chat_pic_full` from `GET /groups/{id}`.
"""

from __future__ import annotations

import base64
from typing import Any, ClassVar, Literal
from urllib.parse import quote

from pydantic import SecretStr, field_validator

from adapters.base import (
    Capability,
    EventSettings,
    FailureKind,
    PictureEvent,
    PictureResult,
    PreparedPicture,
    Provider,
    ProviderSettings,
    UnreadableWebhook,
    event_secret,
    webhook_json,
)
from adapters.http import (
    ProviderHttp,
    ProviderUnreachable,
    Reply,
    common_failure,
    returns_result,
    unreadable,
)
from adapters.whatsapp import whatsapp_group_id_problem

CHANNEL_LOGGED_OUT = (
    "the WhatsApp channel on Whapi.Cloud is not logged in: scan its QR code in the"
    " Whapi.Cloud dashboard"
)
BAD_TOKEN = "Whapi.Cloud refused our token (HTTP 401): check the token in the config"
NO_PICTURE = "no picture set"

#: words of a 401 that come from the WhatsApp channel, not from the token
_CHANNEL_WORDS = ("channel authorization", "channel not authorized")
#: `GET /health` channel states other than AUTH: (failure kind, what it means)
_CHANNEL_STATES: dict[str, tuple[FailureKind, str]] = {
    "QR": (FailureKind.AUTH, CHANNEL_LOGGED_OUT),
    "NOT_INIT": (
        FailureKind.UNAVAILABLE,
        "the Whapi.Cloud channel is not running: start it from the Whapi.Cloud dashboard",
    ),
    "INIT": (FailureKind.UNAVAILABLE, "the Whapi.Cloud channel is still starting: try again soon"),
    "LAUNCH": (
        FailureKind.UNAVAILABLE,
        "the Whapi.Cloud channel is still starting: try again soon",
    ),
    "ERROR": (
        FailureKind.PROVIDER_ERROR,
        "the Whapi.Cloud channel reports an error: restart it from the Whapi.Cloud dashboard",
    ),
}
_QUOTE_LIMIT = 120


class WhapiSettings(EventSettings):
    kind: Literal["whapi"]
    base_url: str = "https://gate.whapi.cloud"
    #: the channel's API token, sent as `Authorization: Bearer` (never in a URL)
    token: SecretStr

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("token")
    @classmethod
    def _header_safe(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value()
        if not token or not token.isprintable() or any(c.isspace() for c in token):
            raise ValueError("must be the channel's API token: not empty, no spaces")
        return value


class WhapiProvider(Provider):
    """Every picture operation Whapi.Cloud offers; it has no removal of the own picture."""

    kind: ClassVar[str] = "whapi"
    label: ClassVar[str] = "Whapi.Cloud"
    settings_model: ClassVar[type[ProviderSettings]] = WhapiSettings
    capabilities: ClassVar[Capability] = (
        Capability.SET_GROUP
        | Capability.DELETE_GROUP
        | Capability.GET_GROUP
        | Capability.SET_OWN
        | Capability.GET_OWN
    )
    settings: WhapiSettings

    def __init__(self, name: str, settings: WhapiSettings) -> None:
        super().__init__(name, settings)
        self._token = settings.token.get_secret_value()
        self._http = ProviderHttp(
            self.label,
            settings.base_url,
            settings.timeout_seconds,
            headers={"Authorization": f"Bearer {self._token}"},
        )

    def check_group_id(self, chat_id: str) -> str | None:
        return whatsapp_group_id_problem(chat_id)

    @returns_result
    async def set_group_picture(self, group_id: str, picture: PreparedPicture) -> PictureResult:
        body = {"media": _data_uri(picture), "mime_type": picture.content_type}
        await self._change("PUT", _icon_path(group_id), group_id=group_id, json=body)
        return _changed(await self.get_group_picture(group_id))

    @returns_result
    async def delete_group_picture(self, group_id: str) -> PictureResult:
        await self._change("DELETE", _icon_path(group_id), group_id=group_id)
        return PictureResult.success()

    @returns_result
    async def get_group_picture(self, group_id: str) -> PictureResult:
        reply = await self._call("GET", _group_path(group_id), group_id=group_id)
        return _picture(reply, "chat_pic_full", "chat_pic")

    @returns_result
    async def set_own_picture(self, picture: PreparedPicture) -> PictureResult:
        await self._change("PATCH", "/users/profile", json={"icon": _data_uri(picture)})
        return _changed(await self.get_own_picture())

    @returns_result
    async def get_own_picture(self) -> PictureResult:
        return _picture(await self._call("GET", "/users/profile"), "icon_full", "icon")

    @returns_result
    async def check(self) -> PictureResult:
        """GET /health?wakeup=false: proves the token, and the channel must say AUTH (logged in).
        `wakeup=false` keeps the check harmless: it does not launch a sleeping channel."""
        reply = await self._call("GET", "/health", params={"wakeup": "false"})
        status = reply.get("status")
        text = status.get("text") if isinstance(status, dict) else None
        if text == "AUTH":
            return PictureResult.success(note="Whapi.Cloud answers and WhatsApp is logged in")
        if not isinstance(text, str) or not text:
            return PictureResult.failure(
                FailureKind.PROVIDER_ERROR, "Whapi.Cloud did not say the channel's status"
            )
        kind, meaning = _CHANNEL_STATES.get(
            text, (FailureKind.PROVIDER_ERROR, "the Whapi.Cloud channel is not ready")
        )
        return PictureResult.failure(kind, f"{meaning} (channel status {self._clean(text)})")

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- events: pictures changed outside the bot (bot/watch.py) ----------------------------

    def webhook_secret(self) -> str | None:
        return event_secret(self.settings)

    def read_webhook(self, body: bytes) -> list[PictureEvent]:
        """`groups_updates` (and `chats_updates`) of a `patch` event: the groups to read
        again; whether a new icon is among the changes is not documented, so any group update
        is read. Other events say nothing of pictures."""
        payload = webhook_json(body)
        event = payload.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise UnreadableWebhook("not a Whapi.Cloud event")
        found = []
        for key in ("groups_updates", "chats_updates"):
            updates = payload.get(key)
            for update in updates if isinstance(updates, list) else []:
                if not isinstance(update, dict):
                    raise UnreadableWebhook(f"{key} that are not updates")
                for side in ("after_update", "before_update"):
                    chat = update.get(side)
                    chat_id = chat.get("id") if isinstance(chat, dict) else None
                    if isinstance(chat_id, str) and chat_id.endswith("@g.us"):
                        found.append(PictureEvent(chat_id))
                        break
        return found

    # -- plumbing ---------------------------------------------------------------------------

    async def _call(
        self, method: str, path: str, *, group_id: str | None = None, **request: Any
    ) -> Reply:
        """One request; its JSON 2xx answer, or `ProviderUnreachable` with the failure."""
        reply = await self._http.request(method, path, **request)
        if 200 <= reply.status < 300 and isinstance(reply.body, dict):
            return reply
        raise ProviderUnreachable(self._failure(reply, group_id, changing=False))

    async def _change(
        self, method: str, path: str, *, group_id: str | None = None, **request: Any
    ) -> None:
        """A change: 2xx `{"success": true}`; a 200 saying `success: false` is a refusal."""
        reply = await self._http.request(method, path, **request)
        if not (200 <= reply.status < 300 and isinstance(reply.body, dict)):
            raise ProviderUnreachable(self._failure(reply, group_id, changing=True))
        if reply.get("success") is False or reply.get("error") is not None:
            said = self._said(reply)
            raise ProviderUnreachable(
                PictureResult.failure(
                    FailureKind.PROVIDER_ERROR,
                    f"Whapi.Cloud answered that the change did not succeed: {said}",
                )
            )

    def _failure(self, reply: Reply, group_id: str | None, *, changing: bool) -> PictureResult:
        """Plain words for an answer that is not a JSON 2xx."""
        status = reply.status
        if 200 <= status < 300 and reply.is_json:
            return PictureResult.failure(
                FailureKind.UNAVAILABLE,
                f"Whapi.Cloud sent an answer it does not document (HTTP {status})",
            )
        if not reply.is_json:
            if status == 404:
                return PictureResult.failure(
                    FailureKind.NOT_FOUND,
                    "Whapi.Cloud has no such endpoint at base_url (HTTP 404): check base_url",
                )
            if status in (401, 403, 429) or status >= 500:
                return common_failure(self.label, reply)
            return unreadable(self.label, reply)
        said = self._said(reply)
        if status == 401:
            if any(words in said.lower() for words in _CHANNEL_WORDS):
                return PictureResult.failure(FailureKind.AUTH, CHANNEL_LOGGED_OUT)
            return PictureResult.failure(FailureKind.AUTH, BAD_TOKEN)
        if status == 402:
            return PictureResult.failure(
                FailureKind.NOT_ALLOWED,
                f"the Whapi.Cloud channel's plan does not allow this (HTTP 402): {said}",
            )
        if status == 403 and group_id is not None and changing:
            return PictureResult.failure(
                FailureKind.NOT_ALLOWED,
                f"WhatsApp does not allow this account to edit group {group_id}: when only"
                " admins may edit the group's info, the account must be one of its admins",
            )
        if status == 403:
            return PictureResult.failure(
                FailureKind.NOT_ALLOWED, f"Whapi.Cloud refused the request (HTTP 403): {said}"
            )
        if status == 404 and group_id is not None:
            return PictureResult.failure(
                FailureKind.NOT_FOUND,
                f"Whapi.Cloud does not know group {group_id}, or the account is not a member",
            )
        if status == 400:
            return PictureResult.failure(
                FailureKind.BAD_REQUEST, f"Whapi.Cloud rejected the request (HTTP 400): {said}"
            )
        if status == 500:
            return PictureResult.failure(
                FailureKind.PROVIDER_ERROR, f"Whapi.Cloud had an internal error (HTTP 500): {said}"
            )
        return common_failure(self.label, reply)

    def _said(self, reply: Reply) -> str:
        """Whapi's `error.message` (and `details`), quoted on one line, never with our token."""
        error = reply.get("error")
        parts: list[str] = []
        if isinstance(error, dict):
            parts = [value for value in (error.get("message"), error.get("details")) if value]
        text = self._clean(": ".join(str(part) for part in parts))
        return f'"{text}"' if text else "(no message)"

    def _clean(self, text: str) -> str:
        text = " ".join(text.split()).replace(self._token, "***")
        return text[: _QUOTE_LIMIT - 1] + "…" if len(text) > _QUOTE_LIMIT else text


def _group_path(group_id: str) -> str:
    return f"/groups/{quote(group_id, safe='')}"


def _icon_path(group_id: str) -> str:
    return _group_path(group_id) + "/icon"


def _data_uri(picture: PreparedPicture) -> str:
    """The JPEG inline, in the data URI form Whapi's own examples send."""
    encoded = base64.b64encode(picture.jpeg).decode("ascii")
    return f"data:{picture.content_type};name={picture.filename};base64,{encoded}"


def _picture(reply: Reply, *fields: str) -> PictureResult:
    """The first URL among `fields` of a JSON answer; none set is an answer too."""
    for name in fields:
        url = reply.get(name)
        if isinstance(url, str) and url:
            return PictureResult.success(url)
    return PictureResult.success(note=NO_PICTURE)


def _changed(current: PictureResult) -> PictureResult:
    """Success of a change, with the new URL read back when Whapi.Cloud already tells it."""
    if current.url:
        return PictureResult.success(current.url)
    why = "Whapi.Cloud does not tell it yet" if current.ok else current.reason
    return PictureResult.success(
        note=f"the picture was changed, but its new URL is not known yet ({why})"
    )
