"""WAHA (devlikeapro/waha): group pictures and the account's own picture, the JPEG sent inline.

Every route is `/api/{session}/...` with the key in `X-Api-Key`. A session that is not WORKING
gets 422 naming its state; WhatsApp's refusals come as HTTP 500 whose `exception.message` is
WhatsApp's error word (`not-authorized`, `rate-overlimit`...). WAHA caches picture URLs for 24 h,
so after a change the picture is read back with `refresh=true`; and `DELETE .../picture` answers
`{"success": true}` whatever happened (`success || true`), so only that read confirms a removal.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import Field, SecretStr, field_validator

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
from adapters.waha_sessions import WORKING, path_segment, session_state_words
from adapters.whatsapp import not_allowed, whatsapp_group_id_problem, whatsapp_refusal

NO_PICTURE = "no picture set"
_QUOTE_LIMIT = 150


class WahaSettings(EventSettings):
    kind: Literal["waha"]
    #: WAHA's address, with its base path when it has one (http://host:3000/waha)
    base_url: str
    #: WAHA_API_KEY (or a session key), sent as X-Api-Key
    api_key: SecretStr = Field(min_length=1)
    #: the WAHA session name
    session: str = Field(default="default", min_length=1)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


@dataclass(frozen=True)
class _Target:
    """Whose picture a call is about, for the words of its failures."""

    group_id: str | None = None  # None: the account's own picture
    editing: bool = True

    @property
    def whose(self) -> str:
        return f"group {self.group_id}" if self.group_id else "the account"

    def not_allowed(self) -> str:
        return not_allowed(self.group_id, self.editing)


class WahaProvider(Provider):
    """Set, remove and show group pictures and the account's own picture through WAHA."""

    kind: ClassVar[str] = "waha"
    label: ClassVar[str] = "WAHA"
    settings_model: ClassVar[type[ProviderSettings]] = WahaSettings
    capabilities: ClassVar[Capability] = (
        Capability.SET_GROUP
        | Capability.DELETE_GROUP
        | Capability.GET_GROUP
        | Capability.SET_OWN
        | Capability.DELETE_OWN
        | Capability.GET_OWN
    )
    settings: WahaSettings

    def __init__(self, name: str, settings: WahaSettings) -> None:
        super().__init__(name, settings)
        self._key = settings.api_key.get_secret_value()
        self._api = f"/api/{path_segment(settings.session)}"
        self._http = ProviderHttp(
            self.label,
            settings.base_url,
            settings.timeout_seconds,
            headers={"X-Api-Key": self._key},
        )

    def check_group_id(self, chat_id: str) -> str | None:
        return whatsapp_group_id_problem(chat_id)

    @returns_result
    async def set_group_picture(self, group_id: str, picture: PreparedPicture) -> PictureResult:
        target = _Target(group_id)
        await self._change("PUT", self._group_picture(group_id), target, _file(picture))
        return await self._changed(self._group_picture(group_id), target)

    @returns_result
    async def delete_group_picture(self, group_id: str) -> PictureResult:
        target = _Target(group_id)
        await self._change("DELETE", self._group_picture(group_id), target)
        return await self._confirm_removed(self._group_picture(group_id), target)

    @returns_result
    async def get_group_picture(self, group_id: str) -> PictureResult:
        return await self._group_picture_url(group_id, refresh=False)

    @returns_result
    async def watch_group_picture(self, group_id: str) -> PictureResult:
        """`refresh=true`: WAHA's cache would show a picture changed outside for 24 h."""
        return await self._group_picture_url(group_id, refresh=True)

    async def _group_picture_url(self, group_id: str, *, refresh: bool) -> PictureResult:
        target = _Target(group_id, editing=False)
        url = await self._read_url(self._group_picture(group_id), target, refresh=refresh)
        return PictureResult.success(url, note=None if url else NO_PICTURE)

    @returns_result
    async def set_own_picture(self, picture: PreparedPicture) -> PictureResult:
        target = _Target()
        await self._change("PUT", f"{self._api}/profile/picture", target, _file(picture))
        return await self._changed(None, target)

    @returns_result
    async def delete_own_picture(self) -> PictureResult:
        target = _Target()
        await self._change("DELETE", f"{self._api}/profile/picture", target)
        return await self._confirm_removed(None, target)

    @returns_result
    async def get_own_picture(self) -> PictureResult:
        """GET /profile: WAHA's cached URL (it never refreshes there; our changes refresh it)."""
        picture = (await self._profile()).get("picture")
        if isinstance(picture, str) and picture:
            return PictureResult.success(picture)
        return PictureResult.success(note=NO_PICTURE)

    @returns_result
    async def check(self) -> PictureResult:
        """GET /api/sessions/{session}: proves the key and the session name, and tells its state."""
        session = self.settings.session
        reply = await self._http.request("GET", f"/api/sessions/{path_segment(session)}")
        if not (200 <= reply.status < 300 and isinstance(reply.body, dict)):
            return self._failure(reply, _Target(editing=False))
        status = reply.get("status")
        if status != WORKING:
            return PictureResult.failure(
                FailureKind.AUTH, f"the WAHA session {session!r} {session_state_words(status)}"
            )
        me = reply.get("me")
        account = me.get("id") if isinstance(me, dict) else None
        who = f", logged in as {account}" if isinstance(account, str) and account else ""
        return PictureResult.success(note=f"the WAHA session {session!r} is WORKING{who}")

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- events: pictures changed outside the bot (bot/watch.py) ----------------------------

    def webhook_secret(self) -> str | None:
        return event_secret(self.settings)

    def read_webhook(self, body: bytes) -> list[PictureEvent]:
        """`group.v2.update` of this session: the group to read again (the WEBJS engine sends
        it for a new picture, without the picture; other engines never do). Other events of
        WAHA's say nothing of pictures."""
        payload = webhook_json(body)
        event, session = payload.get("event"), payload.get("session")
        if not isinstance(event, str) or not isinstance(session, str):
            raise UnreadableWebhook("not a WAHA event")
        if event != "group.v2.update" or session != self.settings.session:
            return []
        about = payload.get("payload")
        group = about.get("group") if isinstance(about, dict) else None
        chat_id = group.get("id") if isinstance(group, dict) else None
        if not isinstance(chat_id, str):
            raise UnreadableWebhook("a group.v2.update without its group's id")
        return [PictureEvent(chat_id)]

    # -- plumbing ---------------------------------------------------------------------------

    def _group_picture(self, group_id: str) -> str:
        return f"{self._api}/groups/{path_segment(group_id)}/picture"

    async def _own_picture(self) -> str:
        """The own picture as a chat picture, which takes `refresh` (GET /profile does not)."""
        account = (await self._profile()).get("id")
        if not isinstance(account, str) or not account:
            raise ProviderUnreachable(
                PictureResult.failure(FailureKind.UNAVAILABLE, "WAHA did not tell the account's id")
            )
        return f"{self._api}/chats/{path_segment(account)}/picture"

    async def _profile(self) -> dict[str, Any]:
        reply = await self._http.request("GET", f"{self._api}/profile")
        if 200 <= reply.status < 300 and isinstance(reply.body, dict):
            return reply.body
        raise ProviderUnreachable(self._failure(reply, _Target(editing=False)))

    async def _change(
        self, method: str, path: str, target: _Target, body: dict[str, Any] | None = None
    ) -> None:
        """PUT or DELETE a picture; `ProviderUnreachable` with the failure unless WAHA agreed."""
        reply = await self._http.request(method, path, json=body)
        if not (200 <= reply.status < 300 and isinstance(reply.body, dict)):
            raise ProviderUnreachable(self._failure(reply, target))
        if reply.get("success") is False:
            # the engine's own "no" (whatsapp-web.js returns false when it may not set it)
            if target.group_id:
                raise ProviderUnreachable(
                    PictureResult.failure(
                        FailureKind.NOT_ALLOWED,
                        f"WhatsApp did not take the picture for group {target.group_id}"
                        " (WAHA answered success: false): this account may not edit the"
                        " group's info; only admins may when the group is locked",
                    )
                )
            raise ProviderUnreachable(
                PictureResult.failure(
                    FailureKind.PROVIDER_ERROR,
                    "WhatsApp did not take the account's new picture"
                    " (WAHA answered success: false)",
                )
            )

    async def _read_url(self, path: str, target: _Target, *, refresh: bool) -> str | None:
        """`{"url": ...}` of a picture route; None when WAHA says there is no picture."""
        params = {"refresh": "true" if refresh else "false"}
        reply = await self._http.request("GET", path, params=params)
        if not (200 <= reply.status < 300 and isinstance(reply.body, dict)):
            raise ProviderUnreachable(self._failure(reply, _Target(target.group_id, False)))
        url = reply.get("url")
        return url if isinstance(url, str) and url else None

    async def _fresh_url(self, path: str | None, target: _Target) -> str | None:
        """The picture as WhatsApp has it now (`refresh=true`); `path` None: our own."""
        return await self._read_url(path or await self._own_picture(), target, refresh=True)

    async def _changed(self, path: str | None, target: _Target) -> PictureResult:
        """Success of a set, with the new URL when reading it back works."""
        try:
            url = await self._fresh_url(path, target)
        except ProviderUnreachable as failed:
            return PictureResult.success(
                note=f"the picture was changed, but its new URL is not known yet:"
                f" {failed.result.reason}"
            )
        if url is None:
            return PictureResult.success(
                note="the picture was changed, but WAHA does not tell its new URL yet"
            )
        return PictureResult.success(url)

    async def _confirm_removed(self, path: str | None, target: _Target) -> PictureResult:
        """WAHA's DELETE always says success: the picture read back fresh is the real answer."""
        try:
            url = await self._fresh_url(path, target)
        except ProviderUnreachable as failed:
            return PictureResult.success(
                note=f"WAHA says the picture is removed, but reading it back to confirm failed:"
                f" {failed.result.reason}"
            )
        if url is None:
            return PictureResult.success()
        if target.group_id:
            why = (
                "this account may not edit the group's info; only admins may when the group"
                " is locked"
            )
        else:
            why = "try again later"
        return PictureResult.failure(
            FailureKind.NOT_ALLOWED if target.group_id else FailureKind.PROVIDER_ERROR,
            f"WAHA answered that the picture was removed, but {target.whose} still has it: {why}",
        )

    def _failure(self, reply: Reply, target: _Target) -> PictureResult:
        """Plain words for an answer that is not WAHA's JSON 2xx."""
        if reply.status == 401:
            return PictureResult.failure(
                FailureKind.AUTH, "WAHA refused our API key (HTTP 401): check api_key"
            )
        if reply.status == 403:
            return PictureResult.failure(
                FailureKind.AUTH,
                f"WAHA does not let this API key do that in session {self.settings.session!r}"
                " (HTTP 403): use the admin key, or a session key with the read and send scopes",
            )
        if reply.status == 404:
            return self._not_found(reply)
        if reply.status == 422 and reply.is_json:
            return self._unprocessable(reply)
        if reply.status == 500 and reply.is_json:
            return self._whatsapp_refusal(reply, target)
        if reply.status == 400 and reply.is_json:
            return PictureResult.failure(
                FailureKind.BAD_REQUEST,
                f"WAHA rejected the request (HTTP 400): {self._quote(_message(reply))}",
            )
        if 200 <= reply.status < 300:
            return unreadable(self.label, reply)
        return common_failure(self.label, reply)

    def _not_found(self, reply: Reply) -> PictureResult:
        """An unknown session (NestJS 404 with WAHA's sentence), or no such route at all."""
        session = self.settings.session
        if "find a session" in _message(reply).lower():
            return PictureResult.failure(
                FailureKind.NOT_FOUND,
                f"WAHA has no session {session!r} (HTTP 404): check session, or start it in WAHA",
            )
        return PictureResult.failure(
            FailureKind.NOT_FOUND,
            "WAHA has no such endpoint at base_url (HTTP 404): check base_url (with WAHA's base"
            " path, if it has one); picture routes need WAHA 2025.2.7 or newer",
        )

    def _unprocessable(self, reply: Reply) -> PictureResult:
        """422: the session is not WORKING (its state is in the body), or WAHA cannot do it."""
        said = _message(reply)
        lowered = said.lower()
        status = reply.get("status")
        if isinstance(status, str) and ("not as expected" in lowered or reply.get("expected")):
            return PictureResult.failure(
                FailureKind.AUTH,
                f"the WAHA session {self.settings.session!r} {session_state_words(status)}",
            )
        if "plus version" in lowered:
            return PictureResult.failure(
                FailureKind.NOT_SUPPORTED,
                "this WAHA cannot change pictures: WAHA Core before 2026.6.1 needs WAHA Plus"
                " for that (HTTP 422)",
            )
        if "not implemented by the engine" in lowered:
            return PictureResult.failure(
                FailureKind.NOT_SUPPORTED,
                "the engine of this WAHA session cannot do that (HTTP 422): update WAHA or"
                " use another engine",
            )
        if "only 'default' session" in lowered:
            return PictureResult.failure(
                FailureKind.BAD_REQUEST,
                "this WAHA Core allows only the session 'default' (HTTP 422): set session: default",
            )
        return PictureResult.failure(
            FailureKind.BAD_REQUEST, f"WAHA refused the request (HTTP 422): {self._quote(said)}"
        )

    def _whatsapp_refusal(self, reply: Reply, target: _Target) -> PictureResult:
        """A 500: WhatsApp's error word in `exception.message` tells what it refused."""
        exception = reply.get("exception")
        message = exception.get("message") if isinstance(exception, dict) else None
        said = message if isinstance(message, str) else _message(reply)
        refusal = whatsapp_refusal(said, target.group_id, editing=target.editing)
        if refusal is not None:
            return refusal
        if "bad-request" in said.lower():
            return PictureResult.failure(
                FailureKind.BAD_REQUEST, "WhatsApp rejected the request (bad-request)"
            )
        return PictureResult.failure(
            FailureKind.PROVIDER_ERROR,
            f"WAHA had an internal error (HTTP 500): {self._quote(said)}",
        )

    def _quote(self, message: str) -> str:
        """WAHA's words, short and on one line, quoted; never with our key in them."""
        text = " ".join(message.replace(self._key, "***").split())
        if len(text) > _QUOTE_LIMIT:
            text = text[: _QUOTE_LIMIT - 1] + "…"
        return f'"{text}"' if text else "(no message)"


def _file(picture: PreparedPicture) -> dict[str, Any]:
    """WAHA's `BinaryFile`: plain base64 (no `data:` prefix), with its type and a name."""
    return {
        "file": {
            "mimetype": picture.content_type,
            "filename": picture.filename,
            "data": base64.b64encode(picture.jpeg).decode("ascii"),
        }
    }


def _message(reply: Reply) -> str:
    """NestJS's `message` (a string or a list), else WAHA's `error`, else the raw text."""
    for name in ("message", "error"):
        value = reply.get(name)
        if isinstance(value, list):
            value = "; ".join(str(part) for part in value)
        if isinstance(value, str) and value.strip():
            return value
    return reply.text
