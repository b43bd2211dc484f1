import json

import pytest
from django.contrib.auth.models import Permission
from django.test import TestCase

from channels_sync.models import AggregatedOrder, Channel, SyncRun, WebhookDelivery, Writeback
from channels_sync.services import ingest, order_status_update
from tests.accounts.factories import MembershipFactory, UserFactory
from tests.channels_sync.fake_provider import BASE_URL, raw_order


def failed_and_succeeded_writebacks(channel, *, failed_first: bool) -> tuple[Writeback, Writeback]:
    """Two writebacks of one order, (failed, succeeded), the failed one queued first or second."""
    ingest(channel=channel, raw_orders=[raw_order(1)])
    statuses = ["processing", "cancelled"] if failed_first else ["cancelled", "processing"]
    with TestCase.captureOnCommitCallbacks():  # the writeback tasks are not run
        made = {status: order_status_update(order=AggregatedOrder.objects.get(), status=status) for status in statuses}
    failed, ok = made["processing"], made["cancelled"]
    Writeback.objects.filter(pk=failed.pk).update(status="failed")
    Writeback.objects.filter(pk=ok.pk).update(status="succeeded")
    return failed, ok


@pytest.fixture
def admin_client(client, org):
    user = UserFactory(is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="channels_sync"))
    MembershipFactory(user=user, org=org)
    client.force_login(user)
    return client


