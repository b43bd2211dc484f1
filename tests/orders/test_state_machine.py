"""Hypothesis walks the docs/architecture.md transition table with random verbs, partial shipments and refunds,
and checks that status, stock and money always match an independent model of the table."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from core.api.exceptions import ApiError
from orders import services
from orders.models import InventoryItem, Order
from tests.accounts.factories import OrgFactory
from tests.orders.factories import checkout, stock

# The table from docs/architecture.md, written out independently of the model's decorators.
TABLE = {
    "process": {"new"},
    "ship": {"processing"},
    "deliver": {"shipped"},
    "complete": {"delivered"},
    "hold": {"new", "processing"},
    "release": {"on-hold"},
    "cancel": {"new", "processing", "on-hold"},
    "refund": {"shipped", "delivered", "completed", "cancelled"},
}
SIMPLE_TARGET = {"process": "processing", "deliver": "delivered", "complete": "completed", "hold": "on-hold",
                 "cancel": "cancelled"}
PRICE = Decimal("10.00")
ON_HAND = 20


class OrderLifecycle(RuleBasedStateMachine):
    @initialize(qa=st.integers(1, 4), qb=st.integers(1, 4))
    def checkout(self, qa, qb):
        self.org = OrgFactory()
        stock(self.org, A=ON_HAND, B=ON_HAND)
        self.number = checkout(self.org, {"A": qa, "B": qb}).order_number
        self.qty = {"A": qa, "B": qb}
        self.shipped = {"A": 0, "B": 0}
        self.status, self.prior = "new", ""
        self.on_hand = {"A": ON_HAND, "B": ON_HAND}
        self.reserved = dict(self.qty)
        self.captured = PRICE * (qa + qb)
        self.refunded = Decimal("0.00")

    def _call(self, verb, **kwargs):
        """Run the service; return the ApiError status if it refused (and then nothing may change)."""
        before = self._snapshot()
        try:
            services.order_transition(verb, org=self.org, order_number=self.number, **kwargs)
        except ApiError as exc:
            assert self._snapshot() == before
            return exc.status_code
        return 200

    def _allowed(self, verb):
        if verb == "refund":
            return self.status in TABLE["refund"] and self.refunded < self.captured
        return self.status in TABLE[verb]

    def _snapshot(self):
        order = Order.objects.get(org=self.org, order_number=self.number)
        stock_rows = sorted(InventoryItem.objects.filter(org=self.org).values_list("sku", "on_hand", "reserved"))
        lines = sorted(order.lines.values_list("sku", "quantity_shipped", "quantity_refunded"))
        return order.status, order.prior_status, order.refunded_total, stock_rows, lines

    @rule(verb=st.sampled_from(["process", "deliver", "complete", "release"]))
    def simple(self, verb):
        code = self._call(verb)
        if not self._allowed(verb):
            assert code == 409
            return
        assert code == 200
        if verb == "release":
            self.status, self.prior = self.prior, ""
        else:
            self.status = SIMPLE_TARGET[verb]

    @rule()
    def hold(self):
        allowed, source = self._allowed("hold"), self.status
        assert self._call("hold", reason="check") == (200 if allowed else 409)
        if allowed:
            self.status, self.prior = "on-hold", source

    @rule()
    def cancel(self):
        allowed = self._allowed("cancel")
        assert self._call("cancel") == (200 if allowed else 409)
        if allowed:
            for sku in self.qty:
                self.reserved[sku] -= self.qty[sku] - self.shipped[sku]
            self.status, self.prior = "cancelled", ""

    @rule(a=st.integers(0, 5), b=st.integers(0, 5))
    def ship(self, a, b):
        wanted = {sku: q for sku, q in (("A", a), ("B", b)) if q}
        items = [{"sku": sku, "quantity": q} for sku, q in wanted.items()] or None
        code = self._call("ship", carrier="ups", tracking_number="1Z", items=items)
        if not self._allowed("ship"):
            assert code == 409
            return
        if items is None:
            wanted = {sku: self.qty[sku] - self.shipped[sku] for sku in self.qty}
        if any(q > self.qty[sku] - self.shipped[sku] for sku, q in wanted.items()):
            assert code == 400
            return
        assert code == 200
        for sku, q in wanted.items():
            self.shipped[sku] += q
            self.on_hand[sku] -= q
            self.reserved[sku] -= q
        if self.shipped == self.qty:
            self.status = "shipped"

    @rule(cents=st.integers(1, 9000))
    def refund(self, cents):
        amount = Decimal(cents) / 100
        code = self._call("refund", amount=amount, reason="r")
        if not self._allowed("refund"):
            assert code == 409
            return
        if amount > self.captured - self.refunded:
            assert code == 400
            return
        assert code == 200
        self.refunded += amount
        if self.refunded == self.captured and self.status != "cancelled":
            self.status = "refunded"

    @invariant()
    def matches_the_model(self):
        if not hasattr(self, "org"):
            return
        status, prior, refunded, stock_rows, lines = self._snapshot()
        assert (status, prior) == (self.status, self.prior)
        assert refunded == self.refunded <= self.captured
        assert stock_rows == [(sku, self.on_hand[sku], self.reserved[sku]) for sku in ("A", "B")]
        assert all(on_hand >= reserved >= 0 for _, on_hand, reserved in stock_rows)
        assert [(sku, shipped) for sku, shipped, _ in lines] == sorted(self.shipped.items())


@pytest.mark.django_db
def test_lifecycle_state_machine():
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        OrderLifecycle,
        settings=settings(max_examples=40, stateful_step_count=15, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow]),
    )
