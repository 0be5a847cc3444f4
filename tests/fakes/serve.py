"""Serve an ASGI app on 127.0.0.1 for the length of an `async with` block, or behind one
`Stage` that each test gives its own fake."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send


class _Server(uvicorn.Server):
    """uvicorn's server, stopped at once. Its own main loop looks at `should_exit` every 0.1 s
    and its shutdown then sleeps 0.1 s more: about 0.2 s each time a test's fake stops, which
    was a minute of the suite. Here the loop waits for `stop()`, and the shutdown closes the
    listening socket and the idle connections, then waits (as long as uvicorn would) for the
    requests still running."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self.should_exit = True
        self._stopping.set()

    async def main_loop(self) -> None:
        await self.on_tick(0)  # the default headers, as uvicorn's first tick sets them
        await self._stopping.wait()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()  # closes an idle one now, a busy one after its response
        if self.server_state.tasks:
            await asyncio.wait(set(self.server_state.tasks))
        for server in self.servers:
            await server.wait_closed()


@asynccontextmanager
async def serve(app) -> AsyncIterator[str]:
    """Run `app` on a free loopback port and yield its base URL (no trailing slash)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()  # re-raise why it could not start
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        await task
        sock.close()


class Stage:
    """An ASGI app that hands each request to the fake of the current test: one server for a
    module (starting uvicorn per test would cost seconds)."""

    app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "no fake on stage"
        await self.app(scope, receive, send)
