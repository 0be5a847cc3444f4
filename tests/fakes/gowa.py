"""A fake GOWA (go-whatsapp-web-multidevice) on 127.0.0.1, with its envelope and failure modes.

Every reply is `{"status", "code", "message", "results"}` as GOWA's `utils.ResponseData` sends it.
Order of checks, as in GOWA: Basic auth (fiber's plain-text 401), then the device middleware,
then a queued failure, then the route itself. WhatsApp-side refusals are HTTP 500 whose message
is whatsmeow's error text.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import io
import itertools
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from PIL import Image, UnidentifiedImageError
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

MAX_GROUP_PHOTO_BYTES = 10 * 1024 * 1024
GROUP_PHOTO_TYPES = {"", "image/jpeg", "image/jpg", "image/png", "image/webp"}
NOT_LOGGED_IN = "you are not logged in"
NOT_CONNECTED = "you are not connect to services server, please reconnect"
NO_PICTURE = "that user or group does not have a profile picture"
UNKNOWN_GROUP = "info query returned status 404: item-not-found"


class Failure(enum.StrEnum):
    """What `FakeGowa.fail_next` makes the next matching request get."""

    LOGGED_OUT = "logged_out"  # 401 AUTHENTICATION_ERROR (message: NOT_LOGGED_IN or NOT_CONNECTED)
    ERROR = "error"  # 500 INTERNAL_SERVER_ERROR with the given whatsmeow text
    REQUEST_TIMEOUT = "408"  # 408 CONTEXT_ERROR, GOWA's 5 s avatar timeout
    GATEWAY_TIMEOUT = "504"  # 504 GATEWAY_TIMEOUT, a context deadline
    HTML = "html"  # 502 HTML page from a reverse proxy
    SLOW = "slow"  # the normal answer, after `slow_seconds`


@dataclass(frozen=True)
class FormPart:
    data: bytes
    filename: str | None = None  # None for a plain text field
    content_type: str | None = None


@dataclass(frozen=True)
class GowaRequest:
    """One request as received (fits `tests.openapi_conformance.RequestLike`)."""

    method: str
    path: str  # as GOWA's routes see it: without the APP_BASE_PATH prefix
    full_path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-case names
    content_type: str
    body: bytes
    fields: dict[str, FormPart] = field(default_factory=dict)
    #: time.monotonic() when it arrived, to check an account's pace
    received_at: float = field(default_factory=time.monotonic)

    def param(self, name: str) -> str:
        """A query parameter, "" when absent."""
        return next((value for key, value in self.query if key == name), "")

    @property
    def device_id(self) -> str:
        """The device asked for, as GOWA reads it: URL-decoded header, else `?device_id=`."""
        return unquote_plus(self.headers.get("x-device-id", "").strip()) or self.param("device_id")

    @property
    def basic_auth(self) -> tuple[str, str] | None:
        scheme, _, encoded = self.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            username, _, password = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return None
        return username, password


@dataclass(frozen=True)
class _Queued:
    failure: Failure
    message: str | None


_Handler = Callable[[GowaRequest], Awaitable[Response]]


class FakeGowa:
    """Serve `app` with `serve()` (at `base_path` below the root); read `requests` and `avatars`."""

    def __init__(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        devices: Sequence[str] = ("my-phone",),
        own_jid: str = "6281234567890@s.whatsapp.net",
        groups: Iterable[str] = (),
        base_path: str = "",
        slow_seconds: float = 1.0,
    ) -> None:
        self.credentials = (username, password or "") if username is not None else None
        self.devices = list(devices)
        self.own_jid = own_jid
        self.groups = set(groups)
        self.base_path = base_path.rstrip("/")
        self.slow_seconds = slow_seconds
        #: False: WhatsApp routes answer 401 "you are not logged in", /app/status says so
        self.logged_in = True
        self.requests: list[GowaRequest] = []
        #: JID -> avatar URL; a JID without an entry has no picture
        self.avatars: dict[str, str] = {}
        self._queued: dict[str, list[_Queued]] = {}
        self._picture_ids = itertools.count(1647874123)
        routes: list[BaseRoute] = [
            self._route("GET", "/app/status", "appStatus", self._status),
            self._route("GET", "/user/avatar", "userAvatar", self._avatar),
            self._route("POST", "/user/avatar", "userChangeAvatar", self._change_avatar),
            self._route("POST", "/group/photo", "setGroupPhoto", self._group_photo),
        ]
        if self.base_path:
            routes = [Mount(self.base_path, routes=routes)]
        self.app = Starlette(routes=routes)

    def fail_next(self, target: str, failure: Failure, message: str | None = None) -> None:
        """Answer the next request to `target` (a path such as "/group/photo", or an operationId
        of the OpenAPI file such as "userAvatar") with `failure`, once auth and device passed."""
        self._queued.setdefault(target, []).append(_Queued(failure, message))

    def _route(self, method: str, path: str, operation_id: str, handler: _Handler) -> Route:
        async def endpoint(request: Request) -> Response:
            recorded = await self._record(request)
            refusal = self._refusal(recorded) or await self._queued_failure(path, operation_id)
            return refusal or await handler(recorded)

        return Route(path, endpoint, methods=[method], name=operation_id)

    async def _record(self, request: Request) -> GowaRequest:
        body = await request.body()
        fields: dict[str, FormPart] = {}
        if body and request.headers.get("content-type", "").startswith("multipart/form-data"):
            async with request.form() as form:
                for name, value in form.multi_items():
                    fields[name] = await _part(value)
        recorded = GowaRequest(
            method=request.method,
            path=request.url.path.removeprefix(self.base_path),
            full_path=request.url.path,
            query=list(request.query_params.multi_items()),
            headers=dict(request.headers),
            content_type=request.headers.get("content-type", ""),
            body=body,
            fields=fields,
        )
        self.requests.append(recorded)
        return recorded

    def _refusal(self, recorded: GowaRequest) -> Response | None:
        """fiber's basicauth, then GOWA's device middleware."""
        if self.credentials is not None and recorded.basic_auth != self.credentials:
            return Response(
                "Unauthorized", 401, {"WWW-Authenticate": 'basic realm="Restricted"'}, "text/plain"
            )
        wanted = recorded.device_id
        if wanted and wanted not in self.devices:
            return _reply(
                404,
                "DEVICE_NOT_FOUND",
                "device not found; create a device first from /api/devices"
                " or provide a valid X-Device-Id",
                {"device_id": wanted},
            )
        if not wanted and len(self.devices) != 1:
            return _reply(
                400,
                "DEVICE_ID_REQUIRED",
                "device_id is required via X-Device-Id header or device_id query",
            )
        return None

    async def _queued_failure(self, path: str, operation_id: str) -> Response | None:
        for target in (operation_id, path):
            if self._queued.get(target):
                queued = self._queued[target].pop(0)
                return await self._failure(queued.failure, queued.message)
        return None

    async def _failure(self, failure: Failure, message: str | None) -> Response | None:
        if failure is Failure.LOGGED_OUT:
            return _reply(401, "AUTHENTICATION_ERROR", message or NOT_LOGGED_IN)
        if failure is Failure.ERROR:
            return _reply(500, "INTERNAL_SERVER_ERROR", message or "unexpected error")
        if failure is Failure.REQUEST_TIMEOUT:
            return _reply(408, "CONTEXT_ERROR", message or "Error timeout get avatar!")
        if failure is Failure.GATEWAY_TIMEOUT:
            return _reply(504, "GATEWAY_TIMEOUT", message or "context deadline exceeded")
        if failure is Failure.HTML:
            return Response(
                "<html><body><h1>502 Bad Gateway</h1></body></html>", 502, media_type="text/html"
            )
        await asyncio.sleep(self.slow_seconds)  # SLOW: then answer normally
        return None

    def _not_logged_in(self) -> Response | None:
        return None if self.logged_in else _reply(401, "AUTHENTICATION_ERROR", NOT_LOGGED_IN)

    async def _status(self, recorded: GowaRequest) -> Response:
        results = {
            "is_connected": self.logged_in,
            "is_logged_in": self.logged_in,
            "device_id": recorded.device_id or self.devices[0],
            "jid": self.own_jid if self.logged_in else "",
        }
        return _reply(200, "SUCCESS", "Connection status retrieved", results)

    async def _avatar(self, recorded: GowaRequest) -> Response:
        phone = recorded.param("phone").strip()
        if not phone:
            return _reply(400, "VALIDATION_ERROR", "phone: cannot be blank.")
        if refusal := self._not_logged_in():
            return refusal
        url = self.avatars.get(_jid(phone))
        if url is None:
            return _reply(500, "INTERNAL_SERVER_ERROR", NO_PICTURE)
        picture_id = url.rsplit("/", 1)[-1].split("_", 1)[0]
        return _reply(
            200, "SUCCESS", "Success get avatar", {"url": url, "id": picture_id, "type": "image"}
        )

    async def _change_avatar(self, recorded: GowaRequest) -> Response:
        if refusal := self._not_logged_in():
            return refusal
        part = recorded.fields.get("avatar")
        if part is None or part.filename is None:
            return _reply(
                500,
                "INTERNAL_SERVER_ERROR",
                "there is no uploaded file associated with the given key",
            )
        if _image_format(part.data) is None:
            return _reply(
                500, "INTERNAL_SERVER_ERROR", "failed to decode image: image: unknown format"
            )
        self._set_avatar(self.own_jid)
        return _reply(200, "SUCCESS", "Success change avatar")

    async def _group_photo(self, recorded: GowaRequest) -> Response:
        photo = recorded.fields.get("photo")
        if photo is not None and photo.filename is not None and (problem := _photo_problem(photo)):
            return _reply(400, "INVALID_IMAGE_FORMAT", f"Image validation failed: {problem}")
        group = _jid(_text(recorded.fields.get("group_id")).strip())
        if not group:
            return _reply(400, "VALIDATION_ERROR", "group_id: cannot be blank.")
        if refusal := self._not_logged_in():
            return refusal
        if group not in self.groups:
            return _reply(500, "INTERNAL_SERVER_ERROR", UNKNOWN_GROUP)
        if photo is None or photo.filename is None:
            self.avatars.pop(group, None)
            message, picture_id = "Success remove group photo", "remove"
        else:
            message, picture_id = "Success update group photo", self._set_avatar(group)
        return _reply(200, "SUCCESS", message, {"picture_id": picture_id, "message": message})

    def _set_avatar(self, jid: str) -> str:
        picture_id = str(next(self._picture_ids))
        self.avatars[jid] = (
            f"https://pps.whatsapp.net/v/t61.24694-24/{picture_id}_n.jpg?ccb=11-4&oe=fake"
        )
        return picture_id


def _reply(status: int, code: str, message: str, results: Any = None) -> JSONResponse:
    """GOWA's envelope; `results` is left out when empty, as its `omitempty` does."""
    body: dict[str, Any] = {"status": status, "code": code, "message": message}
    if results is not None:
        body["results"] = results
    return JSONResponse(body, status)


