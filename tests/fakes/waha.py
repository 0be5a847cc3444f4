"""A fake WAHA on 127.0.0.1: X-Api-Key, sessions and their states, a 24 h picture cache.

Order of checks, as in WAHA: the key (401), a queued failure, the session (404 unknown, 422 not
WORKING), then the route. WhatsApp-side refusals are WAHA's 500 body with WhatsApp's error word
in `exception.message`. Like WAHA's controllers, a set answers `{"success": <what the engine
said>}` and a delete always `{"success": true}`: a jid in `refusing` is one the engine will not
change (whatsapp-web.js returns false), so its delete "succeeds" and the picture stays.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import enum
import io
import itertools
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, UnidentifiedImageError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

#: WhatsApp's error words and the codes Baileys puts in `exception.data`
WHATSAPP_CODES = {
    "bad-request": 400,
    "not-authorized": 401,
    "forbidden": 403,
    "item-not-found": 404,
    "not-acceptable": 406,
    "rate-overlimit": 429,
}
PLUS_ONLY = "Available only in Plus version. Please upgrade WAHA Plus to use this feature."
NOT_IMPLEMENTED = "The method is not implemented by the engine."
NOT_EXPECTED = "Session status is not as expected. Try again later or restart the session"


class Failure(enum.StrEnum):
    """What `FakeWaha.fail_next` makes the next matching request get."""

    ERROR = "error"  # 500 with WAHA's exception body; the message is WhatsApp's error word
    PLUS_ONLY = "plus_only"  # 422 on WAHA Core 2025.2.7 to 2026.6.1
    NOT_IMPLEMENTED = "not_implemented"  # 422 NotImplementedByEngineError
    SCOPE = "scope"  # 403: a session key without the needed scope
    NULL_URL = "null_url"  # 200 {"url": null} for a picture that exists (WEBJS, waha #1707)
    HTML = "html"  # 502 HTML page from a reverse proxy
    SLOW = "slow"  # the normal answer, after `slow_seconds`


@dataclass(frozen=True)
class WahaRequest:
    """One request as received (fits `tests.openapi_conformance.RequestLike`)."""

    method: str
    path: str  # decoded, without the base path
    raw_path: str  # as sent (percent-encoding kept), without the base path
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-case names
    content_type: str
    body: bytes
    json: Any  # None when the body is empty or not JSON
    #: time.monotonic() when it arrived, to check an account's pace
    received_at: float = field(default_factory=time.monotonic)

    def param(self, name: str) -> str:
        return next((value for key, value in self.query if key == name), "")


@dataclass(frozen=True)
class Picture:
    url: str
    jpeg: bytes  # what WAHA received (empty for pictures a test put there)


_Handler = Callable[[WahaRequest, dict[str, str]], Awaitable[Response]]


class FakeWaha:
    """Serve `app` with `serve()`; read `requests`, `pictures` (what WhatsApp has) and `cache`."""

    def __init__(
        self,
        *,
        api_key: str = "k",
        session: str = "default",
        own_id: str = "6281234567890@c.us",
        groups: Iterable[str] = (),
        base_path: str = "",
        slow_seconds: float = 1.0,
    ) -> None:
        self.api_key = api_key
        self.session = session
        #: the session's state: WORKING, SCAN_QR_CODE, STARTING, STOPPED, FAILED...
        self.status = "WORKING"
        self.own_id = own_id
        self.groups = set(groups)
        #: jids (groups or `own_id`) whose picture the engine refuses to change
        self.refusing: set[str] = set()
        self.base_path = base_path.rstrip("/")
        self.slow_seconds = slow_seconds
        self.requests: list[WahaRequest] = []
        #: jid -> its picture as WhatsApp has it now
        self.pictures: dict[str, Picture] = {}
        #: jid -> the URL WAHA cached (None: cached "no picture"), read unless refresh=true
        self.cache: dict[str, str | None] = {}
        self._queued: dict[str, list[tuple[Failure, str | None]]] = {}
        self._serial = itertools.count(1650000001)
        routes: list[BaseRoute] = [
            self._route("GET", "/api/sessions/{session}", "SessionsController_get", self._info),
            self._route(
                "GET", "/api/{session}/profile", "ProfileController_getMyProfile", self._profile
            ),
            self._route(
                "PUT",
                "/api/{session}/profile/picture",
                "ProfileController_setProfilePicture",
                self._set_own,
            ),
            self._route(
                "DELETE",
                "/api/{session}/profile/picture",
                "ProfileController_deleteProfilePicture",
                self._delete_own,
            ),
            self._route(
                "GET",
                "/api/{session}/chats/{chatId}/picture",
                "ChatsController_getChatPicture",
                self._chat_picture,
            ),
            self._route(
                "GET",
                "/api/{session}/groups/{id}/picture",
                "GroupsController_getChatPicture",
                self._chat_picture,
            ),
            self._route(
                "PUT",
                "/api/{session}/groups/{id}/picture",
                "GroupsController_setPicture",
                self._set_group,
            ),
            self._route(
                "DELETE",
                "/api/{session}/groups/{id}/picture",
                "GroupsController_deletePicture",
                self._delete_group,
            ),
        ]
        if self.base_path:
            routes = [Mount(self.base_path, routes=routes)]
        self.app = Starlette(routes=routes)

    def fail_next(self, operation_id: str, failure: Failure, message: str | None = None) -> None:
        """Answer the next request to `operation_id` (as in WAHA's OpenAPI file, e.g.
        "GroupsController_setPicture") with `failure`, once the key passed."""
        self._queued.setdefault(operation_id, []).append((failure, message))

    def set_picture(self, jid: str, jpeg: bytes = b"") -> str:
        """Give `jid` a new picture in WhatsApp (not in WAHA's cache); return its URL."""
        url = f"https://pps.whatsapp.net/v/t61.24694-24/{next(self._serial)}_n.jpg?oe=fake"
        self.pictures[jid] = Picture(url, jpeg)
        return url

    def _route(self, method: str, path: str, operation_id: str, handler: _Handler) -> Route:
        async def endpoint(request: Request) -> Response:
            recorded = await self._record(request)
            if recorded.headers.get("x-api-key") != self.api_key:
                return JSONResponse({"message": "Unauthorized", "statusCode": 401}, 401)
            queued = self._queued.get(operation_id)
            if queued:
                failure = await self._failure(*queued.pop(0), recorded)
                if failure is not None:
                    return failure
            params = dict(request.path_params)
            if params["session"] != self.session:
                return _nest(
                    404,
                    f"We didn't find a session with name '{params['session']}'.\nPlease start it"
                    f" first by using POST /api/sessions/{params['session']}/start request",
                    "Not Found",
                )
            if operation_id != "SessionsController_get" and self.status != "WORKING":
                body = {
                    "error": NOT_EXPECTED,
                    "session": self.session,
                    "status": self.status,
                    "expected": ["WORKING"],
                }
                return JSONResponse(body, 422)
            return await handler(recorded, params)

        return Route(path, endpoint, methods=[method], name=operation_id)

    async def _record(self, request: Request) -> WahaRequest:
        body = await request.body()
        try:
            parsed = await request.json() if body else None
        except ValueError:
            parsed = None
        raw_path = request.scope["raw_path"].decode()
        recorded = WahaRequest(
            method=request.method,
            path=request.url.path.removeprefix(self.base_path),
            raw_path=raw_path.removeprefix(self.base_path),
            query=list(request.query_params.multi_items()),
            headers=dict(request.headers),
            content_type=request.headers.get("content-type", ""),
            body=body,
            json=parsed,
        )
        self.requests.append(recorded)
        return recorded

    async def _failure(
        self, failure: Failure, message: str | None, recorded: WahaRequest
    ) -> Response | None:
        if failure is Failure.ERROR:
            return _exception(message or "unexpected error", recorded)
        if failure is Failure.PLUS_ONLY:
            return _nest(422, message or PLUS_ONLY, "Unprocessable Entity")
        if failure is Failure.NOT_IMPLEMENTED:
            return _nest(422, message or NOT_IMPLEMENTED, "Unprocessable Entity")
        if failure is Failure.SCOPE:
            return _nest(403, "Forbidden resource", "Forbidden")
        if failure is Failure.NULL_URL:
            return JSONResponse({"url": None})
        if failure is Failure.HTML:
            return Response("<html><h1>502 Bad Gateway</h1></html>", 502, media_type="text/html")
        await asyncio.sleep(self.slow_seconds)  # SLOW: then answer normally
        return None

    # -- routes -----------------------------------------------------------------------------

    async def _info(self, recorded: WahaRequest, params: dict[str, str]) -> Response:
        working = self.status == "WORKING"
        return JSONResponse(
            {
                "name": self.session,
                "status": self.status,
                "me": {"id": self.own_id, "pushName": "Olga"} if working else None,
                "engine": {"engine": "NOWEB"},
                "presence": None,
                "timestamps": {"activity": None},
                "config": {},
            }
        )

    async def _profile(self, recorded: WahaRequest, params: dict[str, str]) -> Response:
        """WAHA's ProfileController: the cached picture, never refreshed."""
        picture = self._read(self.own_id, refresh=False)
        return JSONResponse({"id": self.own_id, "name": "Olga", "picture": picture})

    async def _chat_picture(self, recorded: WahaRequest, params: dict[str, str]) -> Response:
        jid = params.get("id") or params["chatId"]
        refresh = recorded.param("refresh")
        if refresh not in ("", "true", "false"):
            return _nest(400, ["refresh must be a boolean value"], "Bad Request")
        return JSONResponse({"url": self._read(jid, refresh=refresh == "true")})

    async def _set_group(self, recorded: WahaRequest, params: dict[str, str]) -> Response:
        group = params["id"]
        if group not in self.groups:
            return _exception("item-not-found", recorded)
        return self._set(group, recorded)

    async def _delete_group(self, recorded: WahaRequest, params: dict[str, str]) -> Response:
        group = params["id"]
        if group not in self.groups:
            return _exception("item-not-found", recorded)
        return self._delete(group)

    async def _set_own(self, recorded: WahaRequest, params: dict[str, str]) -> Response:
        return self._set(self.own_id, recorded)

    async def _delete_own(self, recorded: WahaRequest, params: dict[str, str]) -> Response:
        return self._delete(self.own_id)

    # -- the engine -------------------------------------------------------------------------

    def _read(self, jid: str, *, refresh: bool) -> str | None:
        if refresh or jid not in self.cache:
            picture = self.pictures.get(jid)
            self.cache[jid] = picture.url if picture else None
        return self.cache[jid]

    def _set(self, jid: str, recorded: WahaRequest) -> Response:
        """`{"success": success ?? true}`: false when the engine will not change it."""
        file = recorded.json.get("file") if isinstance(recorded.json, dict) else None
        if not isinstance(file, dict) or not isinstance(file.get("data"), str):
            return _nest(400, ["file.data must be a base64 string"], "Bad Request")
        try:
            jpeg = base64.b64decode(file["data"], validate=True)
            with Image.open(io.BytesIO(jpeg)) as image:
                image.verify()
        except (binascii.Error, UnidentifiedImageError, OSError):
            return _exception("not-acceptable", recorded)
        if jid in self.refusing:
            return JSONResponse({"success": False})
        self.set_picture(jid, jpeg)
        return JSONResponse({"success": True})

    def _delete(self, jid: str) -> Response:
        """`{"success": success || true}`: true even when the engine did nothing."""
        if jid not in self.refusing:
            self.pictures.pop(jid, None)
        return JSONResponse({"success": True})


def _nest(status: int, message: str | list[str], error: str) -> JSONResponse:
    """NestJS's HttpException body."""
    return JSONResponse({"statusCode": status, "message": message, "error": error}, status)


def _exception(message: str, recorded: WahaRequest) -> JSONResponse:
    """WAHA's exception filter for anything that is not an HttpException: always 500."""
    body = {
        "statusCode": 500,
        "timestamp": "2026-01-01T00:00:00.000Z",
        "exception": {
            "message": message,
            "data": WHATSAPP_CODES.get(message),
            "isBoom": True,
            "isServer": False,
            "stack": f"Error: {message}\n    at assertNodeErrorFree (/app/node_modules/...)",
        },
        "request": {"path": recorded.raw_path, "method": recorded.method},
        "version": {"version": "2026.7.1", "engine": "NOWEB", "tier": "CORE"},
    }
    return JSONResponse(body, 500)
