"""Wiring: build everything from the config once, open it at start-up, close it at shutdown."""

from __future__ import annotations

import asyncio
import secrets

from adapters import Capability, Provider, create_provider
from bot.config import AppConfig, ConfigError
from bot.media import MediaStore
from bot.notify import Notifier, Send
from bot.service import AvatarService
from bot.store import Group, Store


def create_providers(config: AppConfig) -> dict[str, Provider]:
    """One adapter (with its own HTTP client) per configured provider; checks what the config
    alone cannot: group ids in each provider's format, and a public URL for URL-only providers."""
    providers = {name: create_provider(name, settings) for name, settings in config.providers.items()}
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
    if problems:
        raise ConfigError("\n".join(problems))
    return providers


def config_groups(config: AppConfig) -> list[Group]:
    return [
        Group(alias=alias, provider=g.provider, chat_id=g.chat_id, title=g.title or alias)
        for alias, g in config.groups.items()
    ]


class Services:
    """The bot's long-lived parts. `get()` opens them once (start-up, or the first update)."""

    def __init__(self, config: AppConfig, send: Send) -> None:
        self.config = config
        self._send = send
        self.providers = create_providers(config)
        self.media = self._media_store(config)
        self.store: Store | None = None
        self._service: AvatarService | None = None
        self._lock = asyncio.Lock()

    @staticmethod
    def _media_store(config: AppConfig) -> MediaStore | None:
        if config.server is None or not config.server.public_url:
            return None
        return MediaStore(
            secret=secrets.token_bytes(32),
            public_url=config.server.public_url,
            ttl_seconds=config.server.media_ttl_seconds,
        )

    async def get(self) -> AvatarService:
        async with self._lock:
            if self._service is None:
                self.store = await Store.open(self.config.storage.path)
                await self.store.sync_config(config_groups(self.config), self.config.links)
                self._service = AvatarService(
                    store=self.store,
                    providers=self.providers,
                    owners=self.config.owners,
                    notifier=Notifier(
                        self._send, self.store, self.config.owners, self.config.notify_chat_id
                    ),
                    media=self.media,
                )
            return self._service

    async def health(self) -> dict:
        """What /healthz reports: the store answers, and which providers are configured."""
        try:
            store_ok = await (await self.get()).store.ping()
        except Exception:
            store_ok = False
        return {"ok": store_ok, "store": store_ok, "providers": sorted(self.providers)}

    async def aclose(self) -> None:
        for provider in self.providers.values():
            await provider.aclose()
        if self.store is not None:
            await self.store.close()
            self.store = None
        self._service = None
