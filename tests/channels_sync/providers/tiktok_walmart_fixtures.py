"""Load the published channel payloads in tests/fixtures for the TikTok and Walmart tests."""

from __future__ import annotations

import json

from tests.channels_sync.providers.fixtures import FIXTURES_DIR


def fixture_bytes(channel: str, name: str) -> bytes:
    return (FIXTURES_DIR / channel / name).read_bytes()


def fixture(channel: str, name: str):
    return json.loads(fixture_bytes(channel, name))
