"""Shared fixtures: orgs and their members, authenticated API clients, service markers.

Tests marked `postgres` or `redis` need that server. Without it they skip (one line in the
report header says so); with REQUIRE_SERVICES=1 (CI) they fail instead.
"""

import os
import socket
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.db import connection

from tests.accounts.factories import MembershipFactory, OrgFactory, UserFactory
from tests.api import OrgActor, make_actor

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "") in {"1", "true", "yes"}


def _redis_reachable() -> bool:
    url = os.environ.get("REDIS_URL") or os.environ.get("CELERY_BROKER_URL") or ""
    if not url.startswith("redis"):
        return False
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=1):
            return True
    except OSError:
        return False


def _services() -> dict[str, bool]:
    return {
        "postgres": settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
        "redis": _redis_reachable() and settings.CELERY_BROKER_URL.startswith("redis"),
    }


def pytest_report_header(config):
    missing = [name for name, up in _services().items() if not up]
    if not missing:
        return "services: PostgreSQL and Redis in use; no test is skipped for a missing server"
    verb = "FAIL" if REQUIRE_SERVICES else "are SKIPPED"
    return (f"services: {', '.join(missing)} not configured; tests that need them {verb} "
            "(set DATABASE_URL, CELERY_BROKER_URL and REDIS_URL, as .ci/run does)")


def pytest_collection_modifyitems(config, items):
    services = _services()
    worker_needs = {"worker": "redis"}
    for item in items:
        for marker, service in [("postgres", "postgres"), ("redis", "redis"), *worker_needs.items()]:
            if item.get_closest_marker(marker) and not services[service]:
                reason = f"needs {service}"
                if REQUIRE_SERVICES:
                    item.add_marker(pytest.mark.usefixtures("_fail_missing_service"))
                    item.user_properties.append(("missing_service", service))
                else:
                    item.add_marker(pytest.mark.skip(reason=reason))
        if item.get_closest_marker("worker"):
            # Tests that start or count Celery workers share one xdist process, so they never see each other's.
            item.add_marker(pytest.mark.xdist_group("celery-worker"))


@pytest.fixture(scope="session", autouse=True)
def _redis_db_per_xdist_worker(worker_id):
    """Each xdist process gets its own Redis database for cache and rate-limit buckets.

    Tests call cache.clear(), which is FLUSHDB on Redis: on a shared database one process would
    wipe the other's throttle counters and cached tokens mid-test.
    """
    if not settings.REDIS_URL or worker_id == "master":
        yield
        return
    from django.test import override_settings

    parsed = urlparse(settings.REDIS_URL)
    base_db = int((parsed.path or "/0").lstrip("/") or 0)
    db = (base_db + int(worker_id.removeprefix("gw"))) % 16
    url = parsed._replace(path=f"/{db}").geturl()
    caches = {**settings.CACHES, "default": {**settings.CACHES["default"], "LOCATION": url}}
    with override_settings(REDIS_URL=url, CACHES=caches):
        yield


@pytest.fixture(scope="session", autouse=True)
def _suite_settings():
    """Channel stand-ins (responses mocks, the simulator) live on 127.0.0.1, so tests allow private targets
    explicitly instead of inheriting DEBUG's default; the tests of the refusal turn it off themselves.
    Every test checks out from 127.0.0.1 within the same minutes; the test of that limit sets its own rate.
    Each delivery nudges the webhook drain at once (the debounce's own tests set a window), so a test never
    depends on a nudger thread left by the previous one; and a drain calls no helpers (their own tests set
    CHANNEL_WEBHOOK_DRAINERS), so no test leaves a helper's message in the shared broker."""
    from django.test import override_settings

    with override_settings(ALLOW_PRIVATE_OUTBOUND=True, ORDERS_CHECKOUT_RATE_LIMIT="100000/min",
                           CHANNEL_WEBHOOK_DRAIN_NUDGE_SECONDS=0, CHANNEL_WEBHOOK_DRAINERS=1):
        yield


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Every test starts with empty caches: Django's (rate-limit counters, drain flags, token buckets) and the
    per-process webhook routes, where a rolled-back test's channels must not linger."""
    from django.core.cache import cache

    from channels_sync.services.webhooks import route_cache_clear

    cache.clear()
    route_cache_clear()
    yield
    cache.clear()
    route_cache_clear()


@pytest.fixture
def _fail_missing_service(request):
    missing = dict(request.node.user_properties).get("missing_service")
    pytest.fail(f"REQUIRE_SERVICES=1 but {missing} is not configured for this test")


@pytest.fixture
def org(db):
    return OrgFactory()


@pytest.fixture
def other_org(db):
    return OrgFactory()


@pytest.fixture
def owner(org) -> OrgActor:
    return make_actor(org, role="owner")


@pytest.fixture
def manager(org) -> OrgActor:
    return make_actor(org, role="manager")


@pytest.fixture
def viewer(org) -> OrgActor:
    return make_actor(org, role="viewer")


@pytest.fixture
def other_owner(other_org) -> OrgActor:
    """The owner of a second org: the stranger in every tenant-isolation test."""
    return make_actor(other_org, role="owner")


@pytest.fixture
def user_factory():
    return UserFactory


@pytest.fixture
def membership_factory():
    return MembershipFactory


@pytest.fixture
def is_postgres() -> bool:
    return connection.vendor == "postgresql"
