"""A fake Wasend on 127.0.0.1 that, like the real one, downloads the picture URL it is given."""

from __future__ import annotations

import asyncio
import io
import itertools
import time
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Op = Literal["set", "delete", "get", "session"]
_OPS: dict[str, Op] = {"PUT": "set", "DELETE": "delete", "GET": "get"}
Mode = Literal[
    "400",
    "403",
    "429",  # without Retry-After
    "429-retry-after",  # Retry-After: 7
    "500",
    "502-html",
    "invalid-json",
    "success-false",  # HTTP 200 {"success": false, "error": ...}
    "slow",  # answers after `slow_seconds`
]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    raw_path: str  # as sent, percent-encoding kept, without the query
    query: str
    headers: dict[str, str]
    json: Any  # None when the body is empty or not JSON
    #: time.monotonic() when it arrived, to check an account's pace
    received_at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class GroupPicture:
    url: str  # the avatar URL this fake reports
    jpeg: bytes


class FakeWasend:
    """Serve `app` with `serve()`; inspect `requests`, `given_urls`, `fetched` and `pictures`."""

    def __init__(
        self,
        *,
        api_key: str = "k",
        session_id: str = "my-session",
        groups: Iterable[str] = (),
        get_shape: Literal["docs", "sdk"] = "docs",
        error_message: str = "url must be a URL address",
        slow_seconds: float = 1.0,
    ) -> None:
        self.api_key = api_key
        self.session_id = session_id
        self.groups = set(groups)
        #: "docs": {"success": true, "picture": {"url": ...}}; "sdk": {"url": ...}
        self.get_shape = get_shape
        #: the message of "400" and "success-false" answers
        self.error_message = error_message
        self.slow_seconds = slow_seconds
        #: what GET /sessions/{id} reports (WAHA states: WORKING, SCAN_QR_CODE, FAILED...)
        self.session_status = "WORKING"
        self.requests: list[RecordedRequest] = []
        self.given_urls: list[str] = []
        self.fetched: list[bytes] = []
        self.pictures: dict[str, GroupPicture] = {}
        self._failures: defaultdict[str, deque[Mode]] = defaultdict(deque)
        self._serial = itertools.count(1)
        self.app = Starlette(
            routes=[
                Route("/sessions/{session}", self._session, methods=["GET"]),
                Route(
                    "/{session}/groups/{group}/picture",
                    self._picture,
                    methods=["GET", "PUT", "DELETE"],
                ),
            ]
        )

    def fail_next(self, op: Op, mode: Mode) -> None:
        """Answer the next `op` request (after the key check) with the failure `mode`."""
        self._failures[op].append(mode)

    async def _session(self, request: Request) -> Response:
        await self._record(request)
        refusal = await self._refusal(request, "session")
        if refusal:
            return refusal
        if request.path_params["session"] != self.session_id:
            return _error(404, "Session not found")
        return JSONResponse({"name": self.session_id, "status": self.session_status})

    async def _picture(self, request: Request) -> Response:
        op = _OPS[request.method]
        recorded = await self._record(request)
        refusal = await self._refusal(request, op)
        if refusal:
            return refusal
        group = request.path_params["group"]
        if request.path_params["session"] != self.session_id or group not in self.groups:
            return _error(404, "Session or group not found")
        if op == "set":
            return await self._set(group, recorded.json)
        if op == "delete":
            self.pictures.pop(group, None)
            return JSONResponse({"success": True})
        picture = self.pictures.get(group)
        url = picture.url if picture else None
        if self.get_shape == "sdk":
            return JSONResponse({"url": url})
        described = {"url": url, "type": "image", "size": len(picture.jpeg)} if picture else None
        return JSONResponse({"success": True, "picture": described})

    async def _set(self, group: str, body: Any) -> Response:
        url = body.get("url") if isinstance(body, dict) else None
        if not isinstance(url, str):
            return _error(400, "url must be a URL address")
        self.given_urls.append(url)
        jpeg = await self._download(url)
        if jpeg is None:
            return _error(422, "Image URL is invalid, inaccessible, or wrong format")
        avatar = f"https://pps.whatsapp.net/v/t61/{next(self._serial)}.jpg?oe=fake"
        self.pictures[group] = GroupPicture(avatar, jpeg)
        return JSONResponse(
            {"success": True, "url": avatar, "message": "Group picture updated successfully."}
        )

    async def _download(self, url: str) -> bytes | None:
        """The image at `url`, or None when it cannot be fetched or is not an image."""
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                response = await client.get(url)
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        self.fetched.append(response.content)
        try:
            Image.open(io.BytesIO(response.content)).verify()
        except Exception:
            return None
        return response.content

    async def _record(self, request: Request) -> RecordedRequest:
        raw = await request.body()
        try:
            body = await request.json() if raw else None
        except ValueError:
            body = None
        recorded = RecordedRequest(
            method=request.method,
            raw_path=request.scope["raw_path"].decode(),
            query=request.url.query,
            headers=dict(request.headers),
            json=body,
        )
        self.requests.append(recorded)
        return recorded

    async def _refusal(self, request: Request, op: Op) -> Response | None:
        """401 for a wrong key, else the queued failure of `op`, else None."""
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(401, "Unauthorized")
        if self._failures[op]:
            return await self._failure(self._failures[op].popleft())
        return None

    async def _failure(self, mode: Mode) -> Response:
        if mode == "400":
            return _error(400, self.error_message)
        if mode == "403":
            return _error(403, "Forbidden")
        if mode == "429":
            return _error(429, "Too Many Requests")
        if mode == "429-retry-after":
            return _error(429, "Too Many Requests", {"Retry-After": "7"})
        if mode == "500":
            return _error(500, "Internal Server Error")
        if mode == "502-html":
            return Response("<html>502 Bad Gateway</html>", 502, media_type="text/html")
        if mode == "invalid-json":
            return Response("{success: true", 200, media_type="application/json")
        if mode == "success-false":
            return JSONResponse({"success": False, "error": self.error_message})
        assert mode == "slow", mode
        await asyncio.sleep(self.slow_seconds)
        return JSONResponse({"success": True})


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error the way WAHA's NestJS answers, with the `error` field Wasend's docs name."""
    body = {"success": False, "statusCode": status, "message": message, "error": message}
    return JSONResponse(body, status, headers)
