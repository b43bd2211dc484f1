"""Every verb of the docs/architecture.md state table, from every allowed state, and one disallowed state each."""

import pytest

from orders import services
from orders.models import Activity
from tests.api import error_code
from tests.orders.factories import order_in

BODIES = {
    "ship": {"carrier": "ups", "tracking": "1Z999AA10123456784"},
    "hold": {"reason": "fraud check"},
    "refund": {"reason": "damaged"},
    "cancel": {"reason": "customer asked"},
}

ALLOWED = [
    ("process", "new", "processing"),
    ("ship", "processing", "shipped"),
    ("deliver", "shipped", "delivered"),
    ("complete", "delivered", "completed"),
    ("hold", "new", "on-hold"),
    ("hold", "processing", "on-hold"),
    ("cancel", "new", "cancelled"),
    ("cancel", "processing", "cancelled"),
    ("cancel", "on-hold", "cancelled"),
    ("refund", "shipped", "refunded"),
    ("refund", "delivered", "refunded"),
    ("refund", "completed", "refunded"),
    ("refund", "cancelled", "cancelled"),  # money only: a cancelled order stays cancelled
]

DISALLOWED = [
    ("process", "processing"),
    ("ship", "new"),
    ("deliver", "processing"),
    ("complete", "shipped"),
    ("hold", "shipped"),
    ("release", "new"),
    ("cancel", "shipped"),
    ("refund", "new"),
    ("process", "refunded"),
]


@pytest.mark.parametrize(("verb", "source", "target"), ALLOWED)
def test_verb_from_allowed_state(manager, stocked, verb, source, target):
    order = order_in(manager.org, source)
    response = manager.client.post(f"/storefront/order/{verb}/{order.order_number}", BODIES.get(verb, {}),
                                   format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == target
    last = Activity.objects.filter(order=order).last()
    assert (last.verb, last.from_status, last.to_status, last.actor) == (verb, source, target, manager.user)
    assert body["activity"][-1]["actor"] == manager.user.username


@pytest.mark.parametrize("prior", ["new", "processing"])
def test_release_returns_to_the_prior_state(manager, stocked, prior):
    order = order_in(manager.org, prior)
    services.order_hold(org=manager.org, order_number=order.order_number, reason="check")
    response = manager.client.post(f"/storefront/order/release/{order.order_number}", {}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == prior
    assert response.json()["priorStatus"] == ""


@pytest.mark.parametrize(("verb", "state"), DISALLOWED)
def test_verb_from_disallowed_state_is_409_naming_state_and_allowed_verbs(manager, stocked, verb, state):
    order = order_in(manager.org, state)
    before = Activity.objects.filter(order=order).count()
    response = manager.client.post(f"/storefront/order/{verb}/{order.order_number}", BODIES.get(verb, {}),
                                   format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "invalid_transition"
    assert error["details"]["currentState"] == state
    assert error["details"]["allowedVerbs"] == services.allowed_verbs(order)
    assert state in error["message"]
    order.refresh_from_db()
    assert order.status == state
    assert Activity.objects.filter(order=order).count() == before


def test_allowed_verbs_in_the_409_are_the_real_ones(manager, stocked):
    order = order_in(manager.org, "new")
    response = manager.client.post(f"/storefront/order/deliver/{order.order_number}", {}, format="json")
    assert sorted(response.json()["error"]["details"]["allowedVerbs"]) == ["cancel", "hold", "process"]


def test_hold_without_reason_is_400(manager, stocked):
    order = order_in(manager.org, "new")
    response = manager.client.post(f"/storefront/order/hold/{order.order_number}", {}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()["error"]["details"]


def test_ship_without_carrier_or_tracking_is_400(manager, stocked):
    order = order_in(manager.org, "processing")
    response = manager.client.post(f"/storefront/order/ship/{order.order_number}", {"carrier": "ups"}, format="json")
    assert response.status_code == 400
    assert "tracking" in response.json()["error"]["details"]


def test_viewer_cannot_transition(viewer, stocked):
    order = order_in(viewer.org, "new")
    response = viewer.client.post(f"/storefront/order/process/{order.order_number}", {}, format="json")
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == "new"


def test_unknown_order_is_404(manager):
    response = manager.client.post("/storefront/order/process/ORD-2026-9999", {}, format="json")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_completed_order_is_locked_against_updates_but_refundable(manager, stocked):
    order = order_in(manager.org, "completed")
    response = manager.client.post(f"/storefront/order/update/{order.order_number}", {"notes": "x"}, format="json")
    assert response.status_code == 409
    assert error_code(response) == "order_locked"
    detail = manager.client.get(f"/storefront/order/{order.order_number}").json()
    assert detail["locked"] is True and detail["frozen"] is False
    assert detail["allowedVerbs"] == ["refund"]


def test_refunded_order_is_frozen(manager, stocked):
    order = order_in(manager.org, "refunded")
    detail = manager.client.get(f"/storefront/order/{order.order_number}").json()
    assert detail["frozen"] is True and detail["allowedVerbs"] == []
    response = manager.client.post(f"/storefront/order/refund/{order.order_number}", {"reason": "again"},
                                   format="json")
    assert response.status_code == 409
