import pytest
from django.db import connection

from channels_sync.models import AggregatedOrder, Channel, SyncRun, Writeback
from channels_sync.services import ingest
from channels_sync.services.polling import sync_run
from channels_sync.services.writeback import writeback_attempt
from tests.api import assert_tenant_isolation, error_code
from tests.channels_sync.fake_provider import raw_order

BASE = "/sales-channel"


def connect_body(**overrides):
    return {"channelId": "shop-main", "provider": "fakeshop", "webhookSecret": "s3cret",
            "config": {"shopDomain": "Main.Fake.Example", "accessToken": "tok-secret", "baseUrl": "https://fake.example"},
            **overrides}


def test_connect_hides_secrets_and_lists(owner):
    response = owner.client.post(f"{BASE}/channels", connect_body(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["config"] == {"shopDomain": "Main.Fake.Example", "baseUrl": "https://fake.example"}
    assert body["webhookSecretSet"] is True and "webhookSecret" not in body
    assert (body["enabled"], body["pollIntervalMinutes"]) == (False, 15)
    assert "tok-secret" not in response.content.decode() and "s3cret" not in response.content.decode()
    assert Channel.objects.get().account_identity == "main.fake.example"
    with connection.cursor() as cursor:  # credentials are encrypted at rest
        cursor.execute("SELECT config, webhook_secret FROM channels_sync_channel")
        stored = " ".join(str(v) for v in cursor.fetchone())
    assert "tok-secret" not in stored and "s3cret" not in stored
    listed = owner.client.get(f"{BASE}/channels").json()
    assert [c["channelId"] for c in listed["results"]] == ["shop-main"] and listed["total"] == 1


@pytest.mark.parametrize("body, field", [
    (connect_body(provider="nosuch"), "provider"),
    (connect_body(config={"shopDomain": "x"}), "config"),
    (connect_body(channelId="not a slug"), "channelId"),
    (connect_body(pollIntervalMinutes=0), "pollIntervalMinutes"),
])
def test_connect_validation(owner, body, field):
    response = owner.client.post(f"{BASE}/channels", body, format="json")
    assert response.status_code == 400 and field in response.json()["error"]["details"]


def test_connect_twice_is_409_and_viewer_cannot_connect(owner, viewer):
    owner.client.post(f"{BASE}/channels", connect_body(), format="json")
    again = owner.client.post(f"{BASE}/channels", connect_body(), format="json")
    assert again.status_code == 409 and error_code(again) == "channel_exists"
    assert viewer.client.post(f"{BASE}/channels", connect_body(channelId="x"), format="json").status_code == 403


def test_enable_registers_webhook_with_channel_query_and_disable_stops(owner, responses_mock):
    owner.client.post(f"{BASE}/channels", connect_body(), format="json")
    hook = responses_mock.post("https://fake.example/webhooks.json", json={"id": 9})
    response = owner.client.post(f"{BASE}/channels/shop-main/enable")
    assert response.status_code == 200 and response.json()["enabled"] is True
    sent = hook.calls[0].request.body.decode()
    assert "/upstream/webhooks/fakeshop/orders?channel=shop-main" in sent
    response = owner.client.post(f"{BASE}/channels/shop-main/disable")
    assert response.status_code == 200 and response.json()["enabled"] is False
    assert Channel.objects.get().enabled is False


def test_enable_refused_by_channel_is_502_and_stays_disabled(owner, responses_mock):
    owner.client.post(f"{BASE}/channels", connect_body(), format="json")
    responses_mock.post("https://fake.example/webhooks.json", status=401)
    response = owner.client.post(f"{BASE}/channels/shop-main/enable")
    assert response.status_code == 502 and Channel.objects.get().enabled is False


def test_one_shot_sync_is_202_and_the_run_shows_in_history_with_counts(owner, channel, responses_mock,
                                                                        django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = owner.client.post(f"{BASE}/orders/sync/{channel.channel_id}",
                                     {"fromDate": "2026-01-01T00:00:00Z", "status": "processing"}, format="json")
    assert response.status_code == 202 and len(callbacks) == 1
    run_id = response.json()["id"]
    assert response.json()["outcome"] == "pending"
    page = responses_mock.get("https://fake.example/orders.json",
                              json={"orders": [raw_order(1), raw_order(2)], "next_page": None})
    sync_run(run_pk=SyncRun.objects.get(public_id=run_id).pk)
    assert "status=processing" in page.calls[0].request.url and "updated_min=2026-01-01" in page.calls[0].request.url
    history = owner.client.get(f"{BASE}/sync/history", {"kind": "one_shot"}).json()
    assert history["results"][0]["id"] == run_id
    assert history["results"][0]["outcome"] == "succeeded"
    assert history["results"][0]["details"]["created"] == 2


@pytest.mark.parametrize("body, field", [
    ({"status": "lost"}, "status"), ({"fromDate": "yesterday"}, "fromDate"),
    ({"fromDate": "2026-02-01T00:00:00Z", "toDate": "2026-01-01T00:00:00Z"}, "toDate"),
])
def test_sync_validation(owner, channel, body, field):
    response = owner.client.post(f"{BASE}/orders/sync/{channel.channel_id}", body, format="json")
    assert response.status_code == 400 and field in response.json()["error"]["details"]


def test_sync_all_queues_one_run_per_enabled_channel(owner, org, channel, make_channel,
                                                     django_capture_on_commit_callbacks):
    make_channel(org, "second", shop="2.fake.example")
    make_channel(org, "off", shop="3.fake.example", enabled=False)
    with django_capture_on_commit_callbacks() as callbacks:
        response = owner.client.post(f"{BASE}/orders/sync", {}, format="json")
    assert response.status_code == 202 and len(response.json()["results"]) == 2 and len(callbacks) == 2


@pytest.fixture
def orders(org, channel, make_channel):
    eu = make_channel(org, "shop-eu", shop="eu.fake.example")
    ingest(channel=channel, raw_orders=[
        raw_order(1, created="2026-01-01T09:00:00Z", status="paid", total="10.00"),
        raw_order(2, created="2026-01-02T09:00:00Z", status="fulfilled", total="20.50"),
        raw_order(3, created="2026-01-03T09:00:00Z", status="paid", total="5.25"),
    ])
    ingest(channel=eu, raw_orders=[raw_order(4, created="2026-01-04T09:00:00Z", currency="EUR", total="7.00")])
    return {o.channel_order_id: o for o in AggregatedOrder.objects.all()}


def test_orders_list_filters_page_and_shape(owner, orders):
    everything = owner.client.get(f"{BASE}/orders").json()
    assert [o["channelOrderId"] for o in everything["results"]] == ["4", "3", "2", "1"]
    assert everything["total"] == 4
    filtered = owner.client.get(f"{BASE}/orders", {"channel": "shop-main", "status": "processing"}).json()
    assert [o["channelOrderId"] for o in filtered["results"]] == ["3", "1"] and filtered["total"] == 2
    dated = owner.client.get(f"{BASE}/orders", {"fromDate": "2026-01-02T00:00:00Z",
                                                "toDate": "2026-01-03T12:00:00Z"}).json()
    assert [o["channelOrderId"] for o in dated["results"]] == ["3", "2"] and dated["total"] == 2
    paged = owner.client.get(f"{BASE}/orders", {"page": 2, "pageSize": 3}).json()
    assert [o["channelOrderId"] for o in paged["results"]] == ["1"] and (paged["page"], paged["pageSize"]) == (2, 3)
    one = filtered["results"][0]
    assert set(one) == {"orderId", "channel", "channelOrderId", "channelOrderNumber", "status", "rawStatus",
                        "customer", "shippingAddress", "lines", "totals", "currency", "createdAt", "channelUpdatedAt",
                        "carrier", "trackingNumber", "writeback", "channelMetadata", "data"}
    assert one["orderId"].startswith("agg_") and one["channel"] == "shop-main"
    assert one["totals"] == {"subtotal": "5.25", "discount": "0.00", "tax": "0.00", "shipping": "0.00",
                             "grandTotal": "5.25"}
    assert one["lines"] == [{"sku": "SKU-1", "channelSku": "77", "quantity": 2, "unitPrice": "5.00"}]
    assert one["customer"] == {"email": "buyer3@example.com", "name": "Ann Buyer"}
    assert one["createdAt"] == "2026-01-03T09:00:00Z" and one["currency"] == "USD"
    assert one["channelMetadata"]["gift"] is True and one["channelMetadata"]["rawStatus"] == "paid"


@pytest.mark.parametrize("params, field", [({"status": "lost"}, "status"), ({"fromDate": "nope"}, "fromDate"),
                                           ({"channel": "bad channel"}, "channel")])
def test_orders_list_validation(owner, orders, params, field):
    response = owner.client.get(f"{BASE}/orders", params)
    assert response.status_code == 400 and field in response.json()["error"]["details"]


def test_order_detail_and_unknown_is_404(owner, orders):
    order = orders["2"]
    body = owner.client.get(f"{BASE}/orders/{order.public_id}").json()
    assert body["status"] == "shipped" and body["totals"]["grandTotal"] == "20.50"
    missing = owner.client.get(f"{BASE}/orders/agg_nothing")
    assert missing.status_code == 404 and error_code(missing) == "not_found"


def test_summary_counts_and_totals_by_channel_status_currency(viewer, orders):
    body = viewer.client.get(f"{BASE}/orders/stats/summary").json()
    assert body["byChannelAndStatus"] == [
        {"channel": "shop-eu", "status": "processing", "currency": "EUR", "count": 1, "grandTotal": "7.00"},
        {"channel": "shop-main", "status": "processing", "currency": "USD", "count": 2, "grandTotal": "15.25"},
        {"channel": "shop-main", "status": "shipped", "currency": "USD", "count": 1, "grandTotal": "20.50"},
    ]
    assert body["totals"] == [{"currency": "EUR", "count": 1, "grandTotal": "7.00"},
                              {"currency": "USD", "count": 3, "grandTotal": "35.75"}]
    assert {"channel": "shop-main", "currency": "USD", "count": 3, "grandTotal": "35.75"} in body["byChannel"]


def test_status_put_saves_now_and_queues_writeback_on_commit(owner, orders, responses_mock,
                                                             django_capture_on_commit_callbacks):
    order = orders["1"]
    with django_capture_on_commit_callbacks() as callbacks:
        response = owner.client.put(f"{BASE}/orders/{order.public_id}/status",
                                    {"status": "shipped", "trackingNumber": "1Z999AA1", "carrier": "ups"},
                                    format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "shipped" and response.json()["trackingNumber"] == "1Z999AA1"
    assert len(callbacks) == 1
    summary = owner.client.get(f"{BASE}/orders/stats/summary", {"channel": "shop-main"}).json()
    assert {"status": "shipped", "currency": "USD", "count": 2, "grandTotal": "30.50"} in summary["byStatus"]
    writeback = Writeback.objects.get()
    call = responses_mock.post(f"https://fake.example/orders/{order.channel_order_id}/fulfillments.json",
                               json={"id": 321})
    writeback_attempt(writeback_pk=writeback.pk)
    assert b'"tracking": "1Z999AA1"' in call.calls[0].request.body
    writeback.refresh_from_db()
    assert (writeback.status, writeback.channel_reference) == ("succeeded", "321")


@pytest.mark.parametrize("body, field", [({"status": "lost"}, "status"), ({"status": "shipped"}, "trackingNumber"),
                                         ({"status": "shipped", "trackingNumber": "  "}, "trackingNumber"),
                                         ({}, "status")])
def test_status_put_validation_changes_nothing(owner, orders, body, field):
    order = orders["1"]
    response = owner.client.put(f"{BASE}/orders/{order.public_id}/status", body, format="json")
    assert response.status_code == 400 and field in response.json()["error"]["details"]
    order.refresh_from_db()
    assert order.status == "processing" and not Writeback.objects.exists()


def test_viewer_cannot_change_status(viewer, orders):
    response = viewer.client.put(f"{BASE}/orders/{orders['1'].public_id}/status", {"status": "cancelled"},
                                 format="json")
    assert response.status_code == 403


@pytest.mark.parametrize("params, field", [({"kind": "nope"}, "kind"), ({"outcome": "meh"}, "outcome"),
                                           ({"pageSize": 500}, "pageSize")])
def test_history_validation(owner, params, field):
    response = owner.client.get(f"{BASE}/sync/history", params)
    assert response.status_code == 400 and field in response.json()["error"]["details"]


def test_every_endpoint_is_tenant_isolated(owner, other_owner, orders, channel, responses_mock):
    owner.client.put(f"{BASE}/orders/{orders['1'].public_id}/status", {"status": "cancelled"}, format="json")
    SyncRun.objects.create(org=channel.org, channel=channel, kind="poll")
    ids = [o.public_id for o in orders.values()]
    assert_tenant_isolation(
        other_owner,
        list_urls=[f"{BASE}/orders", f"{BASE}/orders?channel=shop-main", f"{BASE}/sync/history",
                   f"{BASE}/sync/history?channel=shop-main"],
        foreign_ids=ids + list(SyncRun.objects.values_list("public_id", flat=True))
        + list(Writeback.objects.values_list("public_id", flat=True)),
        id_field="orderId",
        detail_urls=[f"{BASE}/orders/{ids[0]}", f"{BASE}/channels/shop-main"],
        write_calls=[("put", f"{BASE}/orders/{ids[0]}/status", {"status": "refunded"}),
                     ("post", f"{BASE}/channels/shop-main/enable", {}),
                     ("post", f"{BASE}/channels/shop-main/disable", {}),
                     ("post", f"{BASE}/orders/sync/shop-main", {})],
    )
    # History items carry `id`, channels `channelId`: check those lists too.
    assert_tenant_isolation(other_owner, list_urls=[f"{BASE}/sync/history"],
                            foreign_ids=list(SyncRun.objects.values_list("public_id", flat=True)))
    assert_tenant_isolation(other_owner, list_urls=[f"{BASE}/channels"], foreign_ids=["shop-main"],
                            id_field="channelId")
    assert other_owner.client.get(f"{BASE}/orders/stats/summary").json()["totals"] == []
    synced = other_owner.client.post(f"{BASE}/orders/sync", {}, format="json")
    assert synced.status_code == 202 and synced.json()["results"] == []
    order = AggregatedOrder.objects.get(pk=orders["1"].pk)
    assert order.status == "cancelled" and Writeback.objects.count() == 1
    assert Channel.objects.get(pk=channel.pk).enabled is True
    assert SyncRun.objects.count() == 1

