"""Wiring: build everything from the config once, open it at start-up, close it at shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from adapters import Capability, Confirmation, Provider, create_provider
from bot import texts
from bot.access import Access
from bot.admin_map import AdminMap
from bot.approvals import Approvals
from bot.bulk import BulkChanges
from bot.changes import ChangeRunner
from bot.config import AppConfig, ConfigError
from bot.domain import Action, Group, Operation, Outcome
from bot.history import History
from bot.languages import Languages, Speaking
from bot.leases import Leases
from bot.media import MediaStore, SharedMediaStore
from bot.messenger import Messenger
from bot.notify import Notifier
from bot.overview import Overview
from bot.proposals import Clock, ProposalBox, utc_clock
from bot.schedule import Scheduler
from bot.service import AvatarService
from bot.store import Store
from bot.store.media import MediaTable
from bot.waiting import PhotoWaits

log = logging.getLogger(__name__)

#: how often pending proposals are checked for expiry
SWEEP_SECONDS = 60.0
#: how long shutdown waits for the notices still on their way
NOTICE_DRAIN_SECONDS = 10.0


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
        f"providers.{name}: {provider.label} confirms changes through a webhook at"
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


class Services:
    """The bot's long-lived parts. `use_cases()` opens them once (start-up, or the first
    update), and starts the sweep that expires proposals nobody decided."""

    def __init__(self, config: AppConfig, messenger: Messenger, clock: Clock = utc_clock) -> None:
        self.config = config
        self._messenger = messenger
        self._clock = clock
        self.providers = create_providers(config)
        self.media = self._media_store(config)
        self.store: Store | None = None
        self._use_cases: UseCases | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._changes: ChangeRunner | None = None
        self._notifier: Notifier | None = None
        self._speaking: Messenger = messenger
        self._history: History | None = None
        self._bulks: BulkChanges | None = None
        self._scheduler: Scheduler | None = None
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
            )
        return MediaStore(
            secret=secrets.token_bytes(32),
            public_url=config.server.public_url,
            ttl_seconds=config.server.media_ttl_seconds,
        )

    async def _media_table(self) -> MediaTable:
        """The store's media table (opening the services, when not yet open)."""
        if self.store is None:  # set at the start of opening: resumed changes may publish
            await self.use_cases()
        assert self.store is not None
        return self.store.media

    async def get(self) -> AvatarService:
        return (await self.use_cases()).avatars

    async def use_cases(self) -> UseCases:
        async with self._lock:
            if self._use_cases is None:
                self._use_cases = await self._open()
                self._sweeper = asyncio.create_task(self._sweep(self._use_cases))
            return self._use_cases

    async def _open(self) -> UseCases:
        config = self.config
        self.store = store = await Store.open(config.storage.target)
        await store.groups.sync_config(config_groups(config), config.links)
        access = Access(store, config.owners)
        languages = Languages(store, config.default_language)
        self._speaking = speaking = Speaking(self._messenger, languages)
        self._notifier = notifier = Notifier(speaking.send, store, access, config.notify_chat_id)
        box = ProposalBox(
            store,
            speaking,
            access=access,
            notify_chat_id=config.notify_chat_id,
            ttl=timedelta(hours=config.approval_ttl_hours),
            clock=self._clock,
        )
        self._history = history = History(
            store,
            keep=config.history.keep_per_group,
            timeout=config.history.read_timeout_seconds,
        )
        self._changes = changes = ChangeRunner(
            store=store,
            access=access,
            providers=self.providers,
            notifier=notifier,
            media=self.media,
            policy=config.reliability.retry_policy(),
            max_resume_age=timedelta(seconds=config.reliability.resume_max_age_seconds),
            report=self._report,
            download=self._messenger.download,
            history=history,
            leases=Leases(timedelta(seconds=config.reliability.lease_seconds)),
        )
        avatars = AvatarService(
            store=store,
            access=access,
            providers=self.providers,
            notifier=notifier,
            proposals=box,
            changes=changes,
            history=history,
        )
        self._bulks = bulks = BulkChanges(
            avatars, store, notifier, speaking, box, config.notify_chat_id
        )
        await changes.resume()  # a resumed change of a bulk reports to `bulks`
        await bulks.resume()
        self._scheduler = scheduler = Scheduler(
            store=store,
            access=access,
            avatars=avatars,
            changes=changes,
            messenger=speaking,
            zone=config.timezone,
            max_late=timedelta(minutes=config.schedule.max_late_minutes),
        )
        bulks.scheduler = scheduler  # a list with a time: one scheduled change per group
        await scheduler.start()  # after `changes`: it waits for the changes they resumed
        return UseCases(
            avatars=avatars,
            approvals=Approvals(avatars, box, store, access, scheduler),
            admin_map=AdminMap(
                store=store,
                access=access,
                providers=self.providers,
                notifier=notifier,
                changes=changes,
            ),
            overview=Overview(store=store, access=access, providers=self.providers),
            languages=languages,
            bulks=bulks,
            photo_waits=PhotoWaits(store),
            schedule=scheduler,
        )

    async def _report(self, operation: Operation, outcome: Outcome) -> None:
        """How a change resumed after a restart ended, where its requester waited for it (and
        to whoever proposed it, for an approved proposal). A change of a bulk shows in the
        bulk's one progress message instead."""
        if operation.bulk_id is not None and self._bulks is not None:
            await self._bulks.resumed(operation)
            return
        text = texts.outcome_text(Action(operation.action), outcome)
        chat_id, message_id, quote = _answer_place(operation)
        await self._speaking.report(chat_id, message_id, text, quote)
        if operation.requester_chat_id is not None and operation.requester_chat_id != chat_id:
            await self._speaking.report(operation.requester_chat_id, None, text)

    @staticmethod
    async def _sweep(use_cases: UseCases) -> None:
        """Now and then, close the proposals (single ones and lists) nobody decided in time."""
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await use_cases.approvals.expire_due()
                await use_cases.bulks.expire_due()
            except Exception:
                log.exception("could not expire the overdue proposals")

    async def health(self) -> dict:
        """What /healthz reports: the store answers, and which providers are configured."""
        try:
            store_ok = await (await self.get()).store.ping()
        except Exception:
            store_ok = False
        return {"ok": store_ok, "store": store_ok, "providers": sorted(self.providers)}

    async def confirm(self, provider: str, confirmations: list[Confirmation]) -> None:
        """What a provider's webhook said of changes it had accepted (bot/hooks.py)."""
        await self.use_cases()  # the changes resumed after a restart wait for theirs
        assert self._changes is not None
        for confirmation in confirmations:
            self._changes.confirm(provider, confirmation.request_id, confirmation.result)

    async def notices_sent(self) -> None:
        """Wait until every notice given so far has gone out (for tests and benchmarks)."""
        if self._notifier is not None:
            await self._notifier.sent()

    async def aclose(self) -> None:
        if self._scheduler is not None:  # first: what it started stays open, and resumes
            await self._scheduler.close()
            self._scheduler = None
        if self._changes is not None:
            await self._changes.close()
            self._changes = None
        if self._bulks is not None:
            await self._bulks.close()
            self._bulks = None
        if self._notifier is not None:
            await self._notifier.drain(NOTICE_DRAIN_SECONDS)
            self._notifier = None
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        if self._history is not None:
            await self._history.aclose()
            self._history = None
        for provider in self.providers.values():
            await provider.aclose()
        if self.store is not None:
            await self.store.close()
            self.store = None
        self._use_cases = None


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
