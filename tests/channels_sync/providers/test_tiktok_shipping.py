"""TikTok writeback by shipping_type: a seller-shipped order's packages get the seller's tracking, one package per
parcel; a TikTok-shipped order is never given a self-shipment, its label's tracking is read back. The simulator
refuses what TikTok refuses, in TikTok's error envelope."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import responses
from django.core.cache import cache

from channels_sync.normalized import CommonStatus, WritebackRequest
from channels_sync.providers.errors import PermanentChannelError
from channels_sync.providers.http import ChannelHttpClient
from channels_sync.providers.tiktok import Provider
from tests.channels_sync.providers.tiktok_walmart_fixtures import fixture

BASE = "https://tts.test"
CONFIG = {"appKey": "38abcd", "appSecret": "fakeSecret", "accessToken": "TTP_tok", "shopId": "7494049642642441621",
          "shopCipher": "ROW_xkMbgAAAeVAQra0eZWebFQq5aIK", "baseUrl": BASE}
USPS, UPS = "7117858858072016686", "7117858858072016687"   # the simulator's shipping provider ids


def make_provider(**overrides) -> Provider:
    return Provider({**CONFIG, **overrides}, http=ChannelHttpClient(BASE, sleep=lambda _s: None))


def tiktok_order() -> dict:
    """The published Get Order Detail sample: shipping_type TIKTOK, one package, its label's tracking."""
    return fixture("tiktok", "get_order_detail_response.json")["data"]["orders"][0]


def shipped(raw, *, carrier="UPS", tracking="1Z999AA10123456784", lines=None, parcel=False) -> WritebackRequest:
    return WritebackRequest(channel_order_id=str(raw["id"]), status=CommonStatus.SHIPPED, lines=lines or [],
                            raw=raw, tracking_number=tracking, carrier=carrier, parcel=parcel)


# --- TikTok-shipped orders: read back, never self-shipped ---------------------------------------------------
@responses.activate
def test_a_tiktok_shipped_order_gets_no_self_shipment_and_its_label_tracking_is_read_back():
    raw = tiktok_order()
    package = fixture("tiktok", "get_package_detail_response.json")
    responses.get(f"{BASE}/fulfillment/202309/packages/1152321127278713123", json=package)

    result = make_provider().write_back(shipped(raw, carrier="Royal Mail", tracking="typed-by-staff"))

    assert [call.request.method for call in responses.calls] == ["GET"]   # nothing posted to TikTok
    assert result.tracking_number == package["data"]["tracking_number"]
    assert result.carrier == "TT Virtual express"
    assert "nothing sent: TikTok ships this order" in result.request_summary
    assert result.channel_reference == "1152321127278713123"


def test_a_tiktok_shipped_order_needs_no_carrier_but_a_seller_shipped_one_needs_a_known_one():
    provider = make_provider(shippingProviderIds={"Royal Mail": "7000000000000000001"})
    assert provider.carrier_problem(None, tiktok_order()) is None
    seller = {**tiktok_order(), "shipping_type": "SELLER", "delivery_option_id": ""}
    assert provider.carrier_problem("royal mail", seller) is None
    assert provider.carrier_problem(USPS, seller) is None          # an id given as it is
    assert provider.carrier_problem("Purolator", seller) == ["Royal Mail"]
    assert provider.carrier_problem("", seller) == ["Royal Mail"]


def test_an_unmappable_carrier_fails_naming_the_accepted_ones_before_any_write():
    seller = {**tiktok_order(), "shipping_type": "SELLER", "delivery_option_id": ""}
    with pytest.raises(PermanentChannelError, match="accepted carriers: Royal Mail"):
        make_provider(shippingProviderIds={"Royal Mail": "7000000000000000001"}).write_back(
            shipped(seller, carrier="Purolator"))


# --- against the simulator ------------------------------------------------------------------------------
@pytest.fixture
def tiktok_sim():
    from simulator.server import SimulatorServer

    server = SimulatorServer(host="127.0.0.1", port=0, order_count=45, names=["tiktok"]).start()
    sim = server.simulators["tiktok"]
    try:
        yield sim
    finally:
        server.stop()
        cache.delete(Provider(sim.demo_channel().config).token_cache_key)