def _jid(phone: str) -> str:
    """GOWA's suffix rule: a bare id of up to 15 characters is a user, a longer one a group."""
    if not phone or "@" in phone:
        return phone
    return phone + ("@s.whatsapp.net" if len(phone) <= 15 else "@g.us")


async def _part(value: UploadFile | str) -> FormPart:
    if isinstance(value, str):
        return FormPart(value.encode())
    return FormPart(await value.read(), value.filename or "", value.content_type)


def _text(part: FormPart | None) -> str:
    return part.data.decode() if part is not None and part.filename is None else ""


def _photo_problem(photo: FormPart) -> str | None:
    """GOWA's `ValidateGroupPhotoFormat`: part content type, size, then the decoded format."""
    content_type = photo.content_type or ""
    if content_type not in GROUP_PHOTO_TYPES:
        return f"unsupported image format: {content_type} (supported: JPEG, PNG, WebP)"
    if len(photo.data) > MAX_GROUP_PHOTO_BYTES:
        return f"image file too large: {len(photo.data)} bytes (max 10MB for processing)"
    found = _image_format(photo.data)
    if found is None:
        return "invalid image file: image: unknown format"
    if found not in {"jpeg", "png", "webp"}:
        return f"unsupported image format detected: {found}"
    return None


def _image_format(data: bytes) -> str | None:
    """The decoded format name as Go's image package says it ("jpeg", "png"...), or None."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return (image.format or "").lower() or None
    except (UnidentifiedImageError, OSError):
        return None
