"""Amazon SP-API, simulated: the LWA token endpoint, Orders API v0 (getOrders with NextToken, getOrder,
getOrderItems paged, confirmShipment), per-operation token buckets answering 429 with Amazon's error
body, ORDER_CHANGE notifications POSTed as an SQS relay would (with the relay's shared secret), and
Notifications API subscriptions. Orders follow the shape of the published sandbox examples
(tests/fixtures/amazon/get_orders_response.json and get_order_items_response.json).

Bursts are Amazon's; refill rates are faster than Amazon's (getOrderItems 0.5/s would make a demo
sync of 200 orders take minutes); the demo channel's `rateLimits` config matches them.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs

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

SELLER_ID = "A1SIMSELLER0001"
MARKETPLACE_ID = "ATVPDKIKX0DER"
CLIENT_ID = "amzn1.application-oa2-client.simulator"
CLIENT_SECRET = "amzn1.oa2-cs.v1.simulator-secret"
REFRESH_TOKEN = "Atzr|simulator-refresh-token"
TOKEN_SECONDS = 3600
ITEMS_PAGE_SIZE = 5
# operation -> (burst, refill per second): Amazon's bursts, sped-up refills.
RATE_LIMITS = {"getOrders": (20, 0.5), "getOrder": (30, 15.0), "getOrderItems": (30, 15.0),
               "confirmShipment": (10, 2.0), "createSubscription": (5, 1.0)}
PRODUCTS = [
    # ASIN, seller SKU, title, unit price
    ("B00551Q3CS", "NABetaASINB00551Q3CS", "B00551Q3CS [Card Book]", "10.00"),
    ("B07FZ8S74R", "ECHO-DOT-3-CHR", "Smart speaker, charcoal", "39.99"),
    ("B08N5WRWNW", "CABLE-USBC-2M", "USB-C cable, 2 m", "12.49"),
    ("B0C1H26C46", "MUG-STONE-12", "Stoneware mug, 12 oz", "18.00"),
    ("B09B8V1LZ3", "LAMP-DESK-LED", "LED desk lamp", "34.95"),
]
CITIES = [("SEATTLE", "WA", "98121"), ("Canton", "MI", "48817"), ("Austin", "TX", "78701"),
          ("Denver", "CO", "80202"), ("Portland", "OR", "97205")]
TAX_RATE = Decimal("0.101")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _usd(amount) -> dict:
    return {"CurrencyCode": "USD", "Amount": money(amount)}


def _errors(status: int, code: str, message: str, details: str = "") -> SimResponse:
    return json_response({"errors": [{"code": code, "message": message, "details": details}]}, status)


class _OperationBuckets:
    """One token bucket per SP-API operation, as Amazon's usage plans are per operation."""

    def __init__(self, clock):
        self.buckets = {op: TokenBucket(burst, rate, clock=clock) for op, (burst, rate) in RATE_LIMITS.items()}

    def hit(self, key: str = "default") -> float | None:
        bucket = self.buckets.get(key)
        return bucket.hit() if bucket else None


