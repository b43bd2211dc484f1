"""Load the shared real channel payloads (read-only, beside the repo) for the Amazon and eBay tests."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

FIXTURES_DIR = Path(os.environ.get("CHANNEL_FIXTURES_DIR")
                    or Path(__file__).resolve().parents[3].parent / "shared" / "fixtures")


def fixture_bytes(channel: str, name: str) -> bytes:
    return (FIXTURES_DIR / channel / name).read_bytes()


def fixture(channel: str, name: str):
    """A fresh copy every call, so a test that edits it never leaks into another."""
    return copy.deepcopy(json.loads(fixture_bytes(channel, name)))
