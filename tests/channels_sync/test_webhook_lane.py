"""The webhook lane (config/wsgi.py): deliveries skip Django's middleware and URL resolver, and must be answered
exactly as Django answers them. Every case is sent through the lane and through Django's own application, and
the two answers compared."""

import io
import json
import logging

import pytest
from django.core.wsgi import get_wsgi_application
from django.test import override_settings

from channels_sync.models import Channel, WebhookDelivery, WebhookRejection
from channels_sync.services import webhooks
from channels_sync.webhook_lane import WebhookLane
from config.wsgi import application as lane_application
from config.wsgi import django_application
from tests.channels_sync.fake_provider import sign
from tests.wsgi import connections_kept

SECRET = "whsec-lane"
SHOP = "lane-test.myshopify.com"
PATH = "/upstream/webhooks/shopify/orders"
BOTH = pytest.mark.parametrize("app", [lane_application, django_application], ids=["lane", "django"])


@pytest.fixture
def shopify_channel(org, monkeypatch):
    monkeypatch.setattr(webhooks, "webhook_drain_soon", lambda: None)
    return Channel.objects.create(org=org, channel_id="lane-shop", provider="shopify", enabled=True,
                                  config={"shopDomain": SHOP, "accessToken": "tok", "baseUrl": "https://127.0.0.1:9"},
                                  webhook_secret=SECRET)


def delivery(order_id: int, webhook_id: str, *, secret: str = SECRET) -> tuple[bytes, dict]:
    body = json.dumps({"id": order_id, "name": f"#L{order_id}", "updated_at": "2026-11-23T10:00:00-05:00",
                       "currency": "USD", "total_price": "10.00", "line_items": []}).encode()
    return body, {"X-Shopify-Topic": "orders/create", "X-Shopify-Shop-Domain": SHOP,
                  "X-Shopify-Hmac-Sha256": sign(body, secret), "X-Shopify-Webhook-Id": webhook_id}


def call(app, body: bytes = b"", headers: dict | None = None, *, path: str = PATH, method: str = "POST",
         query: str = "", host: str = "testserver", scheme: str = "http", content_length: str | None = None):
    """One WSGI call, as a server makes it: (status code, headers, body)."""
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": query,
               "SERVER_NAME": "testserver", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": host,
               "wsgi.url_scheme": scheme, "wsgi.input": io.BytesIO(body), "wsgi.errors": io.StringIO(),
               "CONTENT_TYPE": "application/json",
               "CONTENT_LENGTH": content_length if content_length is not None else str(len(body))}
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"], answer["headers"] = int(status.split()[0]), dict(response_headers)

    with connections_kept():
        response = app(environ, start_response)
        content = b"".join(response)
        response.close()
    return answer["status"], answer["headers"], content


@BOTH
def test_a_signed_delivery_is_stored_once_and_a_repeat_is_a_duplicate(app, shopify_channel):
    body, headers = delivery(1, "w-1")
    assert call(app, body, headers)[::2] == (200, b'{"received": true, "duplicate": false}')
    assert call(app, body, headers)[::2] == (200, b'{"received": true, "duplicate": true}')
    stored = WebhookDelivery.objects.get()
    assert (bytes(stored.body), stored.delivery_id, stored.topic) == (body, "w-1", "orders/create")
    assert stored.headers["X-Shopify-Webhook-Id"] == "w-1" and stored.url == f"http://testserver{PATH}"


def answers(app, channel) -> list:
    """Every refusal a receiver gives, in order: (status, error code)."""
    body, headers = delivery(2, "w-2")
    forged = {**headers, "X-Shopify-Hmac-Sha256": delivery(2, "w-2", secret="other")[1]["X-Shopify-Hmac-Sha256"]}
    not_json = b"<order/>"
    _, signed_not_json = delivery(0, "w-3")
    signed_not_json["X-Shopify-Hmac-Sha256"] = sign(not_json, SECRET)
    cases = [
        call(app, body, forged),                                               # 401
        call(app, not_json, signed_not_json),                                  # 400 malformed
        call(app, body, {**headers, "X-Shopify-Shop-Domain": "nobody.myshopify.com"}),  # 404
        call(app, body, {**headers, "X-Shopify-Topic": "orders/\x00create"}),  # 400 NUL
        call(app, body, headers, content_length=str(3 * 1024 * 1024)),       # 413 over the site's limit
        call(app, body, headers, host="evil.example"),                        # 400 host not allowed
    ]
    out = []
    for status, _, content in cases:
        try:
            code = json.loads(content)["error"]["code"]
        except (ValueError, KeyError, TypeError):
            code = None
        out.append((status, code))
    return out


