"""A small org with one of everything, so fuzzed requests can also name objects that exist.

Built through the real services inside the test's transaction. `aim(case)` points half of the
generated cases' path parameters at these objects (the other half keep the generated values, which
mostly find nothing): transitions then meet real orders in the state their verb needs.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property

from channels_sync.models import AggregatedOrder, Channel
from channels_sync.services.ingest import ingest
from orders.models import InventoryItem, Shipment
from subscriptions import services as subscriptions
from tests.accounts.factories import OrgFactory
from tests.api import make_actor
from tests.channels_sync.providers.fixtures import shopify_order
from tests.orders.factories import order_in
from workflows.models import Workflow

ADDRESS = {"line1": "1 Main St", "city": "Springfield", "country": "US"}
# The state an order must be in for each verb to succeed (docs/architecture.md's transition table).
STATE_FOR_VERB = {"process": "new", "ship": "processing", "deliver": "shipped", "complete": "delivered",
                  "hold": "new", "release": "on-hold", "cancel": "new", "refund": "shipped"}


class World:
    """Built lazily: an operation's test creates only the objects its path names (setup stays cheap)."""

    def __init__(self, slug: str = "fuzz"):
        self.org = OrgFactory(slug=slug)
        InventoryItem.objects.create(org=self.org, sku="A", name="Item A", unit_price=Decimal("10.00"), on_hand=500)
        InventoryItem.objects.create(org=self.org, sku="B", name="Item B", unit_price=Decimal("4.50"), on_hand=500)
        self.orders_by_state: dict[str, object] = {}
        self._ids: dict[str, str] = {"sku": "A", "provider": "easypost", "name": "fuzz-flow",
                                     "channel_id": "fuzz-shop", "price_id": "fuzz-monthly"}
        self._built: set[str] = set()

    @cached_property
    def owner(self):
        return make_actor(self.org, role="owner")  # a password hash: only for the tests that log in

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": self.owner.client._credentials["HTTP_AUTHORIZATION"], "orgid": self.org.slug}

    def order_in(self, state: str):
        if state not in self.orders_by_state:
            self.orders_by_state[state] = order_in(self.org, state, lines={"A": 1, "B": 2})
        return self.orders_by_state[state]

    def id(self, name: str) -> str | None:
        """The real value for a path parameter, creating what it names on first use."""
        builder = {"order_number": self._order, "author": self._order, "email": self._order,
                   "shipment_id": self._shipment, "tracking_number": self._shipment, "channel_id": self._channel,
                   "order_id": self._channel, "price_id": self._subscription, "subscription_id": self._subscription,
                   "name": self._workflow}.get(name)
        if builder and builder.__name__ not in self._built:
            self._built.add(builder.__name__)
            builder()
        return self._ids.get(name)

    def _order(self):
        order = self.order_in("new")
        self._ids.update(order_number=order.order_number, author=order.customer.sk, email=order.customer.email)

    def _shipment(self):
        shipment = Shipment.objects.filter(order=self.order_in("shipped")).first()
        self._ids.update(shipment_id=shipment.public_id, tracking_number=shipment.tracking_number)

    def _channel(self):
        channel = Channel.objects.create(org=self.org, channel_id="fuzz-shop", provider="shopify", enabled=False,
                                         config={"shopDomain": "fuzz.myshopify.com", "accessToken": "shpat_fuzz"},
                                         webhook_secret="whsec-fuzz")
        ingest(channel=channel, raw_orders=[shopify_order("order.json")])
        self._ids["order_id"] = AggregatedOrder.objects.get(channel=channel).public_id

    def _subscription(self):
        price = subscriptions.price_create(org=self.org, price_id="fuzz-monthly", product_sku="A",
                                           amount=Decimal("9.90"), name="Fuzz monthly")
        subscription = subscriptions.subscription_create(
            org=self.org, customer={"email": "buyer@example.com", "name": "Fuzz Buyer"}, price_id=price.price_id,
            shipping_address=ADDRESS, start_at=datetime(2026, 5, 1, tzinfo=UTC))
        self._ids["subscription_id"] = subscription.subscription_id

    def _workflow(self):
        Workflow.objects.create(org=self.org, name="fuzz-flow", trigger_event="order.delivered",
                                actions=[{"type": "email", "template": "review_request"}])

    def aim(self, case) -> None:
        """Half of the cases, chosen by a stable hash of what was generated, name real objects."""
        params = case.path_parameters
        if not params or zlib.crc32(repr(sorted(params.items())).encode()) % 2:
            return
        verb = case.operation.path.split("/")[3] if case.operation.path.startswith("/storefront/order/") else ""
        for name in params:
            if name == "order_number" and verb in STATE_FOR_VERB:
                params[name] = self.order_in(STATE_FOR_VERB[verb]).order_number
            elif (value := self.id(name)) is not None:
                params[name] = value
