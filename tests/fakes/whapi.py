"""A fake Whapi.Cloud on 127.0.0.1: group icons, the own profile and /health, with its failures.

Errors are `{"error": {"code", "message", "details"}}` as in Whapi's `ResponseError`; changes
answer `{"success": true}`. Order of checks: the Bearer token, then a queued failure, then the
channel (not logged in: 401 "Need channel authorization for ..."), the request body, the group,
and the account's rights in it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import enum
import io
import itertools
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, UnidentifiedImageError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

#: ChannelStatus.text values, in the order of their `code`
CHANNEL_STATES = ("NOT_INIT", "INIT", "LAUNCH", "QR", "AUTH", "ERROR")
NOT_ADMIN = "You do not have permissions for this action"
_DATA_URI = re.compile(
    r"data:(?P<type>[\w.+-]+/[\w.+-]+)(?:;[^;,=]+=[^;,]*)*;base64,(?P<data>.*)", re.S
)


class Failure(enum.StrEnum):
    """What `FakeWhapi.fail_next` makes the next matching request get."""

    CHANNEL_LOGGED_OUT = "401"  # 401 "Need channel authorization for ..."
    TRIAL_LIMIT = "402"  # 402 "Trial version limit exceeded"
    FORBIDDEN = "403"  # 403 "You do not have permissions for this action"
    RATE_LIMITED = "429"  # 429, with Retry-After when given
    SERVER_ERROR = "500"  # 500 with a message
    HTML = "html"  # 502 HTML page from a reverse proxy
    NOT_SUCCESS = "not_success"  # 200 {"success": false}
    NO_URL = "no_url"  # 200, the group or profile without its picture URL (not synced yet)
    SLOW = "slow"  # the normal answer, after `slow_seconds`


@dataclass(frozen=True)
class WhapiRequest:
    """One request as received (fits `tests.openapi_conformance.RequestLike`)."""

    method: str
    path: str  # percent-decoded, as Whapi's routes see it
    raw_path: str  # as sent on the wire
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-case names
    content_type: str
    body: bytes
    #: time.monotonic() when it arrived, to check an account's pace
    received_at: float = field(default_factory=time.monotonic)

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def url(self) -> str:
        query = "&".join(f"{key}={value}" for key, value in self.query)
        return self.raw_path + (f"?{query}" if query else "")


@dataclass(frozen=True)
class _Queued:
    failure: Failure
    message: str | None
    retry_after: str | None


_Handler = Callable[[WhapiRequest, dict[str, str]], Awaitable[Response]]


class FakeWhapi:
    """Serve `app` with `serve()`; read `requests`, `icons` (URLs) and `images` (decoded bytes)."""

    #: the key of the account's own picture in `icons` and `images`
    OWN = "own"

    def __init__(
        self,
        *,
        token: str,
        groups: Iterable[str] = (),
        not_admin_of: Iterable[str] = (),
        slow_seconds: float = 1.0,
    ) -> None:
        self.token = token
        self.groups = set(groups)
        #: groups whose info only admins may edit, and this account is not one of them
        self.not_admin_of = set(not_admin_of)
        self.slow_seconds = slow_seconds
        #: the channel's state as /health tells it; anything but AUTH: 401 on channel routes
        self.status = "AUTH"
        self.requests: list[WhapiRequest] = []
        #: group id, or OWN for the account itself -> the picture's full URL
        self.icons: dict[str, str] = {}
        #: the same keys -> the picture's bytes as Whapi decoded them
        self.images: dict[str, bytes] = {}
        self._queued: dict[str, list[_Queued]] = {}
        self._picture_ids = itertools.count(1647874123)
        self.app = Starlette(
            routes=[
                self._route("GET", "/health", "checkHealth", self._health),
                self._route("GET", "/users/profile", "getUserProfile", self._profile),
                self._route("PATCH", "/users/profile", "updateUserProfile", self._set_profile),
                self._route("GET", "/groups/{group_id}", "getGroup", self._group),
                self._route("PUT", "/groups/{group_id}/icon", "setGroupIcon", self._set_icon),
                self._route("DELETE", "/groups/{group_id}/icon", "deleteGroupIcon", self._drop),
            ]
        )

    def fail_next(
        self,
        operation_id: str,
        failure: Failure,
        message: str | None = None,
        *,
        retry_after: str | None = None,
    ) -> None:
        """Answer the next request of `operation_id` (as in Whapi's OpenAPI file, such as
        "setGroupIcon") with `failure`, once the token passed."""
        self._queued.setdefault(operation_id, []).append(_Queued(failure, message, retry_after))

    def _route(self, method: str, path: str, operation_id: str, handler: _Handler) -> Route:
        async def endpoint(request: Request) -> Response:
            recorded = await self._record(request)
            if self._bearer(recorded) != self.token:
                return _error(401, "Unauthorized", "invalid or missing token")
            waiting = self._queued.get(operation_id)
            queued = waiting.pop(0) if waiting else None
            failure = queued.failure if queued else None
            if failure is Failure.SLOW:
                await asyncio.sleep(self.slow_seconds)
            elif queued is not None and failure is not Failure.NO_URL:
                return self._failure(queued, operation_id)
            if operation_id != "checkHealth" and self.status != "AUTH":
                return _channel_logged_out(operation_id)
            reply = await handler(recorded, dict(request.path_params))
            return _without_urls(reply) if failure is Failure.NO_URL else reply

        return Route(path, endpoint, methods=[method], name=operation_id)

    async def _record(self, request: Request) -> WhapiRequest:
        recorded = WhapiRequest(
            method=request.method,
            path=request.url.path,
            raw_path=request.scope["raw_path"].decode("ascii"),
            query=list(request.query_params.multi_items()),
            headers=dict(request.headers),
            content_type=request.headers.get("content-type", ""),
            body=await request.body(),
        )
        self.requests.append(recorded)
        return recorded

    @staticmethod
    def _bearer(recorded: WhapiRequest) -> str | None:
        """The token, from the header or Whapi's `?token=` alternative."""
        scheme, _, token = recorded.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            return token
        return next((value for key, value in recorded.query if key == "token"), None)

    def _failure(self, queued: _Queued, operation_id: str) -> Response:
        failure = queued.failure
        if failure is Failure.CHANNEL_LOGGED_OUT:
            return _channel_logged_out(operation_id)
        if failure is Failure.TRIAL_LIMIT:
            return _error(402, queued.message or "Trial version limit exceeded")
        if failure is Failure.FORBIDDEN:
            return _error(403, queued.message or NOT_ADMIN)
        if failure is Failure.RATE_LIMITED:
            headers = {"Retry-After": queued.retry_after} if queued.retry_after else None
            return _error(429, queued.message or "Too many requests", headers=headers)
        if failure is Failure.SERVER_ERROR:
            return _error(500, queued.message or "Internal server error")
        if failure is Failure.HTML:
            return Response(
                "<html><body><h1>502 Bad Gateway</h1></body></html>", 502, media_type="text/html"
            )
        assert failure is Failure.NOT_SUCCESS, failure
        return JSONResponse({"success": False})

    # -- routes ---------------------------------------------------------------------------

    async def _health(self, recorded: WhapiRequest, _: dict[str, str]) -> Response:
        return JSONResponse(
            {
                "start_at": 1700000000,
                "uptime": 3600,
                "version": "1.8.7",
                "device_id": 1,
                "ip": "127.0.0.1",
                "status": {"code": CHANNEL_STATES.index(self.status), "text": self.status},
            }
        )

    async def _profile(self, recorded: WhapiRequest, _: dict[str, str]) -> Response:
        return JSONResponse({"name": "Olga's shop", "about": "", **self._urls(self.OWN, "icon")})

    async def _set_profile(self, recorded: WhapiRequest, _: dict[str, str]) -> Response:
        body = _json_object(recorded)
        if body is None or not body:
            return _error(400, "Wrong request parameters", "nothing to change")
        if "icon" in body:
            image = _image(body["icon"])
            if image is None:
                return _error(400, "Wrong request parameters", "icon is not an image")
            self._set_picture(self.OWN, image)
        return JSONResponse({"success": True})

    async def _group(self, recorded: WhapiRequest, params: dict[str, str]) -> Response:
        group = params["group_id"]
        if group not in self.groups:
            return _error(404, "Specified group not found")
        return JSONResponse(
            {
                "id": group,
                "type": "group",
                "name": "Club",
                "size": 2,
                "participants": [
                    {
                        "id": "6281234567890",
                        "rank": "member" if group in self.not_admin_of else "admin",
                    },
                    {"id": "6289876543210", "rank": "creator"},
                ],
                "restricted": group in self.not_admin_of,
                **self._urls(group, "chat_pic"),
            }
        )

    async def _set_icon(self, recorded: WhapiRequest, params: dict[str, str]) -> Response:
        body = _json_object(recorded)
        if body is None or not isinstance(body.get("media"), str):
            return _error(400, "Wrong request parameters", "media is required")
        mime_type = body.get("mime_type", "image/jpeg")
        if not isinstance(mime_type, str) or not mime_type.startswith("image/"):
            return _error(400, "Wrong request parameters", f"unsupported mime_type {mime_type!r}")
        image = _image(body["media"])
        if image is None:
            return _error(400, "Wrong request parameters", "media is not an image")
        if refusal := self._group_refusal(params["group_id"]):
            return refusal
        self._set_picture(params["group_id"], image)
        return JSONResponse({"success": True})

    async def _drop(self, recorded: WhapiRequest, params: dict[str, str]) -> Response:
        group = params["group_id"]
        if refusal := self._group_refusal(group):
            return refusal
        self.icons.pop(group, None)
        self.images.pop(group, None)
        return JSONResponse({"success": True})

    def _group_refusal(self, group: str) -> Response | None:
        if group not in self.groups:
            return _error(404, "Specified group not found")
        if group in self.not_admin_of:
            return _error(403, NOT_ADMIN)
        return None

    def _set_picture(self, key: str, image: bytes) -> None:
        picture_id = next(self._picture_ids)
        self.icons[key] = (
            f"https://pps.whatsapp.net/v/t61.24694-24/{picture_id}_n.jpg?ccb=11-4&oe=fake"
        )
        self.images[key] = image

    def _urls(self, key: str, field: str) -> dict[str, str]:
        """`<field>` (preview) and `<field>_full`, left out when there is no picture."""
        url = self.icons.get(key)
        if url is None:
            return {}
        return {field: url.replace("_n.jpg", "_s96x96_n.jpg"), f"{field}_full": url}


