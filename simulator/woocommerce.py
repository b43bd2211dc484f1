"""WooCommerce REST v3, simulated: orders with page/per_page and X-WP-Total(Pages), basic auth,
order notes, webhooks (with the `webhook_id=N` ping on creation) and signed `order.*` deliveries.

Generated orders follow tests/fixtures/woocommerce/order.json: site-local `date_*` beside UTC `date_*_gmt`,
money as decimal strings, line `price` as a JSON number, `sku` "" when the product has none.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import urlencode

from simulator.base import (
    ChannelSimulator,
    DemoChannel,
    OutboundWebhook,
    SimRequest,
    SimResponse,
    TokenBucket,
    json_response,
    money,
    route,
)

CONSUMER_KEY = "ck_simulator_demo_key"
CONSUMER_SECRET = "cs_simulator_demo_secret"
SITE_TZ = timezone(timedelta(hours=-3))
API = "/wp-json/wc/v3"
TRACKING_API = "/wp-json/wc-shipment-tracking/v3"
# A few of the extension's built-in providers, grouped by region as GET .../shipment-trackings/providers answers.
TRACKING_PROVIDERS = {
    "United States": {"USPS": "https://tools.usps.com/go/TrackConfirmAction_input?qtc_tLabels1=%1$s",
                      "UPS": "https://www.ups.com/track?loc=en_US&tracknum=%1$s",
                      "Fedex": "https://www.fedex.com/apps/fedextrack/?action=track&tracknumbers=%1$s",
                      "DHL US": "https://www.logistics.dhl/us-en/home/tracking/tracking-ecommerce.html?tracking-id=%1$s"},
    "United Kingdom": {"Royal Mail": "https://www.royalmail.com/track-your-item#/tracking-results/%1$s",
                       "DPD.co.uk": "https://www.dpd.co.uk/apps/tracking/?reference=%1$s"},
    "Canada": {"Canada Post": "https://www.canadapost-postescanada.ca/track-reperage/en#/resultList?searchFor=%1$s"},
}
# GET /orders parameters (WooCommerce REST API docs, "List all orders"), the auth pair, and WordPress' own.
ORDER_LIST_PARAMS = {"context", "page", "per_page", "search", "after", "before", "modified_after", "modified_before",
                     "dates_are_gmt", "exclude", "include", "offset", "order", "orderby", "parent", "parent_exclude",
                     "status", "customer", "product", "dp", "created_via", "consumer_key", "consumer_secret",
                     "_fields", "_envelope"}
ORDERBY = ("date", "id", "include", "title", "slug", "modified")
BOOLEANS = ("true", "false", "1", "0")
STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "trash")
PRODUCTS = [
    # product id, variation id, name, sku, price
    (93, 0, "Woo Single #1", "", "3.00"),
    (22, 23, "Ship Your Idea &ndash; Color: Black, Size: M", "Bar3", "12.00"),
    (22, 24, "Ship Your Idea &ndash; Color: Green, Size: S", "Bar4", "20.00"),
    (79, 0, "Woo Logo", "WOO-LOGO", "15.00"),
    (87, 0, "Woo Album #2", "", "9.00"),
    (140, 0, "Ceramic Pour-Over Set", "CER-POUR-01", "48.50"),
    (141, 0, "Linen Apron", "APR-LIN-NAT", "32.00"),
]
PEOPLE = [
    ("John", "Doe", "john.doe@example.com", "(555) 555-5555"),
    ("Maria", "Garcia", "maria.garcia@example.es", "+34 600 000 000"),
    ("Kenji", "Sato", "kenji.sato@example.jp", ""),
    ("Fatima", "Zahra", "f.zahra@example.ma", "+212 600-000000"),
]
ADDRESSES = [
    ("969 Market", "", "San Francisco", "CA", "94103", "US"),
    ("Calle Mayor 5", "2B", "Madrid", "M", "28013", "ES"),
    ("1-2-3 Shibuya", "", "Tokyo", "13", "150-0002", "JP"),
    ("Av. Brasil, 432", "", "Rio de Janeiro", "RJ", "12345-000", "BR"),
]
CURRENCIES = [("USD", Decimal("0.075")), ("USD", Decimal("0")), ("EUR", Decimal("0.21")), ("BRL", Decimal("0"))]


def _local(value: datetime) -> str:
    return value.astimezone(SITE_TZ).replace(tzinfo=None).isoformat(timespec="seconds")


def _gmt(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def _parse_gmt(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _wp_error(status: int, code: str, message: str) -> SimResponse:
    return json_response({"code": code, "message": message, "data": {"status": status}}, status)


class Simulator(ChannelSimulator):
    name = "woocommerce"
    webhook_path = "/upstream/webhooks/woocommerce/orders"
    default_webhook_secret = "sim-woocommerce-webhook-secret"
    per_page_max = 100

    def __init__(self, **kwargs):
        # The Shipment Tracking extension: off, its routes answer rest_no_route as WordPress does for a plugin
        # that is not installed (tests and `_sim/extensions` turn it on).
        self.shipment_tracking = False
        self.trackings: dict[str, list[dict]] = {}
        self.notes: dict[str, list[dict]] = {}
        self.registered_webhooks: list[dict] = []
        self._next_id = 5000
        super().__init__(**kwargs)

    # --- framework hooks -----------------------------------------------------------------------
    def make_rate_limiter(self) -> TokenBucket:
        # WooCommerce core has no REST limit; hosts do. A burst of 30 refilled at 5/s behaves like one.
        return TokenBucket(30, 5.0, clock=self.clock)

    def rate_limited_response(self, retry_after: float) -> SimResponse:
        response = _wp_error(429, "rest_too_many_requests", "Too many requests. Please slow down.")
        response.headers.append(("Retry-After", str(max(1, int(retry_after + 0.999)))))
        return response

    def authenticate(self, request: SimRequest) -> SimResponse | None:
        if request.path == f"{TRACKING_API}/shipment-trackings/providers":
            return None   # public, as the extension documents it
        header = request.header("Authorization") or ""
        if header.startswith("Basic "):
            try:
                key, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                key = secret = ""
        else:
            key, secret = request.arg("consumer_key", ""), request.arg("consumer_secret", "")
        if key == CONSUMER_KEY and secret == CONSUMER_SECRET:
            return None
        return _wp_error(401, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")

    def order_updated_at(self, order: dict) -> datetime:
        return _parse_gmt(order["date_modified_gmt"])

    def new_order_topic(self) -> str:
        return "order.created"

    def set_order_updated_at(self, order: dict, when: datetime) -> None:
        order["date_modified"], order["date_modified_gmt"] = _local(when), _gmt(when)

    def demo_channel(self) -> DemoChannel:
        return DemoChannel(channel_id="demo-woocommerce", provider="woocommerce", label="Demo WooCommerce store",
                           config={"baseUrl": self.base_url, "consumerKey": CONSUMER_KEY,
                                   "consumerSecret": CONSUMER_SECRET},
                           webhook_secret=self.webhook_secret)

    # --- catalogue -----------------------------------------------------------------------------
    def generate_order(self, index: int, created_at: datetime) -> dict:
        rng = self.rng
        self._next_id += rng.randint(1, 4)   # Woo ids are post ids: increasing, with gaps
        order_id = self._next_id
        currency, tax_rate = rng.choice(CURRENCIES)
        person = rng.choice(PEOPLE) if rng.random() > 0.1 else None   # ~10% guest orders without a customer
        address = rng.choice(ADDRESSES)
        virtual = rng.random() < 0.1                                   # downloads: no shipping address
        coupon = rng.random() < 0.15
        line_items, subtotal, total_after_discount, cart_tax = [], Decimal("0"), Decimal("0"), Decimal("0")
        for position in range(rng.choice([1, 1, 2, 3])):
            product_id, variation_id, name, sku, price = rng.choice(PRODUCTS)
            quantity = rng.choice([1, 1, 2, 3])
            line_subtotal = Decimal(price) * quantity
            line_total = (line_subtotal * Decimal("0.9")).quantize(Decimal("0.01")) if coupon else line_subtotal
            line_tax = (line_total * tax_rate).quantize(Decimal("0.01"))
            subtotal += line_subtotal
            total_after_discount += line_total
            cart_tax += line_tax
            line_items.append({
                "id": order_id * 10 + position, "name": name, "product_id": product_id, "variation_id": variation_id,
                "quantity": quantity, "tax_class": "", "subtotal": money(line_subtotal),
                "subtotal_tax": money((line_subtotal * tax_rate).quantize(Decimal("0.01"))),
                "total": money(line_total), "total_tax": money(line_tax),
                "taxes": [{"id": 75, "total": money(line_tax), "subtotal": money(line_tax)}] if tax_rate else [],
                "meta_data": [], "sku": sku, "price": float(line_total / quantity),
            })
        shipping_total = Decimal("0") if virtual else Decimal(rng.choice(["0.00", "5.00", "10.00"]))
        discount = subtotal - total_after_discount
        total = total_after_discount + shipping_total + cart_tax
        billing = {"first_name": person[0] if person else "", "last_name": person[1] if person else "",
                   "company": "", "address_1": address[0] if person else "", "address_2": address[1] if person else "",
                   "city": address[2] if person else "", "state": address[3] if person else "",
                   "postcode": address[4] if person else "", "country": address[5] if person else "",
                   "email": person[2] if person else "", "phone": person[3] if person else ""}
        shipping = {"first_name": "", "last_name": "", "company": "", "address_1": "", "address_2": "", "city": "",
                    "state": "", "postcode": "", "country": "", "phone": ""}
        if not virtual and person:
            shipping = {**{k: billing[k] for k in shipping if k in billing}, "phone": ""}
        status = rng.choice(["processing", "processing", "pending", "on-hold", "completed"])
        created = created_at
        order = {
            "id": order_id, "parent_id": 0, "number": str(order_id),
            "order_key": f"wc_order_{rng.getrandbits(48):012x}",
            "created_via": "checkout", "version": "8.9.1", "status": status, "currency": currency,
            "date_created": _local(created), "date_created_gmt": _gmt(created),
            "date_modified": _local(created), "date_modified_gmt": _gmt(created),
            "discount_total": money(discount), "discount_tax": "0.00", "shipping_total": money(shipping_total),
            "shipping_tax": "0.00", "cart_tax": money(cart_tax), "total": money(total), "total_tax": money(cart_tax),
            "prices_include_tax": False, "customer_id": 0 if not person else 10 + PEOPLE.index(person),
            "customer_ip_address": "203.0.113.9", "customer_user_agent": "Mozilla/5.0", "customer_note": "",
            "billing": billing, "shipping": shipping,
            "payment_method": "stripe" if status != "on-hold" else "bacs",
            "payment_method_title": "Credit card" if status != "on-hold" else "Direct Bank Transfer",
            "transaction_id": "" if status in ("pending", "on-hold") else f"ch_{rng.getrandbits(64):016x}",
            "date_paid": None if status in ("pending", "on-hold") else _local(created + timedelta(minutes=1)),
            "date_paid_gmt": None if status in ("pending", "on-hold") else _gmt(created + timedelta(minutes=1)),
            "date_completed": None, "date_completed_gmt": None, "cart_hash": "",
            "meta_data": [{"id": order_id * 3, "key": "_download_permissions_granted", "value": "yes"}],
            "line_items": line_items,
            "tax_lines": [{"id": order_id * 10 + 8, "rate_code": "TAX-1", "rate_id": 75, "label": "Tax",
                           "compound": False, "tax_total": money(cart_tax), "shipping_tax_total": "0.00",
                           "meta_data": []}] if cart_tax else [],
            "shipping_lines": [] if virtual else [{"id": order_id * 10 + 9, "method_title": "Flat Rate",
                                                   "method_id": "flat_rate", "total": money(shipping_total),
                                                   "total_tax": "0.00", "taxes": [], "meta_data": []}],
            "fee_lines": [],
            "coupon_lines": [{"id": order_id * 10 + 7, "code": "save10", "discount": money(discount),
                              "discount_tax": "0.00", "meta_data": []}] if coupon else [],
            "refunds": [],
            "_links": {"self": [{"href": f"{self.base_url}{API}/orders/{order_id}"}],
                       "collection": [{"href": f"{self.base_url}{API}/orders"}]},
        }
        # Older orders have moved along: completed, some cancelled, failed or refunded.
        age_days = (self.now() - created).days
        if status == "completed":
            self._set_status(order, "completed", created + timedelta(days=1))
            if age_days >= 5 and rng.random() < 0.1:
                self._set_status(order, "refunded", created + timedelta(days=4))
        elif status == "pending" and age_days >= 2 and rng.random() < 0.5:
            self._set_status(order, rng.choice(["cancelled", "failed"]), created + timedelta(days=1))
        return order

    def _set_status(self, order: dict, status: str, when: datetime) -> None:
        order["status"] = status
        order["date_modified"], order["date_modified_gmt"] = _local(when), _gmt(when)
        if status == "completed":
            order["date_completed"], order["date_completed_gmt"] = _local(when), _gmt(when)
        if status == "processing" and not order.get("date_paid_gmt"):
            order["date_paid"], order["date_paid_gmt"] = _local(when), _gmt(when)
        if status == "refunded" and not order["refunds"]:
            order["refunds"].append({"id": order["id"] + 1, "reason": "Order fully refunded",
                                     "total": f"-{order['total']}"})

    def change_order(self, order: dict, now: datetime) -> str | None:
        nxt = {"pending": ["processing", "processing", "failed"], "on-hold": ["processing"],
               "processing": ["completed", "completed", "cancelled"], "completed": ["refunded"]}.get(order["status"])
        if not nxt:
            return None
        self._set_status(order, self.rng.choice(nxt), now)
        return "order.updated"

    def build_webhook(self, order: dict, topic: str) -> OutboundWebhook:
        hooks = [h for h in self.registered_webhooks if h["topic"] == topic and h["status"] == "active"]
        hook = hooks[0] if hooks else None
        secret = (hook or {}).get("secret") or self.webhook_secret
        body = json.dumps(order).encode()
        signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
        resource, _, event = topic.partition(".")
        headers = {
            "Content-Type": "application/json", "User-Agent": "WooCommerce/8.9.1 Hookshot (WordPress/6.5.3)",
            "X-WC-Webhook-Source": f"{self.base_url}/", "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": resource, "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": signature, "X-WC-Webhook-ID": str((hook or {}).get("id", 1)),
            "X-WC-Webhook-Delivery-ID": f"{self.rng.getrandbits(128):032x}",
        }
        return OutboundWebhook(hook["delivery_url"] if hook else self.webhook_path, headers, body, topic=topic,
                               order_id=str(order["id"]))

    # --- API: orders ---------------------------------------------------------------------------
    def _filter(self, request: SimRequest) -> list[dict] | SimResponse:
        gmt = (request.arg("dates_are_gmt") or "").lower() in ("1", "true")
        bounds = {}
        for key in ("modified_after", "modified_before", "after", "before"):
            value = request.arg(key)
            if value:
                try:
                    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
                except ValueError:
                    return _wp_error(400, "rest_invalid_param", f"Invalid parameter(s): {key}")
                if parsed.tzinfo is None:
                    parsed = parsed.replace(tzinfo=UTC if gmt else SITE_TZ)
                bounds[key] = parsed
        statuses = [s for s in (request.arg("status") or "any").split(",") if s]
        unknown = [s for s in statuses if s not in (*STATUSES, "any")]
        if unknown:
            return _wp_error(400, "rest_invalid_param", "Invalid parameter(s): status")
        result = []
        for order in self.orders.values():
            if "any" in statuses and order["status"] == "trash":
                continue
            if "any" not in statuses and order["status"] not in statuses:
                continue
            modified, created = _parse_gmt(order["date_modified_gmt"]), _parse_gmt(order["date_created_gmt"])
            if "modified_after" in bounds and modified <= bounds["modified_after"]:
                continue
            if "modified_before" in bounds and modified >= bounds["modified_before"]:
                continue
            if "after" in bounds and created <= bounds["after"]:
                continue
            if "before" in bounds and created >= bounds["before"]:
                continue
            result.append(order)
        orderby = request.arg("orderby", "date")
        key = {"id": lambda o: o["id"], "modified": lambda o: (o["date_modified_gmt"], o["id"])}.get(
            orderby, lambda o: (o["date_created_gmt"], o["id"]))
        return sorted(result, key=key, reverse=(request.arg("order", "desc") == "desc"))

    @staticmethod
    def _refused_params(request: SimRequest) -> SimResponse | None:
        """WordPress answers an enum or type it does not accept with rest_invalid_param; unknown names, which
        WordPress ignores, are refused here too, so a misspelt filter fails a test instead of reading everything."""
        unknown = sorted(set(request.query) - ORDER_LIST_PARAMS)
        if unknown:
            return _wp_error(400, "rest_invalid_param", f"Invalid parameter(s): {', '.join(unknown)}")
        for name, allowed in (("orderby", ORDERBY), ("order", ("asc", "desc")), ("dates_are_gmt", BOOLEANS)):
            value = request.arg(name)
            if value is not None and value not in allowed:
                return _wp_error(400, "rest_invalid_param", f"Invalid parameter(s): {name}")
        return None

    @route("GET", rf"^{API}/orders$")
    def list_orders(self, request: SimRequest) -> SimResponse:
        try:
            page, per_page = int(request.arg("page", "1")), int(request.arg("per_page", "10"))
        except ValueError:
            return _wp_error(400, "rest_invalid_param", "Invalid parameter(s): page, per_page")
        if not 1 <= per_page <= self.per_page_max or page < 1:
            return _wp_error(400, "rest_invalid_param", "Invalid parameter(s): per_page (must be between 1 and 100)")
        refused = self._refused_params(request)
        if refused is not None:
            return refused
        with self.lock:
            matching = self._filter(request)
            if not isinstance(matching, SimResponse):
                served = [json.loads(json.dumps(order)) for order in matching[(page - 1) * per_page: page * per_page]]
                self.shift_during_paging(matching)
        if isinstance(matching, SimResponse):
            return matching
        total = len(matching)
        total_pages = (total + per_page - 1) // per_page
        if page > max(total_pages, 1):
            return _wp_error(400, "rest_post_invalid_page_number",
                             "The page number requested is larger than the number of pages available.")
        items = served
        query = {k: v[0] for k, v in request.query.items() if k not in ("consumer_key", "consumer_secret")}
        links = []
        if page > 1:
            links.append(f'<{request.base_url}{API}/orders?{urlencode({**query, "page": page - 1})}>; rel="prev"')
        if page < total_pages:
            links.append(f'<{request.base_url}{API}/orders?{urlencode({**query, "page": page + 1})}>; rel="next"')
        headers = [("X-WP-Total", str(total)), ("X-WP-TotalPages", str(total_pages))]
        if links:
            headers.append(("Link", ", ".join(links)))
        return json_response(items, headers=headers)

    @route("GET", rf"^{API}/orders/(?P<order_id>\d+)$")
    def get_order_route(self, request: SimRequest, order_id: str) -> SimResponse:
        order = self.get_order(order_id)
        if order is None:
            return _wp_error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        return json_response(order)

    @route("PUT", rf"^{API}/orders/(?P<order_id>\d+)$")
    def update_order(self, request: SimRequest, order_id: str) -> SimResponse:
        try:
            body = request.json() or {}
        except ValueError:
            return _wp_error(400, "rest_invalid_json", "Invalid JSON body passed.")
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                return _wp_error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
            status = body.get("status")
            if status is not None and status not in STATUSES:
                return _wp_error(400, "rest_invalid_param", "Invalid parameter(s): status")
            if status:
                self._set_status(order, status, self.now())
            if "customer_note" in body:
                order["customer_note"] = body["customer_note"]
            self.touch(order)
            self.record_writeback(request, kind="status", order_id=order_id, status=status)
            return json_response(order)

    @route("POST", rf"^{API}/orders/(?P<order_id>\d+)/notes$")
    def create_note(self, request: SimRequest, order_id: str) -> SimResponse:
        try:
            body = request.json() or {}
        except ValueError:
            return _wp_error(400, "rest_invalid_json", "Invalid JSON body passed.")
        if not body.get("note"):
            return _wp_error(400, "rest_missing_callback_param", "Missing parameter(s): note")
        with self.lock:
            if order_id not in self.orders:
                return _wp_error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
            notes = self.notes.setdefault(order_id, [])
            note = {"id": 300 + sum(len(n) for n in self.notes.values()), "author": "WooCommerce",
                    "date_created": _local(self.now()), "date_created_gmt": _gmt(self.now()),
                    "note": body["note"], "customer_note": bool(body.get("customer_note", False))}
            notes.append(note)
            self.record_writeback(request, kind="note", order_id=order_id, noteId=note["id"])
        return json_response(note, 201)

    @route("GET", rf"^{API}/orders/(?P<order_id>\d+)/notes$")
    def list_notes(self, request: SimRequest, order_id: str) -> SimResponse:
        with self.lock:
            return json_response(list(reversed(self.notes.get(order_id, []))))

    # --- the Shipment Tracking extension (wc-shipment-tracking/v3) -----------------------------------------
    def _no_route(self) -> SimResponse:
        return _wp_error(404, "rest_no_route", "No route was found matching the URL and request method.")

    @route("GET", rf"^{TRACKING_API}/shipment-trackings/providers$")
    def tracking_providers(self, request: SimRequest) -> SimResponse:
        if not self.shipment_tracking:
            return self._no_route()
        return json_response(TRACKING_PROVIDERS)

    @route("GET", rf"^{TRACKING_API}/orders/(?P<order_id>\d+)/shipment-trackings$")
    def list_trackings(self, request: SimRequest, order_id: str) -> SimResponse:
        if not self.shipment_tracking:
            return self._no_route()
        with self.lock:
            if order_id not in self.orders:
                return _wp_error(404, "woocommerce_rest_order_invalid_id", "Invalid order ID.")
            return json_response(self.trackings.get(order_id, []))

    @route("POST", rf"^{TRACKING_API}/orders/(?P<order_id>\d+)/shipment-trackings$")
    def create_tracking(self, request: SimRequest, order_id: str) -> SimResponse:
        if not self.shipment_tracking:
            return self._no_route()
        try:
            body = request.json() or {}
        except ValueError:
            return _wp_error(400, "rest_invalid_json", "Invalid JSON body passed.")
        unknown = sorted(set(body) - {"tracking_provider", "custom_tracking_provider", "custom_tracking_link",
                                      "tracking_number", "date_shipped"})
        if unknown:
            return _wp_error(400, "rest_invalid_param", f"Invalid parameter(s): {', '.join(unknown)}")
        if not body.get("tracking_number"):
            return _wp_error(400, "rest_missing_callback_param", "Missing parameter(s): tracking_number")
        links = {name: link for group in TRACKING_PROVIDERS.values() for name, link in group.items()}
        provider = body.get("tracking_provider")
        if provider is not None and provider not in links:
            return _wp_error(400, "rest_invalid_param", "Invalid parameter(s): tracking_provider")
        if not provider and not body.get("custom_tracking_provider"):
            return _wp_error(400, "rest_missing_callback_param",
                             "Missing parameter(s): tracking_provider or custom_tracking_provider")
        shipped = body.get("date_shipped") or self.now().date().isoformat()
        try:
            datetime.strptime(shipped, "%Y-%m-%d")
        except ValueError:
            return _wp_error(400, "rest_invalid_param", "Invalid parameter(s): date_shipped")
        with self.lock:
            if order_id not in self.orders:
                return _wp_error(404, "woocommerce_rest_order_invalid_id", "Invalid order ID.")
            template = links.get(provider) if provider else body.get("custom_tracking_link") or ""
            item = {"tracking_id": hashlib.md5(f"{order_id}:{body['tracking_number']}:{len(self.trackings)}"
                                               .encode()).hexdigest(),
                    "tracking_provider": provider or body["custom_tracking_provider"],
                    "tracking_link": template.replace("%1$s", body["tracking_number"]),
                    "tracking_number": body["tracking_number"], "date_shipped": shipped}
            self.trackings.setdefault(order_id, []).append(item)
            self.set_order_updated_at(self.orders[order_id], self.now())
            self.touch(self.orders[order_id])
            self.record_writeback(request, kind="shipment_tracking", order_id=order_id, trackingId=item["tracking_id"])
        return json_response(item, 201)

    def handle_sim(self, what: str, request: SimRequest) -> SimResponse | None:
        """`POST _sim/extensions {"shipmentTracking": bool}` turns the Shipment Tracking extension on or off."""
        if request.method == "POST" and what == "extensions":
            self.shipment_tracking = bool((request.json() or {}).get("shipmentTracking"))
            return json_response({"shipmentTracking": self.shipment_tracking})
        return None

    # --- API: webhooks -------------------------------------------------------------------------
    @route("GET", rf"^{API}/webhooks$")
    def list_webhooks(self, request: SimRequest) -> SimResponse:
        with self.lock:
            visible = [{k: v for k, v in h.items() if k != "secret"} for h in self.registered_webhooks]
        return json_response(visible, headers=[("X-WP-Total", str(len(visible))), ("X-WP-TotalPages", "1")])

    @route("POST", rf"^{API}/webhooks$")
    def create_webhook(self, request: SimRequest) -> SimResponse:
        body = request.json() or {}
        if not body.get("topic") or not body.get("delivery_url"):
            return _wp_error(400, "rest_missing_callback_param", "Missing parameter(s): topic, delivery_url")
        with self.lock:
            hook = {"id": 140 + len(self.registered_webhooks), "name": body.get("name") or body["topic"],
                    "status": body.get("status", "active"), "topic": body["topic"],
                    "resource": body["topic"].split(".")[0], "event": body["topic"].split(".")[-1],
                    "hooks": [], "delivery_url": body["delivery_url"], "secret": body.get("secret") or "",
                    "date_created": _local(self.now()), "date_created_gmt": _gmt(self.now())}
            self.registered_webhooks.append(hook)
            self.record_writeback(request, kind="webhook_registration")
        # WooCommerce pings a new active webhook's URL with a form body `webhook_id=N` (unsigned).
        if hook["status"] == "active":
            self.deliver([OutboundWebhook(hook["delivery_url"], {
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": "WooCommerce/8.9.1 Hookshot (WordPress/6.5.3)"},
                f"webhook_id={hook['id']}".encode(), topic="ping")])
        return json_response({k: v for k, v in hook.items() if k != "secret"}, 201)

    @route("DELETE", rf"^{API}/webhooks/(?P<hook_id>\d+)$")
    def delete_webhook(self, request: SimRequest, hook_id: str) -> SimResponse:
        with self.lock:
            found = [h for h in self.registered_webhooks if str(h["id"]) == hook_id]
            if not found:
                return _wp_error(404, "woocommerce_rest_webhook_invalid_id", "Invalid ID.")
            self.registered_webhooks.remove(found[0])
        return json_response({k: v for k, v in found[0].items() if k != "secret"})
