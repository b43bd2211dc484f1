"""Every public endpoint fed with bad input: a clear 4xx in the error shape, never a 5xx, nothing stored.

Public means no login: login itself, the storefront checkout, the customer lookups (API and pages)
and public tracking. Webhooks are in test_webhooks.py. Limits: docs/sections/bad-input.md.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from tests.fuzz.conftest import changed, row_counts
from tests.fuzz.world import ADDRESS, World

pytestmark = pytest.mark.django_db

CHECKOUT = {"customer": {"email": "fuzz@example.com", "name": "Fuzz"}, "lines": [{"sku": "A", "quantity": 1}],
            "shippingAddress": ADDRESS}


def body(doc) -> bytes:
    return json.dumps(doc).encode()


# (what, raw body, content type, expected status)
BAD_BODIES = [
    ("truncated JSON", b'{"customer": {"email": ', "application/json", 400),
    ("not JSON at all", b"<xml>order</xml>", "application/json", 400),
    ("a list instead of an object", b"[1, 2, 3]", "application/json", 400),
    ("a bare string", b'"checkout"', "application/json", 400),
    ("null", b"null", "application/json", 400),
    ("empty body", b"", "application/json", 400),
    ("invalid UTF-8", b'{"customer": {"email": "\xff\xfe@example.com"}}', "application/json", 400),
    ("raw control character in a string", b'{"note": "a\x01b"}', "application/json", 400),
    ("form-encoded", b"customer=fuzz&lines=A", "application/x-www-form-urlencoded", 415),
    ("text/plain", body(CHECKOUT), "text/plain", 415),
    ("multipart", b"--x\r\n\r\n--x--", "multipart/form-data; boundary=x", 415),
    ("NUL escaped in a string", body({**CHECKOUT, "note": "a\u0000b"}), "application/json", 400),
    ("NUL in a free-form address", body({**CHECKOUT, "shippingAddress": {"line1": "1 Main\u0000St"}}),
     "application/json", 400),
    ("NUL in a key", body({**CHECKOUT, "shippingAddress": {"li\u0000ne1": "x"}}), "application/json", 400),
    ("lone surrogate", b'{"note": "\\ud800", "shippingAddress": {"city": "\\udfff"}}', "application/json", 400),
    ("Infinity", body(CHECKOUT)[:-1] + b', "shippingAddress": {"lat": Infinity}}', "application/json", 400),
    ("NaN", body(CHECKOUT)[:-1] + b', "taxTotal": NaN}', "application/json", 400),
    ("number too big for a float", body(CHECKOUT)[:-1] + b', "shippingAddress": {"zip": 1e400}}',
     "application/json", 400),
    ("integer with 5000 digits", body(CHECKOUT)[:-1] + b', "taxTotal": ' + b"9" * 5000 + b"}",
     "application/json", 400),
    ("nested 5000 deep", b'{"shippingAddress": ' + b"[" * 5000 + b"]" * 5000 + b"}", "application/json", 400),
    ("nested 100 deep", body({**CHECKOUT, "shippingAddress": json.loads("[" * 100 + "]" * 100)}),
     "application/json", 400),
]

WRONG_CHECKOUTS = [
    ("unknown top-level field", {**CHECKOUT, "discountPercent": 100}),
    ("unknown field in a line", {**CHECKOUT, "lines": [{"sku": "A", "quantity": 1, "price": "0.01"}]}),
    ("lines is a string", {**CHECKOUT, "lines": "A x1"}),
    ("customer is a number", {**CHECKOUT, "customer": 5}),
    ("quantity is a string of letters", {**CHECKOUT, "lines": [{"sku": "A", "quantity": "many"}]}),
    ("quantity is a float", {**CHECKOUT, "lines": [{"sku": "A", "quantity": 1.5}]}),
    ("quantity is huge", {**CHECKOUT, "lines": [{"sku": "A", "quantity": 10**30}]}),
    ("quantity is negative", {**CHECKOUT, "lines": [{"sku": "A", "quantity": -1}]}),
    ("quantity is a bool", {**CHECKOUT, "lines": [{"sku": "A", "quantity": True}]}),
    ("price is huge", {**CHECKOUT, "lines": [{"sku": "NOPRICE", "quantity": 1, "unitPrice": "1e30"}]}),
    ("shipping total is huge", {**CHECKOUT, "shippingTotal": 10**15}),
    ("tax total is negative", {**CHECKOUT, "taxTotal": "-1.00"}),
    ("payment amount is NaN text", {**CHECKOUT, "payment": {"gateway": "manual", "amount": "NaN"}}),
    ("unknown gateway", {**CHECKOUT, "payment": {"gateway": "bitcoin"}}),
    ("email is not an email", {**CHECKOUT, "customer": {"email": "not-an-email"}}),
    ("email with a NUL-looking escape", {**CHECKOUT, "customer": {"email": "a\\u0000@example.com"}}),
    ("SKU too long", {**CHECKOUT, "lines": [{"sku": "A" * 5000, "quantity": 1}]}),
    ("currency of 4 letters", {**CHECKOUT, "currency": "USDX"}),
    ("shipping address is a list", {**CHECKOUT, "shippingAddress": ["1 Main St"]}),
    ("tags is an object", {**CHECKOUT, "tags": {"a": 1}}),
    ("a tag too long", {**CHECKOUT, "tags": ["t" * 65]}),
    ("isTest is a word", {**CHECKOUT, "isTest": "perhaps"}),
]


@pytest.fixture
def world(db):
    return World()


@pytest.fixture
def public(world):
    client = APIClient()
    client.defaults["HTTP_ORGID"] = world.org.slug
    return client


def assert_clear_4xx(response, expected: int | None = None):
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    if expected is not None:
        assert response.status_code == expected, (response.status_code, response.content[:300])
    error = response.json()["error"]
    assert error["code"] and error["message"], error


@pytest.mark.parametrize(("what", "raw", "content_type", "expected"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_checkout_refuses_bad_bodies_and_stores_nothing(public, what, raw, content_type, expected):
    before = row_counts()
    response = public.generic("POST", "/storefront/checkout-cart", raw, content_type=content_type)
    assert_clear_4xx(response, expected)
    assert not changed(before)


@pytest.mark.parametrize(("what", "doc"), WRONG_CHECKOUTS, ids=[w[0] for w in WRONG_CHECKOUTS])
def test_checkout_refuses_wrong_fields_and_types_and_stores_nothing(public, what, doc):
    before = row_counts()
    response = public.post("/storefront/checkout-cart", doc, format="json")
    assert_clear_4xx(response, 400)
    assert response.json()["error"]["details"], "the answer names the field"
    assert not changed(before)


def test_checkout_refused_for_stock_stores_no_customer_either(public, world, settings):
    """A 409 for short stock used to leave the new Customer row behind."""
    settings.ORDERS_CHECKOUT_MAX_LINE_QUANTITY = settings.ORDERS_CHECKOUT_MAX_ORDER_QUANTITY = 0  # no limit here
    before = row_counts()
    doc = {**CHECKOUT, "customer": {"email": "new-buyer@example.com"}, "lines": [{"sku": "A", "quantity": 100000}]}
    response = public.post("/storefront/checkout-cart", doc, format="json")
    assert_clear_4xx(response, 409)
    assert not changed(before)


def test_checkout_over_the_quantity_limit_is_400_and_stores_nothing(public, world):
    before = row_counts()
    doc = {**CHECKOUT, "customer": {"email": "new-buyer@example.com"}, "lines": [{"sku": "A", "quantity": 100000}]}
    response = public.post("/storefront/checkout-cart", doc, format="json")
    assert_clear_4xx(response, 400)
    assert not changed(before)


def test_checkout_total_beyond_the_money_column_is_400_and_stores_nothing(public, world):
    """Only the storefront server (its key) may pass shipping and tax, so it is the one that can overflow."""
    from accounts.storefront_keys import storefront_key_create

    _, key = storefront_key_create(org=world.org, name="fuzz")
    before = row_counts()
    doc = {**CHECKOUT, "lines": [{"sku": "A", "quantity": 1}], "shippingTotal": "9999999999.99",
           "taxTotal": "9999999999.99"}
    response = public.post("/storefront/checkout-cart", doc, format="json", HTTP_AUTHORIZATION=f"StorefrontKey {key}")
    assert_clear_4xx(response, 400)
    assert not changed(before)


def test_checkout_with_unicode_everywhere_is_stored_as_sent(public, world):
    """Unicode is not bad input: right-to-left names, emoji and combining marks are kept exactly."""
    name, street = "مريم 👩‍👩‍👧 Zoë", "Straße 1\u0301, 東京"
    doc = {**CHECKOUT, "customer": {"email": "zoe@example.com", "name": name},
           "shippingAddress": {"line1": street, "city": "Zürich", "country": "CH"}, "note": "🚚 please"}
    response = public.post("/storefront/checkout-cart", doc, format="json")
    assert response.status_code == 201, response.content[:300]
    assert response.json()["shippingAddress"]["line1"] == street


def test_checkout_body_over_the_limit_is_413_and_stores_nothing(public, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    before = row_counts()
    doc = {**CHECKOUT, "note": "x" * 5000}
    response = public.post("/storefront/checkout-cart", doc, format="json")
    assert_clear_4xx(response, 413)
    assert response.json()["error"]["details"]["maxBytes"] == 4096
    assert not changed(before)


JSON_SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                | st.text(alphabet=st.characters(codec="utf-8"), max_size=20))
JSON_DOCS = st.recursive(JSON_SCALARS, lambda children: st.lists(children, max_size=4)
                         | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=12)
FIELDS = st.sampled_from(["customer", "lines", "shippingAddress", "billingAddress", "payment", "currency",
                          "shippingTotal", "taxTotal", "note", "tags", "isTest"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(replaced=st.dictionaries(FIELDS, JSON_DOCS, min_size=1, max_size=3))
def test_checkout_with_any_value_in_any_field_never_fails_on_our_side(public, replaced):
    """Each field swapped for arbitrary JSON (control characters, huge numbers, nesting): 201, or a 4xx
    that leaves no row behind."""
    before = row_counts()
    response = public.post("/storefront/checkout-cart", {**CHECKOUT, **replaced}, format="json")
    if response.status_code == 201:
        return
    assert_clear_4xx(response)
    assert not changed(before)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200))
def test_login_with_any_bytes_is_a_clear_4xx(raw):
    response = APIClient().generic("POST", "/auth/token", raw, content_type="application/json")
    assert_clear_4xx(response)


@pytest.mark.parametrize("doc", [
    {"username": "x\u0000", "password": "y"}, {"username": 5, "password": ["y"]}, {"username": "a" * 100000},
    {"username": "demo", "password": "x", "isStaff": True}, {}, b'{"refresh": "\\ud800", "username": "\\udfff"}',
])
@pytest.mark.parametrize("url", ["/auth/token", "/auth/token/refresh"])
def test_login_and_refresh_refuse_wrong_fields(url, doc):
    if isinstance(doc, bytes):
        response = APIClient().generic("POST", url, doc, content_type="application/json")
    else:
        response = APIClient().post(url, doc, format="json")
    assert_clear_4xx(response)


LOOKUP_PATHS = [
    "/storefront/order/email/{email}/{number}", "/storefront/order/get/{author}/{number}",
    "/storefront/orders/get/{author}", "/storefront/subscriptions/get/{author}",
    "/storefront/subscriptions/get/{author}/{number}", "/shipping/order/{number}/status", "/shipping/track/{number}",
]
ODD_VALUES = [
    ("NUL", "ORD%00-1"), ("control characters", "%01%02%1b[31m"), ("very long", "9" * 4000),
    ("emoji", "%F0%9F%93%A6"), ("right-to-left", "%D8%B7%D9%84%D8%A8"), ("percent-encoded slash", "a%2Fb"),
    ("dot segments", ".."), ("invalid UTF-8", "%FF%FE"), ("SQL", "1'%20OR%20'1'='1"), ("spaces", "%20%20"),
]


@pytest.mark.parametrize(("what", "value"), ODD_VALUES, ids=[v[0] for v in ODD_VALUES])
@pytest.mark.parametrize("template", LOOKUP_PATHS)
def test_customer_lookups_with_odd_path_values_are_a_clear_4xx(public, template, what, value):
    url = template.format(email=value, number=value, author=value)
    before = row_counts()
    response = public.get(url)
    if template == "/storefront/orders/get/{author}" or template == "/storefront/subscriptions/get/{author}":
        # A list of an unknown customer's orders is an empty page, unless the value itself is refused.
        assert response.status_code in (200, 400, 404), (url, response.status_code, response.content[:300])
        if response.status_code == 200:
            assert response.json()["results"] == []
    else:
        assert_clear_4xx(response)
    assert not changed(before)


@pytest.mark.parametrize("query", ["page=%00", "page=99999999999999999999", "pageSize=-5", "page=abc",
                                   "pageSize=1e9", "page=1&page=2", "%00=1", "page=%F0%9F%93%A6"])
def test_customer_list_with_odd_query_is_a_page_or_a_clear_4xx(public, world, query):
    author = world.id("author")
    response = public.get(f"/storefront/orders/get/{author}?{query}")
    assert response.status_code in (200, 400, 404), (query, response.status_code, response.content[:300])
    if response.status_code != 200:
        assert_clear_4xx(response)


@pytest.mark.parametrize("orgid", ["\u00e9", "x" * 3000, "fuzz\t", " ", "%00", "fuzz\u200b"])
def test_odd_orgid_headers_are_a_clear_4xx(orgid):
    client = APIClient()
    client.defaults["HTTP_ORGID"] = orgid
    response = client.post("/storefront/checkout-cart", CHECKOUT, format="json")
    assert_clear_4xx(response)


def test_nul_in_an_orgid_header_is_400():
    client = APIClient()
    client.defaults["HTTP_ORGID"] = "fu\x00zz"
    response = client.get("/shipping/order/ORD-1/status")
    assert_clear_4xx(response, 400)
    assert response.json()["error"]["code"] == "invalid_characters"


@pytest.mark.parametrize(("path", "data"), [
    ("/orders/lookup", {"org": "fuzz", "email": "a\x00@example.com", "order_number": "ORD-1"}),
    ("/orders/lookup", {"org": "fuzz", "email": "a@example.com", "order_number": "O" * 5000}),
    ("/orders/lookup", {"org": "fu\x00zz", "email": "a@example.com", "order_number": "ORD-1"}),
    ("/orders/lookup", {"org": "fuzz", "email": ["a@example.com", "b@example.com"], "order_number": "x"}),
    ("/orders/lookup", b"org=fuzz&email=a%40example.com&order_number=%ED%A0%80%FF"),
    ("/orders/lookup", b"org=fuzz&email=%00&order_number=%00"),
    ("/orders/lookup", {}),
])
def test_lookup_page_form_with_bad_values_answers_a_page_not_a_500(world, path, data):
    from django.test import Client

    before = row_counts()
    if isinstance(data, bytes):
        response = Client().generic("POST", path, data, content_type="application/x-www-form-urlencoded")
    else:
        response = Client().post(path, data)
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert not changed(before)


@pytest.mark.parametrize("path", ["/orders/view/%00", "/orders/view/" + "x" * 5000, "/orders/view/a.b.c",
                                  "/orders/account/x?token=%00", "/orders/account/%F0%9F%93%A6?token=abc",
                                  "/orders/lookup?org=%00", "/orders/lookup?org=" + "x" * 3000])
def test_public_pages_with_odd_links_answer_a_page_not_a_500(world, path):
    from django.test import Client

    response = Client().get(path)
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])



@pytest.mark.parametrize("reason", ["a\x00b", "x" * 5000, "", "   ", b"reason=%00", b"reason=a%00b"])
def test_a_cancel_request_with_a_bad_reason_answers_a_page_and_changes_nothing(world, reason):
    from django.test import Client

    from orders.links import order_page_url

    order = world.order_in("new")
    before = row_counts()
    url = f"{order_page_url(order)}/cancel"
    if isinstance(reason, bytes):
        response = Client().generic("POST", url, reason, content_type="application/x-www-form-urlencoded")
    else:
        response = Client().post(url, {"reason": reason})
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
    assert not changed(before)
    order.refresh_from_db()
    assert order.status == "new"


@pytest.mark.parametrize("tail", ["/parcels/%00", "/parcels/" + "9" * 400, "/parcels/shp-", "/parcels/shp-%F0%9F%93%A6",
                                  "/cancel"])
def test_odd_parcel_and_cancel_links_answer_a_page_not_a_500(world, tail):
    from django.test import Client

    from orders.links import order_page_url

    response = Client().get(order_page_url(world.order_in("shipped")) + tail)
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
