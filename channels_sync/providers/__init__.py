"""Provider registry: a name maps to a ChannelProvider class; each provider is its own package.

A provider package (channels_sync/providers/<name>/) has four modules: `client` (the Provider class: API
calls, auth, paging), `normalize` (pure: channel payload -> AggregatedOrderData, no Django), `webhooks`
(verification, delivery id/topic, registration) and `writeback` (status/fulfilment bodies and calls).
Nothing here imports Django or a provider's client until a provider is asked for, so a normalizer can be
imported and tested on its own (tests/channels_sync/providers/test_normalizers_pure.py).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from channels_sync.providers.base import ChannelProvider

# name -> package path; a provider registers itself by being listed here.
PROVIDER_MODULES = {
    "shopify": "channels_sync.providers.shopify",
    "woocommerce": "channels_sync.providers.woocommerce",
    "amazon": "channels_sync.providers.amazon",
    "ebay": "channels_sync.providers.ebay",
    "tiktok": "channels_sync.providers.tiktok",
    "walmart": "channels_sync.providers.walmart",
}
PACKAGE_MODULES = ("client", "normalize", "webhooks", "writeback")


class UnknownProvider(LookupError):
    pass


def provider_class(name: str) -> type[ChannelProvider]:
    """The provider class for a name; each package exposes it as `Provider`."""
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


def webhook_paths() -> dict[str, str]:
    """{provider name: receiver path} for every provider that takes webhooks: its class's `webhook_path`."""
    paths = {}
    for name in available_providers():
        path = provider_class(name).webhook_path
        if path:
            paths[name] = path
    return paths


def package_exports(package: str):
    """A provider package's module `__getattr__`: `Provider` and every other public name of its modules, imported
    on first use (PEP 562). So `from channels_sync.providers.shopify import Provider` works as it always did,
    while importing `channels_sync.providers.shopify.normalize` loads only that pure module."""

    def __getattr__(name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        if name in PACKAGE_MODULES:
            return import_module(f"{package}.{name}")
        for module_name in PACKAGE_MODULES:
            module = import_module(f"{package}.{module_name}")
            if name in vars(module):
                return vars(module)[name]
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
