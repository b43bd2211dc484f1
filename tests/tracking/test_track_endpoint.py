"""GET /shipping/track/<n>: live through EasyPost, cached, stored scans when the carrier is down."""

import pytest
import responses

from orders.models import Shipment
from tests.tracking.helpers import API, delivered_event, fixture, shipped_order
from tracking.carriers.easypost import normalize_tracker
from tracking.models import ScanEvent
from tracking.services import shipment_apply_tracking

pytestmark = pytest.mark.django_db


def _tracker(code: str, *, status: str | None = None) -> dict:
    return delivered_event(tracking_code=code, status=status)["result"]


@responses.activate
def test_live_answer_through_the_provider_then_cached(org, anon):
    order, [shipment] = shipped_order(org, parcels=[("EZ2000000002", None)])
    responses.post(f"{API}/trackers", json=_tracker("EZ2000000002", status="in_transit"))
    first = anon.get("/shipping/track/EZ2000000002")
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["source"] == "live" and body["carrierAvailable"] is True
    assert body["status"] == "in_transit" and body["carrierStatus"] == "in_transit"
    assert body["events"][0] == {"status": "in_transit", "carrierStatus": "in_transit/arrived_at_facility",
                                 "description": "Arrived at USPS Origin Facility",
                                 "location": "NORTH HOUSTON, TX 77315", "occurredAt": "2025-05-08T19:02:43Z"}
    assert "orderNumber" not in body and "email" not in str(body)  # carrier facts only
    # what the carrier said is stored too (the fallback and the status endpoint use it)
    assert ScanEvent.objects.filter(shipment=shipment).count() == 3
    second = anon.get("/shipping/track/EZ2000000002")
    assert second.json()["source"] == "cache" and second.json()["events"] == body["events"]
    assert len(responses.calls) == 1


@responses.activate
def test_known_tracker_is_read_by_id(org, anon):
    _, [shipment] = shipped_order(org, parcels=[("EZ1000000001", None)])
    Shipment.objects.filter(pk=shipment.pk).update(provider_ref="trk_acfcc5058c5445bda6c3c331125d52c9")
    responses.get(f"{API}/trackers/trk_acfcc5058c5445bda6c3c331125d52c9", json=fixture("tracker_pre_transit.json"))
    body = anon.get("/shipping/track/EZ1000000001").json()
    assert body["status"] == "label_created" and body["source"] == "live"


@responses.activate
def test_carrier_down_falls_back_to_stored_scans_and_says_so(org, anon):
    _, [shipment] = shipped_order(org, parcels=[("EZDOWN", None)])
    stored = normalize_tracker(_tracker("EZDOWN", status="in_transit"))
    shipment_apply_tracking(shipment_id=shipment.pk, result=stored, source="easypost")
    shipment.refresh_from_db()
    tracker_url = f"{API}/trackers/{shipment.provider_ref}"  # known to EasyPost now: read by id
    responses.get(tracker_url, status=503, json={"error": {"code": "SERVICE_UNAVAILABLE", "message": "down"}})
    response = anon.get("/shipping/track/EZDOWN")
    assert response.status_code == 200
    body = response.json()
    assert body["source"] == "stored" and body["carrierAvailable"] is False
    assert body["status"] == "in_transit" and len(body["events"]) == 3
    assert body["events"][0]["description"] == "Arrived at USPS Origin Facility"  # newest first
    # a fallback is not cached: the next request asks the carrier again
    responses.replace(responses.GET, tracker_url, json=_tracker("EZDOWN"))
    assert anon.get("/shipping/track/EZDOWN").json()["source"] == "live"


@responses.activate
def test_carrier_timeout_also_falls_back(org, anon):
    import requests

    shipped_order(org, parcels=[("EZSLOW", None)])
    responses.post(f"{API}/trackers", body=requests.Timeout("read timed out"))
    body = anon.get("/shipping/track/EZSLOW").json()
    assert body["source"] == "stored" and body["carrierAvailable"] is False and body["status"] == "label_created"


def test_manual_parcels_answer_from_stored_scans(org, anon, settings):
    settings.TRACKING_PROVIDER = "manual"
    shipped_order(org, parcels=[("MANUAL-1", None)], carrier="dhl")
    body = anon.get("/shipping/track/MANUAL-1").json()
    assert body["source"] == "stored" and body["carrier"] == "dhl" and body["events"] == []


def test_unknown_tracking_number_is_404_and_costs_no_carrier_call(anon):
    with responses.RequestsMock() as mock:  # any HTTP call would fail the test
        response = anon.get("/shipping/track/NOT-OURS")
        assert len(mock.calls) == 0
    assert response.status_code == 404 and response.json()["error"]["code"]


def test_rate_limited_per_client_address(org, anon, settings):
    settings.TRACKING_PUBLIC_RATE_LIMIT = "3/min"
    for _ in range(3):
        assert anon.get("/shipping/track/NOT-OURS").status_code == 404
    limited = anon.get("/shipping/track/NOT-OURS")
    assert limited.status_code == 429 and "error" in limited.json()
    other_address = anon.get("/shipping/track/NOT-OURS", REMOTE_ADDR="10.9.8.7")
    assert other_address.status_code == 404
    forged = anon.get("/shipping/track/NOT-OURS", HTTP_X_FORWARDED_FOR="203.0.113.77")
    assert forged.status_code == 429  # a client-chosen X-Forwarded-For does not reset the count


@pytest.mark.redis
def test_rate_limit_counts_in_redis_when_configured(org, anon, settings):
    from django.core.cache import caches

    assert "redis" in type(caches["default"]).__module__.lower()
    settings.TRACKING_PUBLIC_RATE_LIMIT = "2/min"
    codes = [anon.get("/shipping/track/NOT-OURS").status_code for _ in range(3)]
    assert codes == [404, 404, 429]


def test_issue15_track_answers_only_for_the_org_it_names(org, other_org, anon, settings):
    """Org B's parcel with org A's tracking number is neither shown to nor written from org A's request."""
    from rest_framework.test import APIClient

    settings.TRACKING_PROVIDER = "manual"
    shipped_order(org, parcels=[("SHARED-1", None)], carrier="dhl")
    theirs, [their_parcel] = shipped_order(other_org, parcels=[("SHARED-1", None)], carrier="ups")
    Shipment.objects.filter(pk=their_parcel.pk).update(status="delivered")
    assert APIClient().get("/shipping/track/SHARED-1").status_code == 400  # no orgid: no org to answer from
    mine = anon.get("/shipping/track/SHARED-1").json()
    assert mine["carrier"] == "dhl" and mine["status"] != "delivered"
    stranger = APIClient()
    stranger.defaults["HTTP_ORGID"] = other_org.slug
    assert stranger.get("/shipping/track/SHARED-1").json()["carrier"] == "ups"
    assert anon.get("/shipping/track/NOT-OURS").status_code == 404


def test_a_browser_following_an_old_emails_tracking_link_gets_a_page_not_json(org):
    """Emails sent before issue 18 linked unknown carriers to this endpoint: a person gets a page that says
    where to look, naming no store and reading no parcel; API clients still get JSON."""
    from django.test import Client

    from tests.tracking.helpers import shipped_order

    _, [shipment] = shipped_order(org, carrier="acme-freight")
    browser = Client(HTTP_ACCEPT="text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
    page = browser.get(f"/shipping/track/{shipment.tracking_number}")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    assert "Track your parcel" in html and shipment.tracking_number in html and org.name not in html
    api = Client().get(f"/shipping/track/{shipment.tracking_number}")  # no Accept: html, no orgid
    assert api.status_code == 400 and api["Content-Type"].startswith("application/json")
