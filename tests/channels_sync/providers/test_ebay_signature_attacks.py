"""Issue 15 item 8: a malformed X-EBAY-SIGNATURE is a 400 (never a 500), the kid is a key id before it
reaches a URL, and unsigned requests cannot make the hub call eBay's token/key endpoints without bound."""

from __future__ import annotations

import base64
import json
import re

import pytest
import responses
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels_sync.normalized import WebhookRequest
from channels_sync.providers import ebay
from channels_sync.providers.ebay.webhooks import KEY_FETCHES_PER_WINDOW
from channels_sync.providers.errors import WebhookMalformed, WebhookRejected
from channels_sync.providers.http import ChannelHttpClient
from tests.channels_sync.providers.amazon_ebay_fixtures import isolated_tokens_and_buckets  # noqa: F401

API = "https://api.ebay.com"
TOKEN_URL = "https://api.ebay.com/identity/v1/oauth2/token"
CONFIG = {"clientId": "Acme-Hub-PRD-1234", "clientSecret": "PRD-secret", "refreshToken": "v^1.1#refresh",
          "verificationToken": "verification_token_0123456789_abcdefghij"}
BODY = b'{"metadata": {"topic": "ORDER_CONFIRMATION"}, "notification": {"notificationId": "n-1"}}'
pytestmark = pytest.mark.usefixtures("isolated_tokens_and_buckets")


def b64(value) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.b64encode(raw).decode()


def provider(**overrides) -> ebay.Provider:
    config = {**CONFIG, **overrides}
    return ebay.Provider(config, channel_id="ebay-main", http=ChannelHttpClient(API, sleep=lambda s: None))


def request(header: str) -> WebhookRequest:
    return WebhookRequest(headers={"X-EBAY-SIGNATURE": header}, body=BODY, query={}, url="https://hub.example/x")


ODD_VALUES = [None, 1, 1.5, True, [], ["k"], {}, {"a": 1}, "", "../../identity/v1/oauth2/token", "a/b",
              "k?x=1", "k%2F..", "a" * 200, "kid with space", "ünïcode"]
MALFORMED = [
    b64(b"\xff\xfe not utf-8"), b64(b"not json"), b64(b"[1, 2]"), b64(b"12"), b64(b"null"), b64(b"[" * 5000),
    "not base64!", b64({"alg": "ecdsa", "signature": "c2ln"}),
    *[b64({"alg": "ecdsa", "kid": kid, "signature": "c2ln"}) for kid in ODD_VALUES],
    *[b64({"alg": "ecdsa", "kid": "good-kid", "signature": sig}) for sig in [None, 1, [], {"a": 1}, True, ""]],
    *[b64({"alg": alg, "kid": "good-kid", "signature": "c2ln"}) for alg in [None, 1, ["ecdsa"], {}, "rsa"]],
    b64({"alg": "ecdsa", "kid": "good-kid", "signature": "c2ln", "digest": ["SHA1"]}),
]


@pytest.mark.parametrize("header", MALFORMED)
def test_a_malformed_signature_header_is_malformed_without_any_outbound_call(header):
    with responses.RequestsMock() as wire:   # any call would fail: nothing is registered
        with pytest.raises(WebhookMalformed):
            provider().verify_webhook(request(header))
        assert len(wire.calls) == 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kid=st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                      max_size=3), max_leaves=8),
       signature=st.none() | st.integers() | st.text(max_size=20) | st.lists(st.integers(), max_size=3))
def test_any_json_kid_and_signature_is_refused_never_an_unexpected_error(kid, signature):
    header = b64({"alg": "ecdsa", "kid": kid, "signature": signature})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as wire:
        wire.add(responses.POST, TOKEN_URL, json={"access_token": "app", "expires_in": 7200})
        wire.add(responses.GET, re.compile(rf"{API}/commerce/notification/v1/public_key/.*"), status=404)
        with pytest.raises(WebhookRejected):
            provider(publicKeys={"known": "not a pem"}).verify_webhook(request(header))
        for call in wire.calls:   # a kid that went out went as a plain key id
            assert call.request.url == TOKEN_URL or call.request.url.rsplit("/", 1)[1].replace("-", "").replace(
                "_", "").isalnum()


def test_unknown_kids_are_remembered_and_fetches_are_limited_per_channel():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as wire:
        wire.add(responses.POST, TOKEN_URL, json={"access_token": "app", "expires_in": 7200})
        wire.add(responses.GET, re.compile(rf"{API}/commerce/notification/v1/public_key/.*"), status=404,
                 json={"errors": [{"errorId": 195005}]})
        for _attempt in range(3):   # the same unknown kid again and again: one look-up (per token grant try)
            with pytest.raises(WebhookRejected):
                provider().verify_webhook(request(b64({"alg": "ecdsa", "kid": "forged", "signature": "c2ln"})))
        key_calls = [c for c in wire.calls if "/public_key/" in c.request.url]
        assert len(key_calls) == 2   # app token, then the user-token fallback, once
        for n in range(KEY_FETCHES_PER_WINDOW * 3):   # a fresh kid each time: bounded per channel
            with pytest.raises(WebhookRejected):
                provider().verify_webhook(request(b64({"alg": "ecdsa", "kid": f"forged-{n}", "signature": "c2ln"})))
        fetched_kids = {c.request.url.rsplit("/", 1)[1] for c in wire.calls if "/public_key/" in c.request.url}
        assert len(fetched_kids) <= KEY_FETCHES_PER_WINDOW
        token_calls = [c for c in wire.calls if c.request.url == TOKEN_URL]
        assert len(token_calls) <= KEY_FETCHES_PER_WINDOW * 2


@pytest.mark.django_db
@pytest.mark.parametrize("header", [b64(b"\xff"), b64({"alg": "ecdsa", "kid": ["x"], "signature": "c2ln"}),
                                    b64({"alg": "ecdsa", "kid": {"a": 1}, "signature": 5}),
                                    b64({"alg": "ecdsa", "kid": "../token", "signature": "c2ln"})])
def test_the_receiver_answers_400_to_a_malformed_signature(org, client, header):
    from channels_sync.models import Channel

    Channel.objects.create(org=org, channel_id="ebay-main", provider="ebay", enabled=True, config=CONFIG)
    response = client.post(f"/upstream/webhooks/ebay/notifications?channel=ebay-main&org={org.slug}", data=BODY,
                           content_type="application/json", HTTP_X_EBAY_SIGNATURE=header)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_signature"