def test_channel_form_masks_secrets_and_keeps_them_when_unchanged(admin_client, channel):
    page = admin_client.get(f"/admin/channels_sync/channel/{channel.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "tok-secret" not in html and "********" in html and "whsec-test" not in html
    # Same host (the provider's default base URL, now spelled out): the masked token stays.
    config = {"shopDomain": "main.fake.example", "accessToken": "********", "baseUrl": BASE_URL, "note": "x"}
    response = admin_client.post(f"/admin/channels_sync/channel/{channel.pk}/change/", {
        "org": channel.org_id, "channel_id": channel.channel_id, "provider": "fakeshop", "enabled": "on",
        "config": json.dumps(config), "webhook_secret": "", "poll_interval_minutes": 15})
    assert response.status_code == 302, response.content[:2000]
    channel.refresh_from_db()
    assert channel.config["accessToken"] == "tok-secret" and channel.config["note"] == "x"
    assert channel.webhook_secret == "whsec-test"


def test_changelists_show_only_the_staff_members_orgs(admin_client, channel, other_org, make_channel):
    theirs = make_channel(other_org, "theirs", shop="t.fake.example")
    ingest(channel=channel, raw_orders=[raw_order(1)])
    ingest(channel=theirs, raw_orders=[raw_order(2)])
    SyncRun.objects.create(org=channel.org, channel=channel, kind="poll", status="succeeded", fetched=4)
    page = admin_client.get("/admin/channels_sync/channel/").content.decode()
    assert "shop-main" in page and "theirs" not in page and "fetched 4" in page
    orders = admin_client.get("/admin/channels_sync/aggregatedorder/?status__exact=processing").content.decode()
    mine, other = AggregatedOrder.objects.order_by("channel_order_id")
    assert mine.public_id in orders and other.public_id not in orders
    detail = admin_client.get(f"/admin/channels_sync/aggregatedorder/{mine.pk}/change/")
    assert detail.status_code == 200 and "Raw order as last fetched" in detail.content.decode()
    for name in ("syncrun", "webhookdelivery", "writeback"):
        assert admin_client.get(f"/admin/channels_sync/{name}/").status_code == 200


def test_history_lists_failed_first_and_retry_actions_requeue(admin_client, channel,
                                                              django_capture_on_commit_callbacks):
    failed, ok = failed_and_succeeded_writebacks(channel, failed_first=False)
    Writeback.objects.filter(pk=failed.pk).update(attempts=5, last_error="502")
    page = admin_client.get("/admin/channels_sync/writeback/").content.decode()
    assert page.index(failed.public_id) < page.index(ok.public_id)
    with django_capture_on_commit_callbacks() as callbacks:
        asked = admin_client.post("/admin/channels_sync/writeback/", {
            "action": "retry_writebacks", "_selected_action": [failed.pk, ok.pk]})
    # First a confirmation page naming what the retry does; nothing is queued yet.
    assert asked.status_code == 200 and not callbacks
    assert "attempt 6, after 5 failed" in asked.content.decode() and "1 selected writeback not failed" in (
        asked.content.decode())
    assert Writeback.objects.get(pk=failed.pk).status == "failed"
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post("/admin/channels_sync/writeback/", {
            "action": "retry_writebacks", "_selected_action": [failed.pk], "confirmed": "yes"})
    assert response.status_code == 302 and len(callbacks) == 1
    retried = Writeback.objects.get(pk=failed.pk)
    assert (retried.status, retried.max_attempts, retried.manual_retries) == ("queued", 6, 1)

    delivery = WebhookDelivery.objects.create(org=channel.org, channel=channel, delivery_id="d1", body=b"{}",
                                              status="failed", attempts=8)
    with django_capture_on_commit_callbacks() as callbacks:
        admin_client.post("/admin/channels_sync/webhookdelivery/", {
            "action": "retry_deliveries", "_selected_action": [delivery.pk]})
    assert len(callbacks) == 1 and WebhookDelivery.objects.get().status == "received"


def test_channel_actions_enable_disable_and_sync_now(admin_client, channel, responses_mock,
                                                     django_capture_on_commit_callbacks):
    Channel.objects.filter(pk=channel.pk).update(enabled=False)
    responses_mock.post("https://fake.example/webhooks.json", json={"id": 1})
    admin_client.post("/admin/channels_sync/channel/", {"action": "enable_channels",
                                                        "_selected_action": [channel.pk]})
    assert Channel.objects.get().enabled is True
    with django_capture_on_commit_callbacks() as callbacks:
        admin_client.post("/admin/channels_sync/channel/", {"action": "sync_now", "_selected_action": [channel.pk]})
    assert len(callbacks) == 1 and SyncRun.objects.get().kind == "one_shot"
    admin_client.post("/admin/channels_sync/channel/", {"action": "disable_channels",
                                                        "_selected_action": [channel.pk]})
    assert Channel.objects.get().enabled is False


def test_an_older_failed_writeback_still_lists_above_newer_successes(admin_client, channel):
    """The changelist puts the admin's ordering before the queryset's, so failed-first must be that ordering."""
    failed, ok = failed_and_succeeded_writebacks(channel, failed_first=True)
    page = admin_client.get("/admin/channels_sync/writeback/").content.decode()
    assert page.index(failed.public_id) < page.index(ok.public_id)


def test_channel_warnings_show_in_the_list_and_on_the_page(admin_client, channel):
    Channel.objects.filter(pk=channel.pk).update(warnings=[{
        "code": "api_version", "at": "2026-12-03T07:00:00+00:00",
        "message": "Shopify served API version 2026-01 instead of the requested 2025-01"}])
    listing = admin_client.get("/admin/channels_sync/channel/").content.decode()
    page = admin_client.get(f"/admin/channels_sync/channel/{channel.pk}/change/").content.decode()
    for html in (listing, page):
        assert "served API version 2026-01 instead of the requested 2025-01 (last seen 2026-12-03 07:00)" in html


def test_a_channel_orders_page_shows_items_and_address_as_people_read_them(admin_client, channel):
    """The page opened on JSON for the lines and the address, then screens of the channel's payloads: the items
    are a table, the address reads as on a label, and the raw JSON is folded away at the end."""
    ingest(channel=channel, raw_orders=[raw_order(1)])
    order = AggregatedOrder.objects.get()
    AggregatedOrder.objects.filter(pk=order.pk).update(
        lines=[{"sku": "MUG-1", "channelSku": "V-MUG-1", "name": "Blue mug", "quantity": 2, "unitPrice": "12.50"}],
        shipping_address={"name": "Grace Hopper", "line1": "1 Navy Way", "city": "Arlington", "region": "VA",
                          "postalCode": "22202", "country": "US"})
    html = admin_client.get(f"/admin/channels_sync/aggregatedorder/{order.pk}/change/").content.decode()
    folded = html.index("<details")
    items = html.index("<table class='channel-lines'>")
    assert items < folded
    assert "<td>MUG-1</td><td>V-MUG-1</td><td>Blue mug</td><td class='numeric'>2</td>" in html[items:folded]
    assert "Grace Hopper<br>1 Navy Way<br>22202 Arlington VA<br>US" in html[:folded]
    assert html.index('&quot;channelSku&quot;') > folded  # the JSON only inside the folded section
    assert "As the channel sent it" in html[folded:]
