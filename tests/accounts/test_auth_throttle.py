"""Issue 15, item 11: login and refresh limits key on the client address one rule derives, never on a header
the client writes itself (X-Forwarded-For counts only behind a declared proxy)."""

import pytest
from django.test import override_settings
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

pytestmark = pytest.mark.django_db


@pytest.fixture
def auth_rate(monkeypatch):
    # per hour: on a slow machine twenty logins may take longer than a minute's window
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "auth", "5/hour")


def _login(address, forwarded=None):
    extra = {"REMOTE_ADDR": address}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return APIClient().post("/auth/token", {"username": "nobody", "password": "wrong"}, format="json", **extra)


def test_twenty_logins_with_rotating_forwarded_for_from_one_address_are_limited(auth_rate):
    codes = [_login("203.0.113.50", f"10.1.{i}.{i}").status_code for i in range(20)]
    assert codes[:5] == [401] * 5
    assert set(codes[5:]) == {429}


def test_refresh_with_rotating_forwarded_for_is_limited(auth_rate):
    codes = [APIClient().post("/auth/token/refresh", {"refresh": "x"}, format="json", REMOTE_ADDR="203.0.113.51",
                              HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code for i in range(20)]
    assert set(codes[5:]) == {429}


@override_settings(NUM_PROXIES=1)
def test_behind_one_proxy_two_clients_get_separate_buckets(auth_rate):
    proxy = "10.0.0.2"
    first = [_login(proxy, "198.51.100.7").status_code for _ in range(6)]
    second = _login(proxy, "198.51.100.8")
    assert first[-1] == 429
    assert second.status_code == 401
    # a client prepending its own entries does not escape: the proxy's right-most entry is the client
    spoofed = _login(proxy, "1.2.3.4, 198.51.100.7")
    assert spoofed.status_code == 429


@override_settings(TRUSTED_PROXIES=["10.0.0.0/8"])
def test_trusted_proxies_take_the_right_most_untrusted_entry(auth_rate):
    for _ in range(5):
        _login("10.0.0.3", "6.6.6.6, 198.51.100.9, 10.0.0.4")
    assert _login("10.0.0.5", "7.7.7.7, 198.51.100.9").status_code == 429
    assert _login("10.0.0.5", "198.51.100.10").status_code == 401
    # an untrusted peer's header is ignored: the peer itself is the client
    assert _login("192.0.2.44", "198.51.100.9").status_code == 401
