"""Walmart Marketplace Orders API v3, simulated: client-credentials tokens that expire after 900 s, the
WM_* headers checked, GET /v3/orders with `nextCursor` paging (404 when nothing matches), acknowledge,
ship and cancel order lines (recorded), and 429s past a token bucket. Walmart sends no order webhooks.

Orders follow the published examples (tests/fixtures/walmart): epoch-millisecond dates, lists wrapped in
objects (`orderLines.orderLine`), charges as JSON numbers, quantities as strings, relay e-mails.
"""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlencode

from simulator.base import (
    ChannelSimulator,
    DemoChannel,
    SimRequest,
    SimResponse,
    TokenBucket,
    json_response,
    route,
)

CLIENT_ID = "sim-walmart-client-id"
CLIENT_SECRET = "sim-walmart-client-secret"
TOKEN_SECONDS = 900
PARTNER_ID = "100009"
PO_BASE = 1_796_277_083_022
PRODUCTS = [
    ("Qwik Time QT5 Quartz Metronome", "TEST-02", Decimal("9.99")),
    ("Beba Bean Pee-pee Teepee Airplane - Blue - Laundry Bag", "test1", Decimal("10.00")),
    ("Mac Sports Heavy Duty Steel Double Decker Collapsible Yard Cart Wagon, Purple", "YHY-FN25200B2",
     Decimal("89.97")),
    ("Motorola TurboPower 15 USB-C car charger", "AC004", Decimal("14.49")),
]
ADDRESSES = [
    ("Kathryn Cole", "3258BWarners rd", "Garage", "Warners", "NY", "13164", "3155598681"),
    ("Steffen Matt", "1830 Mason St", None, "San Francisco", "CA", "94133", "4088592715"),
    ("Sunitha Murthy", "9400 w parmer ln", "Apt # 1027", "Austin", "TX", "78717", "4089130712"),
    ("Debbie Chandler", "1012 Campground Road", None, "Cabot", "AR", "72023", "5019411012"),
]
CARRIERS = [("USPS", "9400{:018d}", "http://walmart.narvar.com/walmart/tracking/usps?tracking_numbers={}"),
            ("UPS", "1Z999AA1{:010d}", "http://walmart.narvar.com/walmart/tracking/ups?tracking_numbers={}"),
            ("FedEx", "7{:011d}", "http://walmart.narvar.com/walmart/tracking/fedex?tracking_numbers={}")]
