import pytest

from tests.tracking.helpers import API, SECRET


@pytest.fixture(autouse=True)
def _tracking_settings(settings):
    """EasyPost configured (at a test host) with a webhook secret (the root conftest empties the cache)."""
    settings.EASYPOST_API_KEY = "EZTK-test-key"
    settings.EASYPOST_API_BASE = API
    settings.EASYPOST_WEBHOOK_SECRET = SECRET
    settings.TRACKING_PROVIDER = "easypost"
    yield settings


@pytest.fixture
def anon(org):
    """No login; names the org (public tracking answers only for the org it is asked about)."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.defaults["HTTP_ORGID"] = org.slug
    return client
