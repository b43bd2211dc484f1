"""Issue 18: throttled endpoints tell the client its budget (RateLimit-Limit / -Remaining / -Reset), and a 429 says
when to come back (Retry-After). The counts live in the shared cache (Redis under REDIS_URL)."""

import pytest
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

pytestmark = pytest.mark.django_db


def _headers(response) -> tuple:
    return tuple(response.get(name) for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"))


def test_login_counts_down_then_429_with_retry_after(monkeypatch):
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "auth", "3/hour")
    client = APIClient()
    answers = [client.post("/auth/token", {"username": "nobody", "password": "wrong"}, format="json",
                           REMOTE_ADDR="203.0.113.60") for _ in range(4)]
    assert [a.status_code for a in answers] == [401, 401, 401, 429]
    assert [_headers(a)[:2] for a in answers] == [("3", "2"), ("3", "1"), ("3", "0"), ("3", "0")]
    for answer in answers:
        assert 1 <= int(answer["RateLimit-Reset"]) <= 3600
    limited = answers[-1]
    assert 1 <= int(limited["Retry-After"]) <= 3600
    assert int(limited["Retry-After"]) == int(limited["RateLimit-Reset"])
    assert limited.json()["error"]["code"] == "rate_limited"


def test_public_tracking_sends_the_headers_per_client_address(org, settings):
    settings.TRACKING_PUBLIC_RATE_LIMIT = "2/min"
    client = APIClient()
    first = client.get("/shipping/track/1Z999", HTTP_ORGID=org.slug, REMOTE_ADDR="198.51.100.20")
    second = client.get("/shipping/track/1Z999", HTTP_ORGID=org.slug, REMOTE_ADDR="198.51.100.20")
    third = client.get("/shipping/track/1Z999", HTTP_ORGID=org.slug, REMOTE_ADDR="198.51.100.20")
    elsewhere = client.get("/shipping/track/1Z999", HTTP_ORGID=org.slug, REMOTE_ADDR="198.51.100.21")
    assert _headers(first)[:2] == ("2", "1") and _headers(second)[:2] == ("2", "0")
    assert third.status_code == 429 and int(third["Retry-After"]) >= 1 and _headers(third)[:2] == ("2", "0")
    assert _headers(elsewhere)[:2] == ("2", "1")


def test_unthrottled_endpoints_send_no_rate_limit_headers(owner):
    response = owner.client.get("/sales-channel/orders")
    assert response.status_code == 200
    assert _headers(response) == (None, None, None) and "Retry-After" not in response