def sim_provider(sim) -> Provider:
    config = dict(sim.demo_channel().config)
    return Provider(config, http=ChannelHttpClient(config["baseUrl"], sleep=lambda _s: None))


def awaiting_order(sim, *, units: int = 1) -> dict:
    """An order awaiting shipment with at least `units` live line items, in the package TikTok made at payment."""
    with sim.lock:
        for order in sim.orders.values():
            if order["status"] == "AWAITING_SHIPMENT" and len(order["line_items"]) >= units:
                order["packages"] = [{"id": sim._package_id(order)}]
                return sim.public(order)
    raise AssertionError("no such order in the catalogue")


def refusal(call) -> tuple[int, dict]:
    with pytest.raises(PermanentChannelError) as error:
        call()
    return error.value.channel_code, json.loads(error.value.response_body)


def test_the_simulator_refuses_a_self_shipment_on_a_tiktok_shipped_order(tiktok_sim):
    provider = sim_provider(tiktok_sim)
    raw = tiktok_sim.ship_by_platform(awaiting_order(tiktok_sim)["id"], label=False)
    package = raw["packages"][0]["id"]
    shipment = {"tracking_number": "1Z999AA1", "shipping_provider_id": UPS}
    for path, body in ((f"/fulfillment/202309/packages/{package}/ship", {"self_shipment": shipment}),
                       (f"/fulfillment/202309/orders/{raw['id']}/packages", shipment)):
        code, envelope = refusal(lambda path=path, body=body: provider.call("POST", path, body=body))
        assert code == 21008025
        assert set(envelope) >= {"code", "message", "request_id"}
        assert "fulfilled by platform" in envelope["message"]
    assert tiktok_sim.writebacks == []


@pytest.mark.parametrize("shipment,code", [
    ({"tracking_number": "1Z999AA1", "shipping_provider_id": "6617675021119438849"}, 21011022),  # not offered
    ({"tracking_number": "1Z999AA1"}, 21001001),
    ({"shipping_provider_id": UPS}, 21001001),
    ({"tracking_number": "  ", "shipping_provider_id": UPS}, 21001001),
])
def test_the_simulator_refuses_an_unknown_provider_or_a_missing_field(tiktok_sim, shipment, code):
    provider = sim_provider(tiktok_sim)
    raw = awaiting_order(tiktok_sim)
    package = raw["packages"][0]["id"]
    got, envelope = refusal(lambda: provider.call("POST", f"/fulfillment/202309/packages/{package}/ship",
                                                  body={"self_shipment": shipment}))
    assert got == code and envelope["message"] and envelope["request_id"]
    assert tiktok_sim.get_order(raw["id"])["status"] == "AWAITING_SHIPMENT"


def test_two_parcels_become_two_packages_each_with_its_own_tracking(tiktok_sim):
    provider = sim_provider(tiktok_sim)
    raw = awaiting_order(tiktok_sim, units=2)
    first_id, second_id = raw["line_items"][0]["id"], raw["line_items"][1]["id"]
    line = Provider.normalize(raw).lines[0]

    one = provider.write_back(shipped(raw, tracking="1ZFIRST", parcel=True,
                                      lines=[replace(line, channel_line_id=first_id, quantity=1)]))
    assert tiktok_sim.get_order(raw["id"])["status"] == "PARTIALLY_SHIPPING"
    two = provider.write_back(shipped(raw, carrier="USPS", tracking="9400SECOND", parcel=True,
                                      lines=[replace(line, channel_line_id=second_id, quantity=1)]))

    kinds = [(w["kind"], w["body"].get("order_line_item_ids"), w["body"].get("tracking_number"))
             for w in tiktok_sim.writebacks]
    assert kinds == [("mark_package_shipped", [first_id], "1ZFIRST"),
                     ("mark_package_shipped", [second_id], "9400SECOND")]
    after = tiktok_sim.get_order(raw["id"])
    by_id = {item["id"]: item for item in after["line_items"]}
    assert (by_id[first_id]["tracking_number"], by_id[second_id]["tracking_number"]) == ("1ZFIRST", "9400SECOND")
    assert by_id[first_id]["package_id"] != by_id[second_id]["package_id"]
    assert {one.channel_reference, two.channel_reference} == {by_id[first_id]["package_id"],
                                                             by_id[second_id]["package_id"]}
    # The first parcel's units keep their tracking: the second never re-shipped or updated them.
    assert "update_shipping_info" not in {w["kind"] for w in tiktok_sim.writebacks}


