"""Issue 17: a writeback's state is told as it is (pending, retrying with the next try, sent, failed and needing a
person, with the channel's own answer), permanent refusals are not retried, a person's retry is confirmed and is one
attempt, and a status the channel cannot take from the current one is refused before anything is saved."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Permission
from django.test import override_settings

from channels_sync.models import AggregatedOrder, Channel, Writeback
from channels_sync.services import ingest
from channels_sync.services.writeback import order_status_update, writeback_attempt
from tests.accounts.factories import MembershipFactory, UserFactory
from tests.channels_sync.fake_provider import raw_order
from tests.channels_sync.providers.fixtures import fixture
from tests.channels_sync.timing import come_due

pytestmark = pytest.mark.django_db

FULFILL = "https://fake.example/orders/1/fulfillments.json"
# A validation refusal as a channel words it: Amazon's published 400 for an undefined marketplace.
REFUSAL = fixture("amazon", "update_shipment_status_response_400_invalid_marketplace.json")


@pytest.fixture
def order(channel):
    ingest(channel=channel, raw_orders=[raw_order(1)])
    return AggregatedOrder.objects.get()


def ship(order, django_capture_on_commit_callbacks) -> Writeback:
    with django_capture_on_commit_callbacks():
        return order_status_update(order=order, status="shipped", tracking_number="1Z1", carrier="ups")


def shown(actor, order) -> dict:
    """The order's writeback as the API shows it, in the list and on the order, which must agree."""
    listed = actor.client.get("/sales-channel/orders").json()["results"]
    one = actor.client.get(f"/sales-channel/orders/{order.public_id}").json()["writeback"]
    assert [o["writeback"] for o in listed if o["orderId"] == order.public_id] == [one]
    return one


def test_the_api_tells_pending_then_retrying_with_the_next_try_then_sent(
        owner, order, responses_mock, django_capture_on_commit_callbacks):
    writeback = ship(order, django_capture_on_commit_callbacks)
    assert shown(owner, order)["state"] == "pending" and shown(owner, order)["needsPerson"] is False

    responses_mock.post(FULFILL, status=503, body="upstream connect error")
    writeback_attempt(writeback_pk=writeback.pk)
    state = shown(owner, order)
    assert (state["state"], state["stateLabel"], state["attempts"]) == ("retrying", "Retrying", 1)
    next_try = datetime.fromisoformat(state["nextAttemptAt"].replace("Z", "+00:00"))
    assert next_try > datetime.now(UTC)
    assert state["channelResponse"] == "upstream connect error"

    come_due(writeback)
    responses_mock.replace("POST", FULFILL, json={"id": 9})
    writeback_attempt(writeback_pk=writeback.pk)
    state = shown(owner, order)
    assert (state["state"], state["nextAttemptAt"], state["channelResponse"]) == ("sent", None, None)


def test_a_permanent_refusal_is_failed_at_once_needs_a_person_and_keeps_the_channels_answer(
        owner, order, responses_mock, django_capture_on_commit_callbacks):
    writeback = ship(order, django_capture_on_commit_callbacks)
    responses_mock.post(FULFILL, status=400, json=REFUSAL)
    assert writeback_attempt(writeback_pk=writeback.pk) is None          # no retry scheduled
    state = shown(owner, order)
    assert (state["state"], state["stateLabel"], state["needsPerson"]) == ("failed", "Failed: needs a person", True)
    assert json.loads(state["channelResponse"]) == REFUSAL
    assert state["attempts"] == 1 and state["nextAttemptAt"] is None
    assert writeback_attempt(writeback_pk=writeback.pk) is None and len(responses_mock.calls) == 1
    history = owner.client.get("/sales-channel/sync/history?kind=writeback").json()["results"][0]["details"]
    assert history["state"] == "failed" and json.loads(history["channelResponse"]) == REFUSAL
    assert history["attemptLog"][0]["retryable"] is False and history["attemptLog"][0]["response"]


def test_408_is_retried_like_a_timeout(owner, order, responses_mock, django_capture_on_commit_callbacks):
    writeback = ship(order, django_capture_on_commit_callbacks)
    responses_mock.post(FULFILL, status=408)
    assert writeback_attempt(writeback_pk=writeback.pk) is not None
    assert shown(owner, order)["state"] == "retrying"


def failed(order, responses_mock, django_capture_on_commit_callbacks) -> Writeback:
    writeback = ship(order, django_capture_on_commit_callbacks)
    responses_mock.post(FULFILL, status=400, json=REFUSAL)
    writeback_attempt(writeback_pk=writeback.pk)
    return Writeback.objects.get(pk=writeback.pk)