class Simulator(ChannelSimulator):
    name = "amazon"
    webhook_path = "/upstream/webhooks/amazon/notifications"
    default_webhook_secret = "sim-amazon-relay-secret"

    def __init__(self, **kwargs):
        self.tokens: dict[str, float] = {}        # access token -> expiry (monotonic clock)
        self.subscriptions: list[dict] = []
        super().__init__(**kwargs)

    # --- framework hooks -----------------------------------------------------------------------
    def make_rate_limiter(self) -> _OperationBuckets:
        return _OperationBuckets(self.clock)

    def rate_limit_key(self, request: SimRequest) -> str:
        path = request.path
        if path == "/orders/v0/orders":
            return "getOrders"
        if path.endswith("/orderItems"):
            return "getOrderItems"
        if path.endswith("/shipmentConfirmation"):
            return "confirmShipment"
        if path.startswith("/notifications/"):
            return "createSubscription"
        if path.startswith("/orders/v0/orders/"):
            return "getOrder"
        return "token"

    def rate_limited_response(self, retry_after: float) -> SimResponse:
        # Amazon answers 429 with its error list and the x-amzn-RateLimit-Limit header, no Retry-After.
        response = _errors(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")
        response.headers.append(("x-amzn-RateLimit-Limit", "0.0167"))
        return response

    def authenticate(self, request: SimRequest) -> SimResponse | None:
        if request.path == "/auth/o2/token":
            return None
        token = request.header("x-amz-access-token") or ""
        expires = self.tokens.get(token)
        if expires is None:
            return _errors(403, "Unauthorized", "Access to requested resource is denied.",
                           "The access token you provided is revoked, malformed or invalid.")
        if expires <= self.clock():
            return _errors(403, "Unauthorized", "Access to requested resource is denied.",
                           "The access token you provided has expired.")
        return None

    def expire_tokens(self) -> None:
        """Make every issued access token expired (tests of a token expiring mid-run)."""
        with self.lock:
            for token in self.tokens:
                self.tokens[token] = self.clock() - 1

    def order_id(self, order: dict) -> str:
        return order["AmazonOrderId"]

    def order_updated_at(self, order: dict) -> datetime:
        return _parse(order["LastUpdateDate"])

    def new_order_topic(self) -> str:
        return "ORDER_CHANGE"

    def demo_channel(self) -> DemoChannel:
        limits = {op: {"rate": rate, "burst": burst} for op, (burst, rate) in RATE_LIMITS.items()}
        return DemoChannel(channel_id="demo-amazon", provider="amazon", label="Demo Amazon seller",
                           config={"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "refreshToken": REFRESH_TOKEN,
                                   "marketplaceIds": [MARKETPLACE_ID], "sellerId": SELLER_ID,
                                   "baseUrl": self.base_url, "tokenUrl": f"{self.base_url}/auth/o2/token",
                                   "rateLimits": limits},
                           webhook_secret=self.webhook_secret)

    # --- catalogue -----------------------------------------------------------------------------
    def generate_order(self, index: int, created_at: datetime) -> dict:
        rng = self.rng
        order_id = f"{rng.randint(111, 999)}-{rng.randint(1000000, 9999999)}-{rng.randint(1000000, 9999999)}"
        status = rng.choice(["Pending", "Unshipped", "Unshipped", "Unshipped", "Shipped", "Shipped", "Canceled"])
        items = []
        for position in range(rng.choice([1, 1, 1, 2, 3, 7])):
            asin, sku, title, price = rng.choice(PRODUCTS)
            quantity = rng.choice([1, 1, 2, 3])
            item_price = Decimal(price) * quantity
            item = {"ASIN": asin, "OrderItemId": f"{rng.randint(10**13, 10**14 - 1)}", "SellerSKU": sku,
                    "Title": title, "QuantityOrdered": quantity,
                    "QuantityShipped": quantity if status == "Shipped" else 0,
                    "ProductInfo": {"NumberOfItems": "1"}, "IsGift": "false", "ConditionId": "New",
                    "ConditionSubtypeId": "New", "IsTransparency": False, "SerialNumberRequired": False}
            if status != "Pending":   # Amazon withholds pricing while an order is Pending
                shipping = Decimal("4.99") if position == 0 and rng.random() < 0.5 else Decimal("0")
                item.update(ItemPrice=_usd(item_price), ItemTax=_usd(item_price * TAX_RATE),
                            ShippingPrice=_usd(shipping), ShippingTax=_usd(0),
                            PromotionDiscount=_usd(0), PromotionDiscountTax=_usd(0))
            items.append(item)
        city, region, postal = rng.choice(CITIES)
        order = {
            "AmazonOrderId": order_id, "PurchaseDate": _iso(created_at), "LastUpdateDate": _iso(created_at),
            "OrderStatus": status, "FulfillmentChannel": "MFN", "SalesChannel": "Amazon.com",
            "ShipServiceLevel": "Std US D2D Dom",
            "NumberOfItemsShipped": sum(i["QuantityShipped"] for i in items),
            "NumberOfItemsUnshipped": sum(i["QuantityOrdered"] - i["QuantityShipped"] for i in items),
            "PaymentMethod": "Other", "PaymentMethodDetails": ["Standard"], "IsReplacementOrder": False,
            "MarketplaceId": MARKETPLACE_ID, "ShipmentServiceLevelCategory": "Standard", "OrderType": "StandardOrder",
            "EarliestShipDate": _iso(created_at + timedelta(hours=20)),
            "LatestShipDate": _iso(created_at + timedelta(days=2)),
            "IsBusinessOrder": False, "IsPrime": rng.random() < 0.4, "IsGlobalExpressEnabled": False,
            "IsPremiumOrder": False, "IsSoldByAB": False, "IsIBA": False, "IsISPU": False,
            "IsAccessPointOrder": False, "EasyShipShipmentStatus": "PendingPickUp",
            "ElectronicInvoiceStatus": "NotRequired",
            # Shown only to apps with the restricted role; the simulator plays one that has it for some orders.
            **({"ShippingAddress": {"Name": "Sim Buyer", "AddressLine1": f"{rng.randint(1, 999)} Main St",
                                    "City": city, "StateOrRegion": region, "PostalCode": postal, "CountryCode": "US"}}
               if rng.random() < 0.5 else {}),
            "_items": items,
        }
        self._retotal(order)
        return order

    @staticmethod
    def _retotal(order: dict) -> None:
        if order["OrderStatus"] == "Pending":
            order.pop("OrderTotal", None)
            return
        total = Decimal("0")
        for item in order["_items"]:
            for key in ("ItemPrice", "ItemTax", "ShippingPrice", "ShippingTax"):
                total += Decimal((item.get(key) or {}).get("Amount", "0"))
        order["OrderTotal"] = _usd(total)

    def change_order(self, order: dict, now: datetime) -> str | None:
        following = {"Pending": "Unshipped", "Unshipped": self.rng.choice(["Shipped", "Shipped", "Canceled"])}
        new_status = following.get(order["OrderStatus"])
        if not new_status:
            return None
        if order["OrderStatus"] == "Pending":
            order["OrderStatus"] = "Unshipped"
            for item in order["_items"]:
                price = Decimal(next(p for p in PRODUCTS if p[1] == item["SellerSKU"])[3]) * item["QuantityOrdered"]
                item.update(ItemPrice=_usd(price), ItemTax=_usd(price * TAX_RATE), ShippingPrice=_usd(0),
                            ShippingTax=_usd(0), PromotionDiscount=_usd(0), PromotionDiscountTax=_usd(0))
        else:
            order["OrderStatus"] = new_status
            if new_status == "Shipped":
                self._ship_items(order, {i["OrderItemId"]: i["QuantityOrdered"] for i in order["_items"]})
        order["LastUpdateDate"] = _iso(now)
        self._retotal(order)
        return "ORDER_CHANGE"

    @staticmethod
    def _ship_items(order: dict, quantities: dict[str, int]) -> None:
        for item in order["_items"]:
            shipped = min(item["QuantityOrdered"], item["QuantityShipped"] + quantities.get(item["OrderItemId"], 0))
            item["QuantityShipped"] = shipped
        order["NumberOfItemsShipped"] = sum(i["QuantityShipped"] for i in order["_items"])
        order["NumberOfItemsUnshipped"] = sum(i["QuantityOrdered"] - i["QuantityShipped"] for i in order["_items"])
        order["OrderStatus"] = "Shipped" if order["NumberOfItemsUnshipped"] == 0 else "PartiallyShipped"

    def build_webhook(self, order: dict, topic: str) -> OutboundWebhook:
        """The ORDER_CHANGE notification as Amazon puts it on the queue, POSTed by the relay with its secret."""
        now = self.now()
        notification = {
            "NotificationVersion": "1.0", "NotificationType": "ORDER_CHANGE", "PayloadVersion": "1.0",
            "EventTime": _iso(now),
            "Payload": {"OrderChangeNotification": {
                "NotificationLevel": "OrderLevel", "SellerId": SELLER_ID, "AmazonOrderId": order["AmazonOrderId"],
                "OrderChangeType": "OrderStatusChange",
                "OrderChangeTrigger": {"TimeOfOrderChange": order["LastUpdateDate"], "ChangeReason": "Order status"},
                "Summary": {"MarketplaceId": MARKETPLACE_ID, "OrderStatus": order["OrderStatus"],
                            "PurchaseDate": order["PurchaseDate"], "FulfillmentType": "MFN",
                            "OrderType": "StandardOrder",
                            "NumberOfItemsShipped": order["NumberOfItemsShipped"],
                            "NumberOfItemsUnshipped": order["NumberOfItemsUnshipped"],
                            "OrderItems": [{"OrderItemId": i["OrderItemId"], "SellerSKU": i["SellerSKU"],
                                            "Quantity": i["QuantityOrdered"], "QuantityShipped": i["QuantityShipped"]}
                                           for i in order["_items"]]}}},
            "NotificationMetadata": {"ApplicationId": "amzn1.sellerapps.app.simulator",
                                     "SubscriptionId": "sim-subscription", "PublishTime": _iso(now),
                                     "NotificationId": str(uuid.UUID(int=self.rng.getrandbits(128)))},
        }
        body = json.dumps(notification).encode()
        return OutboundWebhook(path=self.webhook_path, headers={"Content-Type": "application/json",
                                                                "X-Relay-Secret": self.webhook_secret},
                               body=body, topic=topic, order_id=order["AmazonOrderId"])

    @staticmethod
    def _public(order: dict) -> dict:
        return {key: value for key, value in order.items() if not key.startswith("_")}

    # --- LWA -----------------------------------------------------------------------------------
    @route("POST", r"^/auth/o2/token$")
    def token(self, request: SimRequest) -> SimResponse:
        form = {key: values[0] for key, values in parse_qs(request.body.decode()).items()}
        if form.get("grant_type") != "refresh_token":
            return json_response({"error": "unsupported_grant_type",
                                  "error_description": "The authorization grant type is not supported"}, 400)
        if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return json_response({"error": "invalid_client", "error_description": "Client authentication failed"}, 401)
        if form.get("refresh_token") != REFRESH_TOKEN:
            return json_response({"error": "invalid_grant",
                                  "error_description": "The request has an invalid grant parameter : refresh_token"},
                                 400)
        token = "Atza|" + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = self.clock() + TOKEN_SECONDS
        return json_response({"access_token": token, "token_type": "bearer", "expires_in": TOKEN_SECONDS,
                              "refresh_token": REFRESH_TOKEN})

    # --- Orders API v0 -------------------------------------------------------------------------
    @staticmethod
    def _encode_token(state: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(state).encode()).decode()

    @staticmethod
    def _decode_token(token: str) -> dict:
        return json.loads(base64.urlsafe_b64decode(token.encode()))

    @route("GET", r"^/orders/v0/orders$")
    def get_orders(self, request: SimRequest) -> SimResponse:
        if not request.arg("MarketplaceIds"):
            return _errors(400, "InvalidInput", "Missing required 'MarketplaceIds'")
        next_token = request.arg("NextToken")
        if next_token:   # the filters of the first call travel inside the token
            try:
                state = self._decode_token(next_token)
            except ValueError:
                return _errors(400, "InvalidInput", "Invalid NextToken")
        else:
            state = {key: request.arg(key) for key in ("CreatedAfter", "CreatedBefore", "LastUpdatedAfter",
                                                       "LastUpdatedBefore", "OrderStatuses")}
            if bool(state["CreatedAfter"]) == bool(state["LastUpdatedAfter"]):
                return _errors(400, "InvalidInput", "Exactly one of CreatedAfter or LastUpdatedAfter is required")
            latest = self.now() - timedelta(minutes=2)
            for key in ("CreatedBefore", "LastUpdatedBefore"):
                if state[key] and _parse(state[key]) > latest:
                    return _errors(400, "InvalidInput", f"{key} must be at least two minutes before now")
            state["offset"] = 0
            state["size"] = max(1, min(int(request.arg("MaxResultsPerPage") or 100), 100))
        horizon = self.now() - timedelta(minutes=2)   # Amazon shows nothing newer than two minutes ago
        with self.lock:
            matching = [order for order in self.orders.values() if self._matches(order, state)
                        and _parse(order["LastUpdateDate"]) <= horizon]
        offset, size = state["offset"], state["size"]
        page = matching[offset:offset + size]
        payload: dict = {"Orders": [self._public(order) for order in page]}
        if offset + size < len(matching):
            payload["NextToken"] = self._encode_token({**state, "offset": offset + size})
        if state.get("LastUpdatedAfter"):
            payload["LastUpdatedBefore"] = state.get("LastUpdatedBefore") or _iso(self.now() - timedelta(minutes=2))
        else:
            payload["CreatedBefore"] = state.get("CreatedBefore") or _iso(self.now() - timedelta(minutes=2))
        return json_response({"payload": payload})

    @staticmethod
    def _matches(order: dict, state: dict) -> bool:
        created, updated = _parse(order["PurchaseDate"]), _parse(order["LastUpdateDate"])
        checks = [(state.get("CreatedAfter"), lambda v: created >= _parse(v)),
                  (state.get("CreatedBefore"), lambda v: created <= _parse(v)),
                  (state.get("LastUpdatedAfter"), lambda v: updated >= _parse(v)),
                  (state.get("LastUpdatedBefore"), lambda v: updated <= _parse(v)),
                  (state.get("OrderStatuses"), lambda v: order["OrderStatus"] in v.split(","))]
        return all(check(value) for value, check in checks if value)

    @route("GET", r"^/orders/v0/orders/(?P<order_id>[0-9A-Za-z-]+)$")
    def get_order_route(self, request: SimRequest, order_id: str) -> SimResponse:
        order = self.get_order(order_id)
        if order is None:
            return _errors(404, "NotFound", f"Order {order_id} not found")
        return json_response({"payload": self._public(order)})

    @route("GET", r"^/orders/v0/orders/(?P<order_id>[0-9A-Za-z-]+)/orderItems$")
    def get_order_items(self, request: SimRequest, order_id: str) -> SimResponse:
        order = self.get_order(order_id)
        if order is None:
            return _errors(404, "NotFound", f"Order {order_id} not found")
        offset = int(request.arg("NextToken") or 0) if (request.arg("NextToken") or "0").isdigit() else 0
        items = order["_items"][offset:offset + ITEMS_PAGE_SIZE]
        payload: dict = {"AmazonOrderId": order_id, "OrderItems": items}
        if offset + ITEMS_PAGE_SIZE < len(order["_items"]):
            payload["NextToken"] = str(offset + ITEMS_PAGE_SIZE)
        return json_response({"payload": payload})

    @route("POST", r"^/orders/v0/orders/(?P<order_id>[0-9A-Za-z-]+)/shipmentConfirmation$")
    def confirm_shipment(self, request: SimRequest, order_id: str) -> SimResponse:
        order = self.get_order(order_id)
        if order is None:
            return _errors(404, "NotFound", f"Order {order_id} not found")
        try:
            body = request.json() or {}
        except ValueError:
            return _errors(400, "InvalidInput", "Body is not JSON")
        package = body.get("packageDetail") or {}
        missing = [key for key in ("packageReferenceId", "carrierCode", "trackingNumber", "shipDate", "orderItems")
                   if not package.get(key)]
        if body.get("marketplaceId") != order["MarketplaceId"]:
            return _errors(400, "InvalidInput", "Marketplace ID is not defined", "1001")
        if missing:
            return _errors(400, "InvalidInput", f"Missing required {', '.join(missing)}")
        if package["carrierCode"] == "Other" and not package.get("carrierName"):
            return _errors(400, "InvalidInput", "carrierName is required when carrierCode is Other")
        known = {item["OrderItemId"] for item in order["_items"]}
        quantities = {}
        for line in package["orderItems"]:
            if line.get("orderItemId") not in known or int(line.get("quantity") or 0) < 1:
                return _errors(400, "InvalidInput", f"Invalid order item {line.get('orderItemId')}")
            quantities[line["orderItemId"]] = int(line["quantity"])
        if order["OrderStatus"] in ("Canceled", "Pending"):
            return _errors(400, "InvalidInput", f"Order is {order['OrderStatus']}")
        self.record_writeback(request, kind="confirmShipment", order_id=order_id)
        with self.lock:
            self._ship_items(order, quantities)
            order["LastUpdateDate"] = _iso(self.now())
            self.touch(order)
        return SimResponse(204, b"", [("x-amzn-RequestId", str(uuid.uuid4()))])

    # --- Notifications API ---------------------------------------------------------------------
    @route("POST", r"^/notifications/v1/subscriptions/(?P<notification_type>[A-Z_]+)$")
    def create_subscription(self, request: SimRequest, notification_type: str) -> SimResponse:
        body = request.json() or {}
        if not body.get("destinationId"):
            return _errors(400, "InvalidInput", "destinationId is required")
        with self.lock:
            if any(s["notificationType"] == notification_type for s in self.subscriptions):
                return _errors(409, "Conflict", "A subscription for this notification type already exists")
            subscription = {"subscriptionId": f"sub-{len(self.subscriptions) + 1}", "notificationType":
                            notification_type, "payloadVersion": body.get("payloadVersion", "1.0"),
                            "destinationId": body["destinationId"],
                            "processingDirective": body.get("processingDirective")}
            self.subscriptions.append(subscription)
        return json_response({"payload": {key: subscription[key] for key in
                                          ("subscriptionId", "payloadVersion", "destinationId")}})
