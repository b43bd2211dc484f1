"""Amazon SP-API, simulated: the LWA token endpoint, the Tokens API (createRestrictedDataToken), Orders API
2026-01-01 (searchOrders with paginationToken, getOrder), Orders API v0 confirmShipment, per-operation token
buckets answering 429 with Amazon's error body, ORDER_CHANGE notifications POSTed as an SQS relay would
(with the relay's shared secret), and Notifications API subscriptions. Orders follow the shape of the
published sandbox examples (tests/fixtures/amazon/search_orders_2026_response*.json).

As strict as the models: unknown query parameters, a missing or doubled createdAfter/lastUpdatedAfter,
values outside the enums, a *Before later than two minutes ago and expired tokens are refused with SP-API's
`{"errors": [{code, message, details}]}`; buyer name/email and the address lines come back only to a call
made with a restricted data token for that path (without one, as for an app without the role, they are
left out). Paging is keyset (the token holds the sort key of the last order served), so orders changing
during a poll (`shift_per_page`) never make an unchanged one skipped.

Bursts are Amazon's; refill rates are faster than Amazon's (searchOrders 0.0056/s would make a demo
sync take hours); the demo channel's `rateLimits` config matches them.
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
ORDERS_PATH = "/orders/2026-01-01/orders"
# operation -> (burst, refill per second): Amazon's bursts, sped-up refills.
RATE_LIMITS = {"searchOrders": (20, 0.5), "getOrder": (30, 15.0), "confirmShipment": (10, 2.0),
               "createRestrictedDataToken": (10, 5.0), "createSubscription": (5, 1.0)}
SEARCH_PARAMS = {"createdAfter", "createdBefore", "lastUpdatedAfter", "lastUpdatedBefore", "fulfillmentStatuses",
                 "marketplaceIds", "fulfilledBy", "maxResultsPerPage", "paginationToken", "includedData"}
FULFILLMENT_STATUSES = {"PENDING_AVAILABILITY", "PENDING", "UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED", "CANCELLED",
                        "UNFULFILLABLE"}
FULFILLED_BY = {"MERCHANT", "AMAZON"}
INCLUDED_DATA = {"BUYER", "RECIPIENT", "PROCEEDS", "EXPENSE", "PROMOTION", "CANCELLATION", "FULFILLMENT", "PACKAGES",
                 "TAX", "PAYMENT", "FULFILLMENT_ORDERS"}
DATA_ELEMENTS = {"buyerInfo", "shippingAddress", "buyerTaxInformation"}
# recipient.deliveryAddress fields Amazon counts as PII (Access Orders PII, Orders API v2026-01-01).
ADDRESS_PII = ("name", "addressLine1", "addressLine2", "addressLine3", "postalCode", "phone", "extendedFields")
# confirmShipment carrierCode values (Amazon's CarrierCode list; "Other" needs carrierName).
CARRIER_CODES = {
    "USPS", "UPS", "UPSMI", "FedEx", "DHL", "Fastway", "GLS", "GO!", "Hermes Logistik Gruppe", "Royal Mail",
    "Parcelforce", "City Link", "TNT", "Target", "SagawaExpress", "NipponExpress", "YamatoTransport",
    "DHL Global Mail", "UPS Mail Innovations", "FedEx SmartPost", "OSM", "OnTrac", "Streamlite", "Newgistics",
    "Canada Post", "Blue Package", "Chronopost", "Deutsche Post", "DPD", "La Poste", "Parcelnet", "Poste Italiane",
    "SDA", "Smartmail", "FEDEX_JP", "JP_EXPRESS", "NITTSU", "SAGAWA", "YAMATO", "BlueDart", "AFL/Fedex", "Aramex",
    "India Post", "Professional", "DTDC", "Overnite Express", "First Flight", "Delhivery", "Lasership", "Yodel",
    "Other",
}
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
BUYERS = ["Jane Doe", "John Smith", "Ana Lima", "Kenji Sato", "Amara Okafor"]
TAX_RATE = Decimal("0.101")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _usd(amount) -> dict:
    return {"amount": money(amount), "currencyCode": "USD"}


def _errors(status: int, code: str, message: str, details: str = "") -> SimResponse:
    return json_response({"errors": [{"code": code, "message": message, "details": details}]}, status)


def _csv(request: SimRequest, name: str) -> list[str]:
    return [part for value in request.query.get(name, []) for part in value.split(",") if part]


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
        self.rdts: dict[str, dict] = {}           # restricted data token -> {expires, resources}
        self.subscriptions: list[dict] = []
        self.shift_per_page = 0                   # orders changed after each searchOrders page (paging tests)
        super().__init__(**kwargs)

    # --- framework hooks -----------------------------------------------------------------------
    def make_rate_limiter(self) -> _OperationBuckets:
        return _OperationBuckets(self.clock)

    def rate_limit_key(self, request: SimRequest) -> str:
        path = request.path
        if path == ORDERS_PATH:
            return "searchOrders"
        if path.endswith("/shipmentConfirmation"):
            return "confirmShipment"
        if path.startswith("/notifications/"):
            return "createSubscription"
        if path.startswith("/tokens/"):
            return "createRestrictedDataToken"
        if path.startswith(ORDERS_PATH + "/"):
            return "getOrder"
        return "token"

    def rate_limited_response(self, retry_after: float) -> SimResponse:
        # Amazon answers 429 with its error list and the x-amzn-RateLimit-Limit header, no Retry-After.
        response = _errors(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")
        response.headers.append(("x-amzn-RateLimit-Limit", "0.0056"))
        return response

    def authenticate(self, request: SimRequest) -> SimResponse | None:
        if request.path == "/auth/o2/token":
            return None
        token = request.header("x-amz-access-token") or ""
        if token in self.rdts:
            rdt = self.rdts[token]
            if rdt["expires"] <= self.clock():
                return _errors(403, "Unauthorized", "Access to requested resource is denied.",
                               "The access token you provided has expired.")
            if self._rdt_resource(rdt, request) is None:
                return _errors(403, "Unauthorized", "Access to requested resource is denied.",
                               "The restricted data token is not valid for this resource.")
            return None
        expires = self.tokens.get(token)
        if expires is None:
            return _errors(403, "Unauthorized", "Access to requested resource is denied.",
                           "The access token you provided is revoked, malformed or invalid.")
        if expires <= self.clock():
            return _errors(403, "Unauthorized", "Access to requested resource is denied.",
                           "The access token you provided has expired.")
        return None

    @staticmethod
    def _rdt_resource(rdt: dict, request: SimRequest) -> dict | None:
        """The RDT's resource that covers this call: same method, same path, `{name}` matching one segment."""
        parts = request.path.rstrip("/").split("/")
        for resource in rdt["resources"]:
            pattern = resource["path"].rstrip("/").split("/")
            if resource["method"] == request.method and len(pattern) == len(parts) and all(
                    p == q or (p.startswith("{") and p.endswith("}")) for p, q in zip(pattern, parts, strict=True)):
                return resource
        return None

    def pii_elements(self, request: SimRequest) -> set[str]:
        """The PII a call may see: the dataElements of the RDT it carries for its path; none with a plain token."""
        rdt = self.rdts.get(request.header("x-amz-access-token") or "")
        resource = self._rdt_resource(rdt, request) if rdt else None
        return set(resource.get("dataElements") or []) if resource else set()

    def expire_tokens(self) -> None:
        """Make every issued access token and RDT expired (tests of a token expiring mid-run)."""
        with self.lock:
            for token in self.tokens:
                self.tokens[token] = self.clock() - 1
            for rdt in self.rdts.values():
                rdt["expires"] = self.clock() - 1

    def order_id(self, order: dict) -> str:
        return order["orderId"]

    def order_updated_at(self, order: dict) -> datetime:
        return _parse(order["lastUpdatedTime"])

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
        status = rng.choice(["PENDING", "UNSHIPPED", "UNSHIPPED", "UNSHIPPED", "SHIPPED", "SHIPPED", "CANCELLED"])
        items = []
        for position in range(rng.choice([1, 1, 1, 2, 3, 7])):
            asin, sku, title, price = rng.choice(PRODUCTS)
            quantity = rng.choice([1, 1, 2, 3])
            shipping = Decimal("4.99") if position == 0 and rng.random() < 0.5 else Decimal("0")
            shipped = quantity if status == "SHIPPED" else 0
            items.append({
                "orderItemId": f"{rng.randint(10**13, 10**14 - 1)}", "quantityOrdered": quantity,
                "product": {"asin": asin, "title": title, "sellerSku": sku,
                            "condition": {"conditionType": "NEW", "conditionSubtype": "NEW"},
                            "price": {"unitPrice": _usd(price)}},
                "_shipping": str(shipping),
                "fulfillment": {"quantityFulfilled": shipped, "quantityUnfulfilled": quantity - shipped},
            })
        city, region, postal = rng.choice(CITIES)
        buyer = rng.choice(BUYERS)
        order = {
            "orderId": order_id, "createdTime": _iso(created_at), "lastUpdatedTime": _iso(created_at),
            "programs": ["PRIME"] if rng.random() < 0.4 else [], "associatedOrders": [],
            "salesChannel": {"channelName": "AMAZON", "marketplaceId": MARKETPLACE_ID,
                             "marketplaceName": "Amazon.com"},
            "buyer": {"buyerName": buyer,
                      "buyerEmail": f"{order_id.replace('-', '')}@marketplace.amazon.com"},
            "recipient": {"deliveryAddress": {"name": buyer, "addressLine1": f"{rng.randint(1, 999)} Main St",
                                              "city": city, "stateOrRegion": region, "postalCode": postal,
                                              "countryCode": "US", "addressType": "RESIDENTIAL"}},
            "fulfillment": {"fulfillmentStatus": status, "fulfilledBy": "MERCHANT",
                            "fulfillmentServiceLevel": "STANDARD",
                            "shipByWindow": {"latestDateTime": _iso(created_at + timedelta(days=2))}},
            "orderItems": items,
            "packages": [],
        }
        self._retotal(order)
        return order

    @staticmethod
    def _retotal(order: dict) -> None:
        """Proceeds as Amazon publishes them: per item ITEM, SHIPPING, TAX; the order's sums and grandTotal."""
        sums = {"ITEM": Decimal("0"), "SHIPPING": Decimal("0"), "TAX": Decimal("0")}
        for item in order["orderItems"]:
            item_total = Decimal(item["product"]["price"]["unitPrice"]["amount"]) * item["quantityOrdered"]
            shipping = Decimal(item["_shipping"])
            tax = (item_total * TAX_RATE).quantize(Decimal("0.01"))
            parts = {"ITEM": item_total, "SHIPPING": shipping, "TAX": tax}
            breakdowns = [{"type": kind, "subtotal": _usd(amount)} for kind, amount in parts.items()
                          if amount or kind == "ITEM"]
            item["proceeds"] = {"proceedsTotal": _usd(sum(parts.values())), "breakdowns": breakdowns}
            for kind, amount in parts.items():
                sums[kind] += amount
        order["proceeds"] = {"grandTotal": _usd(sum(sums.values())),
                             "breakdowns": [{"type": kind, "subtotal": _usd(amount)} for kind, amount in sums.items()
                                            if amount or kind == "ITEM"]}

    def change_order(self, order: dict, now: datetime) -> str | None:
        status = order["fulfillment"]["fulfillmentStatus"]
        following = {"PENDING": "UNSHIPPED", "UNSHIPPED": self.rng.choice(["SHIPPED", "SHIPPED", "CANCELLED"])}
        new_status = following.get(status)
        if not new_status:
            return None
        if new_status == "SHIPPED":
            self._ship_items(order, {i["orderItemId"]: i["quantityOrdered"] for i in order["orderItems"]}, None)
        else:
            order["fulfillment"]["fulfillmentStatus"] = new_status
        order["lastUpdatedTime"] = _iso(now)
        return "ORDER_CHANGE"

    @staticmethod
    def _ship_items(order: dict, quantities: dict[str, int], package: dict | None) -> None:
        for item in order["orderItems"]:
            fulfillment = item["fulfillment"]
            shipped = min(item["quantityOrdered"],
                          fulfillment["quantityFulfilled"] + quantities.get(item["orderItemId"], 0))
            fulfillment.update(quantityFulfilled=shipped, quantityUnfulfilled=item["quantityOrdered"] - shipped)
        left = sum(item["fulfillment"]["quantityUnfulfilled"] for item in order["orderItems"])
        order["fulfillment"]["fulfillmentStatus"] = "SHIPPED" if left == 0 else "PARTIALLY_SHIPPED"
        if package:
            order["packages"].append(package)

    def build_webhook(self, order: dict, topic: str) -> OutboundWebhook:
        """The ORDER_CHANGE notification as Amazon puts it on the queue, POSTed by the relay with its secret."""
        hook_body = json.dumps(self.notification(order)).encode()
        return OutboundWebhook(path=self.webhook_path, headers={"Content-Type": "application/json",
                                                                "X-Relay-Secret": self.webhook_secret},
                               body=hook_body, topic=topic, order_id=order["orderId"])

    def notification(self, order: dict) -> dict:
        """ORDER_CHANGE (schemas/notifications/OrderChangeNotification.json) for one order."""
        now = self.now()
        items = order["orderItems"]
        shipped = sum(i["fulfillment"]["quantityFulfilled"] for i in items)
        v0_status = {"PENDING": "Pending", "PENDING_AVAILABILITY": "PendingAvailability", "UNSHIPPED": "Unshipped",
                     "PARTIALLY_SHIPPED": "PartiallyShipped", "SHIPPED": "Shipped", "CANCELLED": "Canceled",
                     "UNFULFILLABLE": "Unfulfillable"}[order["fulfillment"]["fulfillmentStatus"]]
        return {
            "NotificationVersion": "1.0", "NotificationType": "ORDER_CHANGE", "PayloadVersion": "1.0",
            "EventTime": _iso(now),
            "Payload": {"OrderChangeNotification": {
                "NotificationLevel": "OrderLevel", "SellerId": SELLER_ID, "AmazonOrderId": order["orderId"],
                "OrderChangeType": "OrderStatusChange",
                "OrderChangeTrigger": {"TimeOfOrderChange": order["lastUpdatedTime"], "ChangeReason": "Order status"},
                "Summary": {"MarketplaceId": MARKETPLACE_ID, "OrderStatus": v0_status,
                            "PurchaseDate": order["createdTime"], "FulfillmentType": "MFN",
                            "OrderType": "StandardOrder", "NumberOfItemsShipped": shipped,
                            "NumberOfItemsUnshipped": sum(i["quantityOrdered"] for i in items) - shipped,
                            "OrderItems": [{"OrderItemId": i["orderItemId"], "SellerSKU": i["product"]["sellerSku"],
                                            "Quantity": i["quantityOrdered"],
                                            "QuantityShipped": i["fulfillment"]["quantityFulfilled"]}
                                           for i in items]}}},
            "NotificationMetadata": {"ApplicationId": "amzn1.sellerapps.app.simulator",
                                     "SubscriptionId": "sim-subscription", "PublishTime": _iso(now),
                                     "NotificationId": str(uuid.UUID(int=self.rng.getrandbits(128)))},
        }

    @staticmethod
    def _public(order: dict, included: set[str], pii: set[str]) -> dict:
        """The order as a call sees it: the datasets asked for in includedData, PII only with the RDT's elements."""
        public = {key: value for key, value in order.items()
                  if not key.startswith("_") and key not in ("buyer", "recipient", "proceeds", "fulfillment",
                                                              "packages")}
        if "BUYER" in included and "buyerInfo" in pii:
            public["buyer"] = dict(order["buyer"])
        if "RECIPIENT" in included:
            address = dict(order["recipient"]["deliveryAddress"])
            if "shippingAddress" not in pii:
                for key in ADDRESS_PII:
                    address.pop(key, None)
            public["recipient"] = {"deliveryAddress": address}
        if "PROCEEDS" in included:
            public["proceeds"] = order["proceeds"]
        if "FULFILLMENT" in included:
            public["fulfillment"] = order["fulfillment"]
        if "PACKAGES" in included and order["packages"]:
            public["packages"] = order["packages"]
        items = []
        for item in order["orderItems"]:
            shown = {key: value for key, value in item.items() if not key.startswith("_")}
            if "PROCEEDS" not in included:
                shown.pop("proceeds", None)
            if "FULFILLMENT" not in included:
                shown.pop("fulfillment", None)
            items.append(shown)
        public["orderItems"] = items
        return public

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

    # --- Tokens API 2021-03-01 ------------------------------------------------------------------
    @route("POST", r"^/tokens/2021-03-01/restrictedDataToken$")
    def create_restricted_data_token(self, request: SimRequest) -> SimResponse:
        if request.header("x-amz-access-token") in self.rdts:
            return _errors(403, "Unauthorized", "Access to requested resource is denied.",
                           "A restricted data token cannot create another.")
        try:
            body = request.json() or {}
        except ValueError:
            return _errors(400, "InvalidInput", "Request is missing or has invalid parameters", "Body is not JSON.")
        resources = body.get("restrictedResources")
        if not isinstance(resources, list) or not resources or len(resources) > 50:
            return _errors(400, "InvalidInput", "Request is missing or has invalid parameters",
                           "Resource not provided.")
        for resource in resources:
            if not isinstance(resource, dict) or resource.get("method") not in ("GET", "PUT", "POST", "DELETE") \
                    or not str(resource.get("path") or "").startswith("/"):
                return _errors(400, "InvalidInput", "Request is missing or has invalid parameters",
                               "Resource not provided.")
            unknown = set(resource.get("dataElements") or []) - DATA_ELEMENTS
            if unknown:
                return _errors(400, "InvalidInput", "Request is missing or has invalid parameters",
                               f"Invalid dataElements: {', '.join(sorted(unknown))}.")
        token = "Atz.sprdt|" + secrets.token_urlsafe(24)
        with self.lock:
            self.rdts[token] = {"expires": self.clock() + TOKEN_SECONDS, "resources": resources}
        return json_response({"restrictedDataToken": token, "expiresIn": TOKEN_SECONDS})

    # --- Orders API 2026-01-01 -----------------------------------------------------------------
    @staticmethod
    def _encode_token(state: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(state).encode()).decode()

    @staticmethod
    def _decode_token(token: str) -> dict:
        return json.loads(base64.urlsafe_b64decode(token.encode()))

    def _enum_error(self, request: SimRequest, name: str, allowed: set[str]) -> SimResponse | None:
        bad = [value for value in _csv(request, name) if value not in allowed]
        if bad:
            return _errors(400, "InvalidInput", f"Invalid value for {name}: {', '.join(bad)}",
                           f"Allowed values: {', '.join(sorted(allowed))}")
        return None

    @route("GET", r"^/orders/2026-01-01/orders$")
    def search_orders(self, request: SimRequest) -> SimResponse:
        unknown = sorted(set(request.query) - SEARCH_PARAMS)
        if unknown:
            return _errors(400, "InvalidInput", f"Unknown query parameter: {', '.join(unknown)}")
        for name, allowed in (("fulfillmentStatuses", FULFILLMENT_STATUSES), ("fulfilledBy", FULFILLED_BY),
                              ("includedData", INCLUDED_DATA)):
            refused = self._enum_error(request, name, allowed)
            if refused:
                return refused
        times = {key: request.arg(key) for key in ("createdAfter", "createdBefore", "lastUpdatedAfter",
                                                   "lastUpdatedBefore")}
        if bool(times["createdAfter"]) == bool(times["lastUpdatedAfter"]):
            return _errors(400, "InvalidInput", "Exactly one of createdAfter and lastUpdatedAfter is required")
        if times["createdAfter"] and (times["lastUpdatedAfter"] or times["lastUpdatedBefore"]):
            return _errors(400, "InvalidInput", "createdAfter cannot be combined with lastUpdated filters")
        if times["lastUpdatedAfter"] and times["createdBefore"]:
            return _errors(400, "InvalidInput", "lastUpdatedAfter cannot be combined with createdBefore")
        try:
            parsed = {key: _parse(value) for key, value in times.items() if value}
        except ValueError:
            return _errors(400, "InvalidInput", "Dates must be ISO 8601")
        latest = self.now() - timedelta(minutes=2)
        for key in ("createdBefore", "lastUpdatedBefore"):
            if key in parsed and parsed[key] > latest:
                return _errors(400, "InvalidInput", f"{key} must be at least two minutes before the request")
        size_arg = request.arg("maxResultsPerPage") or "100"
        if not size_arg.isdigit() or not 1 <= int(size_arg) <= 100:
            return _errors(400, "InvalidInput", "maxResultsPerPage must be between 1 and 100")
        marketplaces = _csv(request, "marketplaceIds")
        if len(marketplaces) > 50:
            return _errors(400, "InvalidInput", "At most 50 marketplaceIds")
        by_created = "createdAfter" in parsed
        after = parsed["createdAfter" if by_created else "lastUpdatedAfter"]
        # Without a *Before Amazon answers up to two minutes ago, and says so (createdBefore / lastUpdatedBefore).
        before = parsed.get("createdBefore" if by_created else "lastUpdatedBefore") or latest
        cursor = None
        if request.arg("paginationToken"):
            try:
                state = self._decode_token(request.arg("paginationToken"))
                cursor, before = tuple(state["after"]), _parse(state["before"])
            except (ValueError, KeyError, TypeError):
                return _errors(400, "InvalidInput", "Invalid paginationToken")
        statuses = set(_csv(request, "fulfillmentStatuses"))
        fulfilled_by = set(_csv(request, "fulfilledBy"))
        time_key = "createdTime" if by_created else "lastUpdatedTime"
        with self.lock:
            matching = sorted(
                (order for order in self.orders.values()
                 if after <= _parse(order[time_key]) <= before
                 and (not statuses or order["fulfillment"]["fulfillmentStatus"] in statuses)
                 and (not fulfilled_by or order["fulfillment"]["fulfilledBy"] in fulfilled_by)
                 and (not marketplaces or order["salesChannel"]["marketplaceId"] in marketplaces)),
                key=lambda order: (order[time_key], order["orderId"]))
            if cursor:   # keyset paging: what comes after the last order served, whatever changed meanwhile
                matching = [order for order in matching if (order[time_key], order["orderId"]) > cursor]
            size = int(size_arg)
            page = matching[:size]
            included, pii = set(_csv(request, "includedData")), self.pii_elements(request)
            body: dict = {"orders": [self._public(order, included, pii) for order in page]}
            if len(matching) > size:
                last = page[-1]
                body["pagination"] = {"nextToken": self._encode_token(
                    {"after": [last[time_key], last["orderId"]], "before": _iso(before)})}
            body["createdBefore" if by_created else "lastUpdatedBefore"] = _iso(before)
            self._shift(matching[size:] + page)
        return json_response(body)

    def _shift(self, candidates: list[dict]) -> None:
        """Change `shift_per_page` orders of this search (served or still to come) now, as sellers and buyers do
        while a poll pages."""
        for order in self.rng.sample(candidates, min(self.shift_per_page, len(candidates))):
            if self.change_order(order, self.now()):
                self.touch(order)

    @route("GET", r"^/orders/2026-01-01/orders/(?P<order_id>[0-9A-Za-z-]+)$")
    def get_order_route(self, request: SimRequest, order_id: str) -> SimResponse:
        unknown = sorted(set(request.query) - {"includedData"})
        if unknown:
            return _errors(400, "InvalidInput", f"Unknown query parameter: {', '.join(unknown)}")
        refused = self._enum_error(request, "includedData", INCLUDED_DATA)
        if refused:
            return refused
        order = self.get_order(order_id)
        if order is None:
            return _errors(404, "NotFound", f"Order {order_id} not found")
        with self.lock:
            public = self._public(order, set(_csv(request, "includedData")), self.pii_elements(request))
        return json_response({"order": public})

    # --- Orders API v0: confirmShipment (2026-01-01 has no write operation) --------------------
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
        if body.get("marketplaceId") != order["salesChannel"]["marketplaceId"]:
            return _errors(400, "InvalidInput", "Marketplace ID is not defined", "1001")
        if missing:
            return _errors(400, "InvalidInput", f"Missing required {', '.join(missing)}")
        if not str(package["packageReferenceId"]).isdigit() or int(package["packageReferenceId"]) < 1:
            return _errors(400, "InvalidInput", "packageReferenceId must be a positive number")
        if package["carrierCode"] not in CARRIER_CODES:
            return _errors(400, "InvalidInput", f"Invalid carrierCode {package['carrierCode']!r}")
        if package["carrierCode"] == "Other" and not package.get("carrierName"):
            return _errors(400, "InvalidInput", "carrierName is required when carrierCode is Other")
        items = {item["orderItemId"]: item for item in order["orderItems"]}
        quantities: dict[str, int] = {}
        for line in package["orderItems"]:
            item = items.get(line.get("orderItemId"))
            quantity = line.get("quantity")
            if item is None or not isinstance(quantity, int) or quantity < 1:
                return _errors(400, "InvalidInput", f"Invalid order item {line.get('orderItemId')}")
            quantities[line["orderItemId"]] = quantities.get(line["orderItemId"], 0) + quantity
            if quantities[line["orderItemId"]] > item["fulfillment"]["quantityUnfulfilled"]:
                return _errors(400, "InvalidInput",
                               f"Quantity for order item {line['orderItemId']} exceeds the unshipped quantity")
        if order["fulfillment"]["fulfillmentStatus"] in ("CANCELLED", "PENDING", "PENDING_AVAILABILITY"):
            return _errors(400, "InvalidInput", f"Order is {order['fulfillment']['fulfillmentStatus']}")
        self.record_writeback(request, kind="confirmShipment", order_id=order_id)
        with self.lock:
            self._ship_items(order, quantities, {
                "packageReferenceId": str(package["packageReferenceId"]), "createdTime": _iso(self.now()),
                "packageStatus": {"status": "SHIPPED"},
                "carrier": package.get("carrierName") if package["carrierCode"] == "Other" else package["carrierCode"],
                "shipTime": package["shipDate"], "trackingNumber": package["trackingNumber"],
                "packageItems": [{"orderItemId": key, "quantity": value} for key, value in quantities.items()]})
            order["lastUpdatedTime"] = _iso(self.now())
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
