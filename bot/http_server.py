"""The bot's HTTP server (uvicorn), bounded so that strangers cannot starve the bot.

Anyone may open connections to it without a secret, so each connection must send its request
head within `header_timeout_seconds` and at most `max_connections` are kept at once: stalled
connections cannot use up the process's file limit, which the Telegram and provider clients
share. Its address is bound before anything else starts, so a `server.listen` that cannot be
bound is one line at start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import socket
from collections.abc import Iterator
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.config import ServerSettings

log = logging.getLogger(__name__)


class ListenError(Exception):
    """`server.listen` cannot be bound: one line naming the address and why."""


def bind(settings: ServerSettings) -> socket.socket:
    """A listening socket on `server.listen` (IPv4, or IPv6 in brackets)."""
    host, port = settings.host_port
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise ListenError(f"cannot listen on {settings.listen}: {error.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as error:
        sock.close()
        raise ListenError(
            f"cannot listen on {settings.listen}: {error.strerror or error}"
        ) from None
    sock.setblocking(False)
    return sock


def use_the_file_limit() -> None:
    """Raise the soft limit of open files to the hard one: the bounds above keep the server's
    share of it, and the rest is the Telegram's and the providers' clients'."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class BoundedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, with a limit on connections and on the time to the request
    head (uvicorn's own limits act only once a request has arrived)."""

    max_connections: int = 200
    header_timeout: float = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            transport.abort()  # the oldest are being served or will time out
            return
        self._header_timer = self.loop.call_later(self.header_timeout, self._no_request_head)

    def connection_lost(self, exc: Exception | None) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
        super().connection_lost(exc)

    def _no_request_head(self) -> None:
        if self.cycle is None and not self.transport.is_closing():
            self.transport.abort()


class Server(uvicorn.Server):
    """uvicorn's server, leaving SIGTERM and SIGINT to the bot (bot/runner.py), which keeps
    answering (503 on /healthz) while it drains."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def create_server(app: ASGIApp, settings: ServerSettings) -> Server:
    protocol: type[Any] = type(
        "Bounded",
        (BoundedH11Protocol,),
        {
            "max_connections": settings.max_connections,
            "header_timeout": settings.header_timeout_seconds,
        },
    )
    # log_config=None: uvicorn's lines go through the root handler, which masks secrets
    return Server(
        uvicorn.Config(
            app,
            http=protocol,
            access_log=False,
            log_level="warning",
            log_config=None,
            lifespan="off",
            timeout_keep_alive=5,
            # asyncio accepts up to `backlog` connections in one go (and the kernel queues as
            # many), before any of them can be closed for being over `max_connections`: with
            # uvicorn's 2,048, a burst of stalled connections took every file of a bot limited
            # to 256 for a moment, and a change then failed with "Too many open files"
            backlog=min(settings.max_connections, 64),
        )
    )
