"""A fake Evolution API, as v1 or v2, on 127.0.0.1: its guards, envelope, traps and failures.

Order of checks, as in Evolution's routers: the instance must exist (404), then the `apikey`
header (401; the global key, or the instance's token), then a queued failure, then the route.
v1 changes pictures with PUT, v2 with POST; the other method gets Express's 404 "Cannot PUT /…".
Errors are `{"status", "error", "response": {"message": ...}}`; WhatsApp-side refusals are 500
with `[<what failed>, <Baileys' error text>]`.

The trap: changing the account's own picture makes Evolution reconnect the instance.
`connectionState` then says `connecting` for `reconnect_seconds` (and at least once); meanwhile
picture changes fail with "Connection Closed" and picture reads give null, as every failed read
does in Evolution.
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
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

VERSIONS = {1: "1.8.2", 2: "2.3.6"}
CONNECTION_CLOSED = "Error: Connection Closed"
UNSUPPORTED_IMAGE = "Error: Input buffer contains unsupported image format"
_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
#: what a 500 of each picture change says first (Evolution's `InternalServerErrorException`)
_CONTEXT = {
    "updateGroupPicture": "Error update group picture",
    "updateProfilePicture": "Error updating profile picture",
}


class Failure(enum.StrEnum):
    """What `FakeEvolution.fail_next` makes the next matching request get."""

    ERROR = "500"  # 500 [<what failed>, message], message being Baileys' error text
    REFUSED = "400"  # 400 with `message` as `response.message` (a string, or JSON for a list)
    HTML = "html"  # 502 HTML page from a reverse proxy
    EMPTY_WELCOME = "welcome"  # GET / without a version (an old or customised server)
    SLOW = "slow"  # the normal answer, after `slow_seconds`


@dataclass(frozen=True)
class EvolutionRequest:
    """One request as received (fits `tests.openapi_conformance.RequestLike`)."""

    method: str
    path: str
    raw_path: str  # as sent, percent-encoding included
    query: list[tuple[str, str]]
    headers: dict[str, str]  # lower-case names
    content_type: str
    body: bytes
    #: the instance's connection state when the request arrived
    state: str
    #: time.monotonic() when it arrived, to check an account's pace
    received_at: float = field(default_factory=time.monotonic)

    def param(self, name: str) -> str:
        return next((value for key, value in self.query if key == name), "")

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass(frozen=True)
class _Queued:
    failure: Failure
    message: str | None


_Handler = Callable[[EvolutionRequest], Awaitable[Response]]


class FakeEvolution:
    """Serve `app` with `serve()`; read `requests`, `pictures` and `uploads`."""

    def __init__(
        self,
        *,
        version: int = 2,
        api_key: str,
        instance: str = "my-instance",
        instance_token: str | None = None,
        own_jid: str = "5511999990000@s.whatsapp.net",
        groups: Iterable[str] = (),
        reconnect_seconds: float = 0.3,
        slow_seconds: float = 1.0,
    ) -> None:
        self.version = version
        self.api_key = api_key
        self.instance = instance
        self.instance_token = instance_token
        self.own_jid = own_jid
        self.groups = set(groups)
        #: groups where only admins may edit the info, and this account is not one
        self.locked_groups: set[str] = set()
        self.reconnect_seconds = reconnect_seconds
        self.slow_seconds = slow_seconds
        #: the state when not reconnecting: open, connecting, close, refused, or None (absent)
        self.state: str | None = "open"
        self.requests: list[EvolutionRequest] = []
        #: JID -> picture URL; a JID without an entry has no picture
        self.pictures: dict[str, str] = {}
        #: JID -> the decoded bytes of the last picture set for it
        self.uploads: dict[str, bytes] = {}
        #: JIDs whose picture WhatsApp hides from this account: reads give null
        self.hidden: set[str] = set()
        self._reconnecting_until = 0.0
        #: the first connectionState after an own-picture change says connecting, however late
        #: it comes (so tests do not depend on timing)
        self._unpolled_reconnect = False
        self._queued: dict[str, list[_Queued]] = {}
        self._picture_ids = itertools.count(1747874123)
        change = "PUT" if version == 1 else "POST"
        instance_path = "/{instance}"
        routes = [
            self._route("GET", "/", "getEvoInfo", self._welcome, guarded=False),
            self._route(
                "GET",
                "/instance/connectionState" + instance_path,
                "connectionState",
                self._connection_state,
            ),
            self._route("GET", "/instance/fetchInstances", "fetchInstances", self._instances),
            self._route(
                "POST",
                "/chat/fetchProfilePictureUrl" + instance_path,
                "fetchProfilePictureUrl",
                self._fetch_picture,
            ),
            self._route(
                change,
                "/group/updateGroupPicture" + instance_path,
                "updateGroupPicture",
                self._group_picture,
            ),
            self._route(
                change,
                "/chat/updateProfilePicture" + instance_path,
                "updateProfilePicture",
                self._profile_picture,
            ),
        ]
        self.app = Starlette(
            routes=routes, exception_handlers={404: self._no_route, 405: self._no_route}
        )

    @property
    def connection_state(self) -> str | None:
        if self._unpolled_reconnect or time.monotonic() < self._reconnecting_until:
            return "connecting"
        return self.state

    def reconnected(self) -> None:
        """End a reconnection now."""
        self._reconnecting_until = 0.0
        self._unpolled_reconnect = False

    def fail_next(self, target: str, failure: Failure, message: str | None = None) -> None:
        """Answer the next request to `target` (an operationId such as "updateGroupPicture", or a
        path) with `failure`, once the instance and the key passed."""
        self._queued.setdefault(target, []).append(_Queued(failure, message))

    def _route(
        self, method: str, path: str, operation_id: str, handler: _Handler, *, guarded: bool = True
    ) -> Route:
        async def endpoint(request: Request) -> Response:
            recorded = await self._record(request)
            refusal = self._guard(request) if guarded else None
            refusal = refusal or await self._queued_failure(
                recorded.path, operation_id, _CONTEXT.get(operation_id, "Error")
            )
            return refusal or await handler(recorded)

        return Route(path, endpoint, methods=[method], name=operation_id)

    async def _record(self, request: Request) -> EvolutionRequest:
        recorded = EvolutionRequest(
            method=request.method,
            path=request.url.path,
            raw_path=request.scope.get("raw_path", b"").decode("latin-1"),
            query=list(request.query_params.multi_items()),
            headers=dict(request.headers),
            content_type=request.headers.get("content-type", ""),
            body=await request.body(),
            state=self.connection_state or "",
        )
        self.requests.append(recorded)
        return recorded

    def _guard(self, request: Request) -> Response | None:
        """instanceExistsGuard, then the apikey guard."""
        instance = request.path_params.get("instance")
        if instance is not None and instance != self.instance:
            return _error(404, [f'The "{instance}" instance does not exist'])
        if request.headers.get("apikey") not in {self.api_key, self.instance_token} - {None}:
            return _error(401, "Unauthorized")
        return None

    async def _queued_failure(self, path: str, operation_id: str, context: str) -> Response | None:
        for target in (operation_id, path):
            if self._queued.get(target):
                queued = self._queued[target].pop(0)
                return await self._failure(queued, context)
        return None

    async def _failure(self, queued: _Queued, context: str) -> Response | None:
        if queued.failure is Failure.ERROR:
            return _error(500, [context, queued.message or "Error: unexpected"])
        if queued.failure is Failure.REFUSED:
            message = queued.message or "Bad Request"
            return _error(400, json.loads(message) if message.startswith("[") else message)
        if queued.failure is Failure.HTML:
            return Response(
                "<html><body><h1>502 Bad Gateway</h1></body></html>", 502, media_type="text/html"
            )
        if queued.failure is Failure.EMPTY_WELCOME:
            return JSONResponse({"status": 200, "message": "Welcome to the Evolution API"})
        await asyncio.sleep(self.slow_seconds)  # SLOW: then answer normally
        return None

    async def _no_route(self, request: Request, error: Exception) -> Response:
        """Express's answer to a route it does not have (including a wrong method)."""
        assert isinstance(error, HTTPException)
        await self._record(request)
        return _error(404, [f"Cannot {request.method} {request.url.path}"])

    # -- routes -----------------------------------------------------------------------------

    async def _welcome(self, recorded: EvolutionRequest) -> Response:
        return JSONResponse(
            {
                "status": 200,
                "message": "Welcome to the Evolution API, it is working!",
                "version": VERSIONS[self.version],
                "clientName": "evolution_exchange",
                "manager": "http://127.0.0.1/manager",
                "documentation": "https://doc.evolution-api.com",
            }
        )

    async def _connection_state(self, recorded: EvolutionRequest) -> Response:
        instance: dict[str, Any] = {"instanceName": self.instance}
        if self.connection_state is not None:
            instance["state"] = self.connection_state
        self._unpolled_reconnect = False
        return JSONResponse({"instance": instance})

    async def _instances(self, recorded: EvolutionRequest) -> Response:
        """v2 answers Prisma rows, v1 `{instance: {...}}`; both carry the instance's token."""
        if recorded.param("instanceName") not in ("", self.instance):
            return JSONResponse([])
        token = self.instance_token or "instance-token-of-the-fake"
        if self.version == 1:
            row: dict[str, Any] = {
                "instance": {
                    "instanceName": self.instance,
                    "owner": self.own_jid,
                    "profileName": "Avatar Ops",
                    "profilePictureUrl": self.pictures.get(self.own_jid),
                    "status": self.connection_state,
                    "apikey": token,
                }
            }
        else:
            row = {
                "id": "421a4121-a3d9-40cc-a8db-c3a1df353126",
                "name": self.instance,
                "connectionStatus": self.connection_state,
                "ownerJid": self.own_jid,
                "profileName": "Avatar Ops",
                "profilePicUrl": self.pictures.get(self.own_jid),
                "integration": "WHATSAPP-BAILEYS",
                "token": token,
            }
        return JSONResponse([row])

    async def _fetch_picture(self, recorded: EvolutionRequest) -> Response:
        body = _object(recorded)
        number = body.get("number")
        if not isinstance(number, str) or not number:
            return _error(400, [{"property": "instance", "message": 'requires property "number"'}])
        jid = number if "@" in number else f"{number}@s.whatsapp.net"
        # Evolution turns every failure to read a picture (disconnected included) into null
        readable = self.connection_state == "open" and jid not in self.hidden
        url = self.pictures.get(jid) if readable else None
        return JSONResponse({"wuid": jid, "profilePictureUrl": url})

    async def _group_picture(self, recorded: EvolutionRequest) -> Response:
        body = _object(recorded)
        group = str(body.get("groupJid") or recorded.param("groupJid"))
        if not group:
            return _error(
                400,
                ["The group id needs to be informed in the query", 'ex: "groupJid=120362@g.us"'],
            )
        if not group.endswith("@g.us"):
            group += "@g.us"
        if (problem := _missing(body, "image")) is not None:
            return problem
        context = _CONTEXT["updateGroupPicture"]
        if self.connection_state != "open":
            return _error(500, [context, CONNECTION_CLOSED])
        picture = _picture(body["image"])
        if isinstance(picture, str):
            return _error(500, [context, picture])
        if group not in self.groups:
            return _error(500, [context, "Error: item-not-found"])
        if group in self.locked_groups:
            return _error(500, [context, "Error: not-authorized"])
        self._set(group, picture)
        return JSONResponse({"update": "success"}, 201)

    async def _profile_picture(self, recorded: EvolutionRequest) -> Response:
        body = _object(recorded)
        if (problem := _missing(body, "picture")) is not None:
            return problem
        context = _CONTEXT["updateProfilePicture"]
        if self.connection_state != "open":
            return _error(500, [context, CONNECTION_CLOSED])
        picture = _picture(body["picture"])
        if isinstance(picture, str):
            return _error(500, [context, picture])
        self._set(self.own_jid, picture)
        # Evolution calls reloadConnection() without awaiting it
        self._reconnecting_until = time.monotonic() + self.reconnect_seconds
        self._unpolled_reconnect = True
        return JSONResponse({"update": "success"})

    def _set(self, jid: str, picture: bytes) -> None:
        self.uploads[jid] = picture
        self.pictures[jid] = (
            f"https://pps.whatsapp.net/v/t61.24694-24/{next(self._picture_ids)}_n.jpg?oe=fake"
        )


