"""Provider registry: a name maps to a ChannelProvider class; each provider is its own module."""

from __future__ import annotations

from importlib import import_module

from channels_sync.providers.base import ChannelProvider

# name -> module path; a provider registers itself by being listed here.
PROVIDER_MODULES = {
    "shopify": "channels_sync.providers.shopify",
    "woocommerce": "channels_sync.providers.woocommerce",
    "amazon": "channels_sync.providers.amazon",
    "ebay": "channels_sync.providers.ebay",
    "tiktok": "channels_sync.providers.tiktok",
    "walmart": "channels_sync.providers.walmart",
}


class UnknownProvider(LookupError):
    pass


def provider_class(name: str) -> type[ChannelProvider]:
    """The provider class for a name; each module exposes it as `Provider`."""
    try:
        module_path = PROVIDER_MODULES[name]
    except KeyError:
        raise UnknownProvider(name) from None
    return import_module(module_path).Provider


def available_providers() -> list[str]:
    names = []
    for name in PROVIDER_MODULES:
        try:
            provider_class(name)
        except ImportError:
            continue
        names.append(name)
    return names
