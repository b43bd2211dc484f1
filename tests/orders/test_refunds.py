"""Refunds: arithmetic, states, idempotency, and the Stripe gateway mocked at the wire."""

import json
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
import responses

from orders.models import Activity, Order, Refund
from tests.orders.factories import order_in

STRIPE_REFUNDS = "https://api.stripe.com/v1/refunds"


def stripe_refund(amount: int, pi: str = "pi_3MtwBwLkdIwHu7ix28a3tqPa", rid: str = "re_1Nispe2eZvKYlo2Cd31jOCgZ"):
    """Stripe's documented refund object (docs.stripe.com/api/refunds/object)."""
    return {
        "id": rid, "object": "refund", "amount": amount, "balance_transaction": "txn_1Nispe2eZvKYlo2CYezqFhEx",
        "charge": "ch_1NirD82eZvKYlo2CIvbtLWuY", "created": 1692942318, "currency": "usd",
        "destination_details": {"card": {"reference": "123456789012", "reference_status": "available",
                                         "reference_type": "acquirer_reference_number", "type": "refund"},
                                "type": "card"},
        "metadata": {}, "payment_intent": pi, "reason": None, "receipt_number": None,
        "source_transfer_reversal": None, "status": "succeeded", "transfer_reversal": None,
    }


def refund(actor, order, body, **headers):
    return actor.client.post(f"/storefront/order/refund/{order.order_number}", body, format="json", **headers)


def snapshot(order):
    order = Order.objects.get(pk=order.pk)
    return (order.status, order.refunded_total, Refund.objects.filter(order=order).count(),
            [(line.sku, line.quantity_refunded) for line in order.lines.all()],
            Activity.objects.filter(order=order).count())


def test_partial_then_full_refund(manager, stocked):
    order = order_in(manager.org, "delivered")  # 2 x A + 1 x B at 10.00 = 30.00 captured
    first = refund(manager, order, {"amount": "12.50", "reason": "late"})
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["status"] == "delivered"
    assert (body["totals"]["refunded"], body["totals"]["refundable"]) == ("12.50", "17.50")
    assert body["refunds"][0]["gatewayReference"].startswith("manual_")
    second = refund(manager, order, {"reason": "gave up"}).json()
    assert second["status"] == "refunded"
    assert (second["totals"]["refunded"], second["totals"]["refundable"]) == ("30.00", "0.00")
    assert [r["amount"] for r in second["refunds"]] == ["12.50", "17.50"]
    assert second["frozen"] is True


def test_refund_by_items_defaults_to_their_value(manager, stocked):
    order = order_in(manager.org, "shipped")
    body = refund(manager, order, {"items": [{"sku": "A", "quantity": 1}], "reason": "broken"}).json()
    assert body["totals"]["refunded"] == "10.00"
    assert [(line["sku"], line["quantityRefunded"]) for line in body["lines"]] == [("A", 1), ("B", 0)]
    assert body["refunds"][0]["items"] == [{"sku": "A", "quantity": 1}]
    assert body["status"] == "shipped"


@pytest.mark.parametrize(("body", "field"), [
    ({"amount": "30.01", "reason": "x"}, "amount"),
    ({"amount": "0", "reason": "x"}, "amount"),
    ({"items": [{"sku": "A", "quantity": 3}], "reason": "x"}, "items"),
    ({"items": [{"sku": "Z", "quantity": 1}], "reason": "x"}, "items"),
    ({"amount": "5.00"}, "reason"),
])
def test_invalid_refunds_are_400_and_change_nothing(manager, stocked, body, field):
    order = order_in(manager.org, "completed")
    before = snapshot(order)
    response = refund(manager, order, body)
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    assert snapshot(order) == before


def test_cancelled_order_refund_moves_money_only(manager, stocked):
    order = order_in(manager.org, "cancelled")
    body = refund(manager, order, {"reason": "cancelled by us"}).json()
    assert (body["status"], body["totals"]["refunded"]) == ("cancelled", "30.00")
    again = refund(manager, order, {"reason": "again"})
    assert again.status_code == 409
    assert again.json()["error"]["details"]["allowedVerbs"] == []


