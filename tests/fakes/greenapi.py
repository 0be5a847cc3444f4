"""A fake Green API on 127.0.0.1, for the adapter tests and the end-to-end tests.

It speaks the documented protocol: `[/v3]/waInstance{id}/{method}/{token}`, 403 for a wrong id,
401 for a wrong token, multipart uploads checked like the real server checks them (empty file,
not a JPEG, unknown group -> HTTP 200 "Timed Out"). Tests queue misbehaviour with `fail_next`:

    fake.fail_next("setGroupPicture", Fault.refused("Timed Out"))
    fake.fail_next(None, Fault.slow(5))          # None: whichever method comes next
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

JPEG_MAGIC = b"\xff\xd8\xff"
_PATH = re.compile(
    r"(?P<prefix>/v3)?/waInstance(?P<instance>[^/]+)/(?P<method>[^/]+)/(?P<token>[^/]+)"
)
#: the 466 body Green API documents (https://greenapi.com/en/docs/api/466-error-example-body)
QUOTA_BODY = {
    "invokeStatus": {"method": "sendmessage", "used": 67, "total": 0, "status": "QUOTE_ALLOWED"},
    "correspondentsStatus": {
        "method": "correspondents",
        "used": 3,
        "total": 3,
        "status": "CORRESPONDENTS_QUOTE_EXCEEDED",
        "description": "Monthly quota has been exceeded. You can only send or receive messages"
        " from these numbers: 79001234567",
    },
}
BAD_GATEWAY_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
    "</center><hr><center>nginx</center></body></html>"
)
#: what non-state methods answer (HTTP 400) while the instance is in these states
_STATE_REFUSALS = {
    "notAuthorized": "instance is starting or not authorized",
    "starting": "instance in starting process try later",
}


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the fake received it."""

    http_method: str
    path: str  # holds the token, like the real URL
    method: str  # the Green API method ("setGroupPicture"), "" when the path did not parse
    form: dict[str, str]  # multipart text fields
    file: bytes | None  # the multipart `file` part
    file_name: str | None
    file_content_type: str | None
    body: bytes  # the raw body of a non-multipart request
    #: time.monotonic() when it arrived, to check an account's pace
    received_at: float = field(default_factory=time.monotonic)

    @property
    def json(self) -> Any:
        """The body parsed as JSON; None when it is empty or not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


Answer = Callable[[ReceivedRequest], Response]


@dataclass(frozen=True)
class Fault:
    """One canned misbehaviour for `FakeGreenApi.fail_next`; build it with the classmethods."""

    answer: Answer | None  # None: the normal answer, after `delay`
    delay: float = 0.0

    @classmethod
    def refused(cls, reason: str | None = "Timed Out") -> Fault:
        """HTTP 200 `{"<method>": false, "reason": reason}`: how Green API says "not set"."""
        return cls(lambda r: _not_set(r, reason))

    @classmethod
    def bad_request(cls, text: str, *, as_json: bool = False) -> Fault:
        """HTTP 400 with `text`, or with `text` as the `message` of Green API's JSON error."""
        if not as_json:
            return cls.http(400, text)
        return cls(lambda r: _error_json(r, text))

    @classmethod
    def http(cls, status: int, text: str, headers: dict[str, str] | None = None) -> Fault:
        """Any status with a plain-text body."""
        return cls(lambda r: PlainTextResponse(text, status_code=status, headers=headers))

    @classmethod
    def unauthorized(cls) -> Fault:
        return cls.http(401, "Unauthorized")

    @classmethod
    def forbidden(cls) -> Fault:
        return cls.http(403, "Forbidden")

    @classmethod
    def too_many(cls, retry_after: str | None = None) -> Fault:
        """HTTP 429, with a `Retry-After` header when given."""
        headers = {"Retry-After": retry_after} if retry_after is not None else None
        return cls.http(429, "Too Many Requests", headers)

    @classmethod
    def quota(cls) -> Fault:
        """HTTP 466 with the documented body: the free plan's quota is used up."""
        return cls(lambda r: JSONResponse(QUOTA_BODY, status_code=466))

    @classmethod
    def server_error(cls) -> Fault:
        return cls.http(500, "Internal Server Error")

    @classmethod
    def bad_gateway(cls) -> Fault:
        """HTTP 502 with a proxy's HTML page."""
        return cls(lambda r: HTMLResponse(BAD_GATEWAY_PAGE, status_code=502))

    @classmethod
    def invalid_json(cls) -> Fault:
        """HTTP 200 announcing JSON that does not parse."""
        return cls(lambda r: Response(b'{"setGroupPicture": tru', media_type="application/json"))

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """The normal answer, `seconds` late (or never, when the client hangs up first)."""
        return cls(None, delay=seconds)


