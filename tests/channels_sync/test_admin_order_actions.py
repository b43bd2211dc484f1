"""A channel order's admin page (issue 17): fulfil with carrier and tracking and cancel, written back through the
status API's service; only what the channel and the order's state allow is offered, with the reason otherwise."""

import json
import re

import pytest
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from channels_sync.models import AggregatedOrder, Channel, Writeback
from channels_sync.order_actions import order_actions
from channels_sync.services import ingest, writeback_attempt
from tests.accounts.factories import MembershipFactory, UserFactory
from tests.channels_sync.fake_provider import BASE_URL, raw_order


def member(org, role):
    user = UserFactory()
    MembershipFactory(user=user, org=org, role=role)
    user.refresh_from_db()
    return user


@pytest.fixture
def as_role(client, org):
    def login(role):
        client.force_login(member(org, role))
        return client
    return login


@pytest.fixture
def order(channel):
    ingest(channel=channel, raw_orders=[raw_order(1)])  # "paid": processing
    return AggregatedOrder.objects.get(channel=channel)


def url(order, name="change"):
    return reverse(f"admin:channels_sync_aggregatedorder_{name}", args=[order.pk])


def test_manager_fulfils_with_tracking_and_the_writeback_reaches_the_channel(as_role, order, responses_mock):
    client = as_role("manager")
    page = client.get(url(order)).content.decode()
    assert 'data-dialog="fulfil-dialog"' in page and "Cancel on the channel" in page
    options = re.findall(r'<option value="([^"]*)"', re.search(r'<select name="carrier".*?</select>', page,
                                                               re.S).group(0))
    assert options == ["", "UPS", "USPS", "FedEx", "DHL", "__other__"]  # the channel takes any name
    with TestCase.captureOnCommitCallbacks(execute=False):
        response = client.post(url(order, "fulfil"), {"carrier": "UPS", "tracking": "1z999aa10123456784"})
    assert response.status_code == 302 and response["Location"] == url(order)
    order.refresh_from_db()
    assert (order.status, order.carrier, order.tracking_number) == ("shipped", "UPS", "1Z999AA10123456784")
    writeback = Writeback.objects.get(order=order)
    assert (writeback.source, writeback.target_status, writeback.status) == ("admin", "shipped", "queued")

    responses_mock.post(f"{BASE_URL}/orders/1/fulfillments.json", json={"id": 9001})
    writeback_attempt(writeback_pk=writeback.pk)  # the queued task, as the worker runs it
    sent = json.loads(responses_mock.calls[0].request.body)
    assert sent == {"status": "shipped", "tracking": "1Z999AA10123456784", "carrier": "UPS"}
    page = client.get(url(order)).content.decode()
    assert re.search(r'class="writeback-succeeded">Succeeded<', page)
    assert "Fulfil with tracking:</strong> The order is shipped; only pending or processing" in page
    assert 'data-dialog="fulfil-dialog"' not in page


def test_fulfil_refuses_a_bad_tracking_number_and_changes_nothing(as_role, order):
    response = as_role("manager").post(url(order, "fulfil"), {"carrier": "UPS", "tracking": "12345"})
    assert response.status_code == 200
    assert "not a UPS tracking number" in response.content.decode()
    order.refresh_from_db()
    assert order.status == "processing" and not Writeback.objects.exists()


def test_cancel_writes_back_and_a_shipped_order_offers_neither(as_role, order):
    client = as_role("owner")
    with TestCase.captureOnCommitCallbacks(execute=False):
        response = client.post(url(order, "cancel"), follow=True)
    assert "Cancel on the channel: saved; writeback" in response.content.decode()
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert Writeback.objects.get(order=order).target_status == "cancelled"
    again = client.post(url(order, "cancel"), follow=True).content.decode()
    assert "Cancel on the channel: not possible now. The order is cancelled" in again
    assert Writeback.objects.count() == 1


def test_viewer_sees_no_action_and_is_refused(as_role, order):
    client = as_role("viewer")
    page = client.get(url(order)).content.decode()
    assert "fulfil-dialog" not in page and "Cancel on the channel" not in page
    assert "can view this order but not change it" in page
    assert client.post(url(order, "fulfil"), {"carrier": "UPS", "tracking": "1Z999AA10123456784"}).status_code == 403
    assert client.post(url(order, "cancel")).status_code == 403
    order.refresh_from_db()
    assert order.status == "processing" and not Writeback.objects.exists()


