"""Load the published channel payloads in tests/fixtures for the Amazon and eBay tests."""

from __future__ import annotations

import copy
import json

import pytest

from tests.channels_sync.providers.fixtures import FIXTURES_DIR


def fixture_bytes(channel: str, name: str) -> bytes:
    return (FIXTURES_DIR / channel / name).read_bytes()


def fixture(channel: str, name: str):
    """A fresh copy every call, so a test that edits it never leaks into another."""
    return copy.deepcopy(json.loads(fixture_bytes(channel, name)))


@pytest.fixture
def isolated_tokens_and_buckets(settings):
    """OAuth tokens and rate buckets in this process only: tests run two at a time (xdist) against one
    Redis, so neither may see the other's cached token nor flush the other's keys."""
    from django.core.cache import cache

    from channels_sync.providers import ratelimit

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "amazon-ebay-provider-tests"}}
    settings.REDIS_URL = ""
    cache.clear()
    ratelimit._local_buckets._state.clear()
    yield
    cache.clear()
    ratelimit._local_buckets._state.clear()
