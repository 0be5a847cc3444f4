"""WhatsApp provider adapters. Adding a provider: one module, one line in PROVIDER_KINDS."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Union, get_args

from pydantic import Field

from adapters.base import (
    Awaited,
    Capability,
    Confirmation,
    EventSettings,
    FailureKind,
    PictureEvent,
    PictureResult,
    PreparedPicture,
    Provider,
    ProviderSettings,
    Said,
    UnreadableWebhook,
)
from adapters.cloudapi import CloudApiProvider
from adapters.evolution import EvolutionProvider
from adapters.gowa import GowaProvider
from adapters.greenapi import GreenApiProvider
from adapters.telegram import TelegramProvider
from adapters.waha import WahaProvider
from adapters.wasend import WasendProvider
from adapters.whapi import WhapiProvider

PROVIDER_KINDS: dict[str, type[Provider]] = {
    "cloudapi": CloudApiProvider,
    "evolution": EvolutionProvider,
    "gowa": GowaProvider,
    "greenapi": GreenApiProvider,
    "telegram": TelegramProvider,
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


def settings_union(kinds: dict[str, type[Provider]]) -> Any:
    """The pydantic type of one `providers.<name>` entry: the settings model of each registered
    kind, chosen by its `kind` field. Each model must declare `kind: Literal["<its key>"]`."""
    for kind, provider in kinds.items():
        declared = get_args(provider.settings_model.model_fields["kind"].annotation)
        if provider.kind != kind or declared != (kind,):
            raise TypeError(f"{provider.__name__}: its settings need kind: Literal[{kind!r}]")
    models = tuple(provider.settings_model for provider in kinds.values())
    if len(models) == 1:
        return models[0]
    return Annotated[Union[models], Field(discriminator="kind")]  # noqa: UP007 (a runtime tuple)


if TYPE_CHECKING:
    AnyProviderSettings = ProviderSettings
else:
    #: what config.yaml's `providers:` values are parsed as
    AnyProviderSettings = settings_union(PROVIDER_KINDS)


def create_provider(name: str, settings: ProviderSettings) -> Provider:
    return provider_class(settings.kind)(name, settings)


__all__ = [
    "PROVIDER_KINDS",
    "AnyProviderSettings",
    "Awaited",
    "Capability",
    "Confirmation",
    "EventSettings",
    "FailureKind",
    "PictureEvent",
    "PictureResult",
    "PreparedPicture",
    "Provider",
    "ProviderSettings",
    "Said",
    "UnreadableWebhook",
    "create_provider",
    "provider_class",
    "settings_union",
]
