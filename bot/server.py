"""The bot's own ASGI app: published pictures, the Telegram webhook and a health check.

Nothing here logs a request path: /media/<token> paths are secrets while the link lives.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.media import MediaStore
from bot.metrics import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: what Telegram allows for `setWebhook(secret_token=...)`
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class NotAnUpdate(ValueError):
    """The webhook's body is a JSON object but no Telegram update."""


class Stopping(Exception):
    """The bot is stopping and takes no update: Telegram sends it again later (behind a
    balancer, to another instance)."""


@dataclass(frozen=True)
class WebhookEndpoint:
    """Where Telegram posts updates, the secret it sends along, and who receives them."""

    #: a random or configured path segment; the route is POST /telegram/<path>
    path: str
    secret_token: str
    #: hands the update on; raises `NotAnUpdate` for a JSON object that is no update
    deliver: Callable[[dict[str, Any]], Awaitable[None]]

    def __post_init__(self) -> None:
        if not self.path.strip("/"):
            raise ValueError("the webhook path must not be empty")
        if not _SECRET_TOKEN.fullmatch(self.secret_token):
            raise ValueError("the webhook secret token must be 1-256 of A-Z, a-z, 0-9, _ and -")

    @property
    def route(self) -> str:
        return "/telegram/" + self.path.strip("/")


@dataclass(frozen=True)
class MetricsEndpoint:
    """GET /metrics: the metrics in Prometheus' text format, behind a bearer token when set."""

    exposition: Callable[[], Awaitable[bytes]]
    token: SecretStr | None = None


def create_server_app(
    *,
    media: MediaStore | None,
    health: Callable[[], Awaitable[dict[str, Any]]],
    webhook: WebhookEndpoint | None,
    metrics: MetricsEndpoint | None = None,
    hooks: Sequence[Route] = (),
) -> Starlette:
    """GET /healthz; GET /media/<token> with a store; POST /telegram/<path> with a webhook;
    GET /metrics with metrics; the providers' `hooks` (bot/hooks.py)."""
    routes = [Route("/healthz", _health_route(health), methods=["GET"]), *hooks]
    if metrics is not None:
        routes.append(Route("/metrics", _metrics_route(metrics), methods=["GET"]))
    if media is not None:
        routes.append(Route("/media/{token}", _media_route(media), methods=["GET"]))
    if webhook is not None:
        routes.append(Route(webhook.route, _webhook_route(webhook), methods=["POST"]))
    return Starlette(routes=routes)


def _not_found() -> Response:
    """The same answer as for any unknown path: it tells nothing about the token."""
    return PlainTextResponse("Not Found", status_code=404)


def _media_route(media: MediaStore) -> Callable[[Request], Awaitable[Response]]:
    async def picture(request: Request) -> Response:
        published = await media.lookup_async(request.path_params["token"])
        if published is None:
            return _not_found()
        return Response(
            published.jpeg,
            media_type="image/jpeg",
            headers={
                "Cache-Control": f"private, max-age={int(published.seconds_left)}",
                "X-Content-Type-Options": "nosniff",
            },
        )

    return picture


def _webhook_route(webhook: WebhookEndpoint) -> Callable[[Request], Awaitable[Response]]:
    expected = webhook.secret_token.encode()

    async def receive(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            return PlainTextResponse("Forbidden", status_code=403)
        try:
            update = json.loads(await request.body())
        except ValueError:  # includes JSONDecodeError and UnicodeDecodeError
            return PlainTextResponse("Bad Request", status_code=400)
        except RecursionError:
            log.warning("webhook: refused a JSON body nested too deeply to read")
            return PlainTextResponse("Bad Request", status_code=400)
        if not isinstance(update, dict):
            return PlainTextResponse("Bad Request", status_code=400)
        try:
            if not isinstance(update.get("update_id"), int):
                raise NotAnUpdate("no update_id")
            await webhook.deliver(update)
        except NotAnUpdate as problem:
            # one line, through the logging set-up that masks secrets; never the body itself
            log.warning("webhook: refused a JSON object that is not a Telegram update: %s", problem)
            return PlainTextResponse("Bad Request", status_code=400)
        except Stopping:
            return PlainTextResponse("Service Unavailable", status_code=503)
        return Response(status_code=200)

    return receive


def _metrics_route(metrics: MetricsEndpoint) -> Callable[[Request], Awaitable[Response]]:
    expected = b"Bearer " + metrics.token.get_secret_value().encode() if metrics.token else None

    async def scrape(request: Request) -> Response:
        if expected is not None:
            given = request.headers.get("Authorization", "").encode()
            if not hmac.compare_digest(given, expected):
                return PlainTextResponse(
                    "Unauthorized", status_code=401, headers={"WWW-Authenticate": "Bearer"}
                )
        return Response(await metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return scrape


def _health_route(
    health: Callable[[], Awaitable[dict[str, Any]]],
) -> Callable[[Request], Awaitable[Response]]:
    async def healthz(request: Request) -> Response:
        try:
            report = await health()
        except Exception:
            log.exception("the health check failed")
            return JSONResponse({"ok": False, "error": "health check failed"}, status_code=503)
        return JSONResponse(report, status_code=200 if report.get("ok") else 503)

    return healthz
