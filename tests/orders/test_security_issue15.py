"""Issue 15, items 1, 2, 5: a customer id is not a credential, an idempotency key is bound to its body,
anonymous checkout cannot put a stranger's text into the merchant's emails."""

from django.core import mail
from rest_framework.test import APIClient

from orders.links import account_token
from orders.models import Customer, Order
from tests.api import error_code, make_actor
from tests.orders.factories import checkout, stock

CART = {
    "customer": {"email": "ada@example.com", "name": "Ada"},
    "lines": [{"sku": "A", "quantity": 1}],
    "shippingAddress": {"line1": "1 Main St", "city": "Springfield", "country": "US"},
}


def _public(org):
    client = APIClient()
    client.defaults["HTTP_ORGID"] = org.slug
    return client


def test_checkout_with_a_known_email_neither_reveals_nor_renames_the_customer(org):
    stock(org, A=10)
    victim = checkout(org, {"A": 1}, email="ada@example.com").customer
    Customer.objects.filter(pk=victim.pk).update(name="Ada Lovelace")
    attack = {**CART, "customer": {"email": "ADA@example.com", "name": "Mallory"}}
    response = _public(org).post("/storefront/checkout-cart", attack, format="json")
    assert response.status_code == 201, response.content
    assert "customerId" not in response.json()
    assert victim.sk not in response.content.decode()
    victim.refresh_from_db()
    assert victim.name == "Ada Lovelace"
    assert Order.objects.get(order_number=response.json()["orderNumber"]).customer_name == "Mallory"


def test_the_bare_customer_id_opens_nothing(org):
    stock(org, A=10)
    order = checkout(org, {"A": 1}, email="ada@example.com")
    sk = order.customer.sk
    client = _public(org)
    for url in (f"/storefront/orders/get/{sk}", f"/storefront/order/get/{sk}/{order.order_number}",
                f"/storefront/subscriptions/get/{sk}"):
        assert client.get(url).status_code == 404, url
        assert client.get(url, {"token": "1:forged"}).status_code == 404, url


def test_the_signed_account_token_or_a_staff_jwt_opens_the_customer_endpoints(org, other_org):
    stock(org, A=10)
    order = checkout(org, {"A": 1}, email="ada@example.com")
    sk, token = order.customer.sk, account_token(order.customer)
    client = _public(org)
    listing = client.get(f"/storefront/orders/get/{sk}", {"token": token})
    assert listing.status_code == 200
    assert [row["orderNumber"] for row in listing.json()["results"]] == [order.order_number]
    assert client.get(f"/storefront/order/get/{sk}/{order.order_number}",
                      HTTP_X_ACCOUNT_TOKEN=token).status_code == 200
    assert client.get(f"/storefront/subscriptions/get/{sk}", {"token": token}).status_code == 200
    staff = make_actor(org, role="viewer")
    assert staff.client.get(f"/storefront/orders/get/{sk}").status_code == 200
    stranger = make_actor(other_org, role="owner")
    stranger.client.defaults["HTTP_ORGID"] = org.slug  # a member of another org naming this one
    assert stranger.client.get(f"/storefront/orders/get/{sk}").status_code == 404


def test_a_replayed_idempotency_key_with_another_body_is_409(org):
    stock(org, A=10, B=10)
    client = _public(org)
    first = client.post("/storefront/checkout-cart", CART, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    same = client.post("/storefront/checkout-cart", CART, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert same.status_code == 200 and same.json()["orderNumber"] == first.json()["orderNumber"]
    other = {**CART, "customer": {"email": "eve@example.com"}, "lines": [{"sku": "B", "quantity": 1}]}
    response = client.post("/storefront/checkout-cart", other, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 409
    assert error_code(response) == "idempotency_mismatch"
    assert first.json()["orderNumber"] not in response.content.decode()
    assert "ada@example.com" not in response.content.decode()


def test_a_key_first_used_without_a_body_hash_is_not_replayed_to_an_anonymous_body(org):
    stock(org, A=10)
    checkout(org, {"A": 1}, email="ada@example.com", idempotency_key="sub-1")
    response = _public(org).post("/storefront/checkout-cart", CART, format="json", HTTP_IDEMPOTENCY_KEY="sub-1")
    assert response.status_code == 409 and error_code(response) == "idempotency_mismatch"


def test_anonymous_checkout_text_does_not_reach_the_confirmation_email(org, dispatched,
                                                                      django_capture_on_commit_callbacks):
    stock(org, A=10)
    spam = "WIN A PRIZE http://evil.example"
    cart = {**CART, "customer": {"email": "ada@example.com", "name": spam},
            "lines": [{"sku": "A", "quantity": 1, "name": spam}], "note": spam}
    with django_capture_on_commit_callbacks(execute=True):
        response = _public(org).post("/storefront/checkout-cart", cart, format="json")
    assert response.status_code == 201
    order = Order.objects.get(order_number=response.json()["orderNumber"])
    assert order.lines.get().name == "Item A"  # the catalogue's name
    dispatched.run_all()
    body = mail.outbox[0].body + mail.outbox[0].subject
    assert spam not in body and "evil.example" not in body
    assert "Item A" in body
