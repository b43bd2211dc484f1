import pytest

from channels_sync.models import Channel
from channels_sync.providers import PROVIDER_MODULES

SECRET = "whsec-test"


@pytest.fixture(autouse=True)
def fake_provider(monkeypatch):
    """Register the test channel under the name `fakeshop` for every channel sync test."""
    monkeypatch.setitem(PROVIDER_MODULES, "fakeshop", "tests.channels_sync.fake_provider")
    return "fakeshop"


@pytest.fixture
def make_channel():
    def make(org, channel_id="shop-main", *, enabled=True, shop="main.fake.example", **extra):
        config = {"shopDomain": shop, "accessToken": "tok-secret", **extra.pop("config", {})}
        return Channel.objects.create(org=org, channel_id=channel_id, provider="fakeshop", enabled=enabled,
                                      config=config, webhook_secret=SECRET, **extra)

    return make


@pytest.fixture
def channel(org, make_channel):
    return make_channel(org)


@pytest.fixture
def responses_mock():
    import responses

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
