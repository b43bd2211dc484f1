"""Staff in a real browser: a writeback the channel kept refusing is retried from sync history."""

import re
from datetime import UTC, datetime

import pytest
import responses
from playwright.sync_api import expect

from channels_sync.models import AggregatedOrder, Channel, Writeback
from channels_sync.services import ingest, order_status_update, writeback_attempt
from simulator.shopify import Simulator
from tests.channels_sync.providers.fixtures import fixture

pytestmark = [pytest.mark.xdist_group("browser")]

SHOP = "https://demo-shop.myshopify.com"
GRAPHQL = re.compile(r"https://demo-shop\.myshopify\.com/admin/api/[^/]+/graphql\.json")
TOKEN = "https://demo-shop.myshopify.com/admin/oauth/access_token"
CANCELLED = {"data": {"orderCancel": {"job": {"id": "gid://shopify/Job/1", "done": False},
                                      "orderCancelUserErrors": []}}}
WRITEBACKS = "/admin/channels_sync/writeback/"


def try_writeback(writeback, *, status: int) -> None:
    """One attempt as the worker makes it, with Shopify answering `status`; the retry wait is skipped."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as shopify:
        # The demo channel gets its token by the client-credentials grant (cached after the first attempt).
        shopify.post(TOKEN, json=fixture("shopify", "client_credentials_token.json"))
        shopify.post(GRAPHQL, status=status, json={"errors": "Service unavailable"} if status >= 500 else CANCELLED)
        Writeback.objects.filter(pk=writeback.pk).update(next_attempt_at=None)
        writeback_attempt(writeback_pk=writeback.pk)


def reopen(order) -> None:
    """The order as one not yet fulfilled, which Shopify can cancel (a generated order may be delivered already)."""
    AggregatedOrder.objects.filter(pk=order.pk).update(status="processing")
    order.refresh_from_db()


@pytest.fixture
def shopify_order(org):
    """A Shopify order from the channel simulator's catalogue, ingested into a Shopify channel."""
    simulator = Simulator(order_count=0, base_url=SHOP)
    demo = simulator.demo_channel()
    channel = Channel.objects.create(org=org, channel_id=demo.channel_id, provider=demo.provider, config=demo.config,
                                     webhook_secret=demo.webhook_secret, enabled=True)
    ingest(channel=channel, raw_orders=[simulator.generate_order(1, datetime(2026, 11, 20, 9, 30, tzinfo=UTC))])
    return AggregatedOrder.objects.get(channel=channel)


@pytest.fixture
def failed_writeback(settings, shopify_order):
    """Staff cancelled the order; Shopify answered 503 to both attempts allowed, so the writeback failed."""
    settings.CHANNEL_WRITEBACK_MAX_ATTEMPTS = 2
    reopen(shopify_order)
    writeback = order_status_update(order=shopify_order, status="cancelled")
    for _ in range(2):
        try_writeback(writeback, status=503)
    writeback.refresh_from_db()
    assert (writeback.status, writeback.attempts) == ("failed", 2)
    return writeback


def test_failed_writeback_is_retried_from_sync_history(logged_in, shoot, queued, failed_writeback, shopify_order):
    page, writeback = logged_in, failed_writeback
    reopen(shopify_order)
    succeeded = order_status_update(order=shopify_order, status="cancelled")
    try_writeback(succeeded, status=200)
    queued.calls.clear()

    page.set_viewport_size({"width": 1920, "height": 800})  # sync history's thirteen columns, state included
    page.goto("/admin/")
    page.get_by_role("link", name="Writebacks").click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text(writeback.public_id)  # failed first
    expect(rows.first.locator(".field-status")).to_have_text("Failed")
    expect(rows.first.locator(".field-last_error")).to_contain_text("503")
    expect(rows.nth(1).locator(".field-status")).to_have_text("Succeeded")
    shoot(page, "admin-writebacks-failed")

    rows.first.locator("input.action-select").check()
    page.select_option("select[name=action]", label="Retry failed writebacks (asks first)")
    page.get_by_role("button", name="Go").click()

    # Asked first: what the retry does (one attempt), before anything is queued.
    expect(page.locator(f"#retry-{writeback.public_id}")).to_contain_text("It is not retried automatically")
    assert not queued.args_of("channels_sync.run_writeback")
    shoot(page, "admin-writeback-retry-confirm")
    page.get_by_role("button", name="Yes, retry").click()

    expect(page.locator(".messagelist")).to_contain_text("1 writeback(s) queued again, one attempt each")
    retried = page.locator("#result_list tbody tr", has_text=writeback.public_id)
    expect(retried.locator(".field-status")).to_have_text("Queued")
    expect(retried.locator(".field-state_text")).to_contain_text("Retrying")
    shoot(page, "admin-writeback-retried")
    writeback.refresh_from_db()
    assert writeback.status == "queued" and writeback.max_attempts == writeback.attempts + 1
    assert writeback.manual_retries == 1
    assert queued.args_of("channels_sync.run_writeback") == [(writeback.pk,)]

    try_writeback(writeback, status=200)  # the queued task runs: Shopify is back
    page.get_by_role("link", name=writeback.public_id).click()
    expect(page.locator(".field-status .readonly")).to_have_text("Succeeded")
    tries = page.locator("#attempt_rows-group tbody tr.has_original")
    expect(tries).to_have_count(3)
    expect(tries.nth(0).locator(".field-response_code")).to_have_text("503")
    expect(tries.nth(2).locator(".field-response_code")).to_have_text("200")
    shoot(page, "admin-writeback-succeeded")
    writeback.refresh_from_db()
    assert (writeback.status, writeback.attempts) == ("succeeded", 3)
