"""Walmart Marketplace Orders API v3, simulated: client-credentials tokens that expire after 900 s, the
WM_* headers checked, GET /v3/orders with `nextCursor` paging (404 when nothing matches), acknowledge,
ship and cancel order lines (recorded), and 429s past a token bucket. Webhook subscriptions (Notifications API:
POST/GET/DELETE /v3/webhooks/subscriptions); a new purchase order is then pushed to the subscribed URL as
ORDER_UPDATES (sub-event PO_CREATED) or, for a legacy PO_CREATED subscription, as that event, HMAC-signed with
the subscription's clientSecret in its authHeaderName.

Orders follow the published examples (tests/fixtures/walmart): epoch-millisecond dates, lists wrapped in
objects (`orderLines.orderLine`), charges as JSON numbers, quantities as strings, relay e-mails.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlencode

from simulator.base import (
    ChannelSimulator,
    DemoChannel,
    OutboundWebhook,
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
# Enums of the shipping update as Walmart's US Marketplace Orders OpenAPI publishes them (TrackingInfoType,
# CarrierNameType, QuantityType; orders.json in highsidelabs/walmart-api-php at d4afcb4c65ab): written out here
# again, not imported, so the app's own list is checked against the published one.
METHOD_CODES = {"Standard", "Express", "OneDay", "Freight", "WhiteGlove", "Value"}
CARRIER_ENUM = frozenset((
    "UPS", "USPS", "FedEx", "Airborne", "OnTrac", "DHL Ecommerce - US", "LS", "UDS", "UPSMI", "FDX", "PILOT",
    "ESTES", "SAIA", "FDS Express", "Seko Worldwide", "HIT Delivery", "FEDEXSP", "RL Carriers",
    "Metropolitan Warehouse & Delivery", "China Post", "YunExpress", "Yellow Freight Sys", "AIT Worldwide Logistics",
    "Chukou1", "Sendle", "Landmark Global", "Sunyou", "Yanwen", "4PX", "GLS", "OSM Worldwide", "FIRST MILE",
    "AM Trucking", "CEVA", "India Post", "SF Express", "CNE", "TForce Freight", "AxleHire", "LSO", "Royal Mail",
    "ABF Freight System", "WanB", "Roadrunner Freight", "Meyer Distribution", "AAA Cooper", "Canada Post",
    "Southeastern Freight Lines", "Japan Post", "Correos de Mexico", "XPO Logistics", "JD Logistics", "YDH", "JCEX",
    "Flyt", "Deutsche Post",
))
UNITS = {"EACH", "EA"}
LINE_STATUSES = {"Created", "Acknowledged", "Shipped", "Delivered", "Cancelled", "Refund"}
TAX_RATE = Decimal("0.08")


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _num(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


def shipping_line_problem(requested: dict) -> tuple[str, str] | None:
    """(field, description) of the first way one orderShipment line breaks Walmart's published schema: the
    required fields (ShippingLineType: lineNumber, sellerOrderId, orderLineStatuses; ShipLineStatusType: status,
    statusQuantity, trackingInfo; TrackingInfoType: shipDateTime, carrierName, methodCode, trackingNumber), the
    enums, and otherCarrier only with a trackingURL. None: the line is well formed."""
    if not isinstance(requested, dict):
        return "orderLine", "each orderLine must be an object"
    if not isinstance(requested.get("lineNumber"), str) or not requested["lineNumber"]:
        return "lineNumber", "lineNumber (string) is required"
    seller_order_id = requested.get("sellerOrderId")
    if not isinstance(seller_order_id, str) or not seller_order_id:
        return "sellerOrderId", "sellerOrderId is required"
    if len(seller_order_id) > 30:
        return "sellerOrderId", "sellerOrderId is limited to 30 characters"
    if "intentToCancelOverride" in requested and not isinstance(requested["intentToCancelOverride"], bool):
        return "intentToCancelOverride", "intentToCancelOverride must be a boolean"
    statuses = (requested.get("orderLineStatuses") or {}).get("orderLineStatus") \
        if isinstance(requested.get("orderLineStatuses"), dict) else None
    if not isinstance(statuses, list) or not statuses or not all(isinstance(s, dict) for s in statuses):
        return "orderLineStatuses", "orderLineStatuses.orderLineStatus[] is required"
    for status in statuses:
        if status.get("status") not in LINE_STATUSES:
            return "status", f"status must be one of {sorted(LINE_STATUSES)}"
        quantity = status.get("statusQuantity")
        if not isinstance(quantity, dict) or quantity.get("unitOfMeasurement") not in UNITS \
                or not isinstance(quantity.get("amount"), str):
            return "statusQuantity", "statusQuantity {unitOfMeasurement: EACH, amount: string} is required"
        info = status.get("trackingInfo")
        if not isinstance(info, dict):
            return "trackingInfo", "trackingInfo is required"
        if not isinstance(info.get("shipDateTime"), int) or isinstance(info.get("shipDateTime"), bool):
            return "shipDateTime", "trackingInfo.shipDateTime (epoch milliseconds) is required"
        if info.get("methodCode") not in METHOD_CODES:
            return "methodCode", f"trackingInfo.methodCode must be one of {sorted(METHOD_CODES)}"
        if not isinstance(info.get("trackingNumber"), str) or not info["trackingNumber"]:
            return "trackingNumber", "trackingInfo.trackingNumber is required"
        carrier = info.get("carrierName")
        if not isinstance(carrier, dict) or not (carrier.get("carrier") or carrier.get("otherCarrier")):
            return "carrierName", "trackingInfo.carrierName.carrier or otherCarrier is required"
        if carrier.get("carrier") and carrier["carrier"] not in CARRIER_ENUM:
            return "carrier", f"carrierName.carrier {carrier['carrier']!r} is not a valid carrier; use otherCarrier"
        if carrier.get("otherCarrier") and not info.get("trackingURL"):
            return "trackingURL", "trackingURL is mandatory when otherCarrier is used"
    return None


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


# Notification event types (GET /v3/webhooks/eventTypes sample, and ORDER_UPDATES from the 2026 order management
# webhook) and the resource each belongs to.
EVENT_RESOURCES = {"ORDER_UPDATES": "ORDER", "PO_CREATED": "ORDER", "PO_LINE_AUTOCANCELLED": "ORDER",
                   "INTENT_TO_CANCEL": "ORDER", "OFFER_UNPUBLISHED": "ITEM", "BUY_BOX_CHANGED": "PRICE",
                   "REPORT_STATUS": "REPORTS"}
AUTH_METHODS = {"BASIC_AUTH", "OAUTH", "HMAC"}


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Simulator(ChannelSimulator):
    name = "walmart"
    webhook_path = "/upstream/webhooks/walmart/orders"

    def __init__(self, **kwargs):
        self.tokens: dict[str, float] = {}   # access token -> expiry (time.time())
        self.subscriptions: dict[str, dict] = {}   # subscriptionId -> the subscribed event as created
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
                           webhook_secret=self.webhook_secret, poll_interval_minutes=5)

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
                invalid = shipping_line_problem(requested)
                if invalid:
                    return _errors(400, "INVALID_REQUEST_CONTENT.GMP_ORDER_API", invalid[1], field=invalid[0])
                number = requested["lineNumber"]
                status = requested["orderLineStatuses"]["orderLineStatus"][0]
                info = status["trackingInfo"]
                quantity = status["statusQuantity"]["amount"]
                problem = None
                if number not in by_number:
                    problem = f"lineNumber {number} is not in the purchase order"
                elif status["status"] != "Shipped":
                    problem = "status must be Shipped"
                elif not quantity.isdigit() or int(quantity) < 1:
                    problem = "statusQuantity.amount must be a positive number"
                else:
                    line = by_number[number]
                    acknowledged = sum(int(s["statusQuantity"]["amount"])
                                       for s in line["orderLineStatuses"]["orderLineStatus"]
                                       if s["status"] == "Acknowledged")
                    if line.get("intentToCancel") and requested.get("intentToCancelOverride") is not True:
                        problem = (f"line {number}: the customer intends to cancel; pass intentToCancelOverride "
                                   "true to ship it")
                    elif int(quantity) > acknowledged:
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

    # --- notifications -------------------------------------------------------------------------
    def build_webhook(self, order: dict, topic: str) -> OutboundWebhook | None:
        """A new purchase order, as each active ORDER subscription wants it (only PO_CREATED is pushed: Walmart
        sends no notification for a delivery). Unsubscribed: ORDER_UPDATES to our receiver for the demo channel,
        signed with the demo secret in WM-SEC-SIGNATURE."""
        if topic != "PO_CREATED":
            return None
        with self.lock:
            active = [sub for sub in self.subscriptions.values()
                      if sub["status"] == "ACTIVE" and sub["eventType"] in ("ORDER_UPDATES", "PO_CREATED")]
        subscription = active[0] if active else {
            # the demo channel by name: Walmart's body names no account the hub could route by
            "eventType": "ORDER_UPDATES", "eventUrl": f"{self.webhook_path}?channel=demo-walmart",
            "authDetails": {"authMethod": "HMAC", "authHeaderName": "WM-SEC-SIGNATURE",
                            "clientSecret": self.webhook_secret}}
        event_time = _iso(_ms(self.now()))
        source = {"eventType": subscription["eventType"], "eventTime": event_time, "eventId": str(uuid.uuid4())}
        summary = self._notified_order(order)
        if subscription["eventType"] == "ORDER_UPDATES":
            payload = {"source": {**source, "eventFilters": None},
                       "payload": {"meta": {"subEventType": "PO_CREATED"}, "order": summary}}
        else:
            payload = {"source": source, "payload": summary}
        body = json.dumps(payload, separators=(",", ":")).encode()
        auth = subscription.get("authDetails") or {}
        headers = {"Content-Type": "application/json", **(subscription.get("headers") or {})}
        if auth.get("authMethod") == "HMAC":
            headers[auth.get("authHeaderName") or "Authorization"] = hmac.new(
                str(auth.get("clientSecret") or "").encode(), body, hashlib.sha256).hexdigest()
        return OutboundWebhook(subscription["eventUrl"], headers, body, topic="PO_CREATED",
                               order_id=order["purchaseOrderId"])

    @staticmethod
    def _notified_order(order: dict) -> dict:
        """The purchase order as the PO_CREATED notification describes it (ISO dates, a flat line list)."""
        return {
            "partnerId": PARTNER_ID, "purchaseOrderId": order["purchaseOrderId"],
            "customerOrderId": order["customerOrderId"], "orderDate": _iso(order["orderDate"]),
            "estimatedDeliveryDate": _iso(order["shippingInfo"]["estimatedDeliveryDate"]),
            "estimatedShipDate": _iso(order["shippingInfo"]["estimatedShipDate"]),
            "orderLines": [{
                "lineNumber": line["lineNumber"], "sku": line["item"]["sku"],
                "productName": line["item"]["productName"],
                "quantity": {"unitOfMeasure": "EACH", "measurementValue": line["orderLineQuantity"]["amount"]},
                "status": "CREATED", "statusDate": _iso(line["statusDate"]), "shippingProgramType": "THREE_DAY",
                "shippingMethod": order["shippingInfo"]["methodCode"], "shipNodeType": order["shipNode"]["type"],
            } for line in _lines(order)],
        }

    @route("POST", r"^/v3/webhooks/subscriptions$")
    def create_subscription(self, request: SimRequest) -> SimResponse:
        body = request.json() or {}
        events = body.get("events") if isinstance(body, dict) else None
        if not isinstance(events, list) or not events:
            return _errors(400, "INVALID_REQUEST_CONTENT.GMP_NOTIFICATION_API", "events[] is required", field="events")
        created = []
        for event in events:
            event = event if isinstance(event, dict) else {}
            auth = event.get("authDetails") if isinstance(event.get("authDetails"), dict) else None
            problem = None
            if event.get("eventType") not in EVENT_RESOURCES:
                problem = ("eventType", f"eventType must be one of {sorted(EVENT_RESOURCES)}")
            elif event.get("eventVersion") != "V1":
                problem = ("eventVersion", "eventVersion must be V1")
            elif event.get("resourceName") != EVENT_RESOURCES[event["eventType"]]:
                problem = ("resourceName", f"resourceName must be {EVENT_RESOURCES[event['eventType']]}")
            elif not str(event.get("eventUrl") or "").startswith(("http://", "https://")):
                problem = ("eventUrl", "eventUrl must be an http(s) URL")
            elif auth is not None and auth.get("authMethod") not in AUTH_METHODS:
                problem = ("authMethod", f"authMethod must be one of {sorted(AUTH_METHODS)}")
            elif auth is not None and auth.get("authMethod") == "HMAC" and not (
                    auth.get("clientSecret") and auth.get("authHeaderName")):
                problem = ("authDetails", "HMAC needs clientSecret and authHeaderName")
            if problem:
                return _errors(400, "INVALID_REQUEST_CONTENT.GMP_NOTIFICATION_API", problem[1], field=problem[0])
            created.append({**event, "subscriptionId": str(uuid.uuid4()), "partnerId": PARTNER_ID,
                            "status": event.get("status") or "ACTIVE"})
        with self.lock:
            for event in created:
                self.subscriptions[event["subscriptionId"]] = event
            self.record_writeback(request, kind="webhook_subscription")
        return json_response({"events": [{key: event[key] for key in ("eventType", "subscriptionId", "partnerId",
                                                                         "eventVersion", "resourceName", "status")}
                                         for event in created]})

    @route("GET", r"^/v3/webhooks/subscriptions$")
    def list_subscriptions(self, request: SimRequest) -> SimResponse:
        with self.lock:
            events = [{**{k: v for k, v in event.items() if k != "authDetails"},
                       "authDetails": {k: v for k, v in (event.get("authDetails") or {}).items()
                                       if k not in ("clientSecret", "password")}}
                      for event in self.subscriptions.values()]
        return json_response({"events": events})

    @route("DELETE", r"^/v3/webhooks/subscriptions/(?P<subscription_id>[\w-]+)$")
    def delete_subscription(self, request: SimRequest, subscription_id: str) -> SimResponse:
        with self.lock:
            if self.subscriptions.pop(subscription_id, None) is None:
                return _errors(404, "CONTENT_NOT_FOUND.GMP_NOTIFICATION_API", "No subscription found")
            self.record_writeback(request, kind="webhook_unsubscription")
        return json_response({"message": "Successfully deleted"})