def test_another_orgs_channel_order_is_a_404(client, org, other_org, make_channel):
    theirs_channel = make_channel(other_org, "theirs", shop="t.fake.example")
    ingest(channel=theirs_channel, raw_orders=[raw_order(5)])
    theirs = AggregatedOrder.objects.get(channel=theirs_channel)
    client.force_login(member(org, "owner"))
    assert client.post(url(theirs, "fulfil"), {"carrier": "UPS", "tracking": "1Z999AA10123456784"}).status_code == 404
    assert client.post(url(theirs, "cancel")).status_code == 404


def test_amazon_offers_its_carrier_list_and_no_cancel_with_the_reason(as_role, org):
    channel = Channel.objects.create(org=org, channel_id="amazon-us", provider="amazon", enabled=True,
                                     config={"sellerId": "A1", "refreshToken": "r", "clientId": "c",
                                             "clientSecret": "s", "marketplaceIds": ["ATVPDKIKX0DER"]})
    order = AggregatedOrder.objects.create(org=org, channel=channel, channel_order_id="111-1", status="processing",
                                           currency="USD", created_at=timezone.now(),
                                           channel_updated_at=timezone.now())
    actions = {a.name: a for a in order_actions(order)}
    assert actions["fulfil"].allowed and not actions["cancel"].allowed
    assert actions["cancel"].reason.endswith("Cancel it in Seller Central.")
    page = as_role("manager").get(url(order)).content.decode()
    assert ("Cancel on the channel:</strong> Amazon Selling Partner API cannot take this order from processing to "
            "cancelled. From processing it accepts shipped. Cancel it in Seller Central.") in page
    select = re.search(r'<select name="carrier".*?</select>', page, re.S).group(0)
    assert '<option value="Royal Mail">' in select and '<option value="__other__">' in select


def test_a_linked_storefront_order_is_shipped_there(org, order):
    from tests.orders.factories import order_in, stock

    stock(org, A=5, B=5)
    local = order_in(org, "processing")
    AggregatedOrder.objects.filter(pk=order.pk).update(local_order=local)
    order.refresh_from_db()
    fulfil = next(a for a in order_actions(order) if a.name == "fulfil")
    assert not fulfil.allowed and f"storefront order {local.order_number}" in fulfil.reason


def _order_of(org, provider, status):
    channel = Channel.objects.create(org=org, channel_id=f"{provider}-1", provider=provider, enabled=True, config={})
    return AggregatedOrder.objects.create(org=org, channel=channel, channel_order_id=f"{provider}-{status}",
                                          status=status, currency="USD", created_at=timezone.now(),
                                          channel_updated_at=timezone.now())


@pytest.mark.parametrize("provider", ["amazon", "ebay", "shopify", "tiktok", "walmart", "woocommerce"])
@pytest.mark.parametrize("status", ["pending", "processing"])
def test_the_page_offers_exactly_what_the_provider_says_the_channel_takes(org, provider, status):
    """One rule: the actions follow the provider's writable statuses, so the page and the status API agree."""
    from channels_sync.providers import provider_class

    order = _order_of(org, provider, status)
    allowed = provider_class(provider).writable_from(status)
    actions = {a.name: a for a in order_actions(order)}
    for name, target in (("fulfil", "shipped"), ("cancel", "cancelled")):
        expected = allowed is None or target in allowed
        assert actions[name].allowed is expected, (provider, status, name, actions[name].reason)
        if not expected:
            assert actions[name].reason.startswith(f"{provider_class(provider).label} cannot take this order from "
                                                   f"{status} to {target}")


def test_a_pending_amazon_order_cannot_be_fulfilled_and_the_page_says_what_the_api_says(as_role, org):
    """Amazon ships only orders it has released (Unshipped, our processing): the page no longer offers what the
    status API would refuse with 409, and both say so in the same words."""
    order = _order_of(org, "amazon", "pending")
    fulfil = next(a for a in order_actions(order) if a.name == "fulfil")
    assert not fulfil.allowed
    assert fulfil.reason == ("Amazon Selling Partner API cannot take this order from pending to shipped: it accepts no "
                             "status change from pending (the channel moves such orders itself).")
    client = as_role("manager")
    page = client.get(url(order)).content.decode()
    assert 'data-dialog="fulfil-dialog"' not in page
    assert "Fulfil with tracking:</strong> Amazon Selling Partner API cannot take this order from pending" in page
    response = client.post(url(order, "fulfil"), {"carrier": "UPS", "tracking": "1Z999AA10123456784"})
    order.refresh_from_db()
    assert order.status == "pending" and not Writeback.objects.exists()
    assert "cannot take this order from pending to shipped" in response.content.decode()
