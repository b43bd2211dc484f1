"""Walmart's shipping update as its published schema has it: sellerOrderId, intentToCancelOverride, the carrier
enum (otherCarrier only with a trackingURL), checked by a simulator that answers in Walmart's error shape."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime

import pytest
import requests
import responses
from django.core.cache import cache

from channels_sync.normalized import CommonStatus, WritebackRequest
from channels_sync.providers.errors import PermanentChannelError
from channels_sync.providers.http import ChannelHttpClient
from channels_sync.providers.walmart import Provider
from channels_sync.providers.walmart.writeback import CARRIERS
from tests.channels_sync.providers.tiktok_walmart_fixtures import fixture

BASE = "https://walmart.test"
SHIP_AT = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)


@pytest.fixture
def provider():
    config = {"clientId": f"client-{uuid.uuid4().hex[:8]}", "clientSecret": "s3cr3t", "baseUrl": BASE}
    made = Provider(config, http=ChannelHttpClient(BASE, sleep=lambda _s: None), clock=lambda: SHIP_AT.timestamp())
    cache.delete(made.token_cache_key)
    yield made
    cache.delete(made.token_cache_key)


def acknowledged_order(**extra) -> dict:
    raw = copy.deepcopy(fixture("walmart", "get_orders_response.json")["list"]["elements"]["order"][0])
    for line in raw["orderLines"]["orderLine"]:
        line["orderLineStatuses"]["orderLineStatus"] = [
            {"status": "Acknowledged", "statusQuantity": {"unitOfMeasurement": "EACH", "amount": "1"}}]
    raw.update(extra)
    return raw


def ship(raw, **kwargs) -> WritebackRequest:
    values = {"tracking_number": "1Z999AA10123456784", "carrier": "UPS", "tracking_url": None, "ship_date": SHIP_AT}
    values.update(kwargs)
    return WritebackRequest(channel_order_id=raw["purchaseOrderId"], status=CommonStatus.SHIPPED, lines=[], raw=raw,
                            **values)


def sent_lines(call) -> list[dict]:
    return json.loads(call.request.body)["orderShipment"]["orderLines"]["orderLine"]


def test_the_carrier_list_is_walmarts_published_enum():
    schema_enum = fixture("walmart", "ship_order_lines_schema.json")["CarrierNameType"]["properties"]["carrier"]["enum"]
    assert list(CARRIERS) == schema_enum
    assert Provider.accepted_carriers() == schema_enum


@pytest.mark.parametrize("typed,code", [
    ("ups", "UPS"), ("USPS", "USPS"), ("Fedex", "FedEx"), ("LaserShip", "LS"), ("DHL", "DHL Ecommerce - US"),
    ("dhl ecommerce", "DHL Ecommerce - US"), ("FedEx SmartPost", "FEDEXSP"), ("R&L Carriers", "RL Carriers"),
    ("UPS Mail Innovations", "UPSMI"), ("royal mail", "Royal Mail"), ("Canada Post", "Canada Post"),
])
def test_our_carrier_names_map_onto_walmarts_enum(provider, typed, code):
    raw = acknowledged_order()
    body = provider.shipping_body(ship(raw, carrier=typed), raw)
    info = body["orderShipment"]["orderLines"]["orderLine"][0]["orderLineStatuses"]["orderLineStatus"][0][
        "trackingInfo"]
    assert info["carrierName"] == {"carrier": code}
    assert Provider.carrier_code(typed) == code


def test_an_unmapped_carrier_goes_as_other_carrier_with_its_tracking_url(provider):
    raw = acknowledged_order()
    body = provider.shipping_body(ship(raw, carrier="Purolator", tracking_url="https://purolator.test/t/PF1"), raw)
    info = body["orderShipment"]["orderLines"]["orderLine"][0]["orderLineStatuses"]["orderLineStatus"][0][
        "trackingInfo"]
    assert info["carrierName"] == {"otherCarrier": "Purolator"}
    assert info["trackingURL"] == "https://purolator.test/t/PF1"


@responses.activate
def test_an_unmapped_carrier_without_a_tracking_url_or_no_carrier_fails_before_any_call(provider):
    raw = acknowledged_order()
    with pytest.raises(PermanentChannelError, match="Purolator.*tracking URL"):
        provider.write_back(ship(raw, carrier="Purolator"))
    with pytest.raises(PermanentChannelError, match="needs a carrier"):
        provider.write_back(ship(raw, carrier="  "))
    assert len(responses.calls) == 0


@pytest.mark.parametrize("order_extra,line_extra,expected", [
    ({}, {}, "5281956426648"),                                         # the customer's order number
    ({"sellerOrderId": "SO-77"}, {}, "SO-77"),                         # Walmart already holds the seller's own id
    ({}, {"sellerOrderId": "LINE-5"}, "LINE-5"),
    ({"sellerOrderId": "X" * 40}, {}, "X" * 30),                       # the schema's 30-character limit
])
def test_seller_order_id_is_always_sent(provider, order_extra, line_extra, expected):
    raw = acknowledged_order(**order_extra)
    raw["orderLines"]["orderLine"][0].update(line_extra)
    line = provider.shipping_body(ship(raw), raw)["orderShipment"]["orderLines"]["orderLine"][0]
    assert line["sellerOrderId"] == expected


@responses.activate
def test_a_line_the_customer_intends_to_cancel_is_shipped_with_the_override_and_says_so(provider):
    responses.post(f"{BASE}/v3/token", json=fixture("walmart", "token_response.json"))
    responses.post(f"{BASE}/v3/orders/1796277083022/shipping", json={"order": {}})
    raw = acknowledged_order()
    raw["orderLines"]["orderLine"][0]["intentToCancel"] = "true"
    result = provider.write_back(ship(raw))
    (line,) = sent_lines(responses.calls[-1])
    assert line["intentToCancelOverride"] is True
    assert f"intent to cancel line(s) {line['lineNumber']}" in result.request_summary


# --- the simulator checks the body against the published schema -------------------------------------------
@pytest.fixture
def walmart_sim():
    from simulator.server import SimulatorServer

    server = SimulatorServer(host="127.0.0.1", port=0, order_count=5, names=["walmart"]).start()
    try:
        yield server.simulators["walmart"]
    finally:
        server.stop()


@pytest.fixture
def sim_provider(walmart_sim):
    config = dict(walmart_sim.demo_channel().config)
    made = Provider(config, http=ChannelHttpClient(config["baseUrl"], sleep=lambda _s: None))
    cache.delete(made.token_cache_key)
    yield made
    cache.delete(made.token_cache_key)


def _fresh_acknowledged(walmart_sim, sim_provider) -> dict:
    po = walmart_sim.add_order()["purchaseOrderId"]
    sim_provider.acknowledge([po])
    return sim_provider.fetch_order(po)


def _post_raw(walmart_sim, sim_provider, po: str, body: dict) -> requests.Response:
    headers = {"WM_SVC.NAME": "Walmart Marketplace", "WM_QOS.CORRELATION_ID": uuid.uuid4().hex,
               "WM_SEC.ACCESS_TOKEN": sim_provider.access_token(), "Content-Type": "application/json",
               "Accept": "application/json"}
    return requests.post(f"{walmart_sim.base_url}/v3/orders/{po}/shipping", json=body, headers=headers, timeout=10)


@pytest.mark.parametrize("breakage,field", [
    (lambda line, info: line.pop("sellerOrderId"), "sellerOrderId"),
    (lambda line, info: info.update(carrierName={"carrier": "Purolator"}), "carrier"),
    (lambda line, info: (info.update(carrierName={"otherCarrier": "Purolator"}), info.pop("trackingURL", None)),
     "trackingURL"),
    (lambda line, info: info.update(methodCode="Ground"), "methodCode"),
    (lambda line, info: info.pop("shipDateTime"), "shipDateTime"),
    (lambda line, info: line["orderLineStatuses"]["orderLineStatus"][0]["statusQuantity"].update(
        unitOfMeasurement="BOX"), "statusQuantity"),
])
def test_the_simulator_refuses_a_body_walmarts_schema_refuses(walmart_sim, sim_provider, breakage, field):
    raw = _fresh_acknowledged(walmart_sim, sim_provider)
    body = sim_provider.shipping_body(ship(raw, carrier="UPS", tracking_url="https://ups.test/t/1"), raw)
    line = body["orderShipment"]["orderLines"]["orderLine"][0]
    breakage(line, line["orderLineStatuses"]["orderLineStatus"][0]["trackingInfo"])

    answer = _post_raw(walmart_sim, sim_provider, raw["purchaseOrderId"], body)

    assert answer.status_code == 400
    (error,) = answer.json()["errors"]["error"]
    assert (error["code"], error["field"], error["severity"]) == ("INVALID_REQUEST_CONTENT.GMP_ORDER_API", field,
                                                                  "ERROR")
    assert error["description"]
    assert walmart_sim.writebacks[-1]["kind"] == "acknowledge"   # nothing shipped


def test_our_body_ships_at_the_simulator_with_an_enum_carrier_and_with_other_carrier(walmart_sim, sim_provider):
    first = _fresh_acknowledged(walmart_sim, sim_provider)
    sim_provider.write_back(ship(first, carrier="lasership", tracking_number="LS123"))
    second = _fresh_acknowledged(walmart_sim, sim_provider)
    sim_provider.write_back(ship(second, carrier="Purolator", tracking_number="PF9",
                                 tracking_url="https://purolator.test/t/PF9"))
    shipped = [w for w in walmart_sim.writebacks if w["kind"] == "ship_lines"]
    infos = [w["body"]["orderShipment"]["orderLines"]["orderLine"][0]["orderLineStatuses"]["orderLineStatus"][0][
        "trackingInfo"] for w in shipped]
    assert [info["carrierName"] for info in infos] == [{"carrier": "LS"}, {"otherCarrier": "Purolator"}]
    for raw, number in ((first, "LS123"), (second, "PF9")):
        after = Provider.normalize(sim_provider.fetch_order(raw["purchaseOrderId"]))
        assert (after.status, after.tracking_number) == (CommonStatus.SHIPPED, number)


def test_the_simulator_holds_back_a_line_the_customer_intends_to_cancel_without_the_override(walmart_sim,
                                                                                             sim_provider):
    raw = _fresh_acknowledged(walmart_sim, sim_provider)
    walmart_sim.get_order(raw["purchaseOrderId"])["orderLines"]["orderLine"][0]["intentToCancel"] = "true"
    body = sim_provider.shipping_body(ship(raw), raw)
    for line in body["orderShipment"]["orderLines"]["orderLine"]:
        line["intentToCancelOverride"] = False
    refused = _post_raw(walmart_sim, sim_provider, raw["purchaseOrderId"], body)
    assert refused.status_code == 400
    assert "intentToCancelOverride" in refused.json()["errors"]["error"][0]["description"]

    sim_provider.write_back(ship(sim_provider.fetch_order(raw["purchaseOrderId"])))   # reads intentToCancel
    assert Provider.normalize(sim_provider.fetch_order(raw["purchaseOrderId"])).status == CommonStatus.SHIPPED


# --- through the hub: the carrier checked before anything is queued, the tracking URL given where known ------
@pytest.mark.postgres
def test_a_walmart_shipment_through_the_hub(org, walmart_sim, django_capture_on_commit_callbacks):
    from channels_sync.models import AggregatedOrder, Channel, Outcome, Writeback
    from channels_sync.services.polling import sync_run, sync_start
    from channels_sync.services.writeback import order_status_update, writeback_attempt
    from core.api.exceptions import ApiError

    fresh = [walmart_sim.add_order()["purchaseOrderId"] for _ in range(2)]
    channel = Channel.objects.create(org=org, channel_id="walmart-ship", provider="walmart", enabled=True,
                                     config=walmart_sim.demo_channel().config, webhook_secret="")
    cache.delete(channel.provider_instance().token_cache_key)
    with django_capture_on_commit_callbacks():
        run = sync_start(channel=channel)
    assert sync_run(run_pk=run.pk).status == Outcome.SUCCEEDED
    first, second = (AggregatedOrder.objects.get(channel=channel, channel_order_id=po) for po in fresh)

    with pytest.raises(ApiError) as refused:
        order_status_update(order=first, status="shipped", tracking_number="1Z1", carrier=" ")
    assert refused.value.status_code == 400
    assert "Accepted carriers: UPS, USPS, FedEx" in refused.value.details["carrier"][0]
    assert not Writeback.objects.filter(order=first).exists()

    # A carrier outside Walmart's list goes as otherCarrier, which needs a tracking URL: none is known here.
    with pytest.raises(ApiError) as no_url:
        order_status_update(order=second, status="shipped", tracking_number="PF1", carrier="Purolator")
    assert no_url.value.status_code == 400
    assert "only with a tracking URL" in no_url.value.details["carrier"][0]
    assert not Writeback.objects.filter(order=second).exists()

    with django_capture_on_commit_callbacks():
        shipped = order_status_update(order=first, status="shipped", tracking_number="1Z999AA1", carrier="ups")
    writeback_attempt(writeback_pk=shipped.pk)
    shipped.refresh_from_db()
    assert shipped.status == Outcome.SUCCEEDED, shipped.last_error
    info = [w for w in walmart_sim.writebacks if w["kind"] == "ship_lines"][-1]["body"]["orderShipment"][
        "orderLines"]["orderLine"][0]["orderLineStatuses"]["orderLineStatus"][0]["trackingInfo"]
    assert (info["carrierName"], info["trackingURL"]) == ({"carrier": "UPS"},
                                                          "https://www.ups.com/track?tracknum=1Z999AA1")
    assert second.channel_order_id not in {w["orderId"] for w in walmart_sim.writebacks if w["kind"] == "ship_lines"}
    cache.delete(channel.provider_instance().token_cache_key)
