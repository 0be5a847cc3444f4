"""How python-telegram-bot reaches the Bot API: one aiohttp session per use, kept alive.

python-telegram-bot's own HTTPXRequest costs about 0.8 ms of CPU a request here, 0.3 ms with
aiohttp (the same sendMessage against the fake Bot API; httpx's connection pool looks at every
kept connection, with two system calls each, at each request's start and end, and runs each
read and write under anyio's cancel scopes). A change costs about seven requests (its answer,
the answer's edit, the notices, getFile, the download, a share of getUpdates), so this is
about a fifth of the bot's CPU under load. Same timeouts and the same errors as HTTPXRequest:
`TimedOut` for a timeout, `NetworkError` for any other transport failure.
"""

from __future__ import annotations

import ssl

import aiohttp
import certifi
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

#: python-telegram-bot's HTTPXRequest defaults
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0
POOL_TIMEOUT = 1.0
MEDIA_WRITE_TIMEOUT = 20.0
MAX_CONNECTIONS = 256


def _or_default(value: object, default: float | None) -> float | None:
    if isinstance(value, DefaultValue):
        return default
    return value if isinstance(value, float | int) else None


class AiohttpRequest(BaseRequest):
    """A `BaseRequest` over one `aiohttp.ClientSession` (opened by `initialize`, in the loop
    that will use it). Idle connections are kept alive and reused; none is looked at until
    it is needed again."""

    def __init__(self, connection_pool_size: int = MAX_CONNECTIONS) -> None:
        self._pool_size = connection_pool_size
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        return READ_TIMEOUT

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            # the certificates httpx would use, whatever the system has
            context = ssl.create_default_context(cafile=certifi.where())
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size, ssl=context),
                headers={"User-Agent": self.USER_AGENT},
            )

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        fields = request_data.json_parameters if request_data else {}
        data: aiohttp.FormData | dict[str, str] | None = fields or None
        if files:
            form = aiohttp.FormData()
            for name, value in fields.items():
                form.add_field(name, value)
            for name, (filename, content, mimetype) in files.items():
                form.add_field(name, content, filename=filename, content_type=mimetype)
            data = form
        read = _or_default(read_timeout, READ_TIMEOUT)
        write = _or_default(write_timeout, MEDIA_WRITE_TIMEOUT if files else WRITE_TIMEOUT)
        connect = _or_default(connect_timeout, CONNECT_TIMEOUT)
        pool = _or_default(pool_timeout, POOL_TIMEOUT)
        # aiohttp has no write timeout of its own: sending and reading the answer together may
        # take both; waiting for a connection and making it, both of those
        timeout = aiohttp.ClientTimeout(
            total=None if read is None or write is None else read + write + (pool or 0),
            connect=None if connect is None or pool is None else connect + pool,
            sock_connect=connect,
            sock_read=read,
        )
        try:
            async with self._session.request(method, url, data=data, timeout=timeout) as answer:
                return answer.status, await answer.read()
        except TimeoutError as error:
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{type(error).__name__}: {error}") from error
