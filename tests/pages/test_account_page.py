"""/orders/account/<author>: the customer's orders, only through a signed, expiring link."""

import time
from urllib.parse import urlsplit

import pytest
from django.core import signing

from orders.links import ACCOUNT_SALT, customer_account_url
from tests.orders.factories import checkout
from tests.tracking.helpers import shipped_order

pytestmark = pytest.mark.django_db


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


@pytest.fixture
def customer_with_orders(org):
    first, _ = shipped_order(org, email="cy@example.com")
    second = checkout(org, {"A": 1}, email="cy@example.com")
    return first.customer, [first, second]


def test_signed_link_lists_the_customers_orders_with_links_to_each(org, customer_with_orders, client, settings):
    customer, orders = customer_with_orders
    url = customer_account_url(customer)
    assert url.startswith(settings.PUBLIC_BASE_URL + f"/orders/account/{customer.sk}?token=")
    page = client.get(_path(url))
    assert page.status_code == 200
    html = page.content.decode()
    for order in orders:
        assert order.order_number in html
    assert html.count('href="/orders/view/') == 2
    order_page = client.get(html.split('href="/orders/view/')[1].split('"')[0].join(["/orders/view/", ""]))
    assert order_page.status_code == 200


def test_the_customer_id_alone_opens_nothing(customer_with_orders, client):
    customer, orders = customer_with_orders
    for path in (f"/orders/account/{customer.sk}", f"/orders/account/{customer.sk}?token=123:abc"):
        response = client.get(path)
        assert response.status_code == 404 and orders[0].order_number not in response.content.decode()


def test_a_token_for_one_customer_does_not_open_another(org, customer_with_orders, client):
    customer, _ = customer_with_orders
    other_order, _ = shipped_order(org, email="dee@example.com", lines={"B": 1})
    token = _path(customer_account_url(customer)).split("token=")[1]
    response = client.get(f"/orders/account/{other_order.customer.sk}?token={token}")
    assert response.status_code == 404 and other_order.order_number not in response.content.decode()


def test_link_expires_after_the_configured_age(customer_with_orders, client, settings):
    customer, orders = customer_with_orders
    settings.CUSTOMER_ACCOUNT_LINK_MAX_AGE = 3600
    old = signing.TimestampSigner(salt=ACCOUNT_SALT)
    # sign as if two hours ago: TimestampSigner stamps with time.time()
    real_time = time.time
    signing.time.time = lambda: real_time() - 7200
    try:
        stale_token = old.sign(customer.sk)[len(customer.sk) + 1:]
    finally:
        signing.time.time = real_time
    expired = client.get(f"/orders/account/{customer.sk}?token={stale_token}")
    assert expired.status_code == 404 and orders[0].order_number not in expired.content.decode()
    assert b"expired" in expired.content
    settings.CUSTOMER_ACCOUNT_LINK_MAX_AGE = 3 * 3600
    assert client.get(f"/orders/account/{customer.sk}?token={stale_token}").status_code == 200


def test_confirmation_email_carries_a_working_account_link(org, customer_with_orders, mailoutbox, settings, client):
    from orders.notifications import send_order_email

    customer, orders = customer_with_orders
    send_order_email(order_id=orders[1].pk, kind="confirmation", dedupe_key="test-confirmation")
    body = mailoutbox[-1].body
    link = next(line.split(settings.PUBLIC_BASE_URL, 1)[1].strip() for line in body.splitlines()
                if "/orders/account/" in line)
    assert link.startswith(f"/orders/account/{customer.sk}?token=")
    page = client.get(link)
    assert page.status_code == 200 and orders[0].order_number in page.content.decode()