def test_retry_asks_for_confirmation_saying_what_it_does(manager, order, responses_mock,
                                                         django_capture_on_commit_callbacks):
    writeback = failed(order, responses_mock, django_capture_on_commit_callbacks)
    url = f"/sales-channel/writebacks/{writeback.public_id}/retry"
    with django_capture_on_commit_callbacks() as callbacks:
        asked = manager.client.post(url, {}, format="json")
    assert asked.status_code == 400 and asked.json()["error"]["code"] == "confirmation_required"
    why = asked.json()["error"]["details"]["confirm"][0]
    assert "attempt 2, after 1 failed" in why and "refused the last attempt for good (HTTP 400)" in why
    assert not callbacks and Writeback.objects.get(pk=writeback.pk).status == "failed"


def test_a_confirmed_retry_is_one_attempt_counted_and_not_retried_again(
        manager, order, responses_mock, django_capture_on_commit_callbacks):
    writeback = failed(order, responses_mock, django_capture_on_commit_callbacks)
    url = f"/sales-channel/writebacks/{writeback.public_id}/retry"
    with django_capture_on_commit_callbacks() as callbacks:
        answer = manager.client.post(url, {"confirm": True}, format="json")
    assert answer.status_code == 200, answer.content
    state = answer.json()["writeback"]
    assert (state["state"], state["attempts"], state["maxAttempts"], state["manualRetries"]) == ("retrying", 1, 2, 1)
    assert len(callbacks) == 1

    responses_mock.replace("POST", FULFILL, status=503)       # even a retryable failure: the person's try was the one
    assert writeback_attempt(writeback_pk=writeback.pk) is None
    state = shown(manager, order)
    assert (state["state"], state["attempts"], state["maxAttempts"]) == ("failed", 2, 2)


def test_retry_of_a_writeback_that_has_not_failed_is_409_in_words(manager, order, responses_mock,
                                                                  django_capture_on_commit_callbacks):
    writeback = ship(order, django_capture_on_commit_callbacks)
    answer = manager.client.post(f"/sales-channel/writebacks/{writeback.public_id}/retry", {"confirm": True},
                                 format="json")
    assert answer.status_code == 409
    assert answer.json()["error"]["message"].startswith("This writeback is pending, not failed")


def test_retry_is_a_managers_call_and_another_orgs_writeback_is_404(viewer, other_owner, order, responses_mock,
                                                                    django_capture_on_commit_callbacks):
    writeback = failed(order, responses_mock, django_capture_on_commit_callbacks)
    url = f"/sales-channel/writebacks/{writeback.public_id}/retry"
    assert viewer.client.post(url, {"confirm": True}, format="json").status_code == 403
    assert other_owner.client.post(url, {"confirm": True}, format="json").status_code == 404
    assert Writeback.objects.get(pk=writeback.pk).status == "failed"


# --- statuses the channel cannot take ----------------------------------------------------------------------------
def channel_order(org, provider: str, status: str) -> AggregatedOrder:
    channel = Channel.objects.create(org=org, channel_id=f"{provider}-1", provider=provider,
                                     config={"shopDomain": f"{provider}.myshopify.com"})
    now = datetime.now(UTC)
    return AggregatedOrder.objects.create(org=org, channel=channel, channel_order_id="576461413038785752",
                                          status=status, currency="USD", created_at=now, channel_updated_at=now)


def put_status(actor, order, **body):
    return actor.client.put(f"/sales-channel/orders/{order.public_id}/status", body, format="json")


def test_delivered_on_a_tiktok_order_is_refused_naming_what_tiktok_accepts(manager):
    order = channel_order(manager.org, "tiktok", "processing")
    answer = put_status(manager, order, status="delivered")
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["code"] == "invalid_transition"
    assert error["message"] == ("TikTok Shop cannot take this order from processing to delivered. From processing it "
                                "accepts shipped.")
    assert error["details"] == {"currentStatus": "processing", "requestedStatus": "delivered",
                                "allowedStatuses": ["shipped"]}
    assert "CommonStatus" not in answer.content.decode()
    order.refresh_from_db()
    assert order.status == "processing" and not Writeback.objects.exists()


def test_a_status_with_no_way_out_says_so(manager):
    order = channel_order(manager.org, "tiktok", "pending")
    message = put_status(manager, order, status="shipped", trackingNumber="1Z9", carrier="UPS").json()["error"][
        "message"]
    assert "accepts no status change from pending" in message


