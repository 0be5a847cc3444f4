"""Wiring: build everything from the config once, open it at start-up, close it at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from adapters import (
    Capability,
    Confirmation,
    EventSettings,
    Provider,
    Said,
    create_provider,
)
from adapters.telegram import TelegramProvider
from bot import agreement, texts
from bot.access import Access
from bot.admin_map import AdminMap
from bot.approvals import Approvals
from bot.bulk import BulkChanges
from bot.changes import ChangeRunner
from bot.clock import Clock
from bot.config import AppConfig, ConfigError
from bot.domain import ACCOUNT_PREFIX, GUARD, Action, Actor, Group, Guard, Operation, Outcome
from bot.languages import Languages, Speaking
from bot.leases import Leases
from bot.media import MediaStore, SharedMediaStore
from bot.messenger import Outbox
from bot.metrics import Metrics
from bot.notify import Notifier
from bot.overview import Overview
from bot.picture_history import PictureHistory
from bot.proposals import ProposalBox
from bot.schedule import Scheduler
from bot.service import AvatarService
from bot.store import Store
from bot.store.media import MediaTable
from bot.waiting import PhotoWaits
from bot.watch import Guards, Watcher

log = logging.getLogger(__name__)

#: how often pending proposals are checked for expiry
SWEEP_SECONDS = 60.0
#: how long /healthz waits for the store before it says the store is away
HEALTH_TIMEOUT = 5.0
#: how long shutdown waits for the notices still on their way
NOTICE_DRAIN_SECONDS = 10.0


def _hook_use(provider: Provider) -> str:
    """What a provider's webhook is for: events, or confirming changes (the Cloud API)."""
    if isinstance(provider.settings, EventSettings):
        return "tells of pictures changed outside the bot through a webhook at"
    return "confirms changes through a webhook at"


def create_providers(config: AppConfig) -> dict[str, Provider]:
    """One adapter (with its own HTTP client) per configured provider; checks what the config
    alone cannot: group ids in each provider's format, and a public URL for URL-only providers."""
    providers = {
        name: create_provider(name, settings) for name, settings in config.providers.items()
    }
    problems = [
        f"groups.{alias}.chat_id: {problem}"
        for alias, group in config.groups.items()
        if (problem := providers[group.provider].check_group_id(group.chat_id))
    ]
    public_url = config.server.public_url if config.server else None
    problems += [
        f"providers.{name}: {provider.label} downloads pictures from a public URL;"
        " set server.public_url"
        for name, provider in providers.items()
        if provider.can(Capability.NEEDS_PUBLIC_URL) and not public_url
    ]
    problems += [
        f"providers.{name}: {provider.label} {_hook_use(provider)}"
        f" server.public_url/hooks/{name}/<webhook_secret>; set server.public_url"
        for name, provider in providers.items()
        if provider.webhook_secret() is not None and not public_url
    ]
    problems += shared_media_problems(config, providers)
    if problems:
        raise ConfigError("\n".join(problems))
    return providers


def shared_media_problems(config: AppConfig, providers: dict[str, Provider]) -> list[str]:
    """On PostgreSQL several instances may serve media links: they must share the secret."""
    server = config.server
    if config.storage.url is None or server is None or not server.public_url:
        return []
    if server.media_secret is not None:
        return []
    return [
        f"providers.{name}: {provider.label} downloads pictures from whichever instance the"
        " balancer picks; set server.media_secret (the same on every instance)"
        for name, provider in providers.items()
        if provider.can(Capability.NEEDS_PUBLIC_URL)
    ]


def config_groups(config: AppConfig) -> list[Group]:
    return [
        Group(alias=alias, provider=g.provider, chat_id=g.chat_id, title=g.title or alias)
        for alias, g in config.groups.items()
    ]


@dataclass(frozen=True)
class UseCases:
    avatars: AvatarService
    approvals: Approvals
    admin_map: AdminMap
    overview: Overview
    languages: Languages
    bulks: BulkChanges
    photo_waits: PhotoWaits
    schedule: Scheduler
    guards: Guards


@dataclass(frozen=True)
class Parts:
    """What `Services` builds once: the use cases, and the parts behind them that resume,
    run in the background and close."""

    store: Store
    speaking: Speaking
    notifier: Notifier
    picture_history: PictureHistory
    changes: ChangeRunner
    use_cases: UseCases
    #: watching pictures for changes made outside the bot (None: `watch:` is off)
    watcher: Watcher | None


