"""eBay, simulated: the OAuth token endpoint (refresh-token and client-credentials grants, basic auth),
Sell Fulfillment API v1 getOrders (`filter` lastmodifieddate / creationdate / orderfulfillmentstatus,
limit/offset with `next`), getOrder, createShippingFulfillment (201 + Location), the Notification API
(getPublicKey, destinations, subscriptions), and ORDER_CONFIRMATION notifications signed with ECDSA
as eBay signs them (X-EBAY-SIGNATURE: base64 JSON {alg, kid, signature, digest}).

The signing key is derived from the seed, so the demo channel's configured public key stays valid
across restarts. Orders follow tests/fixtures/ebay/get_orders_response.json (eBay's documented Order shape).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlencode

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

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

CLIENT_ID = "OrdersHub-Sim-PRD-0123456789"
CLIENT_SECRET = "PRD-simulator-client-secret"
REFRESH_TOKEN = "v^1.1#i^1#simulator-refresh-token"
VERIFICATION_TOKEN = "simulator_verification_token_0123456789abcdef"
SELLER = "sim_seller_example"
TOKEN_SECONDS = 7200
ORDERS = "/sell/fulfillment/v1/order"
PRODUCTS = [
    # sku, title, unit price, legacy item id, variation id
    ("MUG-BLU-12", "Stoneware mug, blue, 12 oz", "14.50", "110554321987", None),
    ("TEE-BLK-M", "Cotton tee, black, M", "19.99", "110554322001", "401122334455"),
    ("CAP-GRY", "Canvas cap, grey", "12.00", "110554322002", None),
    ("LAMP-DESK", "LED desk lamp", "39.00", "110554322003", None),
    ("SCARF-WOOL", "Wool scarf", "18.00", "110554322004", None),
]
BUYERS = [
    ("Avery Quinn", "500 Elm St", "Denver", "CO", "80202", "US", "USD", "EBAY_US"),
    ("Rowan Hale", "12 Mill Lane", "Leeds", "", "LS1 4AP", "GB", "GBP", "EBAY_GB"),
    ("Jordan Lee", "77 Pine Ave", "Portland", "OR", "97205", "US", "USD", "EBAY_US"),
]


# getOrders' query parameters and filters, and the only two orderfulfillmentstatus sets it documents
# (https://developer.ebay.com/api-docs/sell/fulfillment/resources/order/methods/getOrders).
GET_ORDERS_PARAMS = {"filter", "limit", "offset", "orderIds", "fieldGroups"}
FILTER_NAMES = {"creationdate", "lastmodifieddate", "orderfulfillmentstatus"}
FULFILLMENT_SETS = {frozenset({"NOT_STARTED", "IN_PROGRESS"}), frozenset({"FULFILLED", "IN_PROGRESS"})}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _amount(value, currency: str) -> dict:
    return {"value": money(value), "currency": currency}


def _error(status: int, error_id: int, message: str) -> SimResponse:
    category = "REQUEST" if status < 500 else "APPLICATION"
    return json_response({"errors": [{"errorId": error_id, "domain": "API_FULFILLMENT", "category": category,
                                      "message": message}]}, status)


def signing_key(seed: int) -> ec.EllipticCurvePrivateKey:
    """A P-256 key derived from the seed: the same seed gives the same public key to configure."""
    secret = int.from_bytes(hashlib.sha256(f"ebay-sim-key:{seed}".encode()).digest(), "big")
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    return ec.derive_private_key(secret % (order - 1) + 1, ec.SECP256R1())


def public_key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


class Simulator(ChannelSimulator):
    name = "ebay"
    webhook_path = "/upstream/webhooks/ebay/notifications"
    default_webhook_secret = VERIFICATION_TOKEN

    def __init__(self, **kwargs):
        self.tokens: dict[str, tuple[str, float]] = {}     # token -> (kind, expiry)
        self.destinations: list[dict] = []
        self.subscriptions: list[dict] = []
        self.fulfillments: dict[str, list[dict]] = {}
        super().__init__(**kwargs)
        self.private_key = signing_key(self.seed)
        # The key id names the seed: a demo channel seeded for another seed finds no configured key for
        # it and fetches this one from getPublicKey, as it would from eBay.
        self.key_id = f"sim-ebay-key-{self.seed}"

    # --- framework hooks -----------------------------------------------------------------------
    def make_rate_limiter(self) -> TokenBucket:
        return TokenBucket(50, 5.0, clock=self.clock)

    def rate_limit_key(self, request: SimRequest) -> str:
        return "token" if request.path.startswith("/identity/") else "api"

    def rate_limited_response(self, retry_after: float) -> SimResponse:
        response = json_response({"errors": [{"errorId": 2001, "domain": "ACCESS", "category": "REQUEST",
                                              "message": "Too many requests. The request limit has been reached "
                                                         "for the resource."}]}, 429)
        response.headers.append(("Retry-After", str(max(1, int(retry_after + 0.999)))))
        return response

    def authenticate(self, request: SimRequest) -> SimResponse | None:
        if request.path.startswith("/identity/"):
            return None
        header = request.header("Authorization") or ""
        token = header[7:] if header.startswith("Bearer ") else ""
        kind, expires = self.tokens.get(token, ("", 0.0))
        needed = "app" if request.path.startswith("/commerce/notification/v1/public_key/") else None
        if not kind or expires <= self.clock() or (needed and kind != needed):
            return json_response({"errors": [{"errorId": 1001, "domain": "OAuth", "category": "REQUEST",
                                              "message": "Invalid access token",
                                              "longMessage": "Invalid access token. Check the value of the "
                                                             "Authorization HTTP request header."}]}, 401)
        return None

    def expire_tokens(self) -> None:
        with self.lock:
            for token, (kind, _) in list(self.tokens.items()):
                self.tokens[token] = (kind, self.clock() - 1)

    def order_id(self, order: dict) -> str:
        return order["orderId"]

    def order_updated_at(self, order: dict) -> datetime:
        return _parse(order["lastModifiedDate"])

    def new_order_topic(self) -> str:
        return "ORDER_CONFIRMATION"

    def demo_channel(self) -> DemoChannel:
        return DemoChannel(channel_id="demo-ebay", provider="ebay", label="Demo eBay seller",
                           config={"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "refreshToken": REFRESH_TOKEN,
                                   "verificationToken": self.webhook_secret, "baseUrl": self.base_url,
                                   "tokenUrl": f"{self.base_url}/identity/v1/oauth2/token",
                                   "publicKeys": {self.key_id: public_key_pem(self.private_key)}},
                           webhook_secret="")

    # --- catalogue -----------------------------------------------------------------------------
    def generate_order(self, index: int, created_at: datetime) -> dict:
        rng = self.rng
        order_id = f"{rng.randint(10, 27)}-{rng.randint(10000, 99999)}-{rng.randint(10000, 99999)}"
        name, street, city, region, postal, country, currency, marketplace = rng.choice(BUYERS)
        lines, subtotal, delivery = [], Decimal("0"), Decimal("0")
        for position in range(rng.choice([1, 1, 2, 3])):
            sku, title, price, item_id, variation = rng.choice(PRODUCTS)
            quantity = rng.choice([1, 1, 2, 3])
            cost = Decimal(price) * quantity
            shipping = Decimal("0") if position else Decimal(rng.choice(["0.00", "3.99", "6.95"]))
            subtotal += cost
            delivery += shipping
            line = {"lineItemId": str(10000000000 + index * 10 + position), "legacyItemId": item_id, "sku": sku,
                    "title": title, "lineItemCost": _amount(cost, currency), "quantity": quantity,
                    "soldFormat": "FIXED_PRICE", "listingMarketplaceId": marketplace,
                    "purchaseMarketplaceId": marketplace, "lineItemFulfillmentStatus": "NOT_STARTED",
                    "total": _amount(cost + shipping, currency),
                    "deliveryCost": {"shippingCost": _amount(shipping, currency)}, "appliedPromotions": [],
                    "taxes": [], "ebayCollectAndRemitTaxes": [], "properties": {"buyerProtection": True},
                    "lineItemFulfillmentInstructions": {"shipByDate": _iso(created_at + timedelta(days=3)),
                                                        "guaranteedDelivery": False}}
            if variation:
                line["legacyVariationId"] = variation
            lines.append(line)
        discount = (subtotal * Decimal("0.10")).quantize(Decimal("0.01")) if rng.random() < 0.2 else Decimal("0")
        total = subtotal + delivery - discount
        pricing = {"priceSubtotal": _amount(subtotal, currency), "deliveryCost": _amount(delivery, currency),
                   "total": _amount(total, currency)}
        if discount:
            pricing["priceDiscount"] = _amount(-discount, currency)
        payment = rng.choice(["PAID", "PAID", "PAID", "PENDING"])
        fate = rng.random()
        fulfillment, cancel = "NOT_STARTED", "NONE_REQUESTED"
        if payment == "PAID" and fate < 0.12:      # cancelled before shipping, money returned
            cancel, payment = "CANCELED", "FULLY_REFUNDED"
        elif payment == "PAID" and fate < 0.4:     # already shipped
            fulfillment = "FULFILLED"
            for line in lines:
                line["lineItemFulfillmentStatus"] = "FULFILLED"
        return {
            "orderId": order_id, "legacyOrderId": order_id, "creationDate": _iso(created_at),
            "lastModifiedDate": _iso(created_at), "orderFulfillmentStatus": fulfillment,
            "orderPaymentStatus": payment, "sellerId": SELLER,
            "buyer": {"username": f"buyer_{rng.randint(1, 999)}",
                      "taxAddress": {"stateOrProvince": region, "postalCode": postal, "countryCode": country}},
            "pricingSummary": pricing,
            "cancelStatus": {"cancelState": cancel, "cancelRequests": []},
            "paymentSummary": {"totalDueSeller": _amount(total, currency), "refunds": [],
                               "payments": [{"paymentMethod": "EBAY", "paymentReferenceId": f"ref-{order_id}",
                                             "paymentDate": _iso(created_at), "amount": _amount(total, currency),
                                             "paymentStatus": "PAID" if payment == "FULLY_REFUNDED" else payment}]},
            "fulfillmentStartInstructions": [{
                "fulfillmentInstructionsType": "SHIP_TO", "ebaySupportedFulfillment": False,
                "shippingStep": {"shipTo": {"fullName": name,
                                            "contactAddress": {"addressLine1": street, "city": city,
                                                               **({"stateOrProvince": region} if region else {}),
                                                               "postalCode": postal, "countryCode": country},
                                            "primaryPhone": {"phoneNumber": "3035550100"},
                                            "email": f"{rng.getrandbits(40):010x}@members.ebay.com"},
                                 "shippingCarrierCode": "USPS", "shippingServiceCode": "USPSPriority"}}],
            "fulfillmentHrefs": [], "lineItems": lines, "salesRecordReference": str(20000 + index),
        }

    def change_order(self, order: dict, now: datetime) -> str | None:
        if order["orderPaymentStatus"] == "PENDING":
            order["orderPaymentStatus"] = "PAID"
            order["paymentSummary"]["payments"][0]["paymentStatus"] = "PAID"
        elif order["orderFulfillmentStatus"] == "NOT_STARTED" and self.rng.random() < 0.2:
            order["cancelStatus"] = {"cancelState": "CANCELED", "cancelRequests": []}
            order["orderPaymentStatus"] = "FULLY_REFUNDED"
        else:
            return None
        order["lastModifiedDate"] = _iso(now)
        return "ORDER_CONFIRMATION"

    def sign(self, body: bytes) -> str:
        signature = base64.b64encode(self.private_key.sign(body, ec.ECDSA(hashes.SHA1()))).decode()
        return base64.b64encode(json.dumps({"alg": "ecdsa", "kid": self.key_id, "signature": signature,
                                            "digest": "SHA1"}).encode()).decode()

    def build_webhook(self, order: dict, topic: str) -> OutboundWebhook:
        now = self.now()
        message = {"metadata": {"topic": topic, "schemaVersion": "1.0", "deprecated": False},
                   "notification": {"notificationId": str(uuid.UUID(int=self.rng.getrandbits(128))),
                                    "eventDate": order["lastModifiedDate"], "publishDate": _iso(now),
                                    "publishAttemptCount": 1,
                                    "data": {"orderId": order["orderId"], "sellerId": SELLER}}}
        body = json.dumps(message, separators=(",", ":")).encode()
        path = f"{self.webhook_path}?{urlencode({'channel': 'demo-ebay'})}"
        return OutboundWebhook(path=path, headers={"Content-Type": "application/json",
                                                   "X-EBAY-SIGNATURE": self.sign(body)},
                               body=body, topic=topic, order_id=order["orderId"])

    def build_account_deletion(self, username: str, user_id: str = "") -> OutboundWebhook:
        """MARKETPLACE_ACCOUNT_DELETION as eBay sends it to an app's one endpoint (no channel named), signed."""
        now, user_id = self.now(), user_id or f"u{self.rng.getrandbits(40):x}"
        message = {"metadata": {"topic": "MARKETPLACE_ACCOUNT_DELETION", "schemaVersion": "1.0", "deprecated": False},
                   "notification": {"notificationId": str(uuid.UUID(int=self.rng.getrandbits(128))),
                                    "eventDate": _iso(now), "publishDate": _iso(now), "publishAttemptCount": 1,
                                    "data": {"username": username, "userId": user_id,
                                             "eiasToken": base64.b64encode(self.rng.randbytes(30)).decode()}}}
        body = json.dumps(message, separators=(",", ":")).encode()
        return OutboundWebhook(path=self.webhook_path, headers={"Content-Type": "application/json",
                                                                "X-EBAY-SIGNATURE": self.sign(body)},
                               body=body, topic="MARKETPLACE_ACCOUNT_DELETION")

    def handle_sim(self, what: str, request: SimRequest) -> SimResponse | None:
        """`POST _sim/account-deletion {"username": ...}` sends eBay's deletion notification for that buyer."""
        if request.method == "POST" and what == "account-deletion":
            username = str((request.json() or {}).get("username") or "")
            if not username:
                return _error(400, 1, "username is required")
            hook = self.build_account_deletion(username)
            self.deliver([hook])
            return json_response({"webhooks": [{"path": hook.path, "topic": hook.topic}]})
        return None

    # --- OAuth ---------------------------------------------------------------------------------
    @route("POST", r"^/identity/v1/oauth2/token$")
    def token(self, request: SimRequest) -> SimResponse:
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.header("Authorization") != expected:
            return json_response({"error": "invalid_client", "error_description": "client authentication failed"},
                                 401)
        form = {key: values[0] for key, values in parse_qs(request.body.decode()).items()}
        grant = form.get("grant_type")
        if grant == "refresh_token" and form.get("refresh_token") == REFRESH_TOKEN:
            kind, token_type = "user", "User Access Token"
        elif grant == "client_credentials":
            kind, token_type = "app", "Application Access Token"
        else:
            return json_response({"error": "invalid_grant",
                                  "error_description": "the provided authorization refresh token is invalid or was "
                                                       "issued to another client"}, 400)
        token = "v^1.1#i^1#" + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = (kind, self.clock() + TOKEN_SECONDS)
        return json_response({"access_token": token, "expires_in": TOKEN_SECONDS, "token_type": token_type})

    # --- Fulfillment API -----------------------------------------------------------------------
    def set_order_updated_at(self, order: dict, when: datetime) -> None:
        order["lastModifiedDate"] = _iso(when)

    def _filters(self, value: str | None) -> dict | SimResponse:
        """The `filter` parameter as {name: bounds}, or getOrders' error for what eBay refuses: an unknown
        filter name, a date that is not ISO 8601, an orderfulfillmentstatus other than the two documented sets."""
        found: dict = {}
        for part in [part.strip() for part in re.split(r",(?![^\[{]*[\]}])", value or "") if part.strip()]:
            match = re.fullmatch(r"(\w+):([\[{][^\]}]*[\]}])", part)
            if not match or match.group(1) not in FILTER_NAMES:
                return _error(400, 30700, f"Invalid filter name: {part.split(':', 1)[0]}")
            name, body = match.groups()
            if name == "orderfulfillmentstatus":
                if not body.startswith("{") or frozenset(body.strip("{}").split("|")) not in FULFILLMENT_SETS:
                    return _error(400, 30800, f"Invalid filter value {body} for filter {name}")
            else:
                start, dots, end = body.strip("[]").partition("..")
                if not body.startswith("[") or not dots or not start:
                    return _error(400, 30800, f"Invalid filter value {body} for filter {name}")
                try:
                    for moment in (start, end):
                        if moment:
                            _parse(moment)
                except ValueError:
                    return _error(400, 30810, f"Invalid date format in filter {name}")
            found[name] = body
        return found

    def _matches(self, order: dict, filters: dict) -> bool:
        for field, key in (("lastmodifieddate", "lastModifiedDate"), ("creationdate", "creationDate")):
            if field in filters:
                start, _, end = filters[field].strip("[]").partition("..")
                moment = _parse(order[key])
                if (start and moment < _parse(start)) or (end and moment > _parse(end)):
                    return False
        if "orderfulfillmentstatus" in filters:
            allowed = filters["orderfulfillmentstatus"].strip("{}").split("|")
            if order["orderFulfillmentStatus"] not in allowed:
                return False
        return True

    @route("GET", r"^/sell/fulfillment/v1/order$")
    def get_orders(self, request: SimRequest) -> SimResponse:
        unknown = sorted(set(request.query) - GET_ORDERS_PARAMS)
        if unknown:
            return _error(400, 30700, f"Invalid query parameter: {', '.join(unknown)}")
        try:
            limit = int(request.arg("limit") or 50)
            offset = int(request.arg("offset") or 0)
        except ValueError:
            return _error(400, 30850, "Invalid limit or offset")
        if not 1 <= limit <= 200 or offset < 0:
            return _error(400, 30850, "The limit must be between 1 and 200")
        filters = self._filters(request.arg("filter"))
        if isinstance(filters, SimResponse):
            return filters
        with self.lock:
            # eBay answers newest creation first, whatever the filter: a modified order keeps its place.
            ordered = sorted(self.orders.values(), key=lambda order: (order["creationDate"], order["orderId"]),
                             reverse=True)
            matching = [order for order in ordered if self._matches(order, filters)]
            if request.arg("orderIds"):
                wanted = request.arg("orderIds").split(",")
                matching = [order for order in ordered if order["orderId"] in wanted]
            page = [json.loads(json.dumps(order)) for order in matching[offset:offset + limit]]
            self.shift_during_paging(matching)

        def link(at: int) -> str:
            params = {key: request.arg(key) for key in ("filter", "orderIds") if request.arg(key)}
            return f"{request.base_url}{ORDERS}?{urlencode({**params, 'limit': limit, 'offset': at})}"

        answer = {"href": link(offset), "total": len(matching), "limit": limit, "offset": offset, "orders": page}
        if offset + limit < len(matching):
            answer["next"] = link(offset + limit)
        if offset > 0:
            answer["prev"] = link(max(0, offset - limit))
        return json_response(answer)

    @route("GET", r"^/sell/fulfillment/v1/order/(?P<order_id>[0-9-]+)$")
    def get_order_route(self, request: SimRequest, order_id: str) -> SimResponse:
        order = self.get_order(order_id)
        if order is None:
            return _error(404, 32100, "Invalid order ID: " + order_id)
        return json_response(order)

    @route("POST", r"^/sell/fulfillment/v1/order/(?P<order_id>[0-9-]+)/shipping_fulfillment$")
    def create_shipping_fulfillment(self, request: SimRequest, order_id: str) -> SimResponse:
        order = self.get_order(order_id)
        if order is None:
            return _error(404, 32100, "Invalid order ID: " + order_id)
        try:
            body = request.json() or {}
        except ValueError:
            return _error(400, 32800, "Invalid request body")
        if not body.get("lineItems") or not body.get("trackingNumber") or not body.get("shippingCarrierCode"):
            return _error(400, 32800, "lineItems, trackingNumber and shippingCarrierCode are required")
        lines = {line["lineItemId"]: line for line in order["lineItems"]}
        for entry in body["lineItems"]:
            if entry.get("lineItemId") not in lines:
                return _error(400, 32600, f"Invalid line item ID: {entry.get('lineItemId')}")
        if order["cancelStatus"]["cancelState"] == "CANCELED":
            return _error(409, 32400, "The order is cancelled")
        fulfillment_id = body["trackingNumber"]
        self.record_writeback(request, kind="createShippingFulfillment", order_id=order_id,
                              fulfillmentId=fulfillment_id)
        with self.lock:
            for entry in body["lineItems"]:
                lines[entry["lineItemId"]]["lineItemFulfillmentStatus"] = "FULFILLED"
            done = all(line["lineItemFulfillmentStatus"] == "FULFILLED" for line in order["lineItems"])
            order["orderFulfillmentStatus"] = "FULFILLED" if done else "IN_PROGRESS"
            href = f"{request.base_url}{ORDERS}/{order_id}/shipping_fulfillment/{fulfillment_id}"
            order["fulfillmentHrefs"].append(href)
            order["lastModifiedDate"] = _iso(self.now())
            self.fulfillments.setdefault(order_id, []).append({"fulfillmentId": fulfillment_id, **body})
            self.touch(order)
        return SimResponse(201, b"", [("Location", href)])

    # --- Notification API ----------------------------------------------------------------------
    @route("GET", r"^/commerce/notification/v1/public_key/(?P<kid>[^/]+)$")
    def get_public_key(self, request: SimRequest, kid: str) -> SimResponse:
        if kid != self.key_id:
            return json_response({"errors": [{"errorId": 195005, "domain": "API_NOTIFICATION",
                                              "category": "REQUEST", "message": "The specified key id is invalid."}]},
                                 404)
        one_line = "".join(public_key_pem(self.private_key).splitlines())   # eBay answers the PEM on one line
        return json_response({"key": one_line, "algorithm": "ECDSA", "digest": "SHA1"})

    @route("POST", r"^/commerce/notification/v1/destination$")
    def create_destination(self, request: SimRequest) -> SimResponse:
        body = request.json() or {}
        config = body.get("deliveryConfig") or {}
        if not config.get("endpoint") or not config.get("verificationToken"):
            return json_response({"errors": [{"errorId": 195020, "message": "Missing endpoint or token"}]}, 400)
        with self.lock:
            destination_id = f"dest-{len(self.destinations) + 1}"
            self.destinations.append({"destinationId": destination_id, **body})
        return SimResponse(201, b"", [("Location", f"{request.base_url}/commerce/notification/v1/destination/"
                                                    f"{destination_id}")])

    @route("POST", r"^/commerce/notification/v1/subscription$")
    def create_subscription(self, request: SimRequest) -> SimResponse:
        body = request.json() or {}
        if not body.get("topicId") or not body.get("destinationId"):
            return json_response({"errors": [{"errorId": 195016, "message": "Missing topicId or destinationId"}]},
                                 400)
        with self.lock:
            subscription_id = f"sub-{len(self.subscriptions) + 1}"
            self.subscriptions.append({"subscriptionId": subscription_id, **body})
        return SimResponse(201, b"", [("Location", f"{request.base_url}/commerce/notification/v1/subscription/"
                                                    f"{subscription_id}")])
