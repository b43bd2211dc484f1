"""Simulator registry: provider name -> module exposing `Simulator`. Add one line per channel."""

from __future__ import annotations

from importlib import import_module

from simulator.base import ChannelSimulator

SIMULATOR_MODULES = {
    "shopify": "simulator.shopify",
    "woocommerce": "simulator.woocommerce",
    "tiktok": "simulator.tiktok",
    "walmart": "simulator.walmart",
    "amazon": "simulator.amazon",
    "ebay": "simulator.ebay",
}


def simulator_class(name: str) -> type[ChannelSimulator]:
    return import_module(SIMULATOR_MODULES[name]).Simulator


def available_simulators() -> list[str]:
    """Registered names whose module imports (a half-written module must not break the others)."""
    names = []
    for name in SIMULATOR_MODULES:
        try:
            simulator_class(name)
        except ImportError:
            continue
        names.append(name)
    return names
