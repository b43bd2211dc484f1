"""Shopify Admin REST, simulated: orders with Link-header `page_info` cursors, the 40/2s leaky bucket,
fulfillment orders + fulfillments, cancel, webhook registration, and signed `orders/*` webhooks.

For the fault scripts (bench/chaos/): `put_order()` places an open, paid order with a chosen id and
`updated_at`, `page_delay` slows each page of orders, `page_limit` caps a page silently, and the
framework's outages (`start_faults`) and request log apply (see base.py).

The generated orders follow the shape of the published examples (tests/fixtures/shopify/order.json):
the same field names, money as decimal strings with their `*_set` twins, 64-bit ids past 2**53.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from simulator.base import (
    ChannelSimulator,
    DemoChannel,
    LeakyBucket,
    OutboundWebhook,
    SimRequest,
    SimResponse,
    error_response,
    json_response,
    money,
    route,
)
from simulator.shopify_graphql import CLIENT_ID, CLIENT_SECRET, INVALID_TOKEN, SUPPORTED_VERSIONS, GraphQLMixin

API_VERSION = SUPPORTED_VERSIONS[-1]
SHOP_DOMAIN = "demo-shop.myshopify.com"
ACCESS_TOKEN = "shpat_simulator_demo_token"
SHOP_TZ = timezone(timedelta(hours=-5))
ID_BASE = 6_100_000_000_000_000_000   # order ids past 2**53, like the webhook sample's
PRODUCTS = [
    # title, variant title, sku, price, grams
    ("Trail Runner 2", "9 / Black", "SNK-TR2-9-BLK", "129.00", 820),
    ("Trail Runner 2", "10 / Blue", "SNK-TR2-10-BLU", "129.00", 840),
    ("Merino Crew Socks", "M", "SCK-MER-M", "18.50", 90),
    ("Rain Shell Jacket", "L / Olive", "JKT-RAIN-L-OLV", "219.95", 610),
    ("Canvas Tote", None, "BAG-TOTE-NAT", "34.00", 300),
    ("Gift Card", "$50", None, "50.00", 0),
    ("Water Bottle 750ml", "Steel", "BTL-750-STL", "27.99", 410),
]
CUSTOMERS = [
    ("Ava", "Lindqvist", "ava.lindqvist@example.com", "+14155550101"),
    ("Mateo", "Rossi", "mateo.rossi@example.net", None),
    ("Priya", "Natarajan", "priya.n@example.org", "+447700900123"),
    ("Jonas", "Becker", "jonas.becker@example.de", "+4930901820"),
    ("Chloe", "Martin", "chloe.martin@example.fr", None),
]
ADDRESSES = [
    ("123 Market St", "Suite 400", "San Francisco", "California", "CA", "94103", "United States", "US"),
    ("42 Elm Road", "", "Leeds", "England", "ENG", "LS1 4AP", "United Kingdom", "GB"),
    ("Friedrichstrasse 68", "", "Berlin", "Berlin", "BE", "10117", "Germany", "DE"),
    ("18 Rue de Rivoli", "Apt 3", "Paris", "Paris", "75", "75004", "France", "FR"),
    ("500 King St W", "", "Toronto", "Ontario", "ON", "M5V 1L9", "Canada", "CA"),
]
CURRENCIES = [("USD", Decimal("0.06")), ("USD", Decimal("0.0825")), ("EUR", Decimal("0.19")),
              ("GBP", Decimal("0.20")), ("CAD", Decimal("0")), ("USD", Decimal("0"))]
CARRIERS = [("UPS", "1Z999AA1{:010d}", "https://www.ups.com/track?tracknum={}"),
            ("USPS", "9400{:018d}", "https://tools.usps.com/go/TrackConfirmAction?tLabels={}"),
            ("DHL Express", "JD{:016d}", "https://www.dhl.com/track?tracking-id={}")]


def _ts(value: datetime) -> str:
    return value.astimezone(SHOP_TZ).isoformat()


def _parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _money_set(amount, currency: str) -> dict:
    text = money(amount)
    return {"shop_money": {"amount": text, "currency_code": currency},
            "presentment_money": {"amount": text, "currency_code": currency}}


def _address(first: str, last: str, phone: str | None, addr: tuple) -> dict:
    line1, line2, city, province, province_code, zip_code, country, country_code = addr
    return {"first_name": first, "address1": line1, "phone": phone, "city": city, "zip": zip_code,
            "province": province, "country": country, "last_name": last, "address2": line2, "company": None,
            "latitude": None, "longitude": None, "name": f"{first} {last}", "country_code": country_code,
            "province_code": province_code}


class Simulator(GraphQLMixin, ChannelSimulator):
    name = "shopify"
    webhook_path = "/upstream/webhooks/shopify/orders"
    default_webhook_secret = "sim-shopify-webhook-secret"
    page_size_max = 250

    def __init__(self, *, page_delay: float = 0.0, page_limit: int | None = None, **kwargs):
        self.fulfillment_orders: dict[str, list[dict]] = {}
        self.registered_webhooks: list[dict] = []
        self.page_delay = page_delay        # seconds each page of orders takes (a slow channel)
        self.page_limit = page_limit        # pages hold at most this many orders, whatever the limit asked
        self.init_graphql()
        super().__init__(**kwargs)

    # --- framework hooks -----------------------------------------------------------------------
    def make_rate_limiter(self) -> LeakyBucket:
        return LeakyBucket(40, 2.0, clock=self.clock)   # REST Admin API: bucket 40, leaks 2/s per app+store

    def rate_limit_headers(self, request: SimRequest) -> list[tuple[str, str]]:
        return [("X-Shopify-Shop-Api-Call-Limit", f"{self.rate_limiter.used()}/{self.rate_limiter.capacity}")]

    def rate_limited_response(self, retry_after: float) -> SimResponse:
        # Shopify sends Retry-After as a float number of seconds ("2.0").
        message = "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."
        return json_response({"errors": message}, 429, [("Retry-After", f"{max(retry_after, 1.0):.1f}")])

    def authenticate(self, request: SimRequest) -> SimResponse | None:
        if request.path.startswith("/admin/oauth/"):   # the token endpoints authenticate the app themselves
            return None
        token = request.header("X-Shopify-Access-Token")
        if token == ACCESS_TOKEN or self.token_valid(token):
            return None
        return error_response(401, INVALID_TOKEN)

    def _check_rate(self, request: SimRequest) -> SimResponse | None:
        """GraphQL is limited by cost (shopify_graphql.py): `_sim/throttle` there means THROTTLED answers."""
        if request.path.endswith("/graphql.json"):
            with self.lock:
                if self.forced_429 > 0:   # another app's burst: the bucket is empty for this call
                    self.forced_429 -= 1
                    self.cost_available, self.cost_at = 0.0, self.clock()
            return None
        return super()._check_rate(request)

    def order_updated_at(self, order: dict) -> datetime:
        return _parse_ts(order["updated_at"])

    def request_order_id(self, request: SimRequest, groups: dict[str, str]) -> str | None:
        if groups.get("order_id"):
            return groups["order_id"]
        with self.lock:
            if groups.get("fulfillment_id"):
                found = self._find_fulfillment(groups["fulfillment_id"])
                return str(found[0]["id"]) if found else None
            if request.path.endswith("/fulfillments.json") and request.method == "POST":
                wanted = {g.get("fulfillment_order_id") for g in
                          ((request.json() or {}).get("fulfillment") or {}).get("line_items_by_fulfillment_order")
                          or []}
                return next((key for key, fos in self.fulfillment_orders.items()
                             if any(fo["id"] in wanted for fo in fos)), None)
        return None

    def new_order_topic(self) -> str:
        return "orders/create"

    def demo_channel(self) -> DemoChannel:
        return DemoChannel(channel_id="demo-shopify", provider="shopify", label="Demo Shopify store",
                           config={"shopDomain": SHOP_DOMAIN, "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET,
                                   "apiVersion": API_VERSION, "baseUrl": self.base_url},
                           webhook_secret=self.webhook_secret)

    # --- catalogue -----------------------------------------------------------------------------
    def generate_order(self, index: int, created_at: datetime) -> dict:
        rng = self.rng
        order_id = ID_BASE + index * 7919 + rng.randint(1, 7000)
        currency, tax_rate = rng.choice(CURRENCIES)
        line_items = []
        line_total = Decimal("0")
        tax_total = Decimal("0")
        for position in range(rng.choice([1, 1, 2, 3])):
            title, variant, sku, price, grams = rng.choice(PRODUCTS)
            quantity = rng.choice([1, 1, 1, 2, 3])
            line_price = Decimal(price) * quantity
            line_tax = (line_price * tax_rate).quantize(Decimal("0.01"))
            line_total += line_price
            tax_total += line_tax
            line_id = order_id * 10 + position + 1 - ID_BASE * 9
            line_items.append({
                "id": line_id, "admin_graphql_api_id": f"gid://shopify/LineItem/{line_id}",
                "current_quantity": quantity, "fulfillable_quantity": quantity, "fulfillment_service": "manual",
                "fulfillment_status": None, "gift_card": sku is None, "grams": grams,
                "name": f"{title} - {variant}" if variant else title, "price": money(price),
                "price_set": _money_set(price, currency), "product_exists": True,
                "product_id": 7_000_000_000 + PRODUCTS.index((title, variant, sku, price, grams)),
                "properties": [], "quantity": quantity, "requires_shipping": sku is not None, "sku": sku,
                "taxable": tax_rate > 0, "title": title, "total_discount": "0.00",
                "total_discount_set": _money_set(0, currency),
                "variant_id": 40_000_000_000 + PRODUCTS.index((title, variant, sku, price, grams)),
                "variant_inventory_management": "shopify", "variant_title": variant, "vendor": "Simulated Outfitters",
                "tax_lines": [{"channel_liable": False, "price": money(line_tax),
                               "price_set": _money_set(line_tax, currency), "rate": float(tax_rate),
                               "title": "VAT" if currency in ("EUR", "GBP") else "State Tax"}]
                if tax_rate > 0 else [],
                "duties": [], "discount_allocations": [],
            })
        discount = Decimal("0")
        discount_codes = []
        if rng.random() < 0.2:
            discount = min(Decimal("10.00"), line_total / 2).quantize(Decimal("0.01"))
            discount_codes = [{"code": "WELCOME10", "amount": money(discount), "type": "fixed_amount"}]
        shippable = any(item["requires_shipping"] for item in line_items)
        shipping = Decimal(rng.choice(["0.00", "5.00", "9.95"])) if shippable else Decimal("0")
        subtotal = line_total - discount
        total = subtotal + shipping + tax_total
        customer_data = rng.choice(CUSTOMERS) if rng.random() > 0.08 else None
        address = _address(customer_data[0], customer_data[1], customer_data[3], rng.choice(ADDRESSES)) \
            if customer_data else None
        created = _ts(created_at)
        number = 1000 + index + 1
        order = {
            "id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}", "app_id": 580111,
            "browser_ip": "203.0.113.7", "buyer_accepts_marketing": rng.random() < 0.3, "cancel_reason": None,
            "cancelled_at": None, "cart_token": None, "checkout_id": order_id + 11, "checkout_token": None,
            "closed_at": None, "confirmation_number": f"SIM{order_id % 10**6:06d}", "confirmed": True,
            "contact_email": customer_data[2] if customer_data else None, "created_at": created, "currency": currency,
            "current_subtotal_price": money(subtotal), "current_subtotal_price_set": _money_set(subtotal, currency),
            "current_total_discounts": money(discount), "current_total_discounts_set": _money_set(discount, currency),
            "current_total_price": money(total), "current_total_price_set": _money_set(total, currency),
            "current_total_tax": money(tax_total), "current_total_tax_set": _money_set(tax_total, currency),
            "customer_locale": "en", "discount_codes": discount_codes,
            "email": customer_data[2] if customer_data else "", "estimated_taxes": False,
            "financial_status": rng.choice(["paid", "paid", "paid", "pending", "authorized"]),
            "fulfillment_status": None, "landing_site": "/", "location_id": None, "name": f"#{number}",
            "note": None, "note_attributes": [], "number": number - 1000, "order_number": number,
            "order_status_url": f"https://{SHOP_DOMAIN}/orders/{uuid.UUID(int=rng.getrandbits(128)).hex}/authenticate",
            "payment_gateway_names": ["shopify_payments"], "phone": customer_data[3] if customer_data else None,
            "presentment_currency": currency, "processed_at": created, "reference": None, "referring_site": None,
            "source_name": "web", "subtotal_price": money(subtotal),
            "subtotal_price_set": _money_set(subtotal, currency),
            "tags": rng.choice(["", "", "vip", "wholesale, repeat"]),
            "tax_lines": [{"price": money(tax_total), "rate": float(tax_rate), "title": "Tax",
                           "price_set": _money_set(tax_total, currency), "channel_liable": False}] if tax_total else [],
            "taxes_included": False, "test": False, "token": uuid.UUID(int=rng.getrandbits(128)).hex,
            "total_discounts": money(discount), "total_discounts_set": _money_set(discount, currency),
            "total_line_items_price": money(line_total), "total_line_items_price_set": _money_set(line_total, currency),
            "total_outstanding": "0.00", "total_price": money(total), "total_price_set": _money_set(total, currency),
            "total_shipping_price_set": _money_set(shipping, currency), "total_tax": money(tax_total),
            "total_tax_set": _money_set(tax_total, currency), "total_tip_received": "0.00",
            "total_weight": sum(item["grams"] * item["quantity"] for item in line_items),
            "updated_at": created, "user_id": None,
            "billing_address": address,
            "customer": {"id": 9_000_000_000 + CUSTOMERS.index(customer_data), "email": customer_data[2],
                         "first_name": customer_data[0], "last_name": customer_data[1], "phone": customer_data[3],
                         "currency": currency, "created_at": created, "updated_at": created}
            if customer_data else None,
            "discount_applications": [], "fulfillments": [], "line_items": line_items, "payment_terms": None,
            "refunds": [],
            "shipping_address": address if shippable else None,
            "shipping_lines": [{"id": order_id + 3, "carrier_identifier": None, "code": "Standard",
                                "discounted_price": money(shipping),
                                "discounted_price_set": _money_set(shipping, currency),
                                "phone": None, "price": money(shipping), "price_set": _money_set(shipping, currency),
                                "source": "shopify", "title": "Standard Shipping", "tax_lines": [],
                                "discount_allocations": []}] if shippable else [],
        }
        # Older orders have moved along: some fulfilled (and delivered), a few cancelled or refunded.
        age_days = (self.now() - created_at).days
        if order["financial_status"] == "paid" and age_days >= 2 and rng.random() < 0.6:
            self._fulfil(order, created_at + timedelta(days=1), rng.choice(CARRIERS))
            if age_days >= 6 and rng.random() < 0.5:
                order["fulfillments"][-1]["shipment_status"] = "delivered"
        elif order["financial_status"] in ("pending", "authorized") and age_days >= 3 and rng.random() < 0.4:
            self._cancel(order, created_at + timedelta(days=2), "customer")
        elif order["financial_status"] == "paid" and age_days >= 3 and rng.random() < 0.1:
            self._refund(order, created_at + timedelta(days=2))
        return order

    def put_order(self, order_id: int, *, updated_at: datetime, note: str = "") -> dict:
        """An open, paid, unfulfilled order with this id and `updated_at`, replacing any with the same id.

        For the fault scripts: they choose ids and versions to check what the app stored against them.
        At least one line needs shipping, so the order has a fulfillment order to write back to.
        """
        with self.lock:
            order = self.generate_order(len(self.orders), updated_at - timedelta(hours=1))
            if not any(item["requires_shipping"] for item in order["line_items"]):
                item = order["line_items"][0]
                item.update(requires_shipping=True, gift_card=False, sku=item["sku"] or "SIM-SHIP")
            old_id = order["id"]
            order.update(id=order_id, admin_graphql_api_id=f"gid://shopify/Order/{order_id}", note=note,
                         name=f"#F{order_id % 100000}", financial_status="paid", fulfillment_status=None,
                         cancelled_at=None, cancel_reason=None, closed_at=None, fulfillments=[], refunds=[],
                         updated_at=_ts(updated_at),
                         created_at=_ts(updated_at - timedelta(hours=1)))
            for item in order["line_items"]:
                item.update(fulfillable_quantity=item["quantity"], fulfillment_status=None)
            self.fulfillment_orders.pop(str(order_id), None)
            self.orders.pop(str(old_id), None)
            self.orders[str(order_id)] = order
            self._sort()
            return order

    # --- lifecycle -----------------------------------------------------------------------------
    def _fulfil(self, order: dict, when: datetime, carrier: tuple, *, number: str | None = None,
                url: str | None = None, company: str | None = None, quantities: dict | None = None) -> dict:
        """A fulfillment of `quantities` ({line item id: quantity}), or of every line item still unfulfilled."""
        if quantities is None:
            quantities = {item["id"]: item.get("fulfillable_quantity", item["quantity"])
                          for item in order["line_items"]}
        name, pattern, url_pattern = carrier
        number = number or pattern.format(self.rng.randint(0, 10**9))
        fulfillment_id = order["id"] + 100 + len(order["fulfillments"])
        fulfillment = {
            "id": fulfillment_id, "admin_graphql_api_id": f"gid://shopify/Fulfillment/{fulfillment_id}",
            "created_at": _ts(when), "location_id": 655441491,
            "name": f"{order['name']}.{len(order['fulfillments']) + 1}",
            "order_id": order["id"], "origin_address": {}, "receipt": {}, "service": "manual", "shipment_status": None,
            "status": "success", "tracking_company": company or name, "tracking_number": number,
            "tracking_numbers": [number], "tracking_url": url or url_pattern.format(number),
            "tracking_urls": [url or url_pattern.format(number)], "updated_at": _ts(when),
            "line_items": [],
        }
        for item in order["line_items"]:
            taken = min(quantities.get(item["id"], 0), item.get("fulfillable_quantity", item["quantity"]))
            if taken <= 0:
                continue
            item["fulfillable_quantity"] = item.get("fulfillable_quantity", item["quantity"]) - taken
            item["fulfillment_status"] = "partial" if item["fulfillable_quantity"] else "fulfilled"
            fulfillment["line_items"].append(dict(item, quantity=taken))
        order["fulfillments"].append(fulfillment)
        # Items that need no shipping (gift cards) have no fulfillment-order line: they go with the last parcel.
        done = all(not item.get("fulfillable_quantity") for item in order["line_items"] if item["requires_shipping"])
        if done:
            for item in order["line_items"]:
                item.update(fulfillable_quantity=0, fulfillment_status="fulfilled")
        order["fulfillment_status"] = "fulfilled" if done else "partial"
        order["updated_at"] = _ts(when)
        return fulfillment

    def _cancel(self, order: dict, when: datetime, reason: str) -> None:
        order["cancelled_at"] = _ts(when)
        order["cancel_reason"] = reason
        order["closed_at"] = _ts(when)
        order["financial_status"] = "voided" if order["financial_status"] in ("pending", "authorized") else "refunded"
        order["updated_at"] = _ts(when)

    def _refund(self, order: dict, when: datetime) -> None:
        order["financial_status"] = "refunded"
        order["refunds"].append({"id": order["id"] + 500, "order_id": order["id"], "created_at": _ts(when),
                                 "note": "Customer return", "processed_at": _ts(when), "restock": True,
                                 "transactions": [{"amount": order["total_price"], "kind": "refund",
                                                   "status": "success", "currency": order["currency"]}]})
        # All went back: Shopify's current figures (after refunds) are zero, each line's current quantity too.
        for key in ("current_total_price", "current_subtotal_price", "current_total_tax", "current_total_discounts"):
            order[key] = "0.00"
            order[f"{key}_set"] = _money_set(0, order["currency"])
        order["current_shipping_price_set"] = _money_set(0, order["currency"])
        for item in order["line_items"]:
            item["current_quantity"] = 0
        order["updated_at"] = _ts(when)

    def set_order_updated_at(self, order: dict, when: datetime) -> None:
        order["updated_at"] = _ts(when)

    def change_order(self, order: dict, now: datetime) -> str | None:
        if order["cancelled_at"] or order["financial_status"] == "refunded":
            return None
        if order["financial_status"] in ("pending", "authorized"):
            if self.rng.random() < 0.2:
                self._cancel(order, now, "customer")
                return "orders/cancelled"
            order["financial_status"] = "paid"
            order["updated_at"] = _ts(now)
            return "orders/paid"
        if order["fulfillment_status"] is None:
            self._fulfil(order, now, self.rng.choice(CARRIERS))
            return "orders/fulfilled"
        fulfillment = order["fulfillments"][-1]
        if fulfillment.get("shipment_status") != "delivered":
            fulfillment["shipment_status"] = "delivered"
            fulfillment["updated_at"] = _ts(now)
            order["updated_at"] = _ts(now)
            return "orders/updated"
        return None

    def build_webhook(self, order: dict, topic: str) -> OutboundWebhook:
        body = json.dumps(order).encode()
        digest = base64.b64encode(hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).digest()).decode()
        headers = {
            "Content-Type": "application/json", "X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": digest,
            "X-Shopify-Shop-Domain": SHOP_DOMAIN, "X-Shopify-API-Version": API_VERSION,
            "X-Shopify-Webhook-Id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "X-Shopify-Event-Id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "X-Shopify-Triggered-At": self.now().isoformat().replace("+00:00", "Z"),
        }
        # Once our app registered its subscriptions, deliver where it asked (its URL names the channel).
        address = next((h["address"] for h in self.registered_webhooks if h["topic"] == topic), self.webhook_path)
        return OutboundWebhook(address, headers, body, topic=topic, order_id=str(order["id"]))

    # --- API: orders ---------------------------------------------------------------------------
    def _matches(self, order: dict, filters: dict) -> bool:
        status = filters.get("status") or "open"
        if status == "open" and (order["closed_at"] or order["cancelled_at"]):
            return False
        if status == "closed" and not order["closed_at"]:
            return False
        if status == "cancelled" and not order["cancelled_at"]:
            return False
        updated = _parse_ts(order["updated_at"])
        created = _parse_ts(order["created_at"])
        for key, value, op in (("updated_at_min", updated, "ge"), ("updated_at_max", updated, "le"),
                               ("created_at_min", created, "ge"), ("created_at_max", created, "le")):
            if filters.get(key):
                bound = _parse_ts(filters[key])
                bound = bound if bound.tzinfo else bound.replace(tzinfo=UTC)
                if (op == "ge" and value < bound) or (op == "le" and value > bound):
                    return False
        for key in ("financial_status", "fulfillment_status"):
            wanted = filters.get(key)
            if wanted and wanted != "any":
                actual = order[key] or ("unshipped" if key == "fulfillment_status" else None)
                if actual != wanted:
                    return False
        if filters.get("ids"):
            return str(order["id"]) in filters["ids"].split(",")
        if filters.get("since_id"):
            return order["id"] > int(filters["since_id"])
        return True

    @staticmethod
    def _encode_cursor(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    @staticmethod
    def _decode_cursor(token: str) -> dict:
        return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))

    @route("GET", r"^/admin/api/(?P<version>[0-9]{4}-[0-9]{2}|unstable)/orders\.json$")
    def list_orders(self, request: SimRequest, version: str) -> SimResponse:
        try:
            limit = int(request.arg("limit", "50"))
        except ValueError:
            return error_response(400, {"limit": ["must be an integer"]})
        if not 1 <= limit <= self.page_size_max:
            return error_response(400, {"limit": [f"must be between 1 and {self.page_size_max}"]})
        limit = min(limit, self.page_limit or limit)
        page_info = request.arg("page_info")
        if page_info:
            extra = set(request.query) - {"page_info", "limit", "fields"}
            if extra:
                # Shopify: with page_info only limit and fields may be sent; the cursor fixes the rest.
                return error_response(400, {"page_info": [f"cannot be combined with {', '.join(sorted(extra))}"]})
            try:
                cursor = self._decode_cursor(page_info)
            except ValueError:
                return error_response(400, {"page_info": ["Invalid value."]})
            filters, offset = cursor["filters"], cursor["offset"]
        else:
            filters = {key: values[0] for key, values in request.query.items() if key not in ("limit", "fields")}
            offset = 0
        with self.lock:
            matching = sorted((o for o in self.orders.values() if self._matches(o, filters)),
                              key=lambda o: o["id"], reverse=True)   # Shopify's default order: id desc
            page = matching[offset:offset + limit]
        if self.page_delay:
            time.sleep(self.page_delay)
        fields = request.arg("fields")
        if fields:
            keep = set(fields.split(","))
            page = [{k: v for k, v in o.items() if k in keep} for o in page]
        links = []
        base = f"{request.base_url}/admin/api/{version}/orders.json?limit={limit}"
        if offset + limit < len(matching):
            following = {"filters": filters, "offset": offset + limit}
            links.append(f'<{base}&page_info={self._encode_cursor(following)}>; rel="next"')
        if offset > 0:
            prev = {"filters": filters, "offset": max(0, offset - limit)}
            links.insert(0, f'<{base}&page_info={self._encode_cursor(prev)}>; rel="previous"')
        return json_response({"orders": page}, headers=[("Link", ", ".join(links))] if links else [])

    @route("GET", r"^/admin/api/(?P<version>[^/]+)/orders/(?P<order_id>\d+)\.json$")
    def get_order_route(self, request: SimRequest, version: str, order_id: str) -> SimResponse:
        order = self.get_order(order_id)
        if order is None:
            return error_response(404, "Not Found")
        return json_response({"order": order})

    @route("GET", r"^/admin/api/(?P<version>[^/]+)/orders/count\.json$")
    def count_orders(self, request: SimRequest, version: str) -> SimResponse:
        filters = {key: values[0] for key, values in request.query.items()}
        with self.lock:
            return json_response({"count": sum(1 for o in self.orders.values() if self._matches(o, filters))})

    # --- API: writeback ------------------------------------------------------------------------
    def _fulfillment_orders_for(self, order: dict) -> list[dict]:
        key = str(order["id"])
        if key not in self.fulfillment_orders:
            fo_id = order["id"] + 900
            done = order["fulfillment_status"] == "fulfilled" or bool(order["cancelled_at"])
            self.fulfillment_orders[key] = [{
                "id": fo_id, "shop_id": 548380009, "order_id": order["id"], "assigned_location_id": 24826418,
                "request_status": "unsubmitted", "status": "closed" if done else "open",
                "supported_actions": [] if done else ["create_fulfillment", "move"],
                "destination": None, "fulfill_at": None, "fulfill_by": None, "international_duties": None,
                "fulfillment_holds": [], "delivery_method": None, "created_at": order["created_at"],
                "updated_at": order["updated_at"],
                "line_items": [{"id": item["id"] + 1, "shop_id": 548380009, "fulfillment_order_id": fo_id,
                                "quantity": item["quantity"], "line_item_id": item["id"],
                                "inventory_item_id": item["variant_id"], "variant_id": item["variant_id"],
                                "fulfillable_quantity": 0 if done else item["quantity"]}
                               for item in order["line_items"] if item["requires_shipping"]],
                "merchant_requests": [],
                "assigned_location": {"address1": None, "address2": None, "city": None, "country_code": "US",
                                      "location_id": 24826418, "name": "Simulated Warehouse", "phone": None,
                                      "province": None, "zip": None},
            }]
        return self.fulfillment_orders[key]

    @route("GET", r"^/admin/api/(?P<version>[^/]+)/orders/(?P<order_id>\d+)/fulfillment_orders\.json$")
    def list_fulfillment_orders(self, request: SimRequest, version: str, order_id: str) -> SimResponse:
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                return error_response(404, "Not Found")
            return json_response({"fulfillment_orders": self._fulfillment_orders_for(order)})

    @route("POST", r"^/admin/api/(?P<version>[^/]+)/fulfillments\.json$")
    def create_fulfillment(self, request: SimRequest, version: str) -> SimResponse:
        try:
            data = (request.json() or {}).get("fulfillment") or {}
        except ValueError:
            return error_response(400, "Invalid JSON")
        groups = data.get("line_items_by_fulfillment_order") or []
        if not groups:
            return error_response(422, {"fulfillment": ["line_items_by_fulfillment_order is required"]})
        with self.lock:
            target = None
            for order_key, fos in self.fulfillment_orders.items():
                for fo in fos:
                    if any(g.get("fulfillment_order_id") == fo["id"] for g in groups):
                        target = (self.orders[order_key], fo)
            if target is None:
                return error_response(404, "Not Found")
            order, fo = target
            if fo["status"] not in ("open", "in_progress"):
                message = f"Fulfillment order {fo['id']} has an unfulfillable status= {fo['status']}."
                return error_response(422, {"base": [message]})
            # Only the line items (and quantities) named, as Shopify does; a group naming none takes every one.
            group = next(g for g in groups if g.get("fulfillment_order_id") == fo["id"])
            named = {line.get("id"): int(line.get("quantity") or 0)
                     for line in group.get("fulfillment_order_line_items") or []}
            taking = {}
            for line in fo["line_items"]:
                wanted = named.get(line["id"], 0) if named else line["fulfillable_quantity"]
                if wanted > line["fulfillable_quantity"]:
                    return error_response(422, {"base": [f"Fulfillment order line item {line['id']} has only "
                                                         f"{line['fulfillable_quantity']} to fulfil."]})
                if wanted > 0:
                    taking[line["id"]] = wanted
            if not taking:
                return error_response(422, {"base": ["No fulfillable line items were given."]})
            tracking = data.get("tracking_info") or {}
            fulfillment = self._fulfil(order, self.now(), self.rng.choice(CARRIERS), number=tracking.get("number"),
                                       url=tracking.get("url"), company=tracking.get("company"),
                                       quantities={line["line_item_id"]: taking[line["id"]]
                                                   for line in fo["line_items"] if line["id"] in taking})
            for line in fo["line_items"]:
                line["fulfillable_quantity"] -= taking.get(line["id"], 0)
            fo["status"] = ("closed" if not any(line["fulfillable_quantity"] for line in fo["line_items"])
                            else "in_progress")
            fo["supported_actions"] = [] if fo["status"] == "closed" else fo["supported_actions"]
            self.touch(order)
            self.record_writeback(request, kind="fulfillment", order_id=str(order["id"]),
                                  fulfillmentId=fulfillment["id"])
        return json_response({"fulfillment": fulfillment}, 201)

    @route("POST", r"^/admin/api/(?P<version>[^/]+)/orders/(?P<order_id>\d+)/cancel\.json$")
    def cancel_order(self, request: SimRequest, version: str, order_id: str) -> SimResponse:
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                return error_response(404, "Not Found")
            if order["cancelled_at"]:
                return error_response(422, {"base": ["Cannot cancel an order that has already been cancelled"]})
            if order["fulfillment_status"] == "fulfilled":
                return error_response(422, {"base": ["Cannot cancel a fulfilled order"]})
            body = request.json() or {}
            self._cancel(order, self.now(), body.get("reason") or "other")
            self.touch(order)
            self.record_writeback(request, kind="cancel", order_id=order_id)
            return json_response({"order": order, "notice": "Order has been cancelled"})

    @route("POST", r"^/admin/api/(?P<version>[^/]+)/webhooks\.json$")
    def create_webhook(self, request: SimRequest, version: str) -> SimResponse:
        data = (request.json() or {}).get("webhook") or {}
        if not data.get("topic") or not data.get("address"):
            missing = "topic" if not data.get("topic") else "address"
            return error_response(422, {missing: ["can't be blank"]})
        with self.lock:
            if any(h["topic"] == data["topic"] and h["address"] == data["address"] for h in self.registered_webhooks):
                return error_response(422, {"address": ["for this topic has already been taken"]})
            hook = {"id": 4_759_306_000 + len(self.registered_webhooks), "address": data["address"],
                    "topic": data["topic"], "created_at": _ts(self.now()), "updated_at": _ts(self.now()),
                    "format": data.get("format", "json"), "fields": data.get("fields", []),
                    "metafield_namespaces": [], "api_version": version, "private_metafield_namespaces": []}
            self.registered_webhooks.append(hook)
            self.record_writeback(request, kind="webhook_registration")
        return json_response({"webhook": hook}, 201)

    @route("GET", r"^/admin/api/(?P<version>[^/]+)/webhooks\.json$")
    def list_webhooks(self, request: SimRequest, version: str) -> SimResponse:
        with self.lock:
            return json_response({"webhooks": list(self.registered_webhooks)})

    @route("DELETE", r"^/admin/api/(?P<version>[^/]+)/webhooks/(?P<hook_id>\d+)\.json$")
    def delete_webhook(self, request: SimRequest, version: str, hook_id: str) -> SimResponse:
        with self.lock:
            before = len(self.registered_webhooks)
            self.registered_webhooks = [h for h in self.registered_webhooks if str(h["id"]) != hook_id]
            if len(self.registered_webhooks) == before:
                return error_response(404, "Not Found")
        return json_response({})

    @route("GET", r"^/admin/api/(?P<version>[^/]+)/orders/(?P<order_id>\d+)/fulfillments\.json$")
    def list_fulfillments(self, request: SimRequest, version: str, order_id: str) -> SimResponse:
        order = self.get_order(order_id)
        if order is None:
            return error_response(404, "Not Found")
        return json_response({"fulfillments": order["fulfillments"]})

    def _find_fulfillment(self, fulfillment_id: str) -> tuple[dict, dict] | None:
        for order in self.orders.values():
            for fulfillment in order["fulfillments"]:
                if str(fulfillment["id"]) == fulfillment_id:
                    return order, fulfillment
        return None

    @route("POST", r"^/admin/api/(?P<version>[^/]+)/fulfillments/(?P<fulfillment_id>\d+)/update_tracking\.json$")
    def update_tracking(self, request: SimRequest, version: str, fulfillment_id: str) -> SimResponse:
        tracking = ((request.json() or {}).get("fulfillment") or {}).get("tracking_info") or {}
        with self.lock:
            found = self._find_fulfillment(fulfillment_id)
            if found is None:
                return error_response(404, "Not Found")
            order, fulfillment = found
            if tracking.get("number"):
                fulfillment["tracking_number"] = tracking["number"]
                fulfillment["tracking_numbers"] = [tracking["number"]]
            if tracking.get("company"):
                fulfillment["tracking_company"] = tracking["company"]
            if tracking.get("url"):
                fulfillment["tracking_url"] = tracking["url"]
                fulfillment["tracking_urls"] = [tracking["url"]]
            order["updated_at"] = fulfillment["updated_at"] = _ts(self.now())
            self.touch(order)
            self.record_writeback(request, kind="update_tracking", order_id=str(order["id"]))
            return json_response({"fulfillment": fulfillment})

    @route("POST", r"^/admin/api/(?P<version>[^/]+)/orders/(?P<order_id>\d+)/fulfillments/(?P<fulfillment_id>\d+)"
                   r"/events\.json$")
    def create_fulfillment_event(self, request: SimRequest, version: str, order_id: str,
                                 fulfillment_id: str) -> SimResponse:
        status = ((request.json() or {}).get("event") or {}).get("status")
        if not status:
            return error_response(422, {"status": ["can't be blank"]})
        with self.lock:
            found = self._find_fulfillment(fulfillment_id)
            if found is None or str(found[0]["id"]) != order_id:
                return error_response(404, "Not Found")
            order, fulfillment = found
            fulfillment["shipment_status"] = status
            order["updated_at"] = fulfillment["updated_at"] = _ts(self.now())
            self.touch(order)
            self.record_writeback(request, kind="fulfillment_event", order_id=order_id)
            event = {"id": fulfillment["id"] + 7, "fulfillment_id": fulfillment["id"], "order_id": order["id"],
                     "status": status, "created_at": _ts(self.now())}
        return json_response({"fulfillment_event": event}, 201)