def test_every_refusal_is_the_same_through_the_lane_as_through_django(shopify_channel):
    through_django = answers(django_application, shopify_channel)
    through_lane = answers(lane_application, shopify_channel)
    assert through_lane == through_django
    assert [status for status, _ in through_lane] == [401, 400, 404, 400, 413, 400]
    assert [code for _, code in through_lane][:5] == [
        "invalid_signature", "malformed_body", "not_found", "invalid_characters", "payload_too_large"]
    assert not WebhookDelivery.objects.exists()
    assert WebhookRejection.objects.get(channel=shopify_channel).count == 2  # one forged delivery per app


@override_settings(CHANNEL_WEBHOOK_MAX_BODY_BYTES=100)
@BOTH
def test_a_body_over_the_receivers_own_limit_is_413(app, shopify_channel):
    body, headers = delivery(3, "w-4")
    status, _, content = call(app, body, headers)
    assert status == 413 and json.loads(content)["error"]["code"] == "payload_too_large"
    assert not WebhookDelivery.objects.exists()


@BOTH
def test_a_failure_while_storing_is_a_logged_500_like_any_other(app, shopify_channel, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("channels_sync.webhook_views.webhook_store", broken)
    body, headers = delivery(4, "w-5")
    with caplog.at_level(logging.ERROR, logger="django.request"):
        status, _, content = call(app, body, headers)
    assert status == 500 and json.loads(content)["error"]["code"] == "server_error"
    assert any("disk on fire" in str(record.exc_info) for record in caplog.records if record.exc_info)


@BOTH
def test_refusals_are_logged_and_every_answer_carries_the_sites_security_headers(app, shopify_channel, caplog):
    body, headers = delivery(5, "w-6")
    with caplog.at_level(logging.WARNING, logger="django.request"):
        status, response_headers, _ = call(app, body, {**headers, "X-Shopify-Hmac-Sha256": "AAAA"})
    assert status == 401
    assert [record.getMessage() for record in caplog.records if record.name == "django.request"] == [
        f"Unauthorized: {PATH}"]
    assert response_headers["X-Frame-Options"] == "DENY"
    assert response_headers["X-Content-Type-Options"] == "nosniff"


def test_other_requests_go_through_django(shopify_channel, monkeypatch):
    seen = []

    def django_app(environ, start_response):
        seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
        return django_application(environ, start_response)

    monkeypatch.setattr(lane_application, "application", django_app)
    body, headers = delivery(6, "w-7")
    assert call(lane_application, headers=headers, method="GET")[0] == 405  # Shopify sends no challenge
    assert call(lane_application, path="/sales-channel/channels", method="GET")[0] == 401
    assert call(lane_application, body, headers, path="/upstream/webhooks/shopify/other-topic")[0] == 200
    assert call(lane_application, body, headers)[0] == 200  # the lane's own: Django never sees it
    assert seen == [("GET", PATH), ("GET", "/sales-channel/channels"),
                    ("POST", "/upstream/webhooks/shopify/other-topic")]


@override_settings(SECURE_SSL_REDIRECT=True, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
                   SECURE_HSTS_SECONDS=3600)
def test_with_https_required_a_plain_http_delivery_is_redirected_and_a_proxied_https_one_stored(shopify_channel):
    lane = WebhookLane(get_wsgi_application())  # middleware reads its settings when built: built under these
    body, headers = delivery(7, "w-8")
    status, response_headers, _ = call(lane, body, headers)
    assert status == 301 and response_headers["Location"] == f"https://testserver{PATH}"
    assert not WebhookDelivery.objects.exists()
    status, response_headers, _ = call(lane, body, {**headers, "X-Forwarded-Proto": "https"})
    assert status == 200 and response_headers["Strict-Transport-Security"].startswith("max-age=")
    assert WebhookDelivery.objects.get().url == f"https://testserver{PATH}"
