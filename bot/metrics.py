"""What the bot counts for Prometheus (`GET /metrics`), with the official client library.

Each instance counts its own work in its own registry. Labels carry provider names (the
config's, e.g. `green`), actions and outcomes only: never a group title, a person or a secret.
Counts that live in the store (proposals open, scheduled changes waiting) are read when scraped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]

log = logging.getLogger(__name__)

#: provider calls take from a few milliseconds to a minute (the default timeout)
_CALL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120)


class Metrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.changes = Counter(
            "avatarops_changes",
            "Picture changes that ended, by provider, action and outcome"
            " (done, failed, superseded, refused, cancelled).",
            ["provider", "action", "outcome"],
            registry=registry,
        )
        self.provider_call_seconds = Histogram(
            "avatarops_provider_call_seconds",
            "How long one call to a provider took (each attempt), by provider and method.",
            ["provider", "method"],
            buckets=_CALL_BUCKETS,
            registry=registry,
        )
        self.changes_waiting = Gauge(
            "avatarops_changes_waiting",
            "Changes waiting or running in this instance's queue of each provider account.",
            ["provider"],
            registry=registry,
        )
        self.scheduled_waiting = Gauge(
            "avatarops_scheduled_changes_waiting",
            "Scheduled changes (at a time, or the picture coming back at `until`) not yet run.",
            registry=registry,
        )
        self.proposals_open = Gauge(
            "avatarops_proposals_open",
            "Proposals (single changes and lists) waiting for a decision.",
            registry=registry,
        )
        self.notices = Counter(
            "avatarops_notices",
            "Notices to owners, admins and the notify chat, by outcome (sent, failed).",
            ["outcome"],
            registry=registry,
        )
        self.takeovers = Counter(
            "avatarops_lease_takeovers",
            "Open changes this instance took over from an instance whose lease ran out.",
            registry=registry,
        )
        self.outside_changes = Counter(
            "avatarops_outside_changes_seen",
            "Picture changes made outside the bot that it noticed, by provider.",
            ["provider"],
            registry=registry,
        )
        self.telegram_retries = Counter(
            "avatarops_telegram_retries",
            "Requests to Telegram sent again after a 429 (Too Many Requests).",
            registry=registry,
        )
        self._refreshers: list[Callable[[], Awaitable[None]]] = []

    def change_ended(self, provider: str, action: str, outcome: str) -> None:
        self.changes.labels(provider=provider, action=action, outcome=outcome).inc()

    @contextmanager
    def provider_call(self, provider: str, method: str) -> Iterator[None]:
        """Time one call, whether it answers or raises."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.provider_call_seconds.labels(provider=provider, method=method).observe(
                time.perf_counter() - started
            )

    def refresh_with(self, refresher: Callable[[], Awaitable[None]]) -> None:
        """Run `refresher` before each scrape (it sets gauges from the store or the queues)."""
        self._refreshers.append(refresher)

    async def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        for refresher in self._refreshers:
            try:
                await refresher()
            except Exception as error:  # the store is away: the counters are still worth it
                log.warning("metrics: could not read the current counts: %s", error)
        return generate_latest(self.registry)
