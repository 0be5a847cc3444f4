"""Running the bot standalone: the PTB application, and the bot's own HTTP server when needed."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import signal
import socket
from collections.abc import Callable, Coroutine
from typing import Any

import uvicorn
from prometheus_client import Counter
from telegram import Update
from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter, ApplicationBuilder

import handlers
from bot.app import Services
from bot.config import AppConfig
from bot.hooks import hook_routes
from bot.http_server import bind, create_server, use_the_file_limit
from bot.metrics import Metrics
from bot.server import (
    MetricsEndpoint,
    NotAnUpdate,
    Stopping,
    WebhookEndpoint,
    create_server_app,
)
from handlers.bot_api_http import AiohttpRequest

log = logging.getLogger(__name__)


#: how often a request Telegram refused with 429 is sent again, each after its retry_after
TELEGRAM_MAX_RETRIES = 5


class CountingRateLimiter(AIORateLimiter):
    """AIORateLimiter, counting each request it sends again after a 429 (for /metrics)."""

    def __init__(self, retries: Counter, **limits: Any) -> None:
        super().__init__(max_retries=TELEGRAM_MAX_RETRIES, **limits)
        self._retries = retries

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        retries_left = rate_limit_args or TELEGRAM_MAX_RETRIES

        async def counted(*a: Any, **kw: Any) -> bool | dict[str, Any] | list[dict[str, Any]]:
            nonlocal retries_left
            try:
                return await callback(*a, **kw)
            except RetryAfter:
                if retries_left > 0:  # the limiter sends it again after its retry_after
                    retries_left -= 1
                    self._retries.inc()
                raise

        return await super().process_request(counted, args, kwargs, endpoint, data, rate_limit_args)


def rate_limiter(metrics: Metrics | None = None, **limits: float) -> AIORateLimiter:
    """Pace the bot's own requests to Telegram's flood limits (30 messages a second overall,
    20 a minute per group), and send a request refused with 429 again after its retry_after.
    `limits` are AIORateLimiter's rates and periods, for tests that cannot wait a minute."""
    return CountingRateLimiter((metrics or Metrics()).telegram_retries, **limits)


def build_application(
    config: AppConfig, limiter: AIORateLimiter | None = None, metrics: Metrics | None = None
) -> handlers.AnyApplication:
    api = config.telegram.api_base_url.rstrip("/")
    return (
        ApplicationBuilder()
        .token(config.telegram.token.get_secret_value())
        .request(AiohttpRequest())
        .get_updates_request(AiohttpRequest(connection_pool_size=1))
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .rate_limiter(
            limiter or rate_limiter(metrics, overall_max_rate=config.telegram.messages_per_second)
        )
        .concurrent_updates(True)
        .build()
    )


async def run(config: AppConfig) -> None:
    """Start everything, run until SIGINT/SIGTERM, then stop everything in order."""
    use_the_file_limit()
    metrics = Metrics()
    application = build_application(config, metrics=metrics)
    services = handlers.install(application, config, metrics=metrics)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    server, listening = _http_server(config, application, services)
    server_task: asyncio.Task[None] | None = None
    post_init, post_shutdown = application.post_init, application.post_shutdown
    try:
        await application.initialize()
    except BaseException:
        await application.bot.shutdown()  # its HTTP sessions, opened before Telegram refused
        for sock in listening:
            sock.close()
        raise
    try:
        if post_init is not None:  # install() set it: it opens the services
            await post_init(application)
        if server is not None:
            server_task = asyncio.create_task(server.serve(sockets=listening))
            await _until_started(server, server_task)
        await application.start()
        await _start_receiving(config, application)
        log.info("avatarops is running (%s mode)", config.telegram.mode)
        await _until(stop, server_task)
    finally:
        # take no more updates; finish or hand back the changes before PTB's stop, which
        # would wait for every handler, and so for every change in the queues
        if application.updater and application.updater.running:
            await application.updater.stop()
        await services.drain(config.reliability.shutdown_grace_seconds)
        if application.running:
            await application.stop()
        if server is not None and server_task is not None:
            server.should_exit = True
            await asyncio.gather(server_task, return_exceptions=True)
        if post_shutdown is not None:
            await post_shutdown(application)
        await application.shutdown()


async def _start_receiving(config: AppConfig, application: handlers.AnyApplication) -> None:
    if config.telegram.mode == "webhook":
        public_url, secret = _webhook_settings(config)
        await application.bot.set_webhook(
            url=f"{public_url.rstrip('/')}/telegram/{_webhook_path(config)}",
            secret_token=secret,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        if application.updater is None:
            raise RuntimeError("polling needs the Application's updater")
        await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)


def _webhook_settings(config: AppConfig) -> tuple[str, str]:
    """server.public_url and the webhook secret (the config's validation requires both)."""
    server = config.server
    if server is None or not server.public_url or server.webhook_secret is None:
        raise RuntimeError("webhook mode needs server.public_url and server.webhook_secret")
    return server.public_url, server.webhook_secret.get_secret_value()


def _webhook_path(config: AppConfig) -> str:
    """A path derived from the token, so guessing the webhook URL is as hard as the token."""
    return hashlib.sha256(config.telegram.token.get_secret_value().encode()).hexdigest()[:32]


def _http_server(
    config: AppConfig, application: handlers.AnyApplication, services: Services
) -> tuple[uvicorn.Server | None, list[socket.socket]]:
    """The bot's own server (media links for URL-only providers, the webhook, /healthz) and
    its bound address; `ListenError` when `server.listen` cannot be bound."""
    if config.server is None:
        return None, []
    webhook = None
    if config.telegram.mode == "webhook":

        async def deliver(data: dict[str, Any]) -> None:
            if services.draining:
                raise Stopping
            try:
                update = Update.de_json(data, application.bot)
            except Exception as error:  # de_json only parses: any failure is a malformed body
                raise NotAnUpdate(f"{type(error).__name__} while reading it") from None
            await application.update_queue.put(update)

        webhook = WebhookEndpoint(
            path=_webhook_path(config),
            secret_token=_webhook_settings(config)[1],
            deliver=deliver,
        )
    app = create_server_app(
        media=services.media,
        health=services.health,
        webhook=webhook,
        metrics=MetricsEndpoint(services.metrics.exposition, config.server.metrics_token),
        hooks=hook_routes(services.providers, services.confirm),
    )
    listening = bind(config.server)
    return create_server(app, config.server), [listening]


async def _until_started(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError("the HTTP server stopped during start-up")
        await asyncio.sleep(0.02)


async def _until(stop: asyncio.Event, server_task: asyncio.Task[None] | None) -> None:
    """Wait for a stop signal (or for the HTTP server to die, which is fatal)."""
    waiters = [asyncio.create_task(stop.wait())] + ([server_task] if server_task else [])
    done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    if server_task is not None and server_task in done:
        server_task.result()
        raise RuntimeError("the HTTP server stopped")
    for waiter in waiters:
        if waiter is not server_task:
            waiter.cancel()
