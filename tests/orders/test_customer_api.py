"""Customer lookups: no login, same 404 for a wrong email and a missing order, no internals, rate-limited."""

import pytest
from rest_framework.test import APIClient

from orders import services
from orders.links import account_token
from tests.orders.factories import order_in

FORBIDDEN_KEYS = {"internalNotes", "activity", "payments", "refunds", "cost", "holdReason", "cancelReason",
                  "captured", "refundable", "allowedVerbs"}


def all_keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in all_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in all_keys(v)}
    return set()


@pytest.fixture
def shipped_order(manager, stocked):
    order = order_in(manager.org, "processing", email="ada@example.com")
    services.order_update(org=manager.org, order_number=order.order_number,
                          internal_notes="SECRET-NOTE customer is rude", actor=manager.user)
    services.order_ship(org=manager.org, order_number=order.order_number, carrier="ups", tracking_number="1ZTRACK",
                        cost="8.75", actor=manager.user)
    return order


def test_lookup_by_email_shows_status_lines_and_tracking_but_no_internals(public_client, shipped_order, manager):
    response = public_client.get(f"/storefront/order/email/ADA@example.com/{shipped_order.order_number}")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "shipped"
    assert body["shipments"][0]["trackingNumber"] == "1ZTRACK"
    assert body["shipments"][0]["trackingUrl"].startswith("https://www.ups.com/")
    assert not all_keys(body) & FORBIDDEN_KEYS
    text = response.content.decode()
    assert "SECRET-NOTE" not in text and "8.75" not in text and manager.user.username not in text


def test_wrong_email_and_missing_order_are_the_same_404(public_client, shipped_order):
    wrong_email = public_client.get(f"/storefront/order/email/eve@example.com/{shipped_order.order_number}")
    missing = public_client.get("/storefront/order/email/ada@example.com/ORD-2026-9999")
    assert wrong_email.status_code == missing.status_code == 404
    assert wrong_email.json() == missing.json()


def test_lookup_by_author(public_client, shipped_order):
    author = shipped_order.customer.sk
    public_client.defaults["HTTP_X_ACCOUNT_TOKEN"] = account_token(shipped_order.customer)
    one = public_client.get(f"/storefront/order/get/{author}/{shipped_order.order_number}")
    assert one.status_code == 200 and one.json()["orderNumber"] == shipped_order.order_number
    assert not all_keys(one.json()) & FORBIDDEN_KEYS
    listing = public_client.get(f"/storefront/orders/get/{author}")
    assert [row["orderNumber"] for row in listing.json()["results"]] == [shipped_order.order_number]
    assert not all_keys(listing.json()["results"]) & FORBIDDEN_KEYS
    assert public_client.get(f"/storefront/order/get/cus_nobody/{shipped_order.order_number}").status_code == 404
    assert public_client.get("/storefront/orders/get/cus_nobody").status_code == 404


def test_another_orgs_header_sees_nothing(shipped_order, other_org):
    client = APIClient()
    client.defaults["HTTP_ORGID"] = other_org.slug
    client.defaults["HTTP_X_ACCOUNT_TOKEN"] = account_token(shipped_order.customer)
    assert client.get(f"/storefront/order/email/ada@example.com/{shipped_order.order_number}").status_code == 404
    assert client.get(f"/storefront/order/get/{shipped_order.customer.sk}/{shipped_order.order_number}"
                      ).status_code == 404
    assert client.get(f"/storefront/orders/get/{shipped_order.customer.sk}").json()["results"] == []


def test_lookups_need_the_orgid_header(shipped_order):
    response = APIClient().get(f"/storefront/orders/get/{shipped_order.customer.sk}")
    assert response.status_code == 400


def test_rate_limited_per_client_address(public_client, shipped_order, settings):
    settings.ORDERS_CUSTOMER_RATE_LIMIT = "3/min"
    url = f"/storefront/order/email/ada@example.com/{shipped_order.order_number}"
    codes = [public_client.get(url, REMOTE_ADDR="203.0.113.7").status_code for _ in range(3)]
    # the limit is per address across every lookup endpoint, including wrong guesses
    limited = public_client.get(f"/storefront/orders/get/{shipped_order.customer.sk}", REMOTE_ADDR="203.0.113.7",
                                HTTP_X_ACCOUNT_TOKEN=account_token(shipped_order.customer))
    other_address = public_client.get(url, REMOTE_ADDR="198.51.100.9")
    assert codes == [200, 200, 200]
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert limited.json()["error"]["details"]["retryAfterSeconds"] > 0
    assert other_address.status_code == 200


def test_a_forged_forwarded_for_header_does_not_reset_the_limit(public_client, shipped_order, settings):
    settings.ORDERS_CUSTOMER_RATE_LIMIT = "2/min"
    url = f"/storefront/order/email/ada@example.com/{shipped_order.order_number}"
    codes = [public_client.get(url, REMOTE_ADDR="203.0.113.8", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}").status_code
             for i in range(3)]
    assert codes == [200, 200, 429]


@pytest.mark.redis
def test_rate_limit_counts_live_in_redis(public_client, shipped_order, settings):
    """Shared by every web process: the count is in the Redis cache, not in process memory."""
    import redis
    from django.core.cache import cache

    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    settings.ORDERS_CUSTOMER_RATE_LIMIT = "1/min"
    url = f"/storefront/order/email/ada@example.com/{shipped_order.order_number}"
    assert public_client.get(url, REMOTE_ADDR="192.0.2.1").status_code == 200
    keys = redis.Redis.from_url(settings.REDIS_URL).keys("*throttle_storefront-customer_192.0.2.1*")
    assert keys, "the throttle history should be a Redis key"
    assert cache.get("throttle_storefront-customer_192.0.2.1")
    assert public_client.get(url, REMOTE_ADDR="192.0.2.1").status_code == 429


def test_an_unknown_carriers_tracking_url_is_the_html_parcel_page(public_client, manager, stocked, settings):
    """A storefront shows `trackingUrl` to its customer as is: it must open a page, not JSON needing an orgid."""
    order = order_in(manager.org, "processing", email="ada@example.com")
    services.order_ship(org=manager.org, order_number=order.order_number, carrier="prairie-express",
                        tracking_number="PX-1", actor=manager.user)
    body = public_client.get(f"/storefront/order/email/ada@example.com/{order.order_number}").json()
    url = body["shipments"][0]["trackingUrl"]
    assert url.startswith(f"{settings.PUBLIC_BASE_URL}/orders/view/") and "/parcels/shp-" in url
    page = APIClient().get(url.removeprefix(settings.PUBLIC_BASE_URL))  # no orgid, no token header
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert "PX-1" in page.content.decode()
