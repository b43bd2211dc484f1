from decimal import Decimal

import pytest
from django.utils import timezone

from channels_sync.models import AggregatedOrder, Channel
from channels_sync.providers import PROVIDER_MODULES


@pytest.fixture(autouse=True)
def fake_provider(monkeypatch):
    monkeypatch.setitem(PROVIDER_MODULES, "fakeshop", "tests.channels_sync.fake_provider")
    return "fakeshop"


@pytest.fixture
def make_channel():
    def make(org, channel_id="shop-main", **extra):
        return Channel.objects.create(org=org, channel_id=channel_id, provider="fakeshop", enabled=True,
                                      config={"shopDomain": f"{channel_id}.fake.example", "accessToken": "tok"},
                                      webhook_secret="whsec-test", **extra)

    return make


_seq = iter(range(1000, 10_000_000))


@pytest.fixture
def channel_order():
    """A channel order as ingest stores it (the list only reads these rows)."""

    def make(channel, *, number=None, name="Grace Hopper", email="grace@example.com", status="pending",
             sku="MUG-1", quantity=2, minutes_ago=0, **extra):
        n = next(_seq)
        placed = timezone.now() - timezone.timedelta(minutes=minutes_ago)
        return AggregatedOrder.objects.create(
            org=channel.org, channel=channel, channel_order_id=f"CH{n}", channel_order_number=number or f"#{n}",
            status=status, raw_status=status, customer_email=email, customer_name=name,
            lines=[{"sku": sku, "channelSku": f"V-{sku}", "quantity": quantity, "unitPrice": "12.50",
                    "name": sku, "channelLineId": f"L{n}"}],
            subtotal=Decimal("25.00"), grand_total=Decimal("25.00"), currency="EUR", created_at=placed,
            channel_updated_at=placed, **extra)

    return make
