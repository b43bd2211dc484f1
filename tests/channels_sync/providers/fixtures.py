"""Load the published channel payloads in tests/fixtures for the Shopify and WooCommerce tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path

# The published payloads, copied into the repository (tests/fixtures/<channel>/SOURCES.md says where
# each came from).
FIXTURES_DIR = Path(__file__).resolve().parents[2] / "fixtures"


def fixture_bytes(channel: str, name: str) -> bytes:
    return (FIXTURES_DIR / channel / name).read_bytes()


def fixture(channel: str, name: str):
    """A fresh copy every call, so a test that edits it never leaks into another."""
    return copy.deepcopy(json.loads(fixture_bytes(channel, name)))


def shopify_order(name: str) -> dict:
    """The order object of a Shopify fixture: {"order": ...}, {"orders": [first, ...]} or a bare webhook body."""
    data = fixture("shopify", name)
    if "orders" in data:
        return data["orders"][0]
    return data.get("order", data)
