"""The EasyPost provider against its documented payloads, HTTP mocked at the wire."""

import json
from datetime import UTC, datetime

import pytest
import responses

from tests.tracking.helpers import API, fixture
from tracking.carriers import get_provider
from tracking.carriers.base import CarrierError, CarrierNotFound
from tracking.carriers.easypost import normalize_tracker


def test_documented_tracker_normalizes_to_our_vocabulary_with_the_raw_code_beside_it():
    result = normalize_tracker(fixture("tracker_pre_transit.json"))
    assert result.tracking_number == "EZ1000000001"
    assert result.carrier == "usps"
    assert result.status == "label_created" and result.raw_status == "pre_transit"
    assert result.provider_ref == "trk_acfcc5058c5445bda6c3c331125d52c9"
    assert [(s.status, s.raw_status, s.description, s.location) for s in result.scans] == [
        ("label_created", "pre_transit/status_update", "Pre-Shipment Info Sent to USPS", ""),
        ("label_created", "pre_transit/status_update", "Shipping Label Created", "HOUSTON, TX 77063"),
    ]
    assert result.scans[0].occurred_at == datetime(2023, 11, 1, 5, 14, 45, tzinfo=UTC)


@pytest.mark.parametrize(("raw", "ours"), [
    ("pre_transit", "label_created"), ("in_transit", "in_transit"), ("out_for_delivery", "out_for_delivery"),
    ("available_for_pickup", "out_for_delivery"), ("delivered", "delivered"), ("return_to_sender", "returned"),
    ("failure", "exception"), ("error", "exception"), ("cancelled", "exception"), ("unknown", None),
])
def test_every_documented_tracker_status_maps(raw, ours):
    tracker = {**fixture("tracker_pre_transit.json"), "status": raw}
    tracker["tracking_details"] = [{**tracker["tracking_details"][0], "status": raw}]
    result = normalize_tracker(tracker)
    assert result.status == ours
    assert [s.status for s in result.scans] == ([ours] if ours else [])  # "unknown" scans say nothing


@responses.activate
def test_register_posts_the_documented_body_with_basic_auth():
    responses.post(f"{API}/trackers", json=fixture("tracker_pre_transit.json"), status=201)
    result = get_provider("easypost").register(tracking_number="EZ1000000001", carrier="usps")
    call = responses.calls[0].request
    assert json.loads(call.body) == {"tracker": {"tracking_code": "EZ1000000001", "carrier": "USPS"}}
    assert call.headers["Authorization"].startswith("Basic ")  # API key as the user name
    assert result.status == "label_created" and len(result.scans) == 2


@responses.activate
def test_track_with_a_known_tracker_reads_it_by_id():
    responses.get(f"{API}/trackers/trk_acfcc5058c5445bda6c3c331125d52c9", json=fixture("tracker_pre_transit.json"))
    result = get_provider("easypost").track(tracking_number="EZ1000000001", carrier="usps",
                                            provider_ref="trk_acfcc5058c5445bda6c3c331125d52c9")
    assert result.provider_ref == "trk_acfcc5058c5445bda6c3c331125d52c9"


@responses.activate
def test_outage_and_unknown_parcel_are_two_different_errors():
    responses.get(f"{API}/trackers/trk_down", status=503, json={"error": {"code": "SERVICE_UNAVAILABLE"}})
    responses.get(f"{API}/trackers/trk_gone", status=404, json=fixture("error_not_found.json"))
    provider = get_provider("easypost")
    with pytest.raises(CarrierError):
        provider.track(tracking_number="X", carrier="usps", provider_ref="trk_down")
    with pytest.raises(CarrierNotFound):
        provider.track(tracking_number="X", carrier="usps", provider_ref="trk_gone")


def test_missing_api_key_is_an_outage_not_a_crash(settings):
    settings.EASYPOST_API_KEY = ""
    with pytest.raises(CarrierError):
        get_provider("easypost").track(tracking_number="X", carrier="usps")


def test_manual_provider_has_no_live_source():
    with pytest.raises(CarrierError):
        get_provider("manual").track(tracking_number="X", carrier="ups")
