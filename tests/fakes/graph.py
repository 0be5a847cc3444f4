"""A fake WhatsApp Business Cloud API (Meta's Graph API, or 360dialog's relay) on 127.0.0.1.

It answers a group picture change at once with a `request_id` and tells the outcome later, as
WhatsApp does, in a signed `group_settings_update` webhook POSTed to `webhook_url`: at once
(`confirming = "at once"`), or when the test says (`"held"`, then `confirm(...)`), which can be
late, twice, failed, badly signed or never. `DELETE /{group_id}` deletes the whole group, as the
real one does, so a test can tell that the bot never sends it.

Errors use Graph's envelope `{"error": {"message", "type", "code", "fbtrace_id"}}`. Checks, in
order: the credentials, a queued failure, the request, the group, the picture.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import itertools
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from PIL import Image, UnidentifiedImageError
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

MAX_PICTURE_BYTES = 5 * 1024 * 1024
MIN_SIDE = 192
#: Graph error codes with the HTTP status and title Meta sends them with
ERRORS: dict[int, tuple[int, str]] = {
    4: (429, "Application request limit reached"),
    100: (400, "Invalid parameter"),
    190: (401, "Error validating access token: Session has expired"),
    80007: (429, "Rate limit issues"),
    130429: (429, "Rate limit hit"),
    131041: (400, "Group unknown"),
    131208: (429, "Group Rate Limit Hit"),
    131209: (400, "Invalid Group Profile Picture Aspect Ratio"),
    131210: (400, "Image is Too Small to Process"),
    131215: (400, "Groups APIs are only available for eligible phone numbers"),
}


@dataclass(frozen=True)
class GraphRequest:
    """One request as received (fits `tests.openapi_conformance.RequestLike`)."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    content_type: str
    body: bytes
    received_at: float = field(default_factory=time.monotonic)


@dataclass
class Accepted:
    """A picture change WhatsApp accepted and has not confirmed yet."""

    request_id: str
    group_id: str
    jpeg: bytes


