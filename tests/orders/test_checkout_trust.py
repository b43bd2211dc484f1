"""Issue 15, item 3: checkout never trusts a client's word about money.

Anonymous carts are priced from the catalogue and the hub's own shipping and tax rules; the merchant's
storefront server (its storefront API key) may pass its shipping and tax; a Stripe payment counts only once
Stripe confirms it (mocked at the wire with the PaymentIntent of Stripe's API reference); `manual` is staff's.
"""

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest
import responses
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from accounts.models import StorefrontApiKey
from orders.links import account_token
from orders.models import InventoryItem, Order, Payment
from tests.api import error_code, make_actor
from tests.orders.factories import checkout, checkout_rules, stock

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "stripe"
PI_URL = "https://api.stripe.com/v1/payment_intents/{}"
ORG_STRIPE_KEY = "sk_test_org0000000000000000000000"

CART = {
    "customer": {"email": "ada@example.com", "name": "Ada"},
    "lines": [{"sku": "A", "quantity": 2}],
    "shippingAddress": {"line1": "1 Main St", "city": "Springfield", "country": "US"},
}


def payment_intent(*, status="succeeded", amount=2500, currency="usd", pi=None) -> dict:
    """Stripe's documented PaymentIntent, as it looks once it reached `status` for `amount`."""
    intent = copy.deepcopy(json.loads((FIXTURES / "payment_intent_retrieve.json").read_text()))
    intent.update(status=status, amount=amount, currency=currency,
                  amount_received=amount if status == "succeeded" else 0,
                  amount_capturable=amount if status == "requires_capture" else 0)
    if status == "requires_capture":
        intent["capture_method"] = "manual"
    if pi:
        intent["id"] = pi
    return intent


def mock_intent(intent: dict, status: int = 200):
    responses.get(PI_URL.format(intent["id"]), json=intent, status=status)


def _public(org, **headers) -> APIClient:
    client = APIClient()
    client.defaults["HTTP_ORGID"] = org.slug
    client.defaults.update(headers)
    return client


def _reserved(org) -> dict:
    return dict(InventoryItem.objects.filter(org=org).values_list("sku", "reserved"))


@pytest.fixture
def shop(org):
    """A: 10.00 each; the org charges 5.00 shipping and 2.5% tax, and verifies with its own Stripe key."""
    stock(org, A=10, B=10)
    checkout_rules(org, flat_shipping="5.00", tax_rate="2.5", stripe_secret_key=ORG_STRIPE_KEY)
    return org  # 2 x A: subtotal 20.00 + shipping 5.00 + tax 0.50 = 25.50


