"""POST /shipping/webhooks/easypost: signed, fresh, stored once; the order follows its parcels."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from orders.models import Activity, Shipment
from tests.tracking.helpers import delivered_event, post_webhook, shipped_order, sign
from tracking.models import CarrierWebhookDelivery, ScanEvent

pytestmark = pytest.mark.django_db


def _deliveries_of(order):
    return Activity.objects.filter(order=order, verb="deliver").count()


def test_signed_webhook_stores_scans_sets_the_status_and_delivers_the_order(org, anon,
                                                                            django_capture_on_commit_callbacks):
    order, [shipment] = shipped_order(org)
    with django_capture_on_commit_callbacks() as callbacks:
        response = post_webhook(anon, delivered_event(tracking_code=shipment.tracking_number))
    assert response.status_code == 200, response.content
    assert response.json() == {"received": True, "duplicate": False, "outcome": "processed"}
    shipment.refresh_from_db()
    order.refresh_from_db()
    assert shipment.status == "delivered" and shipment.raw_status == "delivered/arrived_at_destination"
    assert shipment.delivered_at == datetime(2025, 5, 9, 14, 40, 43, tzinfo=UTC)
    assert shipment.provider == "easypost" and shipment.provider_ref.startswith("trk_")
    assert ScanEvent.objects.filter(shipment=shipment).count() == 5
    assert order.status == "delivered"
    activity = Activity.objects.get(order=order, verb="deliver")
    assert activity.actor_label == "carrier" and activity.from_status == "shipped"
    assert callbacks, "order.delivered is published after commit (review request, email)"


def test_the_same_event_twice_is_a_duplicate_and_delivers_once(org, anon):
    order, [shipment] = shipped_order(org)
    event = delivered_event(tracking_code=shipment.tracking_number, event_id="evt_repeat")
    first, second = post_webhook(anon, event), post_webhook(anon, event)
    assert first.json()["duplicate"] is False and second.json()["duplicate"] is True
    assert CarrierWebhookDelivery.objects.filter(event_id="evt_repeat").count() == 1
    assert ScanEvent.objects.filter(shipment=shipment).count() == 5
    assert _deliveries_of(order) == 1


def test_a_repeated_update_under_a_new_event_id_adds_no_scan_and_no_second_deliver(org, anon):
    order, [shipment] = shipped_order(org)
    for event_id in ("evt_one", "evt_two", "evt_three"):
        assert post_webhook(anon, delivered_event(tracking_code=shipment.tracking_number,
                                                  event_id=event_id)).status_code == 200
    assert ScanEvent.objects.filter(shipment=shipment).count() == 5
    assert _deliveries_of(order) == 1
    order.refresh_from_db()
    assert order.status == "delivered"


def test_order_is_delivered_only_when_every_parcel_is(org, anon):
    order, [first, second] = shipped_order(org, lines={"A": 1, "B": 1},
                                           parcels=[("EZPARCEL1", [{"sku": "A", "quantity": 1}]),
                                                    ("EZPARCEL2", [{"sku": "B", "quantity": 1}])])
    assert order.status == "shipped"
    post_webhook(anon, delivered_event(tracking_code="EZPARCEL1", event_id="evt_p1"))
    order.refresh_from_db()
    assert order.status == "shipped" and _deliveries_of(order) == 0
    post_webhook(anon, delivered_event(tracking_code="EZPARCEL2", event_id="evt_p2", status="in_transit"))
    order.refresh_from_db()
    assert order.status == "shipped"
    post_webhook(anon, delivered_event(tracking_code="EZPARCEL2", event_id="evt_p3"))
    order.refresh_from_db()
    assert order.status == "delivered" and _deliveries_of(order) == 1


def test_a_delivered_parcel_of_a_partly_shipped_order_does_not_deliver_it(org, anon):
    order, [shipment] = shipped_order(org, lines={"A": 2}, parcels=[("EZPART", [{"sku": "A", "quantity": 1}])])
    assert order.status == "processing"
    post_webhook(anon, delivered_event(tracking_code="EZPART"))
    order.refresh_from_db()
    shipment.refresh_from_db()
    assert shipment.status == "delivered" and order.status == "processing"


def test_status_follows_the_latest_scan(org, anon):
    _, [shipment] = shipped_order(org)
    post_webhook(anon, delivered_event(tracking_code=shipment.tracking_number, event_id="evt_a",
                                       status="out_for_delivery"))
    shipment.refresh_from_db()
    assert (shipment.status, shipment.raw_status) == ("out_for_delivery", "out_for_delivery/out_for_delivery")
    assert shipment.delivered_at is None


def test_forged_signature_is_401_and_stores_nothing(org, anon):
    order, [shipment] = shipped_order(org)
    body = json.dumps(delivered_event(tracking_code=shipment.tracking_number)).encode()
    response = anon.post("/shipping/webhooks/easypost", data=body, content_type="application/json",
                         **sign(body, secret="not-the-secret"))
    assert response.status_code == 401 and response.json()["error"]["code"] == "webhook_rejected"
    assert not CarrierWebhookDelivery.objects.exists() and not ScanEvent.objects.exists()
    order.refresh_from_db()
    assert order.status == "shipped"


def test_body_changed_after_signing_is_rejected(org, anon):
    _, [shipment] = shipped_order(org)
    body = json.dumps(delivered_event(tracking_code=shipment.tracking_number)).encode()
    headers = sign(body)
    tampered = body.replace(b'"delivered"', b'"in_transit"', 1)
    response = anon.post("/shipping/webhooks/easypost", data=tampered, content_type="application/json", **headers)
    assert response.status_code == 401


def test_missing_signature_is_401(org, anon):
    _, [shipment] = shipped_order(org)
    response = post_webhook(anon, delivered_event(tracking_code=shipment.tracking_number), headers={})
    assert response.status_code == 401 and not CarrierWebhookDelivery.objects.exists()


def test_stale_timestamp_header_is_rejected_and_a_fresh_one_accepted(org, anon):
    _, [shipment] = shipped_order(org)
    event = delivered_event(tracking_code=shipment.tracking_number)
    body = json.dumps(event).encode()
    stale = anon.post("/shipping/webhooks/easypost", data=body, content_type="application/json",
                      **sign(body, timestamp=datetime.now(UTC) - timedelta(minutes=10)))
    assert stale.status_code == 401 and "stale" in stale.json()["error"]["message"]
    assert not CarrierWebhookDelivery.objects.exists()
    fresh = anon.post("/shipping/webhooks/easypost", data=body, content_type="application/json",
                      **sign(body, timestamp=datetime.now(UTC)))
    assert fresh.status_code == 200


def test_a_correctly_signed_but_old_event_is_a_replay_and_rejected(org, anon, settings):
    _, [shipment] = shipped_order(org)
    too_old = timedelta(seconds=settings.TRACKING_WEBHOOK_MAX_EVENT_AGE_SECONDS + 60)
    old = delivered_event(tracking_code=shipment.tracking_number, at=datetime.now(UTC) - too_old)
    response = post_webhook(anon, old)
    assert response.status_code == 401 and not ScanEvent.objects.exists()


def test_without_a_configured_secret_every_webhook_is_refused(org, anon, settings):
    _, [shipment] = shipped_order(org)
    settings.EASYPOST_WEBHOOK_SECRET = ""
    response = post_webhook(anon, delivered_event(tracking_code=shipment.tracking_number), secret="")
    assert response.status_code == 401


def test_unknown_provider_and_manual_have_no_webhook(anon):
    assert anon.post("/shipping/webhooks/nosuch", data=b"{}", content_type="application/json").status_code == 404
    assert anon.post("/shipping/webhooks/manual", data=b"{}", content_type="application/json").status_code == 404


def test_an_event_for_no_known_parcel_is_kept_as_ignored(anon):
    response = post_webhook(anon, delivered_event(tracking_code="EZNOBODY", event_id="evt_orphan"))
    assert response.status_code == 200 and response.json()["outcome"] == "ignored"
    assert CarrierWebhookDelivery.objects.get(event_id="evt_orphan").tracking_number == "EZNOBODY"


def test_staff_managed_parcels_ignore_carrier_webhooks(org, anon):
    order, [shipment] = shipped_order(org)
    Shipment.objects.filter(pk=shipment.pk).update(provider="manual")
    post_webhook(anon, delivered_event(tracking_code=shipment.tracking_number))
    order.refresh_from_db()
    assert order.status == "shipped" and not ScanEvent.objects.exists()


def test_a_failed_processing_is_kept_and_the_carriers_retry_processes_it(org, anon, monkeypatch):
    from tracking import services

    order, [shipment] = shipped_order(org)
    event = delivered_event(tracking_code=shipment.tracking_number, event_id="evt_flaky")
    real = services.shipment_apply_tracking

    def boom(**kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(services, "shipment_apply_tracking", boom)
    anon.raise_request_exception = False
    assert post_webhook(anon, event).status_code == 500
    delivery = CarrierWebhookDelivery.objects.get(event_id="evt_flaky")
    assert delivery.outcome == "failed" and "database hiccup" in delivery.error
    monkeypatch.setattr(services, "shipment_apply_tracking", real)
    retry = post_webhook(anon, event)
    assert retry.status_code == 200 and retry.json() == {"received": True, "duplicate": False, "outcome": "processed"}
    order.refresh_from_db()
    assert order.status == "delivered"


def test_easyposts_documented_timestamp_format_with_unknown_zone_is_read_as_utc(org, anon):
    """support.easypost.com shows `Tue, 19 Aug 2025 20:37:09 -0000`: Python reads -0000 as naive."""
    _, [shipment] = shipped_order(org)
    body = json.dumps(delivered_event(tracking_code=shipment.tracking_number)).encode()
    headers = sign(body)
    now = datetime.now(UTC)
    headers["HTTP_X_TIMESTAMP"] = now.strftime("%a, %d %b %Y %H:%M:%S -0000")
    assert anon.post("/shipping/webhooks/easypost", data=body, content_type="application/json",
                     **headers).status_code == 200
    headers["HTTP_X_TIMESTAMP"] = (now - timedelta(hours=1)).strftime("%a, %d %b %Y %H:%M:%S -0000")
    replay = anon.post("/shipping/webhooks/easypost", data=body, content_type="application/json", **headers)
    assert replay.status_code == 401


def test_the_carriers_delivery_estimate_is_kept_on_the_parcel_and_revised(org, anon):
    """The customer's order page shows `est_delivery_date`: stored from the event, the newest estimate wins."""
    order, [shipment] = shipped_order(org)
    event = delivered_event(tracking_code=shipment.tracking_number, event_id="evt_eta_1", status="in_transit")
    assert post_webhook(anon, event).status_code == 200
    shipment.refresh_from_db()
    assert shipment.estimated_delivery == datetime(2025, 5, 9, 20, 39, 17, tzinfo=UTC)
    revised = delivered_event(tracking_code=shipment.tracking_number, event_id="evt_eta_2", status="in_transit")
    revised["result"]["est_delivery_date"] = "2025-05-11T18:00:00Z"
    assert post_webhook(anon, revised).status_code == 200
    shipment.refresh_from_db()
    assert shipment.estimated_delivery == datetime(2025, 5, 11, 18, 0, tzinfo=UTC)
    silent = delivered_event(tracking_code=shipment.tracking_number, event_id="evt_eta_3", status="in_transit")
    silent["result"]["est_delivery_date"] = None  # a carrier that stops estimating does not erase what it said
    assert post_webhook(anon, silent).status_code == 200
    shipment.refresh_from_db()
    assert shipment.estimated_delivery == datetime(2025, 5, 11, 18, 0, tzinfo=UTC)