class FakeGraph:
    """Serve `app` with `serve()`; read `requests`, `pictures` and `deleted_groups`."""

    def __init__(
        self,
        *,
        flavor: Literal["meta", "360dialog"] = "meta",
        token: str,
        app_secret: str,
        groups: Iterable[str] = (),
        phone_number_id: str = "106540352242922",
        app_id: str = "1234567890",
        version: str = "v23.0",
    ) -> None:
        self.flavor = flavor
        self.token = token
        self.app_secret = app_secret
        self.groups = set(groups)
        self.phone_number_id = phone_number_id
        self.app_id = app_id
        self.official = True
        #: where the webhooks go (the bot's /hooks/<provider>/<secret>)
        self.webhook_url = ""
        #: "at once": each accepted change is confirmed right after the answer; "held": the test
        #: calls `confirm`
        self.confirming: Literal["at once", "held"] = "at once"
        self.requests: list[GraphRequest] = []
        #: group id -> the JPEG WhatsApp shows (set once a change is confirmed)
        self.pictures: dict[str, bytes] = {}
        self.profile_url: str | None = None
        self.deleted_groups: list[str] = []
        self.accepted: list[Accepted] = []
        #: webhook deliveries: (status the bot answered, body)
        self.deliveries: list[tuple[int, bytes]] = []
        self._failures: list[tuple[int, dict[str, Any], dict[str, str]]] = []
        self._uploads: dict[str, bytes] = {}
        self._serial = itertools.count(1)
        self._background: set[asyncio.Task[None]] = set()
        prefix = f"/{version}" if flavor == "meta" else ""
        routes = [
            Route(prefix + "/{node}/uploads", self._upload_session, methods=["POST"]),
            Route(prefix + "/{node}/whatsapp_business_profile", self._profile, methods=["GET"]),
            Route(
                prefix + "/{node}/whatsapp_business_profile", self._set_profile, methods=["POST"]
            ),
        ]
        if flavor == "meta":
            routes.append(Route(prefix + "/{node}", self._node, methods=["GET", "POST", "DELETE"]))
        else:
            routes += [
                Route("/uploads", self._upload_session, methods=["POST"]),
                Route("/whatsapp_business_profile", self._profile, methods=["GET"]),
                Route("/whatsapp_business_profile", self._set_profile, methods=["POST"]),
                Route("/groups/{node}", self._node, methods=["GET", "POST", "DELETE"]),
                Route("/{node}", self._node, methods=["POST"]),
            ]
        self.app = Starlette(routes=routes)

    # ----- test-facing ---------------------------------------------------------------------------

    def fail_next(self, code: int, *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        """The next request gets Graph error `code` (extra fields join the error object), with
        `headers` (e.g. x-business-use-case-usage)."""
        status, title = ERRORS[code]
        error = {"code": code, "message": f"(#{code}) {title}", **extra}
        self._failures.append((status, error, headers or {}))

    async def confirm(
        self,
        request_id: str | None = None,
        *,
        ok: bool = True,
        error: int = 131209,
        signed: bool = True,
    ) -> int:
        """Send the `group_settings_update` webhook of an accepted change (the oldest when no
        `request_id`); a confirmed success shows the picture. The bot's HTTP status."""
        accepted = next(a for a in self.accepted if request_id in (None, a.request_id))
        if ok:
            self.pictures[accepted.group_id] = accepted.jpeg
        return await self.send_webhook(self.settings_update(accepted, ok, error), signed=signed)

    def settings_update(self, accepted: Accepted, ok: bool, error: int = 131209) -> bytes:
        """The webhook body Meta documents for one group's settings request."""
        picture: dict[str, Any] = {
            "mime_type": "image/jpeg",
            "sha256": hashlib.sha256(accepted.jpeg).hexdigest(),
            "update_successful": ok,
        }
        if not ok:
            title = ERRORS[error][1]
            picture["errors"] = [
                {"code": error, "message": title, "title": title, "error_data": {"details": title}}
            ]
        group = {
            "timestamp": str(int(time.time())),
            "group_id": accepted.group_id,
            "type": "group_settings_update",
            "request_id": accepted.request_id,
            "profile_picture": picture,
        }
        value = {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": "15550000000",
                "phone_number_id": self.phone_number_id,
            },
            "groups": [group],
        }
        entry = {
            "id": "102290129340398",
            "changes": [{"field": "group_settings_update", "value": value}],
        }
        return json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()

    async def send_webhook(
        self, body: bytes, *, signed: bool = True, secret: str | None = None
    ) -> int:
        """POST `body` to `webhook_url`, signed with the app secret (or `secret`) when `signed`."""
        key = (secret or self.app_secret).encode()
        headers = {"Content-Type": "application/json"}
        if signed:
            headers["X-Hub-Signature-256"] = (
                "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
            )
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.post(self.webhook_url, content=body, headers=headers)
        self.deliveries.append((answer.status_code, body))
        return answer.status_code

    # ----- the API -------------------------------------------------------------------------------

    async def _node(self, request: Request) -> Response:
        recorded, refused = await self._admit(request)
        if refused is not None:
            return refused
        node = request.path_params["node"]
        if node.startswith("upload:"):
            return self._upload_bytes(node, recorded)
        if request.method == "DELETE":
            if node not in self.groups:
                return _error(131041)
            self.groups.discard(node)
            self.deleted_groups.append(node)
            return JSONResponse({"success": True})
        if request.method == "GET":
            if node != self.phone_number_id:
                return _error(100)
            return JSONResponse(
                {
                    "id": node,
                    "display_phone_number": "+1 555-000-0000",
                    "verified_name": "Family Shop",
                    "quality_rating": "GREEN",
                    "is_official_business_account": self.official,
                }
            )
        return await self._set_group_picture(request, node)

    async def _set_group_picture(self, request: Request, node: str) -> Response:
        async with request.form(max_part_size=MAX_PICTURE_BYTES + 1) as form:
            if form.get("messaging_product") != "whatsapp":
                return _error(100)
            upload = form.get("file") or form.get("profile_picture_file")
            data = await upload.read() if isinstance(upload, UploadFile) else None
        if data is None:
            return _error(100)
        if node not in self.groups:
            return _error(131041)
        problem = _picture_problem(data)
        if problem is not None:
            return _error(problem)
        accepted = Accepted(f"req-{next(self._serial)}", node, data)
        self.accepted.append(accepted)
        if self.confirming == "at once":
            self._later(self.confirm(accepted.request_id))
        return JSONResponse({"messaging_product": "whatsapp", "request_id": accepted.request_id})

    async def _upload_session(self, request: Request) -> Response:
        _, refused = await self._admit(request)
        if refused is not None:
            return refused
        if self.flavor == "meta" and request.path_params.get("node") != self.app_id:
            return _error(100)
        query = request.query_params
        if query.get("file_type") != "image/jpeg" or not query.get("file_length", "").isdigit():
            return _error(100)
        session = f"upload:{next(self._serial)}"
        self._uploads[session] = b""
        return JSONResponse({"id": session})

    def _upload_bytes(self, session: str, recorded: GraphRequest) -> Response:
        if session not in self._uploads or recorded.headers.get("file_offset") != "0":
            return _error(100)
        self._uploads[session] = recorded.body
        return JSONResponse({"h": f"4:{session}:handle"})

    async def _set_profile(self, request: Request) -> Response:
        recorded, refused = await self._admit(request)
        if refused is not None:
            return refused
        body = json.loads(recorded.body or b"{}")
        handle = body.get("profile_picture_handle", "")
        session = handle.removeprefix("4:").removesuffix(":handle")
        if body.get("messaging_product") != "whatsapp" or not self._uploads.get(session):
            return _error(100)
        self.pictures["own"] = self._uploads.pop(session)
        self.profile_url = f"https://pps.whatsapp.net/v/own-{next(self._serial)}.jpg"
        return JSONResponse({"success": True})

    async def _profile(self, request: Request) -> Response:
        _, refused = await self._admit(request)
        if refused is not None:
            return refused
        profile: dict[str, Any] = {"messaging_product": "whatsapp", "about": "Family shop"}
        if self.profile_url:
            profile["profile_picture_url"] = self.profile_url
        return JSONResponse({"data": [{"business_profile": profile}]})

    # ----- plumbing ------------------------------------------------------------------------------

    async def _admit(self, request: Request) -> tuple[GraphRequest, Response | None]:
        """Record the request; refuse wrong credentials and queued failures."""
        recorded = GraphRequest(
            method=request.method,
            path=request.url.path,
            query=list(request.query_params.multi_items()),
            headers={k.lower(): v for k, v in request.headers.items()},
            content_type=request.headers.get("content-type", ""),
            body=await request.body(),
        )
        self.requests.append(recorded)
        if not self._authorised(recorded):
            if self.flavor == "360dialog":
                return recorded, JSONResponse(
                    {"meta": {"developer_message": "Invalid api_key"}}, 401
                )
            return recorded, _error(190)
        if self._failures:
            status, error, headers = self._failures.pop(0)
            body = {"error": {**error, "type": "OAuthException"}}
            return recorded, JSONResponse(body, status, headers=headers)
        return recorded, None

    def _authorised(self, recorded: GraphRequest) -> bool:
        if self.flavor == "360dialog":
            return recorded.headers.get("d360-api-key") == self.token
        given = recorded.headers.get("authorization", "")
        # the resumable upload's bytes step: Meta's guide says `OAuth`, clients send `Bearer`
        return given in (f"Bearer {self.token}", f"OAuth {self.token}")

    def _later(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


def _picture_problem(data: bytes) -> int | None:
    """The Graph error code WhatsApp refuses a group picture with, or None."""
    if len(data) > MAX_PICTURE_BYTES:
        return 100
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind, (width, height) = image.format, image.size
    except (UnidentifiedImageError, OSError):
        return 100
    if kind != "JPEG":
        return 100
    if width != height:
        return 131209
    if width < MIN_SIDE:
        return 131210
    return None


def _error(code: int) -> Response:
    status, title = ERRORS[code]
    body = {
        "error": {
            "message": f"(#{code}) {title}",
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": "AXsgnV2Cm3ZMGF3dF_cfYIn",
        }
    }
    return JSONResponse(body, status)
