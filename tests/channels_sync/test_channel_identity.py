"""One enabled channel per account across orgs (issue 15, item 9): a second org's claim is a 409 that names no one,
taking an account over needs the channel's own API to confirm the claimant's credentials (and no longer the
holder's), and a delivery reaches exactly one channel, never the older org's by default."""

import base64
import hashlib
import hmac
import json
import re

import pytest
import responses
from django.test import Client

from channels_sync.models import Channel, SyncRun, WebhookDelivery
from channels_sync.providers.http import ChannelHttpClient
from channels_sync.services.channels import channel_enable
from core.api.exceptions import ApiError
from tests.accounts.factories import MembershipFactory, OrgFactory, UserFactory
from tests.api import make_actor
from tests.channels_sync.conftest import SECRET
from tests.channels_sync.fake_provider import raw_order, sign
from tests.channels_sync.providers.fixtures import fixture, fixture_bytes
from tests.concurrency import race

BASE = "/sales-channel"
SHOP = "apple.myshopify.com"   # what tests/fixtures/shopify/graphql_shop_identity.json reports
GRAPHQL = f"https://{SHOP}/admin/api/2026-10/graphql.json"
INVALID_TOKEN = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}


def shopify_body(channel_id: str, token: str, **extra) -> dict:
    return {"channelId": channel_id, "provider": "shopify", "webhookSecret": f"whsec-{channel_id}",
            "config": {"shopDomain": SHOP, "accessToken": token, "apiVersion": "2026-10"}, **extra}


class ShopifyGraphQL:
    """POST graphql.json at the wire, answered by the operation in the query text and by the access token.

    The shop (`ShopIdentity`) answers the published shape for every token until a test says otherwise with
    `answer(token, status, body)`; webhook subscriptions are listed empty and created for anyone."""

    def __init__(self, mock):
        self.shop_answers: dict[str, tuple[int, dict]] = {}
        self.calls: list[tuple[str, str]] = []
        mock.add_callback(responses.POST, GRAPHQL, callback=self)

    def answer(self, token: str, status: int = 200, body: dict | str = "fixture") -> None:
        self.shop_answers[token] = (status, fixture("shopify", "graphql_shop_identity.json") if body == "fixture"
                                    else body)

    def __call__(self, request):
        query = json.loads(request.body)["query"]
        token = request.headers.get("X-Shopify-Access-Token", "")
        operation = re.search(r"(?:query|mutation)\s+(\w+)", query).group(1)
        self.calls.append((operation, token))
        if operation == "ShopIdentity":
            status, body = self.shop_answers.get(token, (200, fixture("shopify", "graphql_shop_identity.json")))
        elif operation == "WebhookSubscriptions":
            status, body = 200, {"data": {"webhookSubscriptions": {
                "nodes": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}}}
        elif operation == "WebhookSubscriptionCreate":
            variables = json.loads(request.body)["variables"]
            status, body = 200, {"data": {"webhookSubscriptionCreate": {"webhookSubscription": {
                "id": f"gid://shopify/WebhookSubscription/{len(self.calls)}", "topic": variables["topic"],
                "uri": variables["webhookSubscription"]["uri"]}, "userErrors": []}}}
        else:
            status, body = 200, {"errors": [{"message": f"Unexpected operation {operation}"}]}
        return status, {"X-Shopify-API-Version": "2026-10"}, json.dumps(body)


@pytest.fixture
def shop_api(responses_mock):
    """Shopify at the wire (GraphQL Admin API): each test sets what the shop answers to each token."""
    return ShopifyGraphQL(responses_mock)


@pytest.fixture
def holder(other_org, shop_api):
    """Another org got there first: its enabled Shopify channel holds the shop."""
    actor = make_actor(other_org, role="owner")
    connected = actor.client.post(f"{BASE}/channels", shopify_body("theirs", "shpat_holder"), format="json")
    assert connected.status_code == 201
    assert actor.client.post(f"{BASE}/channels/theirs/enable").status_code == 200
    return Channel.objects.get(org=other_org, channel_id="theirs")