METHOD_CODES = {"Standard", "Express", "OneDay", "Freight", "WhiteGlove", "Value"}
TAX_RATE = Decimal("0.08")


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _num(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


def _errors(status: int, code: str, description: str, *, field: str = "", info: str = "") -> SimResponse:
    return json_response({"errors": {"error": [{"code": code, "field": field, "description": description,
                                                "info": info or description, "severity": "ERROR",
                                                "category": "DATA", "causes": []}]}}, status)


def _parse_date(value: str) -> datetime:
    if len(value) == 10:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _lines(order: dict) -> list[dict]:
    return order["orderLines"]["orderLine"]


def _open_quantity(line: dict) -> int:
    return sum(int(s["statusQuantity"]["amount"]) for s in line["orderLineStatuses"]["orderLineStatus"]
               if s["status"] in ("Created", "Acknowledged"))


class Simulator(ChannelSimulator):
    name = "walmart"
    webhook_path = None   # no order webhooks for this flow: polled

    def __init__(self, **kwargs):
        self.tokens: dict[str, float] = {}   # access token -> expiry (time.time())
        self.wall = time.time
        super().__init__(**kwargs)

    # --- framework hooks -----------------------------------------------------------------------
    def make_rate_limiter(self) -> TokenBucket:
        return TokenBucket(10, 5.0, clock=self.clock)

    def rate_limited_response(self, retry_after: float) -> SimResponse:
        response = _errors(429, "REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API", "Too Many Requests",
                           info="This request exceeds the throttling limit.")
        response.headers.append(("Retry-After", str(max(1, int(retry_after + 0.999)))))
        return response

    def authenticate(self, request: SimRequest) -> SimResponse | None:
        if not request.header("WM_SVC.NAME"):
            return _errors(400, "INVALID_REQUEST_HEADER.GMP_GATEWAY_API", "WM_SVC.NAME set null or invalid",
                           field="WM_SVC.NAME")
        if not request.header("WM_QOS.CORRELATION_ID"):
            return _errors(400, "INVALID_REQUEST_HEADER.GMP_GATEWAY_API", "WM_QOS.CORRELATION_ID set null or "
                                                                          "invalid", field="WM_QOS.CORRELATION_ID")
        if request.path == "/v3/token":
            return None
        token = request.header("WM_SEC.ACCESS_TOKEN")
        with self.lock:
            expiry = self.tokens.get(token or "")
        if expiry is None or expiry <= self.wall():
            return _errors(401, "UNAUTHORIZED.GMP_GATEWAY_API", "Unauthorized",
                           info="Unauthorized token or invalid request.", field="UNAUTHORIZED")
        return None

    def order_id(self, order: dict) -> str:
        return order["purchaseOrderId"]

    def order_updated_at(self, order: dict) -> datetime:
        latest = max([order["orderDate"], *(line["statusDate"] for line in _lines(order))])
        return datetime.fromtimestamp(latest / 1000, tz=UTC)

    def new_order_topic(self) -> str:
        return "PO_CREATED"

    def set_order_updated_at(self, order: dict, when: datetime) -> None:
        """A change that moves no status (an edited ship-to, say): the lines' status dates are when it happened."""
        for line in _lines(order):
            line["statusDate"] = _ms(when)

    def demo_channel(self) -> DemoChannel:
        return DemoChannel(channel_id="demo-walmart", provider="walmart", label="Demo Walmart Marketplace",
                           config={"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "baseUrl": self.base_url},
                           webhook_secret="", poll_interval_minutes=5)

    def expire_tokens(self) -> None:
        """Tests and demos: every issued token expires now (the next API call answers 401)."""
        with self.lock:
            self.tokens.clear()

    # --- catalogue -----------------------------------------------------------------------------
    def generate_order(self, index: int, created_at: datetime) -> dict:
        rng = self.rng
        po = str(PO_BASE + index * 104_729 + rng.randint(1, 100_000))
        name, line1, line2, city, state, postal, phone = rng.choice(ADDRESSES)
        ordered = _ms(created_at)
        released = min(ordered + 60_000, _ms(self.now()))   # released to the seller a minute later, never ahead
        lines = []
        for number in range(1, rng.choice([1, 1, 2, 3]) + 1):
            product, sku, price = rng.choice(PRODUCTS)
            quantity = rng.choice([1, 1, 1, 2])
            amount = price * quantity
            charges = [{"chargeType": "PRODUCT", "chargeName": "ItemPrice",
                        "chargeAmount": {"currency": "USD", "amount": _num(amount)},
                        "tax": {"taxName": "Tax1", "taxAmount": {"currency": "USD",
                                                                 "amount": _num(amount * TAX_RATE)}}}]
            if rng.random() < 0.3:
                charges.append({"chargeType": "SHIPPING", "chargeName": "Shipping",
                                "chargeAmount": {"currency": "USD", "amount": 5.99},
                                "tax": {"taxName": "Tax2", "taxAmount": {"currency": "USD", "amount": 0.48}}})
            lines.append({
                "lineNumber": str(number), "item": {"productName": product, "sku": sku},
                "charges": {"charge": charges},
                "orderLineQuantity": {"unitOfMeasurement": "EACH", "amount": str(quantity)},
                "statusDate": released,
                "orderLineStatuses": {"orderLineStatus": [
                    {"status": "Created", "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(quantity)}}]},
                "fulfillment": {"fulfillmentOption": "S2H", "shipMethod": "VALUE",
                                "pickUpDateTime": ordered + 5 * 86_400_000},
            })
        postal_address = {"name": name, "address1": line1, "city": city, "state": state, "postalCode": postal,
                          "country": "USA", "addressType": "RESIDENTIAL"}
        if line2:
            postal_address["address2"] = line2
        order = {
            "purchaseOrderId": po, "customerOrderId": str(5_281_956_426_648 + index * 37 + rng.randint(1, 30)),
            "customerEmailId": f"{rng.getrandbits(128):032X}@relay.walmart.com",
            "orderType": "REGULAR", "orderDate": ordered,
            "shippingInfo": {"phone": phone, "estimatedDeliveryDate": ordered + 7 * 86_400_000,
                             "estimatedShipDate": ordered + 2 * 86_400_000, "methodCode": "Value",
                             "postalAddress": postal_address},
            "orderLines": {"orderLine": lines},
            "shipNode": {"type": "SellerFulfilled"},
        }
        age_days = (self.now() - created_at).days
        if age_days >= 1:
            self._set_lines(order, "Created", "Acknowledged", created_at + timedelta(hours=2))
            if age_days >= 2 and rng.random() < 0.75:
                carrier, pattern, url = rng.choice(CARRIERS)
                number = pattern.format(rng.randint(0, 10**9))
                self._set_lines(order, "Acknowledged", "Shipped", created_at + timedelta(days=1),
                                tracking={"shipDateTime": _ms(created_at + timedelta(days=1)),
                                          "carrierName": {"carrier": carrier}, "methodCode": "Value",
                                          "trackingNumber": number, "trackingURL": url.format(number)})
                if age_days >= 7 and rng.random() < 0.6:
                    self._set_lines(order, "Shipped", "Delivered", created_at + timedelta(days=5))
            elif rng.random() < 0.1:
                self._set_lines(order, "Acknowledged", "Cancelled", created_at + timedelta(days=1))
        return order

    # --- lifecycle -----------------------------------------------------------------------------
    def _set_lines(self, order: dict, from_status: str, to_status: str, when: datetime, *,
                   tracking: dict | None = None, line_numbers: dict[str, int] | None = None,
                   extra: dict | None = None) -> list[str]:
        """Move `from_status` quantity to `to_status` (all lines, or {lineNumber: quantity})."""
        moved = []
        for line in _lines(order):
            statuses = line["orderLineStatuses"]["orderLineStatus"]
            wanted = None if line_numbers is None else line_numbers.get(line["lineNumber"])
            if line_numbers is not None and not wanted:
                continue
            for status in list(statuses):
                if status["status"] != from_status:
                    continue
                available = int(status["statusQuantity"]["amount"])
                quantity = min(available, wanted or available)
                if quantity < available:
                    status["statusQuantity"]["amount"] = str(available - quantity)
                else:
                    statuses.remove(status)
                entry = {"status": to_status, "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(quantity)}}
                if tracking:
                    entry["trackingInfo"] = dict(tracking)
                entry.update(extra or {})
                same = next((s for s in statuses if s["status"] == to_status and not tracking and not extra), None)
                if same:
                    same["statusQuantity"]["amount"] = str(int(same["statusQuantity"]["amount"]) + quantity)
                else:
                    statuses.append(entry)
                line["statusDate"] = _ms(when)
                moved.append(line["lineNumber"])
                break
        return moved

    def change_order(self, order: dict, now: datetime) -> str | None:
        statuses = {s["status"] for line in _lines(order) for s in line["orderLineStatuses"]["orderLineStatus"]}
        if "Shipped" in statuses:
            self._set_lines(order, "Shipped", "Delivered", now)
            return "PO_LINE_DELIVERED"
        if "Created" in statuses and self.rng.random() < 0.1:
            self._set_lines(order, "Created", "Cancelled", now)
            return "PO_LINE_CANCELLED"
        return None   # acknowledging and shipping is the seller's (our app's) job

    # --- API: token ----------------------------------------------------------------------------
    @route("POST", r"^/v3/token$")
    def token(self, request: SimRequest) -> SimResponse:
        auth = request.header("Authorization") or ""
        try:
            client_id, _, client_secret = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
        except ValueError:
            client_id = client_secret = ""
        form = {key: values[0] for key, values in parse_qs(request.body.decode(errors="replace")).items()}
        if (client_id, client_secret) != (CLIENT_ID, CLIENT_SECRET):
            return _errors(401, "UNAUTHORIZED.GMP_GATEWAY_API", "Unauthorized", info="Invalid client credentials")
        if form.get("grant_type") != "client_credentials":
            return _errors(400, "INVALID_REQUEST.GMP_GATEWAY_API", "grant_type must be client_credentials")
        token = "eyJraWQiOiJzaW0ifQ." + format(self.rng.getrandbits(192), "048x")
        with self.lock:
            self.tokens[token] = self.wall() + TOKEN_SECONDS
        return json_response({"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_SECONDS})

    # --- API: orders ---------------------------------------------------------------------------
    @route("GET", r"^/v3/orders$")
    def list_orders(self, request: SimRequest) -> SimResponse:
        params = {key: values[0] for key, values in request.query.items()}
        try:
            limit = int(params.get("limit", "100"))
            offset = int(params.get("poIndex", "0")) if params.get("hasMoreElements") else 0
        except ValueError:
            return _errors(400, "INVALID_REQUEST_PARAM.GMP_ORDER_API", "limit must be a number", field="limit")
        if not 1 <= limit <= 200:
            return _errors(400, "INVALID_REQUEST_PARAM.GMP_ORDER_API", "limit must be between 1 and 200",
                           field="limit")
        filters = {k: v for k, v in params.items() if k not in ("limit", "hasMoreElements", "soIndex", "poIndex",
                                                                 "partnerId", "sellerId")}
        # Walmart's default window: orders created in the last 7 days unless createdStartDate says otherwise.
        created_from = filters.get("createdStartDate") or (self.now() - timedelta(days=7)).strftime("%Y-%m-%d")
        try:
            bounds = {key: _parse_date(value) for key, value in {**filters, "createdStartDate": created_from}.items()
                      if key.endswith("Date")}
        except ValueError as exc:
            return _errors(400, "INVALID_REQUEST_PARAM.GMP_ORDER_API", f"invalid date: {exc}")
        with self.lock:
            matching = [o for o in self.orders.values() if self._matches(o, filters, bounds)]
            matching.sort(key=lambda o: o["orderDate"], reverse=True)
            page = json.loads(json.dumps(matching[offset:offset + limit]))
            total = len(matching)
            self.shift_during_paging(matching)
        if not total:
            return _errors(404, "CONTENT_NOT_FOUND.GMP_ORDER_API", "No Orders found", info="No Orders found")
        meta = {"totalCount": total, "limit": limit}
        if offset + limit < total:
            meta["nextCursor"] = "?" + urlencode({"limit": limit, "hasMoreElements": "true",
                                                  "soIndex": total, "poIndex": offset + limit,
                                                  "partnerId": PARTNER_ID, "sellerId": "8", **filters})
        return json_response({"list": {"meta": meta, "elements": {"order": page}}})

    def _matches(self, order: dict, filters: dict, bounds: dict[str, datetime]) -> bool:
        created = datetime.fromtimestamp(order["orderDate"] / 1000, tz=UTC)
        modified = self.order_updated_at(order)
        checks = (("createdStartDate", created, "ge"), ("createdEndDate", created, "le"),
                  ("lastModifiedStartDate", modified, "ge"), ("lastModifiedEndDate", modified, "le"))
        for key, value, op in checks:
            bound = bounds.get(key)
            if bound and ((op == "ge" and value < bound) or (op == "le" and value > bound)):
                return False
        if filters.get("status"):
            statuses = {s["status"] for line in _lines(order) for s in line["orderLineStatuses"]["orderLineStatus"]}
            if filters["status"] not in statuses:
                return False
        if filters.get("purchaseOrderId") and filters["purchaseOrderId"] != order["purchaseOrderId"]:
            return False
        if filters.get("sku") and all(line["item"]["sku"] != filters["sku"] for line in _lines(order)):
            return False
        return True

    @route("GET", r"^/v3/orders/(?P<po>\d+)$")
    def get_order_route(self, request: SimRequest, po: str) -> SimResponse:
        order = self.get_order(po)
        if order is None:
            return _errors(404, "CONTENT_NOT_FOUND.GMP_ORDER_API", "No Orders found")
        return json_response({"order": order})

    @route("POST", r"^/v3/orders/(?P<po>\d+)/acknowledge$")
    def acknowledge(self, request: SimRequest, po: str) -> SimResponse:
        with self.lock:
            order = self.orders.get(po)
            if order is None:
                return _errors(404, "CONTENT_NOT_FOUND.GMP_ORDER_API", "No Orders found")
            moved = self._set_lines(order, "Created", "Acknowledged", self.now())
            if not moved and not any(_open_quantity(line) for line in _lines(order)):
                return _errors(400, "INVALID_REQUEST_CONTENT.GMP_ORDER_API",
                               "Order has no line in Created status to acknowledge")
            self.touch(order)
            self.record_writeback(request, kind="acknowledge", order_id=po, lines=moved)
            return json_response({"order": order})

    def _requested_lines(self, body: dict, wrapper: str) -> list[dict] | SimResponse:
        try:
            lines = body[wrapper]["orderLines"]["orderLine"]
            assert isinstance(lines, list) and lines
        except (KeyError, TypeError, AssertionError):
            return _errors(400, "INVALID_REQUEST_CONTENT.GMP_ORDER_API",
                           f"{wrapper}.orderLines.orderLine is required")
        return lines

    @route("POST", r"^/v3/orders/(?P<po>\d+)/shipping$")
    def ship(self, request: SimRequest, po: str) -> SimResponse:
        body = request.json() or {}
        lines = self._requested_lines(body, "orderShipment")
        if isinstance(lines, SimResponse):
            return lines
        with self.lock:
            order = self.orders.get(po)
            if order is None:
                return _errors(404, "CONTENT_NOT_FOUND.GMP_ORDER_API", "No Orders found")
            by_number = {line["lineNumber"]: line for line in _lines(order)}
            plan = []
            for requested in lines:
                number = str(requested.get("lineNumber"))
                status = ((requested.get("orderLineStatuses") or {}).get("orderLineStatus") or [{}])[0]
                info = status.get("trackingInfo") or {}
                carrier = info.get("carrierName") or {}
                quantity = (status.get("statusQuantity") or {}).get("amount")
                problem = None
                if number not in by_number:
                    problem = f"lineNumber {number} is not in the purchase order"
                elif status.get("status") != "Shipped":
                    problem = "status must be Shipped"
                elif not str(quantity or "").isdigit() or int(quantity) < 1:
                    problem = "statusQuantity.amount must be a positive number"
                elif not isinstance(info.get("shipDateTime"), int):
                    problem = "trackingInfo.shipDateTime (epoch ms) is required"
                elif not (carrier.get("carrier") or carrier.get("otherCarrier")):
                    problem = "trackingInfo.carrierName.carrier or otherCarrier is required"
                elif info.get("methodCode") not in METHOD_CODES:
                    problem = f"trackingInfo.methodCode must be one of {sorted(METHOD_CODES)}"
                elif not info.get("trackingNumber"):
                    problem = "trackingInfo.trackingNumber is required"
                else:
                    line = by_number[number]
                    acknowledged = sum(int(s["statusQuantity"]["amount"])
                                       for s in line["orderLineStatuses"]["orderLineStatus"]
                                       if s["status"] == "Acknowledged")
                    if int(quantity) > acknowledged:
                        problem = f"line {number}: only {acknowledged} acknowledged unit(s) can ship"
                if problem:
                    return _errors(400, "INVALID_REQUEST_CONTENT.GMP_ORDER_API", problem)
                plan.append((number, int(quantity), info))
            for number, quantity, info in plan:
                self._set_lines(order, "Acknowledged", "Shipped", self.now(), tracking=info,
                                line_numbers={number: quantity})
            self.touch(order)
            self.record_writeback(request, kind="ship_lines", order_id=po)
            return json_response({"order": order})

    @route("POST", r"^/v3/orders/(?P<po>\d+)/cancel$")
    def cancel(self, request: SimRequest, po: str) -> SimResponse:
        body = request.json() or {}
        lines = self._requested_lines(body, "orderCancellation")
        if isinstance(lines, SimResponse):
            return lines
        with self.lock:
            order = self.orders.get(po)
            if order is None:
                return _errors(404, "CONTENT_NOT_FOUND.GMP_ORDER_API", "No Orders found")
            for requested in lines:
                number = str(requested.get("lineNumber"))
                status = ((requested.get("orderLineStatuses") or {}).get("orderLineStatus") or [{}])[0]
                if status.get("status") != "Cancelled" or not status.get("cancellationReason"):
                    return _errors(400, "INVALID_REQUEST_CONTENT.GMP_ORDER_API",
                                   "status Cancelled with a cancellationReason is required")
                quantity = int((status.get("statusQuantity") or {}).get("amount") or 0)
                extra = {"cancellationReason": status["cancellationReason"]}
                for from_status in ("Created", "Acknowledged"):
                    moved = self._set_lines(order, from_status, "Cancelled", self.now(),
                                            line_numbers={number: quantity}, extra=extra)
                    if moved:
                        break
                else:
                    return _errors(400, "INVALID_REQUEST_CONTENT.GMP_ORDER_API",
                                   f"line {number} has nothing left to cancel")
            self.touch(order)
            self.record_writeback(request, kind="cancel_lines", order_id=po)
            return json_response({"order": order})