def test_a_whole_order_ships_its_payment_time_package(tiktok_sim):
    provider = sim_provider(tiktok_sim)
    raw = awaiting_order(tiktok_sim, units=2)
    provider.write_back(shipped(raw, carrier="usps", tracking="9400WHOLE"))
    assert [(w["kind"], w["packageId"]) for w in tiktok_sim.writebacks] == [("ship_package", raw["packages"][0]["id"])]
    after = Provider.normalize(provider.fetch_order(raw["id"]))
    assert (after.status, after.tracking_number) == (CommonStatus.SHIPPED, "9400WHOLE")


# --- through the hub --------------------------------------------------------------------------------------
@pytest.mark.postgres
def test_through_the_hub_carrier_checked_first_and_tiktok_tracking_read_back(org, tiktok_sim,
                                                                             django_capture_on_commit_callbacks):
    from channels_sync.models import AggregatedOrder, Channel, Outcome, Writeback
    from channels_sync.services.polling import sync_run, sync_start
    from channels_sync.services.writeback import order_status_update, writeback_attempt
    from core.api.exceptions import ApiError

    seller_po = awaiting_order(tiktok_sim)["id"]
    platform_po = next(o["id"] for o in tiktok_sim.orders.values()
                       if o["status"] == "AWAITING_SHIPMENT" and o["id"] != seller_po)
    label = tiktok_sim.ship_by_platform(platform_po)["tracking_number"]
    demo = tiktok_sim.demo_channel()
    channel = Channel.objects.create(org=org, channel_id="tiktok-ship", provider="tiktok", enabled=True,
                                     config=demo.config, webhook_secret=demo.webhook_secret)
    with django_capture_on_commit_callbacks():
        run = sync_start(channel=channel)
    assert sync_run(run_pk=run.pk).status == Outcome.SUCCEEDED
    seller = AggregatedOrder.objects.get(channel=channel, channel_order_id=seller_po)
    platform = AggregatedOrder.objects.get(channel=channel, channel_order_id=platform_po)

    # A carrier TikTok's delivery option does not offer: a 400 naming those it does, nothing queued or sent.
    with pytest.raises(ApiError) as refused:
        order_status_update(order=seller, status="shipped", tracking_number="PF1", carrier="Purolator")
    assert refused.value.status_code == 400
    assert refused.value.details["carrier"][0].endswith("Accepted carriers: USPS, UPS, FedEx, DHL eCommerce.")
    assert not Writeback.objects.filter(order=seller).exists() and tiktok_sim.writebacks == []

    # A TikTok-shipped order: no carrier needed, no self-shipment sent, TikTok's label tracking stored instead.
    with django_capture_on_commit_callbacks():
        writeback = order_status_update(order=platform, status="shipped", tracking_number="typed-by-staff")
    writeback_attempt(writeback_pk=writeback.pk)
    writeback.refresh_from_db()
    platform.refresh_from_db()
    assert writeback.status == Outcome.SUCCEEDED, writeback.last_error
    assert tiktok_sim.writebacks == []
    assert (platform.tracking_number, platform.carrier) == (label, "TT Virtual express")
    assert writeback.tracking_number == label


@responses.activate
def test_carriers_come_from_the_delivery_option_and_an_outage_there_is_no_400():
    seller = {**tiktok_order(), "shipping_type": "SELLER"}
    providers = f"{BASE}/logistics/202309/delivery_options/7091146663229654785/shipping_providers"
    responses.get(providers, status=503)
    assert make_provider().carrier_problem("UPS", seller) is None    # TikTok cannot say now: the writeback will
    assert make_provider().carrier_problem("", seller) == []          # but a missing carrier is still refused
    responses.replace(responses.GET, providers, json={"code": 0, "message": "Success", "request_id": "r", "data": {
        "shipping_providers": [{"id": USPS, "name": "USPS"}, {"id": UPS, "name": "UPS"}]}})
    assert make_provider().carrier_problem("ups", seller) is None
    assert make_provider().carrier_problem("Purolator", seller) == ["USPS", "UPS"]


