"""A small HTTP load balancer for tests: each request goes to one of several backends (the bot's
instances), in turn, as nginx's `upstream` does; a backend that does not answer (it was
killed) is skipped for the next one, as `proxy_next_upstream error` does."""

from __future__ import annotations

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

#: hop-by-hop headers a proxy does not pass on
_HOP = {"host", "connection", "content-length", "transfer-encoding", "keep-alive"}


class Balancer:
    def __init__(self) -> None:
        #: the backends' base URLs (http://127.0.0.1:port), set once they are known
        self.backends: list[str] = []
        #: the backend (its index) that each request went to, in order
        self.routed: list[int] = []
        #: send every request to this backend while it answers (None: in turn)
        self.pinned: int | None = None
        #: path prefix -> the backend for requests under it (before `pinned`)
        self.paths: dict[str, int] = {}
        self._turn = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        request = Request(scope, receive)
        body = await request.body()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        for index in self._order(request.url.path):
            try:
                async with httpx.AsyncClient(timeout=30) as client:
                    answer = await client.request(
                        request.method, self.backends[index] + path, content=body, headers=headers
                    )
            except httpx.TransportError:
                continue  # down: the next one
            self.routed.append(index)
            response = Response(
                answer.content,
                status_code=answer.status_code,
                headers={k: v for k, v in answer.headers.items() if k.lower() not in _HOP},
            )
            await response(scope, receive, send)
            return
        await Response(b"no backend answers", status_code=502)(scope, receive, send)

    def _order(self, path: str) -> list[int]:
        count = len(self.backends)
        by_path = [index for prefix, index in self.paths.items() if path.startswith(prefix)]
        first = by_path[0] if by_path else self.pinned
        first = first if first is not None else self._turn % count
        self._turn += 1
        return [(first + n) % count for n in range(count)]
