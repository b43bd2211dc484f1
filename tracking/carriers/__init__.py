"""Carrier provider registry: name -> module exposing `Provider` (one module per provider).

    provider = get_provider("easypost")
    result = provider.track(tracking_number="EZ4000000004", carrier="usps")
"""

from importlib import import_module

from tracking.carriers.base import CarrierProvider
from tracking.conf import tracking_settings

PROVIDERS = {
    "easypost": "tracking.carriers.easypost",
    "manual": "tracking.carriers.manual",
}


class UnknownProvider(LookupError):
    pass


def get_provider(name: str | None = None) -> CarrierProvider:
    """The named provider, or the configured default (`TRACKING_PROVIDER`)."""
    name = (name or default_provider_name()).lower()
    if name not in PROVIDERS:
        raise UnknownProvider(f"Unknown tracking provider {name!r}; known: {sorted(PROVIDERS)}")
    return import_module(PROVIDERS[name]).Provider()


def default_provider_name() -> str:
    return tracking_settings.TRACKING_PROVIDER


def provider_names() -> list[str]:
    return sorted(PROVIDERS)