def _error(
    status: int, message: str, details: str | None = None, *, headers: dict[str, str] | None = None
) -> JSONResponse:
    error: dict[str, Any] = {"code": status, "message": message}
    if details:
        error["details"] = details
    return JSONResponse({"error": error}, status, headers=headers)


_OPERATION_WORDS = {
    "getUserProfile": "getting user info",
    "updateUserProfile": "update user info",
    "getGroup": "get group",
    "setGroupIcon": "set group icon",
    "deleteGroupIcon": "delete group icon",
}


def _channel_logged_out(operation_id: str) -> JSONResponse:
    return _error(401, f"Need channel authorization for {_OPERATION_WORDS[operation_id]}")


def _without_urls(reply: Response) -> Response:
    body = json.loads(bytes(reply.body))
    for name in ("chat_pic", "chat_pic_full", "icon", "icon_full"):
        body.pop(name, None)
    return JSONResponse(body, reply.status_code)


def _json_object(recorded: WhapiRequest) -> dict[str, Any] | None:
    if not recorded.content_type.startswith("application/json"):
        return None
    try:
        body = recorded.json
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _image(media: object) -> bytes | None:
    """The bytes of base64 media (a data URI or bare base64) when they decode to a picture;
    a URL or a media id is for Whapi to fetch, which this fake does not do."""
    if not isinstance(media, str):
        return None
    found = _DATA_URI.fullmatch(media)
    encoded = found.group("data") if found else media
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except (UnidentifiedImageError, OSError):
        return None
    return data