def test_cancelled_order_without_captured_payment_cannot_be_refunded(manager, stocked):
    order = order_in(manager.org, "cancelled", payment={})
    response = refund(manager, order, {"reason": "nothing was paid"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"


def test_refund_idempotency_key_refunds_once(manager, stocked):
    order = order_in(manager.org, "delivered")
    first = refund(manager, order, {"amount": "5.00", "reason": "x"}, HTTP_IDEMPOTENCY_KEY="rf-1")
    again = refund(manager, order, {"amount": "5.00", "reason": "x"}, HTTP_IDEMPOTENCY_KEY="rf-1")
    assert first.status_code == again.status_code == 200
    assert again.json()["totals"]["refunded"] == "5.00"
    assert Refund.objects.filter(order=order).count() == 1


@pytest.fixture
def stripe_order(manager, stocked, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
    return order_in(manager.org, "delivered", payment={"gateway": "stripe", "reference": "pi_3MtwBwLkdIwHu7ix28a3tqPa"})


@responses.activate
def test_stripe_refund_posts_to_the_payment_intent_with_an_idempotency_key(manager, stripe_order):
    responses.post(STRIPE_REFUNDS, json=stripe_refund(1250))
    body = refund(manager, stripe_order, {"amount": "12.50", "reason": "requested_by_customer"}).json()
    assert body["refunds"][0]["gatewayReference"] == "re_1Nispe2eZvKYlo2Cd31jOCgZ"
    assert body["totals"]["refunded"] == "12.50"
    call = responses.calls[0].request
    form = parse_qs(call.body if isinstance(call.body, str) else call.body.decode())
    assert form["payment_intent"] == ["pi_3MtwBwLkdIwHu7ix28a3tqPa"]
    assert form["amount"] == ["1250"]
    assert form["reason"] == ["requested_by_customer"]
    assert form["metadata[orderNumber]"] == [stripe_order.order_number]
    assert call.headers["Authorization"] == "Bearer sk_test_4eC39HqLyjWDarjtT1zdp7dc"
    key = call.headers["Idempotency-Key"]
    assert key == Refund.objects.get(order=stripe_order).idempotency_key


@responses.activate
def test_two_refunds_use_different_keys_and_free_text_reasons_go_to_metadata(manager, stripe_order):
    responses.post(STRIPE_REFUNDS, json=stripe_refund(500))
    responses.post(STRIPE_REFUNDS, json=stripe_refund(2500, rid="re_2"))
    refund(manager, stripe_order, {"amount": "5.00", "reason": "scratched box"})
    refund(manager, stripe_order, {"reason": "rest"})
    keys = [c.request.headers["Idempotency-Key"] for c in responses.calls]
    assert len(set(keys)) == 2
    form = parse_qs(responses.calls[0].request.body)
    assert "reason" not in form and form["metadata[reason]"] == ["scratched box"]
    assert parse_qs(responses.calls[1].request.body)["amount"] == ["2500"]
    stripe_order.refresh_from_db()
    assert stripe_order.status == "refunded"


@pytest.mark.parametrize(("status", "payload"), [
    (400, {"error": {"code": "charge_already_refunded",
                     "doc_url": "https://stripe.com/docs/error-codes/charge-already-refunded",
                     "message": "Charge ch_1NirD82eZvKYlo2CIvbtLWuY has already been refunded.",
                     "request_log_url": "https://dashboard.stripe.com/test/logs/req_x",
                     "type": "invalid_request_error"}}),
    (500, {"error": {"message": "An unknown error occurred", "type": "api_error"}}),
])
@responses.activate
def test_stripe_failure_is_502_and_nothing_changes(manager, stripe_order, status, payload):
    responses.post(STRIPE_REFUNDS, body=json.dumps(payload), status=status, content_type="application/json")
    before = snapshot(stripe_order)
    response = refund(manager, stripe_order, {"items": [{"sku": "A", "quantity": 1}], "reason": "x"})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "gateway_error"
    assert response.json()["error"]["details"]["gateway"] == "stripe"
    assert snapshot(stripe_order) == before


@responses.activate
def test_stripe_unreachable_is_502(manager, stripe_order):
    import requests

    responses.post(STRIPE_REFUNDS, body=requests.ConnectionError("connection refused"))
    before = snapshot(stripe_order)
    assert refund(manager, stripe_order, {"reason": "x"}).status_code == 502
    assert snapshot(stripe_order) == before


def test_refund_arithmetic_never_exceeds_captured(stocked, org):
    from orders import services

    order = order_in(org, "completed")
    for amount in ["0.01", "9.99", "10.00"]:
        services.order_refund(org=org, order_number=order.order_number, amount=Decimal(amount), reason="x")
    order.refresh_from_db()
    assert order.refunded_total == Decimal("20.00") and order.refundable_total == Decimal("10.00")


def test_api_refund_restocks_returned_units_and_can_skip_the_email(manager, stocked, org, dispatched,
                                                                  django_capture_on_commit_callbacks):
    from orders.models import EmailLog, InventoryItem

    order = order_in(org, "shipped")  # A x2, B x1 shipped: on hand A 8, B 9
    no_items = refund(manager, order, {"reason": "returned", "restock": True})
    assert no_items.status_code == 400 and "items" in no_items.json()["error"]["details"]
    dispatched.calls.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = refund(manager, order, {"reason": "returned", "items": [{"sku": "A", "quantity": 2}],
                                           "restock": True, "notifyCustomer": False})
    assert response.status_code == 200, response.json()
    assert InventoryItem.objects.get(org=org, sku="A").on_hand == 10
    assert InventoryItem.objects.get(org=org, sku="B").on_hand == 9
    assert Activity.objects.filter(order=order, verb="refund").last().data["restocked"] == {"A": 2}
    dispatched.run_all()
    assert not EmailLog.objects.filter(order=order, kind="refunded").exists()