def test_a_second_org_claiming_a_held_account_gets_a_409_that_names_no_one(owner, holder):
    response = owner.client.post(f"{BASE}/channels", shopify_body("mine", "shpat_claimant"), format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "channel_identity_claimed" and SHOP in error["message"]
    text = json.dumps(error)
    assert holder.org.slug not in text and holder.org.name not in text and "theirs" not in text
    assert not Channel.objects.filter(org=owner.org).exists()

    # Stored with a claim, it holds nothing while disabled; enabling without the claim is the same 409.
    stored = owner.client.post(f"{BASE}/channels", shopify_body("mine", "shpat_claimant", claim=True), format="json")
    assert stored.status_code == 201 and stored.json()["enabled"] is False
    enabled = owner.client.post(f"{BASE}/channels/mine/enable")
    assert enabled.status_code == 409 and enabled.json()["error"]["code"] == "channel_identity_claimed"
    holder.refresh_from_db()
    assert holder.enabled is True


def test_a_proven_claim_takes_the_account_over_and_the_holder_is_disabled_with_a_note(
        owner, holder, shop_api, client):
    owner.client.post(f"{BASE}/channels", shopify_body("mine", "shpat_claimant", claim=True), format="json")
    shop_api.answer("shpat_claimant")
    shop_api.answer("shpat_holder", 401, INVALID_TOKEN)   # the shop uninstalled the holder's app
    response = owner.client.post(f"{BASE}/channels/mine/enable", {"claim": True}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["enabled"] is True
    holder.refresh_from_db()
    assert holder.enabled is False and holder.webhooks_registered == []

    # The holder's org sees why in its sync history; the claimant's records the takeover.
    their_history = make_actor(holder.org, role="viewer").client.get(f"{BASE}/sync/history").json()["results"]
    note = next(item for item in their_history if item["kind"] == "identity")
    assert note["channel"] == "theirs" and note["outcome"] == "failed" and "no longer" in note["error"]
    assert owner.client.get(f"{BASE}/sync/history").json()["results"][0]["kind"] == "identity"

    # Deliveries for the shop now reach the new owner's channel.
    body = fixture_bytes("shopify", "webhook_orders_create.json")
    signature = base64.b64encode(hmac.new(b"whsec-mine", body, hashlib.sha256).digest()).decode()
    posted = client.post("/upstream/webhooks/shopify/orders", body, content_type="application/json",
                         HTTP_X_SHOPIFY_SHOP_DOMAIN=SHOP, HTTP_X_SHOPIFY_TOPIC="orders/create",
                         HTTP_X_SHOPIFY_WEBHOOK_ID="w-1", HTTP_X_SHOPIFY_HMAC_SHA256=signature)
    assert posted.status_code == 200
    assert WebhookDelivery.objects.get().channel.org == owner.org


@pytest.mark.parametrize(("claimant_answer", "holder_answer", "code"), [
    ((401, INVALID_TOKEN), None, "channel_identity_unproven"),
    ((200, {"data": {"shop": {"myshopifyDomain": "another-shop.myshopify.com"}}}), None, "channel_identity_unproven"),
    ((200, "fixture"), (200, "fixture"), "channel_identity_contested"),
])
def test_a_claim_the_api_does_not_settle_changes_nothing(owner, holder, shop_api, claimant_answer, holder_answer,
                                                         code):
    owner.client.post(f"{BASE}/channels", shopify_body("mine", "shpat_claimant", claim=True), format="json")
    # Asked again when claiming (the token may have been revoked, or belong to another shop, by then).
    shop_api.answer("shpat_claimant", *claimant_answer)
    if holder_answer:
        shop_api.answer("shpat_holder", *holder_answer)
    response = owner.client.post(f"{BASE}/channels/mine/enable", {"claim": True}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == code
    holder.refresh_from_db()
    assert holder.enabled is True and not Channel.objects.get(org=owner.org).enabled
    assert not SyncRun.objects.filter(kind="identity").exists()


def test_a_channel_that_reports_no_account_cannot_be_taken_over(org, other_org, make_channel):
    make_channel(other_org, "theirs", shop="held.fake.example")
    mine = make_channel(org, "mine", shop="held.fake.example", enabled=False)
    with pytest.raises(ApiError) as refused:
        channel_enable(channel=mine, claim=True)
    assert (refused.value.status_code, refused.value.get_codes()) == (409, "channel_identity_unprovable")


@responses.activate
def test_tiktok_reports_the_shops_the_seller_authorized():
    from channels_sync.providers.tiktok import Provider

    responses.get("https://tts.test/authorization/202309/shops",
                  json=fixture("tiktok", "get_authorized_shops_response.json"))
    provider = Provider({"appKey": "k", "appSecret": "s", "accessToken": "TTP_a", "shopId": "1",
                         "baseUrl": "https://tts.test"}, http=ChannelHttpClient("https://tts.test"))
    assert provider.reported_identities() == ["7000714532876273420"]
    assert responses.calls[0].request.headers["x-tts-access-token"] == "TTP_a"


def test_admin_cannot_enable_a_second_channel_on_a_held_account(org, other_org, make_channel):
    make_channel(other_org, "theirs", shop="held.fake.example")
    mine = make_channel(org, "mine", shop="held.fake.example", enabled=False)
    user = UserFactory(is_staff=True, is_superuser=True)
    MembershipFactory(user=user, org=org)
    client = Client()
    client.force_login(user)
    form = {"org": org.pk, "channel_id": "mine", "provider": "fakeshop", "enabled": "on",
            "config": json.dumps({"shopDomain": "held.fake.example", "accessToken": "********"}),
            "webhook_secret": "", "poll_interval_minutes": "15", "cursor": ""}
    response = client.post(f"/admin/channels_sync/channel/{mine.pk}/change/", form)
    assert response.status_code == 200 and b"Another enabled channel already receives" in response.content
    mine.refresh_from_db()
    assert mine.enabled is False


def test_a_channel_only_url_shared_by_two_orgs_goes_to_the_account_it_names_or_nowhere(
        client, org, make_channel):
    """Two orgs call their channel `shop` and sign with one app secret (TikTok's app secret is the app's): the
    older org's channel used to win every delivery sent to ?channel=shop."""
    younger = OrgFactory()
    make_channel(org, "shop", shop="older.fake.example")
    theirs = make_channel(younger, "shop", shop="younger.fake.example")
    url = "/upstream/webhooks/fakeshop/orders?channel=shop"
    body = json.dumps(raw_order(7)).encode()
    response = client.post(url, body, content_type="application/json", HTTP_X_FAKE_SHOP="younger.fake.example",
                           HTTP_X_FAKE_DELIVERY="d-1", HTTP_X_FAKE_HMAC=sign(body, SECRET))
    assert response.status_code == 200
    assert WebhookDelivery.objects.get().channel == theirs
    body = json.dumps(raw_order(8)).encode()
    response = client.post(url, body, content_type="application/json", HTTP_X_FAKE_DELIVERY="d-2",
                           HTTP_X_FAKE_HMAC=sign(body, SECRET))
    assert response.status_code == 409 and response.json()["error"]["code"] == "ambiguous_channel"
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_orgs_enabling_one_account_at_once_one_wins(fake_provider, responses_mock):
    responses_mock.post("https://fake.example/webhooks.json", json={"id": 9})
    channels = [Channel.objects.create(org=OrgFactory(), channel_id="shop", provider="fakeshop",
                                       config={"shopDomain": "raced.fake.example", "accessToken": "t"},
                                       webhook_secret=SECRET) for _ in range(2)]
    outcomes = race([lambda c=c: channel_enable(channel=Channel.objects.select_related("org").get(pk=c.pk))
                     for c in channels])
    assert sorted(outcomes, key=str) == [409, "ok"]
    assert Channel.objects.filter(account_identity="raced.fake.example", enabled=True).count() == 1
