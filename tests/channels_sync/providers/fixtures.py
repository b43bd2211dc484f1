"""Load the shared real channel payloads (read-only, beside the repo) for the Shopify and WooCommerce tests."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path


def _fixtures_dir() -> Path:
    """CHANNEL_FIXTURES_DIR, else `shared/fixtures` beside the checkout, else the workplace's copy (a clone
    elsewhere, e.g. a CI run from /tmp, still finds them)."""
    if os.environ.get("CHANNEL_FIXTURES_DIR"):
        return Path(os.environ["CHANNEL_FIXTURES_DIR"])
    for candidate in (Path(__file__).resolve().parents[3].parent / "shared" / "fixtures",
                      Path("/work/shared/fixtures")):
        if candidate.is_dir():
            return candidate
    raise RuntimeError("channel fixtures not found: set CHANNEL_FIXTURES_DIR to the shared/fixtures folder")


FIXTURES_DIR = _fixtures_dir()


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
