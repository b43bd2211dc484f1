"""The carrier client goes through the channels' HTTP client, so it refuses private targets the same way."""

import pytest
import responses

from tests.tracking.helpers import delivered_event, shipped_order

pytestmark = pytest.mark.django_db
METADATA = "http://169.254.169.254/v2"


@responses.activate
def test_a_carrier_api_base_inside_the_network_is_never_called(org, anon, settings):
    settings.ALLOW_PRIVATE_OUTBOUND = False
    settings.EASYPOST_API_BASE = METADATA
    shipped_order(org, parcels=[("EZINSIDE", None)])
    inside = responses.post(f"{METADATA}/trackers", json=delivered_event(tracking_code="EZINSIDE")["result"])
    body = anon.get("/shipping/track/EZINSIDE").json()
    assert body["source"] == "stored" and body["carrierAvailable"] is False  # answered from what is stored
    assert len(inside.calls) == 0


@responses.activate
def test_the_same_base_is_called_when_private_targets_are_allowed(org, anon, settings):
    settings.ALLOW_PRIVATE_OUTBOUND = True
    settings.EASYPOST_API_BASE = "http://127.0.0.1:8799/v2"
    shipped_order(org, parcels=[("EZLOCAL", None)])
    local = responses.post("http://127.0.0.1:8799/v2/trackers",
                           json=delivered_event(tracking_code="EZLOCAL", status="in_transit")["result"])
    assert anon.get("/shipping/track/EZLOCAL").json()["source"] == "live"
    assert len(local.calls) == 1