def _error(status: int, message: Any) -> JSONResponse:
    reasons = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}
    reason = reasons.get(status, "Internal Server Error")
    return JSONResponse(
        {"status": status, "error": reason, "response": {"message": message}}, status
    )


def _object(recorded: EvolutionRequest) -> dict[str, Any]:
    try:
        body = recorded.json
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _missing(body: dict[str, Any], name: str) -> Response | None:
    """Evolution's JSON-schema check: the field present and not empty."""
    if name not in body:
        return _error(400, [{"property": "instance", "message": f'requires property "{name}"'}])
    if not body[name]:
        return _error(400, [{"property": name, "message": f'The "{name}" cannot be empty'}])
    return None


def _picture(value: Any) -> bytes | str:
    """The decoded picture, or the error text Evolution's 500 carries as its second message.

    A URL would be downloaded (this fake's host refuses, as in evolution #1150); a value that is
    neither URL nor single-line base64 throws a BadRequestException object, which the route's
    `catch` turns into the text "[object Object]"."""
    if not isinstance(value, str):
        return "[object Object]"
    if value.startswith(("http://", "https://")):
        return "AxiosError: Request failed with status code 403"
    if not _BASE64.fullmatch(value):
        return "[object Object]"
    try:
        data = base64.b64decode(value, validate=True)
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except (binascii.Error, UnidentifiedImageError, OSError):
        return UNSUPPORTED_IMAGE
    return data