class Services:
    """The bot's long-lived parts. The first `use_cases()` (start-up, or the first update)
    builds them all, then resumes the work a restart left open, then starts what runs in the
    background; `aclose()` stops and closes them."""

    def __init__(
        self,
        config: AppConfig,
        messenger: Outbox,
        clock: Clock | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.config = config
        #: what /metrics shows (the runner shares it with its Telegram rate limiter)
        self.metrics = metrics or Metrics()
        self.metrics.refresh_with(self._count_waiting)
        #: stopping: /healthz says so, the webhook takes no updates, changes are handed back
        self.draining = False
        self._messenger = messenger
        self._clock = clock or Clock()
        self.providers = create_providers(config)
        self.media = self._media_store(config)
        #: open from the start of building (resumed changes may publish media) until closed
        self.store: Store | None = None
        self._parts: Parts | None = None
        self._started = False
        self._sweeper: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def _media_store(self, config: AppConfig) -> MediaStore | None:
        if config.server is None or not config.server.public_url:
            return None
        if config.storage.url is not None and config.server.media_secret is not None:
            return SharedMediaStore(
                secret=config.server.media_secret.get_secret_value().encode(),
                public_url=config.server.public_url,
                table=self._media_table,
                ttl_seconds=config.server.media_ttl_seconds,
                clock=lambda: self._clock.now().timestamp(),  # expiries other instances read
            )
        return MediaStore(
            secret=secrets.token_bytes(32),
            public_url=config.server.public_url,
            ttl_seconds=config.server.media_ttl_seconds,
        )

    async def _media_table(self) -> MediaTable:
        """The store's media table (opening the services, when not yet open)."""
        if self.store is None:
            await self.use_cases()
        assert self.store is not None
        return self.store.media

    async def use_cases(self) -> UseCases:
        """The bot's use cases: built, resumed and started at the first call."""
        async with self._lock:
            if self._parts is None:
                self._parts = await self._build()
            if not self._started:
                await self._resume(self._parts)
                await self._start(self._parts)
                self._started = True
            return self._parts.use_cases

    async def _build(self) -> Parts:
        """Everything, wired; nothing runs yet."""
        config, clock = self.config, self._clock
        self.store = store = await Store.open(config.storage.target, clock)
        leases = Leases(timedelta(seconds=config.reliability.lease_seconds), clock=clock)
        if store.shared:  # before the config's groups become the store's
            fingerprint = agreement.fingerprint(config)
            await agreement.join(store, leases.owner, fingerprint, leases.now(), leases.until())
        await store.groups.sync_config(config_groups(config), config.links)
        access = Access(store, config.owners)
        languages = Languages(store, config.default_language)
        speaking = Speaking(self._messenger, languages)
        notifier = Notifier(speaking, store, access, config.notify_chat_id, self.metrics)
        box = ProposalBox(
            store,
            speaking,
            access=access,
            notify_chat_id=config.notify_chat_id,
            ttl=timedelta(hours=config.approval_ttl_hours),
            clock=clock,
        )
        picture_history = PictureHistory(
            store, keep=config.history.keep_per_group, timeout=config.history.read_timeout_seconds
        )
        changes = self._change_runner(store, access, notifier, picture_history, leases)
        avatars = AvatarService(
            store=store,
            access=access,
            providers=self.providers,
            notifier=notifier,
            proposals=box,
            changes=changes,
            picture_history=picture_history,
        )
        use_cases = self._use_cases(store, access, languages, speaking, notifier, box, avatars)
        watcher = self._watcher(store, changes, picture_history, notifier, use_cases.guards)
        return Parts(store, speaking, notifier, picture_history, changes, use_cases, watcher)

    def _watcher(
        self,
        store: Store,
        changes: ChangeRunner,
        picture_history: PictureHistory,
        notifier: Notifier,
        guards: Guards,
    ) -> Watcher | None:
        watch = self.config.watch
        if watch is None:
            return None
        return Watcher(
            store=store,
            changes=changes,
            picture_history=picture_history,
            notifier=notifier,
            metrics=self.metrics,
            clock=self._clock,
            interval=watch.interval_seconds,
            guards=guards,
        )

    def _use_cases(
        self,
        store: Store,
        access: Access,
        languages: Languages,
        speaking: Speaking,
        notifier: Notifier,
        box: ProposalBox,
        avatars: AvatarService,
    ) -> UseCases:
        """What the handlers call, over the change engine `avatars` drives."""
        config, changes = self.config, avatars.changes
        scheduler = Scheduler(
            store=store,
            access=access,
            avatars=avatars,
            changes=changes,
            messenger=speaking,
            zone=config.timezone,
            max_late=timedelta(minutes=config.schedule.max_late_minutes),
            min_every=timedelta(seconds=config.schedule.min_every_seconds),
            clock=self._clock,
        )
        bulks = BulkChanges(
            avatars,
            store,
            notifier,
            speaking,
            box,
            scheduler,
            config.telegram.edit_interval_seconds,
        )
        configured = {
            f"{ACCOUNT_PREFIX}{name}": Guard(provider.settings.guard)
            for name, provider in self.providers.items()
        }
        guards = Guards(
            store,
            access,
            self.providers,
            configured | {alias: group.guard for alias, group in config.groups.items()},
            watching=config.watch is not None,
        )
        return UseCases(
            avatars=avatars,
            approvals=Approvals(avatars, box, store, access, scheduler, bulks),
            admin_map=AdminMap(
                store=store,
                access=access,
                providers=self.providers,
                notifier=notifier,
                changes=changes,
            ),
            overview=Overview(store=store, access=access, providers=self.providers, guards=guards),
            languages=languages,
            bulks=bulks,
            photo_waits=PhotoWaits(store, self._clock),
            schedule=scheduler,
            guards=guards,
        )

    def _change_runner(
        self,
        store: Store,
        access: Access,
        notifier: Notifier,
        picture_history: PictureHistory,
        leases: Leases,
    ) -> ChangeRunner:
        reliability = self.config.reliability
        return ChangeRunner(
            store=store,
            access=access,
            providers=self.providers,
            notifier=notifier,
            media=self.media,
            policy=reliability.retry_policy(),
            max_resume_age=timedelta(seconds=reliability.resume_max_age_seconds),
            report=self._report,
            download=self._messenger.download,
            picture_history=picture_history,
            metrics=self.metrics,
            leases=leases,
            clock=self._clock,
        )

    @staticmethod
    async def _resume(parts: Parts) -> None:
        """Take up the changes a restart left open (a resumed change of a list reports to the
        list), then the lists, then the proposals' copies and decisions a crash left unsent
        or unshown."""
        await parts.changes.resume()
        await parts.use_cases.bulks.resume()
        await parts.use_cases.approvals.resume()

    async def _start(self, parts: Parts) -> None:
        """The scheduler (after the resume: it waits for the changes resumed), and the sweep
        that expires proposals nobody decided."""
        await parts.use_cases.schedule.start()
        if parts.watcher is not None:
            parts.watcher.start()
        self._sweeper = asyncio.create_task(self._sweep(parts.use_cases))

    async def _report(self, operation: Operation, outcome: Outcome) -> None:
        """How a change resumed after a restart ended, where its requester waited for it (and
        to whoever proposed it, for an approved proposal). A change of a bulk shows in the
        bulk's one progress message instead."""
        assert self._parts is not None, "changes resume once everything is built"
        if operation.bulk_id is not None:
            await self._parts.use_cases.bulks.resumed(operation)
            return
        if operation.scheduled:  # the scheduler waits for it, and tells its outcome once
            return
        if operation.actor_chat_id == GUARD.chat_id:  # the guard's: told by its notice alone
            return
        text = texts.outcome_text(Action(operation.action), outcome)
        chat_id, message_id, quote = _answer_place(operation)
        speaking = self._parts.speaking
        await speaking.report(chat_id, message_id, text, quote)
        if operation.requester_chat_id is not None and operation.requester_chat_id != chat_id:
            await speaking.report(operation.requester_chat_id, None, text)

    @staticmethod
    async def _sweep(use_cases: UseCases) -> None:
        """Now and then, close the proposals (single ones and lists) nobody decided in time,
        and the recurring lists' questions nobody answered."""
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await use_cases.approvals.expire_due()
                await use_cases.bulks.expire()
            except Exception:
                log.exception("could not expire the overdue proposals and questions")

    async def _count_waiting(self) -> None:
        """The gauges of /metrics: the queues of this instance, and what waits in the store."""
        if self._parts is None:
            return
        for provider, count in self._parts.changes.waiting().items():
            self.metrics.changes_waiting.labels(provider=provider).set(count)
        counts = self._parts.store.counts
        self.metrics.proposals_open.set(await counts.proposals_open())
        self.metrics.scheduled_waiting.set(await counts.scheduled_waiting())

    async def health(self) -> dict[str, object]:
        """What /healthz reports: the store answers, and which providers are configured; not
        ok while stopping (a balancer then sends nothing more here)."""
        try:
            use_cases = await self.use_cases()
            store_ok = await asyncio.wait_for(use_cases.avatars.store.ping(), HEALTH_TIMEOUT)
        except Exception:
            store_ok = False
        report: dict[str, object] = {"ok": store_ok and not self.draining, "store": store_ok}
        if self.draining:
            report["draining"] = True
        return {**report, "providers": sorted(self.providers)}

    async def drain(self, grace: float) -> None:
        """At SIGTERM, before the Telegram side stops: start nothing more (scheduled changes
        stay due), let changes at a provider finish for up to `grace` seconds, and hand the
        rest back at once (bot/changes.py `drain`)."""
        self.draining = True
        if self._parts is not None:
            await self._parts.use_cases.schedule.close()
            if self._parts.watcher is not None:
                await self._parts.watcher.close()
            await self._parts.changes.drain(grace)

    async def confirm(self, provider: str, said: Sequence[Said]) -> None:
        """What a provider's webhook said (bot/hooks.py): of changes it had accepted, and of
        pictures changed outside the bot (read now when watching, ignored otherwise)."""
        await self.use_cases()  # the changes resumed after a restart wait for theirs
        assert self._parts is not None
        for what in said:
            if isinstance(what, Confirmation):
                self._parts.changes.confirm(provider, what.request_id, what.result)
            elif self._parts.watcher is not None:
                await self._parts.watcher.heard(provider, what.chat_id)

    async def chat_photo_changed(self, chat_id: int, by: Actor | None) -> None:
        """Telegram's service message says a chat's photo was changed or removed, by `by` when
        it says who (the bot's own changes never come here): a chat managed as a group of a
        `kind: telegram` provider is read now, as a provider's event makes the bot read its
        group (watching only; any other chat's photo is none of the bot's business)."""
        await self.use_cases()
        assert self._parts is not None
        watcher = self._parts.watcher
        if watcher is None:
            return
        for name, provider in self.providers.items():
            if provider.kind == TelegramProvider.kind:
                await watcher.heard(name, str(chat_id), by)

    @property
    def watcher(self) -> Watcher | None:
        """What watches the pictures, once built (None: `watch:` is off)."""
        return self._parts.watcher if self._parts is not None else None

    async def notices_sent(self) -> None:
        """Wait until every notice given so far has gone out (for tests and benchmarks)."""
        if self._parts is not None:
            await self._parts.notifier.sent()

    async def aclose(self) -> None:
        """Stop what runs (the scheduler first: what it started stays open, and resumes),
        send the notices still waiting, then close the clients and the store."""
        parts, self._parts, self._started = self._parts, None, False
        if parts is not None:
            await parts.use_cases.schedule.close()
            if parts.watcher is not None:
                await parts.watcher.close()
            await parts.changes.close()
            await parts.use_cases.bulks.close()
            await parts.notifier.drain(NOTICE_DRAIN_SECONDS)
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        if parts is not None:
            await parts.picture_history.aclose()
        for provider in self.providers.values():
            await provider.aclose()
        if self.store is not None:
            await self.store.close()
            self.store = None


def _answer_place(operation: Operation) -> tuple[int, int | None, int | None]:
    """Where a resumed change's outcome goes (chat, message to edit, message to quote): its
    answer message; else, when it never showed its progress, a reply to the message that asked
    for it; else the actor's chat."""
    if operation.reply_chat_id is not None:
        return operation.reply_chat_id, operation.reply_message_id, None
    asked = operation.request_message
    if asked is not None:
        return asked.chat_id, None, asked.message_id
    return operation.actor_chat_id, None, None
