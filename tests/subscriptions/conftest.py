import secrets
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from orders.models import InventoryItem
from subscriptions import services

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
ADDRESS = {"line1": "1 Main St", "city": "Springfield", "country": "US"}


class Dispatched:
    """Order-event tasks queued after commit: (handler path, payload), run on demand like a worker."""

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []

    def names(self) -> list[str]:
        return [payload["name"] for _, payload in self.calls]

    def run_all(self):
        from orders.tasks import run_event_handler

        calls, self.calls = self.calls, []
        for handler, payload in calls:
            run_event_handler(handler, payload)


@pytest.fixture
def dispatched(monkeypatch):
    from orders.tasks import run_event_handler

    recorder = Dispatched()
    monkeypatch.setattr(run_event_handler, "apply_async", lambda args, **kw: recorder.calls.append((args[0], args[1])))
    return recorder


@pytest.fixture
def coffee(org):
    """A SKU in stock with a list price, and a monthly price for it."""
    InventoryItem.objects.create(org=org, sku="COFFEE-1KG", name="Coffee 1kg", unit_price=Decimal("25.00"),
                                 on_hand=10)
    return services.price_create(org=org, price_id="coffee-monthly", product_sku="COFFEE-1KG",
                                 amount=Decimal("19.90"), currency="USD", interval="month", interval_count=1,
                                 name="Coffee subscription")


def subscribe(org, price, *, email="sub@example.com", quantity=1, start_at=T0, **kwargs):
    return services.subscription_create(org=org, customer={"email": email, "name": "Sub Scriber"},
                                        price_id=price.price_id, quantity=quantity, shipping_address=ADDRESS,
                                        start_at=start_at, **kwargs)


def public_client(org) -> APIClient:
    """No JWT, only orgid; a fresh client address each time so rate limits of other tests never count."""
    client = APIClient()
    client.defaults["HTTP_ORGID"] = org.slug
    client.defaults["REMOTE_ADDR"] = f"198.18.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"
    return client


@pytest.fixture
def bill(django_capture_on_commit_callbacks):
    """One billing run whose after-commit callbacks run as in production (tests sit in a transaction)."""

    def run(*, now):
        with django_capture_on_commit_callbacks(execute=True):
            return services.subscriptions_bill_due(now=now)

    return run
