"""Green API: WhatsApp (`product: whatsapp`) and its MAX messenger variant (`product: max`).

Every call is `{api_url}[/v3]/waInstance{id}/{method}/{token}`: the token is in the URL path. So
every reason here is built from our own words; none quotes a URL, an httpx error or a raw body.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal
from urllib.parse import quote

from pydantic import SecretStr

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
from adapters.whatsapp import whatsapp_group_id_problem

#: seconds WhatsApp and MAX want between two profile picture changes ("rate-overlimit")
PROFILE_COOLDOWN = 10.0
#: seconds to wait after a 429 without Retry-After (Green API's limiter allows 1 call a second)
DEFAULT_RATE_WAIT = 1.0

_NOT_LOGGED_IN = "the {app} account is not logged in (scan the QR code in the Green API console)"
_STARTING = "the Green API instance is starting; try again in a few minutes"

#: HTTP statuses that mean one thing whatever the method
_STATUS_FAILURES: dict[int, tuple[FailureKind, str]] = {
    401: (FailureKind.AUTH, "Green API refused the token (HTTP 401): check api_token_instance"),
    403: (
        FailureKind.AUTH,
        "Green API refused the instance (HTTP 403): check id_instance and api_url",
    ),
    404: (
        FailureKind.BAD_REQUEST,
        "Green API has no such method at that address (HTTP 404): check api_url and product",
    ),
    466: (FailureKind.NOT_ALLOWED, "the Green API plan's quota is used up (HTTP 466)"),
}

#: words in a 400 body (plain text, or the `message` of a JSON body); the first match wins
_BAD_REQUESTS: tuple[tuple[str, FailureKind, str], ...] = (
    ("starting process", FailureKind.UNAVAILABLE, _STARTING),
    (
        "starting or not authorized",
        FailureKind.AUTH,
        "the Green API instance is starting or the {app} account is not logged in: wait a few"
        " minutes, or scan the QR code in the Green API console",
    ),
    ("not authorized", FailureKind.AUTH, _NOT_LOGGED_IN),
    ("expired", FailureKind.AUTH, "the Green API instance has expired: renew it in the console"),
    (
        "deleted",
        FailureKind.AUTH,
        "the Green API instance has been deleted: check id_instance, or create a new instance",
    ),
    ("file is empty", FailureKind.BAD_IMAGE, "Green API received an empty picture file"),
    (
        "unsupported media type",
        FailureKind.BAD_IMAGE,
        "Green API refused the picture: it accepts only JPEG files",
    ),
)

#: `stateInstance` values of getStateInstance other than "authorized"
_STATES: dict[str, tuple[FailureKind, str]] = {
    "notAuthorized": (FailureKind.AUTH, _NOT_LOGGED_IN),
    "blocked": (
        FailureKind.NOT_ALLOWED,
        "the {app} account is banned (Green API reports it blocked)",
    ),
    "starting": (FailureKind.UNAVAILABLE, _STARTING),
    "yellowCard": (
        FailureKind.NOT_ALLOWED,
        "{app} has restricted the account for suspected spam (yellow card)",
    ),
    "sleepMode": (
        FailureKind.UNAVAILABLE,
        "the phone of the {app} account is off (sleep mode): switch it on and wait a few minutes",
    ),
}

#: a MAX group: a negative number of 5 to 19 ASCII digits (int64), without a leading zero
_MAX_GROUP = re.compile(r"-[1-9][0-9]{4,18}")
_QUOTED_FIELD = re.compile(r"'(\w+)'")


class GreenApiSettings(ProviderSettings):
    kind: Literal["greenapi"]
    #: the instance's host shown in the console, e.g. https://7105.api.greenapi.com
    api_url: str
    id_instance: str
    #: a secret: it travels in the URL path
    api_token_instance: SecretStr
    #: "max" is Green API's product for VK's MAX messenger (the same methods under `/v3`)
    product: Literal["whatsapp", "max"] = "whatsapp"
    #: the account's own chat id, for its own picture; asked from Green API when absent
    own_chat_id: str | None = None


class GreenApiProvider(Provider):
    kind = "greenapi"
    label = "Green API"
    settings_model = GreenApiSettings
    capabilities = (
        Capability.SET_GROUP | Capability.GET_GROUP | Capability.SET_OWN | Capability.GET_OWN
    )
    settings: GreenApiSettings

    def __init__(self, name: str, settings: GreenApiSettings) -> None:
        super().__init__(name, settings)
        self._max = settings.product == "max"
        #: the messenger, as people call it
        self._app = "MAX" if self._max else "WhatsApp"
        base = settings.api_url.rstrip("/")
        if self._max:  # the MAX SDK puts `/v3` in its host: accept api_url with or without it
            base = base.removesuffix("/v3") + "/v3"
        self._http = ProviderHttp(self.label, base, settings.timeout_seconds)
        self._own_chat_id = settings.own_chat_id

    def check_group_id(self, chat_id: str) -> str | None:
        if not self._max:
            return whatsapp_group_id_problem(chat_id)
        if _MAX_GROUP.fullmatch(chat_id):
            return None
        return "a MAX group id is a negative number such as -10000000000000" + (
            " (a positive number is a personal chat)" if _MAX_GROUP.fullmatch(f"-{chat_id}") else ""
        )

    @returns_result
    async def set_group_picture(self, group_id: str, picture: PreparedPicture) -> PictureResult:
        fields = {"groupId": group_id}
        if self._max:
            # MAX documents the field as `chatId`, but Green API's own MAX SDK still sends
            # `groupId`; which one the server reads is unverified, so send both.
            fields["chatId"] = group_id
        return await self._set_picture("setGroupPicture", picture, fields, DEFAULT_RATE_WAIT)

    @returns_result
    async def get_group_picture(self, group_id: str) -> PictureResult:
        return await self._avatar(group_id, "this group has no picture, or privacy hides it")

    @returns_result
    async def set_own_picture(self, picture: PreparedPicture) -> PictureResult:
        return await self._set_picture("setProfilePicture", picture, {}, PROFILE_COOLDOWN)

    @returns_result
    async def get_own_picture(self) -> PictureResult:
        own = await self._own_chat()
        return await self._avatar(own, "this account has no picture, or privacy hides it")

    @returns_result
    async def check(self) -> PictureResult:
        state = (await self._call("GET", "getStateInstance")).get("stateInstance")
        if state == "authorized":
            return PictureResult.success(note=f"the {self._app} account is logged in")
        if isinstance(state, str) and state in _STATES:
            kind, words = _STATES[state]
            return PictureResult.failure(kind, words.format(app=self._app))
        return PictureResult.failure(
            FailureKind.UNAVAILABLE, f"Green API reports the instance as {str(state)[:40]!r}"
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- plumbing ---------------------------------------------------------------------------

    def _path(self, method: str) -> str:
        """The method's path below the base URL. It holds the token: never show it."""
        token = quote(self.settings.api_token_instance.get_secret_value(), safe="")
        return f"waInstance{quote(self.settings.id_instance, safe='')}/{method}/{token}"

    async def _call(
        self, verb: str, method: str, *, rate_wait: float = DEFAULT_RATE_WAIT, **request: Any
    ) -> dict[str, Any]:
        """Call one method; its JSON object answer, or `ProviderUnreachable` with the failure."""
        reply = await self._http.request(verb, self._path(method), **request)
        if not 200 <= reply.status < 300:
            raise ProviderUnreachable(self._http_failure(reply, rate_wait))
        if not isinstance(reply.body, dict):
            raise ProviderUnreachable(unreadable(self.label, reply))
        return reply.body

    async def _set_picture(
        self, method: str, picture: PreparedPicture, fields: dict[str, str], rate_wait: float
    ) -> PictureResult:
        """Upload for setGroupPicture/setProfilePicture. Both answer HTTP 200 even when they
        fail: the boolean named like the method says what happened, `reason` says why."""
        body = await self._call(
            "POST",
            method,
            rate_wait=rate_wait,
            data=fields,
            files={"file": (picture.filename, picture.jpeg, picture.content_type)},
        )
        done = body.get(method)
        if done is True:
            return PictureResult.success(_text(body, "urlAvatar"))
        if done is False:
            return self._refusal(body.get("reason"), group=method == "setGroupPicture")
        return PictureResult.failure(
            FailureKind.UNAVAILABLE, "Green API's answer does not say whether the picture was set"
        )

    def _refusal(self, reason: Any, *, group: bool) -> PictureResult:
        """Plain words for a `set...Picture: false` answer and its `reason`."""
        app = self._app
        what = "the group picture" if group else "the profile picture"
        said = reason.strip()[:100] if isinstance(reason, str) else ""
        lowered = said.lower()
        if not said:
            hint = f"; check that the {app} account is in the group and may edit its info"
            return PictureResult.failure(
                FailureKind.PROVIDER_ERROR,
                f"Green API did not change {what} (no reason given){hint if group else ''}",
            )
        if group and lowered == "timed out":
            return PictureResult.failure(
                FailureKind.NOT_FOUND,
                f'{app} did not confirm the change ("Timed Out"): the group id is wrong,'
                f" or the {app} account is not in that group",
            )
        if "rate-overlimit" in lowered:
            words = (
                f"{app} refused the change for now (rate-overlimit)"
                if group
                else f"{app} allows one profile picture change every {PROFILE_COOLDOWN:g} s"
            )
            return PictureResult.failure(
                FailureKind.RATE_LIMITED, f"{words}; wait {PROFILE_COOLDOWN:g} s", PROFILE_COOLDOWN
            )
        if any(
            word in lowered for word in ("not-authorized", "not authorized", "forbidden", "admin")
        ):
            words = (
                f"the connected {app} account is not allowed to change this group's picture"
                " (it must be an admin, or the group must let members edit its info)"
                if group
                else f"{app} does not allow the connected account to change its profile picture"
            )
            return PictureResult.failure(FailureKind.NOT_ALLOWED, words)
        return PictureResult.failure(
            FailureKind.PROVIDER_ERROR, f'Green API did not change {what} ("{said}")'
        )

    def _http_failure(self, reply: Reply, rate_wait: float) -> PictureResult:
        """Plain words for a non-2xx answer; `rate_wait` is the pause when 429 names none."""
        if reply.status in _STATUS_FAILURES:
            kind, words = _STATUS_FAILURES[reply.status]
            return PictureResult.failure(kind, words)
        if reply.status == 429:
            wait = reply.retry_after()
            if wait is None:
                wait = rate_wait
            return PictureResult.failure(
                FailureKind.RATE_LIMITED,
                f"Green API is rate-limiting us (HTTP 429); try again in {math.ceil(wait)} s",
                wait,
            )
        if reply.status == 400:
            return self._bad_request(reply)
        return common_failure(self.label, reply)

    def _bad_request(self, reply: Reply) -> PictureResult:
        """Plain words for a 400. Only known words are matched: the body is never quoted (a
        JSON error body carries the request path, token included)."""
        message = reply.get("message")
        text = message if isinstance(message, str) else reply.text
        lowered = text.lower()
        for needle, kind, words in _BAD_REQUESTS:
            if needle in lowered:
                return PictureResult.failure(kind, words.format(app=self._app))
        if "validation failed" in lowered:
            field = _QUOTED_FIELD.search(text)
            what = f"the {field.group(1)} field" if field else "the request"
            return PictureResult.failure(
                FailureKind.BAD_REQUEST, f"Green API rejected {what} as invalid (HTTP 400)"
            )
        return PictureResult.failure(
            FailureKind.BAD_REQUEST, "Green API rejected the request (HTTP 400)"
        )

    async def _avatar(self, chat_id: str, absent: str) -> PictureResult:
        """getAvatar. An empty `urlAvatar` or `available: false` (WhatsApp only) means none."""
        body = await self._call("POST", "getAvatar", json={"chatId": chat_id})
        url = _text(body, "urlAvatar")
        if url is None or body.get("available") is False:
            return PictureResult.success(note=absent)
        return PictureResult.success(url)

    async def _own_chat(self) -> str:
        """The account's own chat id: configured, or asked once from Green API and kept."""
        if self._own_chat_id is None:
            method, field = (
                ("getAccountSettings", "chatId") if self._max else ("getSettings", "wid")
            )
            own = _text(await self._call("GET", method), field)
            if own is None:
                raise ProviderUnreachable(
                    PictureResult.failure(
                        FailureKind.UNAVAILABLE,
                        f"Green API did not tell the {self._app} account's own chat id (is it"
                        " logged in?); set own_chat_id in the config",
                    )
                )
            self._own_chat_id = own
        return self._own_chat_id


def _text(body: dict[str, Any], name: str) -> str | None:
    """A non-empty string (or number, as MAX ids may come) field of a JSON answer, else None."""
    value = body.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return value if isinstance(value, str) and value else None