def test_a_cancel_the_channels_api_cannot_send_says_where_to_do_it(manager):
    """The same words as the channel order page's Cancel reason: both come from the provider."""
    from channels_sync.order_actions import action_for

    order = channel_order(manager.org, "ebay", "processing")
    answer = put_status(manager, order, status="cancelled")
    assert answer.status_code == 409
    message = answer.json()["error"]["message"]
    assert message.endswith("From processing it accepts shipped. Cancel it in Seller Hub.")
    assert action_for(order, "cancel").reason.startswith(message)
    order.refresh_from_db()
    assert order.status == "processing" and not Writeback.objects.exists()


def test_shopify_cancels_only_orders_not_yet_fulfilled(manager):
    order = channel_order(manager.org, "shopify", "shipped")
    answer = put_status(manager, order, status="cancelled")
    assert answer.status_code == 409
    assert answer.json()["error"]["message"].endswith("From shipped it accepts shipped or delivered.")


def test_a_status_the_channel_takes_is_saved_and_written_back(manager, django_capture_on_commit_callbacks):
    order = channel_order(manager.org, "shopify", "processing")
    with django_capture_on_commit_callbacks():
        answer = put_status(manager, order, status="cancelled")
    assert answer.status_code == 200 and answer.json()["writeback"]["state"] == "pending"


# --- admin -------------------------------------------------------------------------------------------------------
@pytest.fixture
def admin_client(client, org):
    user = UserFactory(is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="channels_sync"))
    MembershipFactory(user=user, org=org, role="manager")
    client.force_login(user)
    return client


@override_settings(CHANNEL_WRITEBACK_MAX_ATTEMPTS=8)
def test_admin_order_list_and_page_show_the_writeback_state_and_the_channels_answer(
        admin_client, order, responses_mock, django_capture_on_commit_callbacks):
    writeback = ship(order, django_capture_on_commit_callbacks)
    responses_mock.post(FULFILL, status=503)
    writeback_attempt(writeback_pk=writeback.pk)
    writeback.refresh_from_db()
    listing = admin_client.get("/admin/channels_sync/aggregatedorder/").content.decode()
    assert f"Retrying: next try {writeback.next_attempt_at:%Y-%m-%d %H:%M} UTC (attempt 2 of 8)" in listing

    Writeback.objects.filter(pk=writeback.pk).update(status="failed", next_attempt_at=None,
                                                     last_response_body=json.dumps(REFUSAL))
    listing = admin_client.get("/admin/channels_sync/aggregatedorder/").content.decode()
    assert "Failed: needs a person" in listing
    page = admin_client.get(f"/admin/channels_sync/aggregatedorder/{order.pk}/change/").content.decode()
    assert "Failed: needs a person" in page and "Marketplace ID is not defined" in page
    writeback_page = admin_client.get(f"/admin/channels_sync/writeback/{writeback.pk}/change/").content.decode()
    assert "Marketplace ID is not defined" in writeback_page


def test_admin_status_page_refuses_what_the_channel_cannot_take(admin_client, org):
    order = channel_order(org, "tiktok", "processing")
    url = f"/admin/channels_sync/aggregatedorder/{order.pk}/status/"
    page = admin_client.get(url).content.decode()
    assert "From processing the channel accepts: <strong class=\"allowed-statuses\">shipped</strong>" in page
    refused = admin_client.post(url, {"status": "delivered"})
    assert refused.status_code == 200
    assert "TikTok Shop cannot take this order from processing to delivered" in refused.content.decode()
    order.refresh_from_db()
    assert order.status == "processing" and not Writeback.objects.exists()


def test_admin_status_page_saves_and_queues_what_the_channel_takes(admin_client, org,
                                                                   django_capture_on_commit_callbacks):
    order = channel_order(org, "shopify", "processing")
    with django_capture_on_commit_callbacks() as callbacks:
        done = admin_client.post(f"/admin/channels_sync/aggregatedorder/{order.pk}/status/", {"status": "cancelled"})
    assert done.status_code == 302 and len(callbacks) == 1
    order.refresh_from_db()
    assert order.status == "cancelled" and Writeback.objects.get().source == "admin"


def test_admin_status_page_of_another_orgs_order_is_refused(admin_client, other_org):
    order = channel_order(other_org, "shopify", "processing")
    response = admin_client.post(f"/admin/channels_sync/aggregatedorder/{order.pk}/status/", {"status": "cancelled"})
    assert response.status_code in (403, 404)
    order.refresh_from_db()
    assert order.status == "processing"
