import pytest

from orders import services as orders
from orders.events import OrderEvent
from tests.orders.factories import stock
from workflows.models import Workflow

HOOK_URL = "https://93.184.215.14/hooks/orders"  # a public address: no DNS needed in tests


@pytest.fixture
def order(org):
    stock(org, A=10)
    order, _ = orders.checkout_cart(org=org, customer={"email": "buyer@example.com", "name": "Buyer"},
                                    lines=[{"sku": "A", "quantity": 2}],
                                    shipping_address={"line1": "1 Main St", "city": "Springfield"},
                                    payment={"gateway": "manual"})
    return order


def event_for(order, name="order.delivered", **data) -> OrderEvent:
    return OrderEvent(name=name, org_id=order.org_id, order_id=order.pk, order_number=order.order_number,
                      from_status="shipped", to_status="delivered", actor="staff",
                      occurred_at="2026-05-01T09:00:00Z", data=data)


def make_workflow(org, name="review", **fields) -> Workflow:
    defaults = {"trigger_event": "order.delivered", "actions": [{"type": "email", "template": "review_request"}]}
    return Workflow.objects.create(org=org, name=name, **{**defaults, **fields})


@pytest.fixture
def scheduled(monkeypatch):
    """execute_workflow_run tasks queued after commit: [(run_id, countdown)]."""
    from workflows.tasks import execute_workflow_run

    calls = []
    monkeypatch.setattr(execute_workflow_run, "apply_async",
                        lambda args, countdown=None, **kw: calls.append((args[0], countdown)))
    return calls
