"""WhatsApp provider adapters. Adding a provider: one module, one line in PROVIDER_KINDS."""

from __future__ import annotations

from adapters.base import (
    Capability,
    FailureKind,
    PictureResult,
    PreparedPicture,
    Provider,
    ProviderSettings,
)
from adapters.evolution import EvolutionProvider
from adapters.gowa import GowaProvider
from adapters.greenapi import GreenApiProvider
from adapters.waha import WahaProvider
from adapters.wasend import WasendProvider
from adapters.whapi import WhapiProvider

PROVIDER_KINDS: dict[str, type[Provider]] = {
    "evolution": EvolutionProvider,
    "gowa": GowaProvider,
    "greenapi": GreenApiProvider,
    "waha": WahaProvider,
    "wasend": WasendProvider,
    "whapi": WhapiProvider,
}


def provider_class(kind: str) -> type[Provider]:
    """The adapter class for a `kind:` in config.yaml; KeyError names the known kinds."""
    try:
        return PROVIDER_KINDS[kind]
    except KeyError:
        known = ", ".join(sorted(PROVIDER_KINDS)) or "none"
        raise KeyError(f"unknown provider kind {kind!r} (known: {known})") from None


def create_provider(name: str, settings: ProviderSettings) -> Provider:
    return provider_class(settings.kind)(name, settings)


__all__ = [
    "PROVIDER_KINDS",
    "Capability",
    "FailureKind",
    "PictureResult",
    "PreparedPicture",
    "Provider",
    "ProviderSettings",
    "create_provider",
    "provider_class",
]