def storefront_key(org, name="web shop") -> str:
    owner = make_actor(org, role="owner")
    response = owner.client.post("/org/storefront-keys", {"name": name}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["key"]


# --- prices, shipping and tax -------------------------------------------------------------------

def test_anonymous_prices_shipping_and_tax_come_from_the_hub_not_the_cart(shop):
    cart = {**CART, "lines": [{"sku": "A", "quantity": 2, "unitPrice": "0.01"}],
            "shippingTotal": "0.00", "taxTotal": "0.00"}
    response = _public(shop).post("/storefront/checkout-cart", cart, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["totals"] == {"subtotal": "20.00", "shipping": "5.00", "tax": "0.50",
                                         "grandTotal": "25.50", "refunded": "0.00"}
    assert response.json()["lines"][0]["unitPrice"] == "10.00"


def test_an_unpriced_sku_cannot_be_bought_anonymously(shop):
    InventoryItem.objects.create(org=shop, sku="NOPRICE", on_hand=5, unit_price=None)
    cart = {**CART, "lines": [{"sku": "A", "quantity": 1}, {"sku": "NOPRICE", "quantity": 1, "unitPrice": "1.00"}]}
    response = _public(shop).post("/storefront/checkout-cart", cart, format="json")
    assert response.status_code == 400
    assert error_code(response) == "invalid"
    assert response.json()["error"]["details"] == {
        "lines": ["NOPRICE: has no price in the catalogue, so it cannot be bought."]}
    assert not Order.objects.filter(org=shop).exists()
    assert _reserved(shop) == {"A": 0, "B": 0, "NOPRICE": 0}


def test_the_order_is_in_the_catalogues_currency_and_another_one_is_refused(shop):
    InventoryItem.objects.filter(org=shop).update(currency="EUR")
    response = _public(shop).post("/storefront/checkout-cart", {**CART, "currency": "JPY"}, format="json")
    assert response.status_code == 400
    assert "currency" in response.json()["error"]["details"]
    response = _public(shop).post("/storefront/checkout-cart", CART, format="json")
    assert response.status_code == 201
    assert response.json()["currency"] == "EUR"


def test_the_storefront_server_may_pass_its_shipping_and_tax_but_not_prices(shop):
    key = storefront_key(shop)
    cart = {**CART, "lines": [{"sku": "A", "quantity": 2, "unitPrice": "0.01"}],
            "shippingTotal": "7.95", "taxTotal": "1.64"}
    response = _public(shop, HTTP_AUTHORIZATION=f"StorefrontKey {key}").post("/storefront/checkout-cart", cart,
                                                                             format="json")
    assert response.status_code == 201, response.content
    assert response.json()["totals"] == {"subtotal": "20.00", "shipping": "7.95", "tax": "1.64",
                                         "grandTotal": "29.59", "refunded": "0.00"}
    assert StorefrontApiKey.objects.get(org=shop).last_used_at is not None


def test_a_bad_revoked_or_foreign_storefront_key_is_refused_at_checkout(shop, other_org):
    owner = make_actor(shop, role="owner")
    key = storefront_key(shop)
    prefix = StorefrontApiKey.objects.get(org=shop).prefix
    foreign = storefront_key(other_org)
    cart = {**CART, "shippingTotal": "0.00"}
    forged = key[:-4] + "AAAA"
    assert _public(shop, HTTP_AUTHORIZATION=f"StorefrontKey {forged}").post(
        "/storefront/checkout-cart", cart, format="json").status_code == 401
    assert _public(shop, HTTP_AUTHORIZATION=f"StorefrontKey {foreign}").post(
        "/storefront/checkout-cart", cart, format="json").status_code == 403
    assert owner.client.post(f"/org/storefront-keys/{prefix}/revoke").status_code == 200
    assert _public(shop, HTTP_AUTHORIZATION=f"StorefrontKey {key}").post(
        "/storefront/checkout-cart", cart, format="json").status_code == 401
    assert not Order.objects.filter(org=shop).exists()


# --- payments ---------------------------------------------------------------------------------

def test_a_client_declared_manual_payment_is_not_counted_as_paid(shop):
    cart = {**CART, "payment": {"gateway": "manual", "reference": "paid in full", "amount": "25.50"}}
    response = _public(shop).post("/storefront/checkout-cart", cart, format="json")
    assert response.status_code == 403
    key = storefront_key(shop)
    response = _public(shop, HTTP_AUTHORIZATION=f"StorefrontKey {key}").post("/storefront/checkout-cart", cart,
                                                                             format="json")
    assert response.status_code == 403
    assert not Order.objects.filter(org=shop).exists()
    assert _reserved(shop) == {"A": 0, "B": 0}


def test_staff_may_record_a_manual_payment(shop):
    manager = make_actor(shop, role="manager")
    cart = {**CART, "payment": {"gateway": "manual", "reference": "cash"}}
    response = manager.client.post("/storefront/checkout-cart", cart, format="json")
    assert response.status_code == 201, response.content
    order = Order.objects.get(org=shop)
    assert order.captured_total == Decimal("25.50")
    assert order.activities.get().actor == manager.user
    viewer = make_actor(shop, role="viewer")
    assert viewer.client.post("/storefront/checkout-cart", cart, format="json").status_code == 403


@responses.activate
def test_a_verified_stripe_payment_is_captured(shop):
    intent = payment_intent(amount=2550)
    mock_intent(intent)
    cart = {**CART, "payment": {"gateway": "stripe", "reference": intent["id"], "amount": "1.00"}}
    response = _public(shop).post("/storefront/checkout-cart", cart, format="json")
    assert response.status_code == 201, response.content
    order = Order.objects.get(org=shop)
    assert order.captured_total == Decimal("25.50")  # Stripe's amount, not the cart's "1.00"
    payment = Payment.objects.get(order=order)
    assert (payment.gateway, payment.reference, payment.status) == ("stripe", intent["id"], "captured")
    call = responses.calls[0].request
    assert call.method == "GET"
    assert call.headers["Authorization"] == f"Bearer {ORG_STRIPE_KEY}"  # the org's own Stripe account


@responses.activate
def test_an_authorized_payment_intent_is_held_not_captured(shop):
    intent = payment_intent(status="requires_capture", amount=2550)
    mock_intent(intent)
    cart = {**CART, "payment": {"gateway": "stripe", "reference": intent["id"]}}
    assert _public(shop).post("/storefront/checkout-cart", cart, format="json").status_code == 201
    order = Order.objects.get(org=shop)
    assert order.captured_total == Decimal("0.00")
    assert Payment.objects.get(order=order).status == "authorized"


@pytest.mark.parametrize("intent, why", [
    (payment_intent(amount=100), "amount"),
    (payment_intent(amount=2550, currency="eur"), "currency"),
    (payment_intent(amount=2550, status="requires_payment_method"), "status"),
    (payment_intent(amount=2550, status="processing"), "status"),
    (payment_intent(amount=2550, status="canceled"), "status"),
])
@responses.activate
def test_a_payment_intent_that_does_not_pay_this_order_is_refused(shop, intent, why):
    mock_intent(intent)
    cart = {**CART, "payment": {"gateway": "stripe", "reference": intent["id"], "amount": "25.50"}}
    response = _public(shop).post("/storefront/checkout-cart", cart, format="json")
    assert response.status_code == 400, (why, response.content)
    assert list(response.json()["error"]["details"]) == ["payment"]
    assert not Order.objects.filter(org=shop).exists()
    assert not Payment.objects.exists()
    assert _reserved(shop) == {"A": 0, "B": 0}


@responses.activate
def test_an_unknown_payment_intent_is_refused(shop):
    responses.get(PI_URL.format("pi_forged123"), status=404, json={"error": {
        "code": "resource_missing", "message": "No such payment_intent: 'pi_forged123'", "param": "intent",
        "type": "invalid_request_error"}})
    cart = {**CART, "payment": {"gateway": "stripe", "reference": "pi_forged123", "amount": "25.50"}}
    response = _public(shop).post("/storefront/checkout-cart", cart, format="json")
    assert response.status_code == 400
    assert "payment" in response.json()["error"]["details"]
    assert not Order.objects.filter(org=shop).exists()
    bad_id = {**CART, "payment": {"gateway": "stripe", "reference": "../customers/cus_1"}}
    assert _public(shop).post("/storefront/checkout-cart", bad_id, format="json").status_code == 400
    assert len(responses.calls) == 1  # a malformed id never reaches Stripe


@responses.activate
def test_one_payment_intent_pays_for_one_order_only(shop):
    intent = payment_intent(amount=2550)
    mock_intent(intent)
    cart = {**CART, "payment": {"gateway": "stripe", "reference": intent["id"]}}
    assert _public(shop).post("/storefront/checkout-cart", cart, format="json").status_code == 201
    again = {**cart, "customer": {"email": "eve@example.com"}}
    response = _public(shop).post("/storefront/checkout-cart", again, format="json")
    assert response.status_code == 400
    assert "already used" in str(response.json()["error"]["details"]["payment"])
    assert Order.objects.filter(org=shop).count() == 1
    assert _reserved(shop)["A"] == 2


def test_the_database_refuses_a_second_payment_with_one_gateway_reference(org):
    stock(org, A=10, B=10)
    first, second = checkout(org, {"A": 1}), checkout(org, {"B": 1})
    Payment.objects.create(order=first, gateway="stripe", reference="pi_3MtwBwLkdIwHu7ix28a3tqPa",
                           amount_captured=Decimal("10.00"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(order=second, gateway="stripe", reference="pi_3MtwBwLkdIwHu7ix28a3tqPa",
                               amount_captured=Decimal("10.00"))
    # manual references are staff's free text ("cash") and may repeat
    Payment.objects.create(order=second, gateway="manual", reference="manual", amount_captured=Decimal("1.00"))
    Payment.objects.create(order=first, gateway="manual", reference="manual", amount_captured=Decimal("1.00"))


@responses.activate
def test_stripe_unreachable_is_502_and_nothing_is_ordered(shop):
    responses.get(PI_URL.format("pi_3MtwBwLkdIwHu7ix28a3tqPa"), status=500, json={"error": {
        "message": "An unknown error occurred", "type": "api_error"}})
    cart = {**CART, "payment": {"gateway": "stripe", "reference": "pi_3MtwBwLkdIwHu7ix28a3tqPa"}}
    response = _public(shop).post("/storefront/checkout-cart", cart, format="json")
    assert response.status_code == 502
    assert error_code(response) == "gateway_error"
    assert not Order.objects.filter(org=shop).exists()
    assert _reserved(shop) == {"A": 0, "B": 0}


# --- the storefront key: management and the :author endpoints ---------------------------------

def test_storefront_keys_are_owner_only_shown_once_and_stored_hashed(org):
    owner, manager = make_actor(org, role="owner"), make_actor(org, role="manager")
    assert manager.client.post("/org/storefront-keys", {"name": "x"}, format="json").status_code == 403
    assert manager.client.get("/org/storefront-keys").status_code == 403
    created = owner.client.post("/org/storefront-keys", {"name": "web shop"}, format="json").json()
    key = created["key"]
    assert key.startswith(f"sfk_{created['prefix']}_")
    listed = owner.client.get("/org/storefront-keys").json()
    assert listed["total"] == 1 and "key" not in listed["results"][0]
    assert key not in json.dumps(listed)
    row = StorefrontApiKey.objects.get(org=org)
    assert key not in (row.secret_hash, row.prefix) and len(row.secret_hash) == 64


def test_the_storefront_key_opens_its_own_orgs_author_endpoints_only(org, other_org):
    stock(org, A=10)
    order = checkout(org, {"A": 1}, email="ada@example.com")
    sk = order.customer.sk
    urls = [f"/storefront/orders/get/{sk}", f"/storefront/order/get/{sk}/{order.order_number}",
            f"/storefront/subscriptions/get/{sk}"]
    key = storefront_key(org)
    mine = _public(org, HTTP_AUTHORIZATION=f"StorefrontKey {key}")
    for url in urls:
        assert mine.get(url).status_code == 200, url
    foreign = _public(org, HTTP_AUTHORIZATION=f"StorefrontKey {storefront_key(other_org)}")
    for url in urls:
        assert foreign.get(url).status_code == 404, url
    prefix = StorefrontApiKey.objects.get(org=org).prefix
    assert make_actor(org, role="owner").client.post(f"/org/storefront-keys/{prefix}/revoke").status_code == 200
    for url in urls:
        assert mine.get(url).status_code == 404, url
    assert mine.get(urls[0], {"token": account_token(order.customer)}).status_code == 200  # the token still works


def test_another_orgs_owner_cannot_revoke_a_key(org, other_org):
    storefront_key(org)
    prefix = StorefrontApiKey.objects.get(org=org).prefix
    stranger = make_actor(other_org, role="owner")
    assert stranger.client.post(f"/org/storefront-keys/{prefix}/revoke").status_code == 404
    assert StorefrontApiKey.objects.get(org=org).revoked_at is None


def test_the_demo_catalogue_can_be_bought_anonymously(org):
    """`make run` seeds priced SKUs and checkout rules, so the public checkout works in the demo."""
    import io

    from django.core.management import call_command

    for _ in range(2):  # idempotent
        call_command("seed_demo_catalogue", org=org.slug, stdout=io.StringIO())
    cart = {**CART, "lines": [{"sku": "SNK-AIR-1-9-BLK", "quantity": 1}, {"sku": "SOCK-3PK", "quantity": 2}]}
    response = _public(org).post("/storefront/checkout-cart", cart, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["totals"] == {"subtotal": "153.00", "shipping": "5.00", "tax": "12.24",
                                         "grandTotal": "170.24", "refunded": "0.00"}
