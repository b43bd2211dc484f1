"""Shopify's OAuth install (authorization-code grant), expiring offline tokens refreshed before they lapse, and the
API-version warning kept on the channel. Shopify's token endpoint and GraphQL are mocked at the wire (`responses`)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from django.db import connection
from django.utils import timezone

from channels_sync.models import Channel, ShopifyInstall
from tests.api import make_actor
from tests.channels_sync.providers.fixtures import fixture

pytestmark = pytest.mark.django_db

SHOP = "acme-tools.myshopify.com"
TOKEN_URL = f"https://{SHOP}/admin/oauth/access_token"
GRAPHQL = f"https://{SHOP}/admin/api/2026-10/graphql.json"
CLIENT_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
CLIENT_SECRET = "shpss_agency_app_secret"
REDIRECT = "https://agency.example/shopify/installed"
START = "/sales-channel/shopify/install"
CALLBACK = "/sales-channel/shopify/install/callback"


def sign(params: dict, secret: str = CLIENT_SECRET) -> dict:
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    return {**params, "hmac": hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()}


def start(actor, **overrides) -> dict:
    body = {"shop": "acme-tools", "channelId": "acme", "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET,
            "redirectUri": REDIRECT, **overrides}
    response = actor.client.post(START, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def callback_params(state: str, shop: str = SHOP, secret: str = CLIENT_SECRET) -> dict:
    return sign({"code": "0907a61c0c8d55e99db179b68161bc00", "host": "YWNtZS10b29scy5teXNob3BpZnkuY29tL2FkbWlu",
                 "shop": shop, "state": state, "timestamp": "1764759600"}, secret)


@pytest.fixture
def wire():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def test_start_answers_the_stores_authorize_url_with_a_state_bound_to_org_and_user(owner):
    answer = start(owner)
    url = urlsplit(answer["installUrl"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert (url.scheme, url.netloc, url.path) == ("https", SHOP, "/admin/oauth/authorize")
    assert query["client_id"] == CLIENT_ID and query["redirect_uri"] == REDIRECT
    assert query["state"] == answer["state"] and "read_orders" in query["scope"]
    install = ShopifyInstall.objects.get(state=answer["state"])
    assert (install.org, install.user) == (owner.org, owner.user)
    assert CLIENT_SECRET not in json.dumps(answer)


@pytest.mark.parametrize("shop", ["evil.com", "acme.myshopify.com.evil.com", "https://acme.myshopify.co/",
                                  "127.0.0.1", "acme_tools.myshopify.com"])
def test_start_refuses_a_shop_that_is_not_a_myshopify_store(owner, shop):
    response = owner.client.post(START, {"shop": shop, "channelId": "acme", "clientId": CLIENT_ID,
                                         "clientSecret": CLIENT_SECRET, "redirectUri": REDIRECT}, format="json")
    assert response.status_code == 400
    assert "myshopify.com" in response.json()["error"]["details"]["shop"][0]


def test_start_needs_the_owner_role(manager):
    response = manager.client.post(START, {"shop": "acme-tools", "channelId": "acme", "clientId": CLIENT_ID,
                                           "clientSecret": CLIENT_SECRET, "redirectUri": REDIRECT}, format="json")
    assert response.status_code == 403


def test_callback_exchanges_the_code_for_an_expiring_token_and_stores_the_channel_encrypted(owner, wire):
    wire.post(TOKEN_URL, json=fixture("shopify", "oauth_expiring_offline_token.json"))
    state = start(owner)["state"]
    response = owner.client.post(CALLBACK, callback_params(state), format="json")
    assert response.status_code == 201, response.content
    sent = {k: v[0] for k, v in parse_qs(wire.calls[0].request.body).items()}
    assert sent == {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                    "code": "0907a61c0c8d55e99db179b68161bc00", "expiring": "1"}
    channel = Channel.objects.get(org=owner.org, channel_id="acme")
    assert (channel.provider, channel.enabled, channel.account_identity) == ("shopify", False, SHOP)
    assert channel.config["accessToken"] == "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"
    assert channel.config["refreshToken"] == "shprt_2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e"
    expires = datetime.fromisoformat(channel.config["accessTokenExpiresAt"].replace("Z", "+00:00"))
    assert timedelta(minutes=58) < expires - datetime.now(UTC) <= timedelta(hours=1)
    body = json.dumps(response.json())
    assert "shpat_" not in body and "shprt_" not in body and CLIENT_SECRET not in body
    with connection.cursor() as cursor:
        cursor.execute("SELECT config FROM channels_sync_channel WHERE id = %s", [channel.pk])
        stored = cursor.fetchone()[0]
    assert "shprt_" not in stored and "shpat_" not in stored and CLIENT_SECRET not in stored
    assert not ShopifyInstall.objects.filter(state=state).exists()


def test_a_state_is_single_use(owner, wire):
    wire.post(TOKEN_URL, json=fixture("shopify", "oauth_expiring_offline_token.json"))
    state = start(owner)["state"]
    assert owner.client.post(CALLBACK, callback_params(state), format="json").status_code == 201
    again = owner.client.post(CALLBACK, callback_params(state), format="json")
    assert again.status_code == 400 and "already used" in again.json()["error"]["message"]
    assert len(wire.calls) == 1


def test_a_wrong_hmac_is_refused_before_any_exchange(owner, wire):
    wire.post(TOKEN_URL, json=fixture("shopify", "oauth_expiring_offline_token.json"))
    state = start(owner)["state"]
    response = owner.client.post(CALLBACK, callback_params(state, secret="not-the-app-secret"), format="json")
    assert response.status_code == 400
    assert "client secret" in response.json()["error"]["details"]["hmac"][0]
    assert not wire.calls and not Channel.objects.filter(channel_id="acme").exists()


def test_altered_parameters_break_the_hmac(owner, wire):
    state = start(owner)["state"]
    params = callback_params(state)
    params["timestamp"] = "1764759999"
    assert owner.client.post(CALLBACK, params, format="json").json()["error"]["details"].keys() == {"hmac"}


def test_another_users_or_orgs_state_is_unknown(owner, other_owner, wire):
    state = start(owner)["state"]
    colleague = make_actor(owner.org, role="owner")
    for actor in (colleague, other_owner):
        response = actor.client.post(CALLBACK, callback_params(state), format="json")
        assert response.status_code == 400 and "state" in response.json()["error"]["details"]
    assert not wire.calls
    assert ShopifyInstall.objects.filter(state=state).exists()   # still the owner's to finish


def test_an_expired_state_is_refused(owner, wire):
    state = start(owner)["state"]
    ShopifyInstall.objects.filter(state=state).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = owner.client.post(CALLBACK, callback_params(state), format="json")
    assert response.status_code == 400 and "expired" in response.json()["error"]["message"]
    assert not wire.calls


def test_the_callback_must_name_the_shop_the_install_started_for(owner, wire):
    state = start(owner)["state"]
    response = owner.client.post(CALLBACK, callback_params(state, shop="other-store.myshopify.com"), format="json")
    assert response.status_code == 400 and "acme-tools.myshopify.com" in response.json()["error"]["message"]
    assert not wire.calls


def test_a_shop_that_is_not_a_myshopify_host_is_refused_even_when_signed(owner, wire):
    state = start(owner)["state"]
    response = owner.client.post(CALLBACK, callback_params(state, shop="acme-tools.myshopify.com.evil.com"),
                                 format="json")
    assert response.status_code == 400 and "myshopify.com" in response.json()["error"]["details"]["shop"][0]


def test_wrong_app_credentials_at_the_exchange_are_a_400_saying_so(owner, wire):
    wire.post(TOKEN_URL, json=fixture("shopify", "oauth_invalid_client.json"), status=400)
    state = start(owner)["state"]
    response = owner.client.post(CALLBACK, callback_params(state), format="json")
    assert response.status_code == 400
    assert "client id and client secret" in response.json()["error"]["message"]
    assert "Client authentication failed" in response.json()["error"]["details"]["code"][0]
    assert not Channel.objects.filter(channel_id="acme").exists()


def test_a_reinstall_replaces_the_tokens_and_keeps_the_channels_settings(owner, wire):
    wire.post(TOKEN_URL, json=fixture("shopify", "oauth_expiring_offline_token.json"))
    Channel.objects.create(org=owner.org, channel_id="acme", provider="shopify", poll_interval_minutes=30,
                           config={"shopDomain": SHOP, "accessToken": "shpat_revoked", "apiVersion": "2026-07"})
    state = start(owner)["state"]
    assert owner.client.post(CALLBACK, callback_params(state), format="json").status_code == 201
    channel = Channel.objects.get(org=owner.org, channel_id="acme")
    assert channel.config["accessToken"].startswith("shpat_f6a8") and channel.config["apiVersion"] == "2026-07"
    assert channel.poll_interval_minutes == 30


# --- expiring offline tokens ---------------------------------------------------------------------------------------
def installed_channel(org, *, expires_in: timedelta) -> Channel:
    at = (datetime.now(UTC) + expires_in).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Channel.objects.create(org=org, channel_id="acme", provider="shopify", config={
        "shopDomain": SHOP, "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "accessToken": "shpat_old",
        "accessTokenExpiresAt": at, "refreshToken": "shprt_old", "apiVersion": "2026-10"})


SHOP_ANSWER = {"data": {"shop": {"myshopifyDomain": SHOP}}}


def test_a_token_about_to_expire_is_refreshed_before_the_call_and_the_rotated_pair_saved(org, wire):
    channel = installed_channel(org, expires_in=timedelta(minutes=2))
    wire.post(TOKEN_URL, json=fixture("shopify", "oauth_expiring_offline_token.json"))
    wire.post(GRAPHQL, json=SHOP_ANSWER, headers={"X-Shopify-API-Version": "2026-10"})
    assert channel.provider_instance().reported_identities() == [SHOP]
    refresh = {k: v[0] for k, v in parse_qs(wire.calls[0].request.body).items()}
    assert refresh == {"grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                       "refresh_token": "shprt_old"}
    assert wire.calls[1].request.headers["X-Shopify-Access-Token"] == "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"
    channel.refresh_from_db()
    assert channel.config["refreshToken"] == "shprt_2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e"
    assert channel.config["accessToken"] == "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"


def test_a_fresh_token_is_used_as_it_is(org, wire):
    channel = installed_channel(org, expires_in=timedelta(minutes=50))
    wire.post(GRAPHQL, json=SHOP_ANSWER, headers={"X-Shopify-API-Version": "2026-10"})
    channel.provider_instance().reported_identities()
    assert [call.request.url for call in wire.calls] == [GRAPHQL]
    assert wire.calls[0].request.headers["X-Shopify-Access-Token"] == "shpat_old"


def test_a_worker_holding_an_old_copy_uses_the_pair_another_worker_stored(org, wire):
    channel = installed_channel(org, expires_in=timedelta(minutes=2))
    stale = channel.provider_instance()                 # read before another worker refreshed
    Channel.objects.filter(pk=channel.pk).update(config={
        **channel.config, "accessToken": "shpat_new", "refreshToken": "shprt_new",
        "accessTokenExpiresAt": (datetime.now(UTC) + timedelta(minutes=59)).strftime("%Y-%m-%dT%H:%M:%SZ")})
    Channel.objects.get(pk=channel.pk).save()            # re-encrypt through the field (update() above bypassed it)
    wire.post(GRAPHQL, json=SHOP_ANSWER, headers={"X-Shopify-API-Version": "2026-10"})
    stale.reported_identities()
    assert [call.request.url for call in wire.calls] == [GRAPHQL]   # no second refresh of a rotated token
    assert wire.calls[0].request.headers["X-Shopify-Access-Token"] == "shpat_new"


def test_a_refused_refresh_says_to_install_again(org, wire):
    from channels_sync.providers.errors import PermanentChannelError

    channel = installed_channel(org, expires_in=timedelta(seconds=-5))
    wire.post(TOKEN_URL, json={"error": "invalid_grant"}, status=400)
    with pytest.raises(PermanentChannelError, match="install the app on the store again"):
        channel.provider_instance().reported_identities()
    channel.refresh_from_db()
    assert [(w["code"], "install the app on the store again" in w["message"]) for w in channel.warnings] == [
        ("oauth_token", True)]

    # The merchant reinstalls: new tokens, and the warning is gone.
    owner = make_actor(org, role="owner")
    wire.replace("POST", TOKEN_URL, json=fixture("shopify", "oauth_expiring_offline_token.json"))
    state = start(owner)["state"]
    assert owner.client.post(CALLBACK, callback_params(state), format="json").status_code == 201
    channel.refresh_from_db()
    assert channel.warnings == [] and channel.config["refreshToken"].startswith("shprt_2b3c")


# --- the API version ---------------------------------------------------------------------------------------------
def test_a_version_shopify_did_not_serve_is_a_warning_on_the_channel_until_it_is_served(owner, wire):
    channel = Channel.objects.create(org=owner.org, channel_id="acme", provider="shopify",
                                     config={"shopDomain": SHOP, "accessToken": "shpat_x", "apiVersion": "2025-01"})
    old = f"https://{SHOP}/admin/api/2025-01/graphql.json"
    wire.post(old, json=SHOP_ANSWER, headers={"X-Shopify-API-Version": "2026-01"})
    channel.provider_instance().reported_identities()
    shown = owner.client.get("/sales-channel/channels/acme").json()["warnings"]
    assert [w["code"] for w in shown] == ["api_version"]
    assert "2026-01 instead of the requested 2025-01" in shown[0]["message"]

    channel.refresh_from_db()
    channel.config = {**channel.config, "apiVersion": "2026-10"}
    channel.save()
    wire.post(GRAPHQL, json=SHOP_ANSWER, headers={"X-Shopify-API-Version": "2026-10"})
    channel.provider_instance().reported_identities()
    assert owner.client.get("/sales-channel/channels/acme").json()["warnings"] == []


def test_the_default_version_is_a_supported_one():
    from channels_sync.providers.shopify.client import DEFAULT_API_VERSION
    from simulator.shopify_graphql import SUPPORTED_VERSIONS

    assert DEFAULT_API_VERSION == SUPPORTED_VERSIONS[-1] == "2026-10"


# --- from admin: the merchant comes back to the same admin session ----------------------------------------------
@pytest.fixture
def owner_admin(client, owner):
    from django.contrib.auth.models import Permission

    owner.user.is_staff = True
    owner.user.save()
    owner.user.user_permissions.set(Permission.objects.filter(content_type__app_label="channels_sync"))
    client.force_login(owner.user)
    return client


def test_admin_install_goes_to_shopify_and_its_callback_creates_the_channel(owner_admin, owner, wire):
    wire.post(TOKEN_URL, json=fixture("shopify", "oauth_expiring_offline_token.json"))
    assert "Install on a Shopify store" in owner_admin.get("/admin/channels_sync/channel/").content.decode()
    form = owner_admin.get("/admin/channels_sync/channel/shopify-install/").content.decode()
    callback = "http://testserver/admin/channels_sync/channel/shopify-install/callback/"
    assert callback in form
    sent = owner_admin.post("/admin/channels_sync/channel/shopify-install/", {
        "org": owner.org.pk, "shop": "acme-tools", "channel_id": "acme", "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET})
    assert sent.status_code == 302 and sent["Location"].startswith(f"https://{SHOP}/admin/oauth/authorize?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(sent["Location"]).query).items()}
    assert query["redirect_uri"] == callback

    back = owner_admin.get("/admin/channels_sync/channel/shopify-install/callback/", callback_params(query["state"]))
    channel = Channel.objects.get(org=owner.org, channel_id="acme")
    assert back.status_code == 302 and back["Location"] == f"/admin/channels_sync/channel/{channel.pk}/change/"
    assert channel.config["refreshToken"].startswith("shprt_")


def test_admin_callback_with_a_forged_hmac_says_so_and_creates_nothing(owner_admin, owner, wire):
    sent = owner_admin.post("/admin/channels_sync/channel/shopify-install/", {
        "org": owner.org.pk, "shop": "acme-tools", "channel_id": "acme", "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET})
    state = parse_qs(urlsplit(sent["Location"]).query)["state"][0]
    back = owner_admin.get("/admin/channels_sync/channel/shopify-install/callback/",
                           callback_params(state, secret="forged"), follow=True)
    assert "hmac does not match" in back.content.decode()
    assert not Channel.objects.filter(channel_id="acme").exists() and not wire.calls


def test_admin_install_refuses_a_shop_that_is_not_a_myshopify_store(owner_admin, owner):
    page = owner_admin.post("/admin/channels_sync/channel/shopify-install/", {
        "org": owner.org.pk, "shop": "evil.example", "channel_id": "acme", "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET})
    assert page.status_code == 200 and "myshopify.com" in page.content.decode()
    assert not ShopifyInstall.objects.exists()