@pytest.mark.postgres
def test_two_storefront_parcels_of_a_linked_tiktok_order_become_two_packages(org, tiktok_sim, monkeypatch,
                                                                           django_capture_on_commit_callbacks):
    """A storefront order made from a TikTok order (two units of one SKU, one of another) ships in two parcels:
    the first (one unit of each) becomes a package of its own by Mark Package As Shipped, the second (the other
    unit) ships what is left of TikTok's package; each with its own tracking."""
    from channels_sync.models import AggregatedOrder, Channel, Outcome, Writeback
    from channels_sync.services import ingest
    from channels_sync.services.writeback import writeback_attempt
    from channels_sync.tasks import create_local_orders, run_writeback
    from orders.services import inventory_set_on_hand, order_ship
    from orders.tasks import run_event_handler

    raw = awaiting_order(tiktok_sim, units=1)
    with tiktok_sim.lock:
        stored = tiktok_sim.orders[raw["id"]]
        template = stored["line_items"][0]
        a, b = ({**template, "seller_sku": "SKU-A", "sku_id": "1001"}, {**template, "seller_sku": "SKU-B",
                                                                          "sku_id": "1002"})
        base = int(raw["id"]) * 10
        stored["line_items"] = [{**a, "id": str(base + 1)}, {**a, "id": str(base + 2)}, {**b, "id": str(base + 3)}]
    a1, a2, b1 = (str(base + n) for n in (1, 2, 3))
    channel = Channel.objects.create(org=org, channel_id="tiktok-linked", provider="tiktok", enabled=True,
                                     create_local_orders=True, config=tiktok_sim.demo_channel().config,
                                     webhook_secret=tiktok_sim.demo_channel().webhook_secret)
    for sku in ("SKU-A", "SKU-B"):
        inventory_set_on_hand(org=org, sku=sku, on_hand=5, unit_price=template["sale_price"])
    with django_capture_on_commit_callbacks(execute=False):
        ingest(channel=channel, raw_orders=[sim_provider(tiktok_sim).fetch_order(raw["id"])])
    linked = AggregatedOrder.objects.get(channel=channel)
    create_local_orders.run([linked.pk])
    linked.refresh_from_db()
    assert linked.local_order is not None

    handler_tasks, writeback_tasks = [], []
    monkeypatch.setattr(run_event_handler, "apply_async", lambda args, **kw: handler_tasks.append(args))
    monkeypatch.setattr(run_writeback, "apply_async", lambda args, **kw: writeback_tasks.append(args[0]))
    for tracking, items in (("1ZPARCELONE", [{"sku": "SKU-A", "quantity": 1}, {"sku": "SKU-B", "quantity": 1}]),
                            ("1ZPARCELTWO", [{"sku": "SKU-A", "quantity": 1}])):
        with django_capture_on_commit_callbacks(execute=True):
            order_ship(org=org, order_number=linked.local_order.order_number, carrier="UPS",
                       tracking_number=tracking, items=items)
        with django_capture_on_commit_callbacks(execute=True):
            for args in handler_tasks:
                if args[0] == "channels_sync.services.storefront_link.on_order_shipped":
                    run_event_handler(*args)
        handler_tasks.clear()
        for pk in writeback_tasks:
            writeback_attempt(writeback_pk=pk)
        writeback_tasks.clear()

    assert set(Writeback.objects.filter(order=linked).values_list("status", flat=True)) == {Outcome.SUCCEEDED}
    sent = [(w["kind"], sorted(w["body"].get("order_line_item_ids") or []),
             w["body"].get("tracking_number") or w["body"].get("self_shipment", {}).get("tracking_number"))
            for w in tiktok_sim.writebacks]
    assert sent == [("mark_package_shipped", sorted([a1, b1]), "1ZPARCELONE"), ("ship_package", [], "1ZPARCELTWO")]
    after = {item["id"]: item for item in tiktok_sim.get_order(raw["id"])["line_items"]}
    assert [after[i]["tracking_number"] for i in (a1, b1, a2)] == ["1ZPARCELONE", "1ZPARCELONE", "1ZPARCELTWO"]
    assert after[a1]["package_id"] == after[b1]["package_id"] != after[a2]["package_id"]
    assert tiktok_sim.get_order(raw["id"])["status"] == "IN_TRANSIT"