class FakeGreenApi:
    """Serve `app` with `serve()`. Inspect `requests`, `calls()`, `set_calls()`, `avatar_of()`.

    `groups` are the groups the account is in; `state` is what getStateInstance reports
    ("notAuthorized" and "starting" also make the picture methods answer 400, as the real ones
    do); `hidden` holds chats whose picture privacy hides (getAvatar `available: false`).
    """

    def __init__(
        self,
        *,
        id_instance: str = "7105000000",
        token: str = "secret-token",
        groups: Iterable[str] = (),
        product: Literal["whatsapp", "max"] = "whatsapp",
        own_chat_id: str | None = None,
        state: str = "authorized",
    ) -> None:
        self.id_instance = id_instance
        self.token = token
        self.product = product
        self.groups = set(groups)
        #: what getSettings (`wid`) or getAccountSettings (`chatId`) tells; "" for none
        self.own_chat_id = (
            own_chat_id
            if own_chat_id is not None
            else ("79876543210@c.us" if product == "whatsapp" else "10000000")
        )
        self.state = state
        self.hidden: set[str] = set()
        #: picture URLs as long as WhatsApp's real ones (about 170 characters)
        self.long_urls = False
        self.requests: list[ReceivedRequest] = []
        self._avatars: dict[str, str] = {}
        self._faults: list[tuple[str | None, Fault]] = []
        self._serial = itertools.count(1)
        settings = "getSettings" if product == "whatsapp" else "getAccountSettings"
        self._methods: dict[str, tuple[str, Answer]] = {
            "setGroupPicture": ("POST", self._set_group_picture),
            "setProfilePicture": ("POST", self._set_profile_picture),
            "getAvatar": ("POST", self._get_avatar),
            "getStateInstance": ("GET", self._get_state),
            settings: ("GET", self._get_settings),
        }
        self.app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET", "POST"])])

    # -- the test API ---------------------------------------------------------------------

    def fail_next(self, method: str | None, fault: Fault, times: int = 1) -> None:
        """Answer the next `times` calls of `method` (any method when None) with `fault`."""
        self._faults.extend([(method, fault)] * times)

    def calls(self, *methods: str) -> list[ReceivedRequest]:
        """The received requests of these Green API methods (of all methods when none given)."""
        return [r for r in self.requests if not methods or r.method in methods]

    def set_calls(self) -> list[ReceivedRequest]:
        """The received setGroupPicture and setProfilePicture requests."""
        return self.calls("setGroupPicture", "setProfilePicture")

    def avatar_of(self, chat_id: str) -> str | None:
        """The picture URL this fake holds for a group or for the own chat id."""
        return self._avatars.get(chat_id)

    def set_avatar(self, chat_id: str, url: str) -> None:
        """Give a chat a picture without an upload."""
        self._avatars[chat_id] = url

    # -- the server -----------------------------------------------------------------------

    async def _handle(self, request: Request) -> Response:
        received = await self._receive(request)
        match = _PATH.fullmatch(request.url.path)
        prefix = "/v3" if self.product == "max" else ""
        route = self._methods.get(received.method)
        if match is None or (match["prefix"] or "") != prefix or route is None:
            return PlainTextResponse("Not Found", status_code=404)
        verb, answer = route
        if request.method != verb:  # Green API documents 404 for a wrong HTTP method
            return PlainTextResponse("Not Found", status_code=404)
        if match["instance"] != self.id_instance:
            return PlainTextResponse("Forbidden", status_code=403)
        if match["token"] != self.token:
            return PlainTextResponse("Unauthorized", status_code=401)
        fault = self._take_fault(received.method)
        if fault is not None:
            await _sleep_unless_gone(request, fault.delay)
            if fault.answer is not None:
                return fault.answer(received)
        refusal = _STATE_REFUSALS.get(self.state)
        if refusal and verb == "POST":
            return PlainTextResponse(refusal, status_code=400)
        return answer(received)

    async def _receive(self, request: Request) -> ReceivedRequest:
        """Read and record the request before anything else looks at it."""
        form: dict[str, str] = {}
        file = file_name = file_type = None
        body = b""
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            try:
                async with request.form() as data:
                    for key, value in data.multi_items():
                        if not isinstance(value, UploadFile):
                            form[key] = value
                        elif key == "file":
                            file, file_name = await value.read(), value.filename
                            file_type = value.content_type
            except MultiPartException:
                pass  # recorded with what was parsed; the checks below then refuse it
        else:
            body = await request.body()
        match = _PATH.fullmatch(request.url.path)
        received = ReceivedRequest(
            http_method=request.method,
            path=request.url.path,
            method=match["method"] if match else "",
            form=form,
            file=file,
            file_name=file_name,
            file_content_type=file_type,
            body=body,
        )
        self.requests.append(received)
        return received

    def _take_fault(self, method: str) -> Fault | None:
        for index, (wanted, fault) in enumerate(self._faults):
            if wanted is None or wanted == method:
                del self._faults[index]
                return fault
        return None

    def _set_group_picture(self, r: ReceivedRequest) -> Response:
        field = "groupId" if self.product == "whatsapp" else "chatId"
        # MAX documents `chatId`; its SDK sends `groupId`: this fake takes either
        group = r.form.get(field) or r.form.get("groupId")
        if not group:
            return _error_json(r, f"Validation failed. Details: '{field}' is required")
        problem = _file_problem(r)
        if problem:
            return PlainTextResponse(problem, status_code=400)
        if group not in self.groups:
            return _not_set(r, "Timed Out")
        url = self._store(group)
        return JSONResponse({"setGroupPicture": True, "urlAvatar": url, "reason": ""})

    def _set_profile_picture(self, r: ReceivedRequest) -> Response:
        problem = _file_problem(r)
        if problem:
            return PlainTextResponse(problem, status_code=400)
        url = self._store(self.own_chat_id)
        return JSONResponse({"reason": None, "urlAvatar": url, "setProfilePicture": True})

    def _get_avatar(self, r: ReceivedRequest) -> Response:
        body = r.json
        if not isinstance(body, dict):
            return PlainTextResponse("Unexpected token _ in JSON at position 0", status_code=400)
        chat = body.get("chatId")
        if not isinstance(chat, str) or not chat:
            return _error_json(r, "Validation failed. Details: 'chatId' is required")
        available = chat not in self.hidden
        url = self._avatars.get(chat, "") if available else ""
        if self.product == "max":  # MAX answers only the URL
            return JSONResponse({"urlAvatar": url})
        return JSONResponse({"urlAvatar": url, "available": available})

    def _get_state(self, r: ReceivedRequest) -> Response:
        return JSONResponse({"stateInstance": self.state})

    def _get_settings(self, r: ReceivedRequest) -> Response:
        if self.product == "max":
            return JSONResponse({"chatId": self.own_chat_id, "avatar": ""})
        return JSONResponse(
            {"wid": self.own_chat_id, "webhookUrl": "", "delaySendMessagesMilliseconds": 5000}
        )

    def _store(self, chat_id: str) -> str:
        """Keep a new picture URL for a chat and return it."""
        n = next(self._serial)
        url = (
            f"https://pps.whatsapp.net/v/t61.24694-24/{n}_n.jpg?oh=fake&oe=fake"
            if self.product == "whatsapp"
            else f"https://i.oneme.ru/i?r=fake{n}"
        )
        if self.long_urls:
            url += f"&stp=dst-jpg_s640x640_tt6&ccb=11-4&_nc_sid=5e03e0&_nc_cat=10{n % 10}" + (
                "&_nc_ht=pps.whatsapp.net&_nc_ohc=" + "Q5AaIFakeFakeFake" * 3
            )
        self._avatars[chat_id] = url
        return url


def _file_problem(r: ReceivedRequest) -> str | None:
    """What the real server says about the `file` part: by its bytes, not its header."""
    if not r.file:
        return "File is empty"
    if not r.file.startswith(JPEG_MAGIC):
        return "Unsupported media type"
    return None


def _not_set(r: ReceivedRequest, reason: str | None) -> Response:
    """HTTP 200 `{"<method>": false}`: how the set methods say they did not set the picture."""
    return JSONResponse({"reason": reason, "urlAvatar": None, r.method: False})


def _error_json(r: ReceivedRequest, message: str) -> Response:
    """Green API's JSON error body (400); like the real one, its `path` holds the token."""
    return JSONResponse(
        {
            "statusCode": 400,
            "timestamp": "2025-01-01T00:00:00Z",
            "path": r.path,
            "message": message,
        },
        status_code=400,
    )


async def _sleep_unless_gone(request: Request, seconds: float) -> None:
    """Sleep, but stop once the client has hung up, so that shutting the server down is quick."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    # polls, because Starlette only tells a disconnect when asked
    while loop.time() < end and not await request.is_disconnected():  # noqa: ASYNC110
        await asyncio.sleep(min(0.05, max(0.0, end - loop.time())))
