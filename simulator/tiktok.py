"""TikTok Shop Partner API 202309, simulated: signed requests checked like TikTok does, order search with
`page_token` cursors, order detail (50 ids at most), ship package / update shipping info, shipping
providers, webhook subscription, token refresh, and type-1 pushes signed in the `Authorization` header.

Orders follow the published Get Order Detail sample (tests/fixtures/tiktok): one line item per unit, money
as decimal strings, Unix-second times, no recipient address before payment, masked phone numbers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

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

APP_KEY = "sim_tiktok_app_key"
APP_SECRET = "sim-tiktok-app-secret"
ACCESS_TOKEN = "TTP_simulator_access_token"
REFRESH_TOKEN = "TTP_simulator_refresh_token"
SHOP_ID = "7494049642642441621"
SHOP_CIPHER = "ROW_simulatorShopCipher0001"
ID_BASE = 576_461_413_038_000_000
SIGN_TOLERANCE_SECONDS = 300
PRODUCTS = [
    # product name, sku name, seller sku, sale price, original price
    ("Women's Winter Crochet Clothes", "Red, M", "CRO-RED-M", "24.99", "29.99"),
    ("Phone Case Glitter", "iPhone 15", "CASE-GLT-15", "9.90", "9.90"),
    ("LED Ring Light 10in", "White", "LGT-RING-10", "32.50", "39.00"),
    ("Lip Oil Trio", "Berry", "LIP-TRIO-BRY", "18.00", "18.00"),
    ("Mini Waffle Maker", "Mint", "WAF-MINI-MNT", "21.99", "25.99"),
]
RECIPIENTS = [
    ("Maya Chen", "(+1)415-***-0101", "1199 Coleman Ave", "", "San Jose", "California", "95110"),
    ("Diego Alvarez", "(+1)212-***-0456", "350 5th Ave", "Fl 21", "New York", "New York", "10118"),
    ("Hannah Brooks", "(+1)512-***-0789", "701 Brazos St", "Suite 300", "Austin", "Texas", "78701"),
    ("Kofi Mensah", "(+1)312-***-0222", "233 S Wacker Dr", "", "Chicago", "Illinois", "60606"),
]
SHIPPING_PROVIDERS = [("7117858858072016686", "USPS"), ("7117858858072016687", "UPS"),
                      ("7117858858072016688", "FedEx"), ("7117858858072016689", "DHL eCommerce")]
DELIVERY_OPTION = ("7091146663229654785", "Standard shipping")
TRACKING_PATTERNS = {"USPS": "9400{:018d}", "UPS": "1Z999AA1{:010d}", "FedEx": "7{:011d}",
                     "DHL eCommerce": "GM{:016d}"}
SHIPPABLE = ("AWAITING_SHIPMENT", "PARTIALLY_SHIPPING")


def _now_ts(moment: datetime) -> int:
    return int(moment.timestamp())


def _envelope(data=None, code=0, message="Success") -> dict:
    return {"code": code, "message": message, "request_id": f"SIM{int(time.time() * 1000)}", "data": data or {}}


def _sign(secret: str, path: str, params: dict[str, str], body: bytes) -> str:
    """TikTok's documented algorithm, written out again so the simulator checks our client independently."""
    text = secret + path
    for key in sorted(params):
        if key not in ("sign", "access_token"):
            text += key + params[key]
    text += body.decode("utf-8") + secret
    return hmac.new(secret.encode(), text.encode("utf-8"), hashlib.sha256).hexdigest()


class Simulator(ChannelSimulator):
    name = "tiktok"
    webhook_path = "/upstream/webhooks/tiktok/orders"
    default_webhook_secret = APP_SECRET   # TikTok signs pushes with the app secret

    def __init__(self, **kwargs):
        self.registered_webhooks: dict[str, str] = {}
        self.access_tokens = {ACCESS_TOKEN}
        self.expired_tokens: set[str] = set()
        self.refresh_token = REFRESH_TOKEN
        super().__init__(**kwargs)

    # --- framework hooks -----------------------------------------------------------------------
    def make_rate_limiter(self) -> TokenBucket:
        return TokenBucket(20, 10.0, clock=self.clock)   # burst 20, 10 requests a second per shop

    def rate_limited_response(self, retry_after: float) -> SimResponse:
        return json_response(_envelope(code=36009004, message="Too many requests. Please try again later."), 429)

    def authenticate(self, request: SimRequest) -> SimResponse | None:
        if request.path.startswith("/api/v2/token/"):
            return None   # the auth host's token calls are unsigned
        params = {key: values[0] for key, values in request.query.items()}
        if params.get("app_key") != APP_KEY:
            return json_response(_envelope(code=106011, message="Invalid app_key"), 401)
        try:
            stamp = int(params.get("timestamp", ""))
        except ValueError:
            return json_response(_envelope(code=106002, message="Invalid timestamp"), 401)
        if abs(_now_ts(self.now()) - stamp) > SIGN_TOLERANCE_SECONDS:
            return json_response(_envelope(code=106002, message="Timestamp expired"), 401)
        # TikTok signs the path it receives; below our prefix (/tiktok) that is prefix + path.
        wire_path = urlsplit(request.base_url).path.rstrip("/") + request.path
        expected = _sign(APP_SECRET, wire_path, params, request.body)
        if not hmac.compare_digest(expected, params.get("sign", "")):
            return json_response(_envelope(code=106001, message="Invalid signature"), 401)
        token = request.header("x-tts-access-token")
        if token in self.expired_tokens:
            return json_response(_envelope(code=105002, message="Expired credentials"), 401)
        if token not in self.access_tokens:
            return json_response(_envelope(code=105001, message="Invalid credentials"), 401)
        if not request.path.startswith("/authorization/") and params.get("shop_cipher") != SHOP_CIPHER:
            return json_response(_envelope(code=106007, message="Invalid shop_cipher"), 200)
        return None

    def order_id(self, order: dict) -> str:
        return order["id"]

    def order_updated_at(self, order: dict) -> datetime:
        return datetime.fromtimestamp(order["update_time"], tz=UTC)

    def new_order_topic(self) -> str:
        return "ORDER_STATUS_CHANGE"

    def set_order_updated_at(self, order: dict, when: datetime) -> None:
        order["update_time"] = int(when.timestamp())

    def demo_channel(self) -> DemoChannel:
        return DemoChannel(channel_id="demo-tiktok", provider="tiktok", label="Demo TikTok Shop",
                           config={"appKey": APP_KEY, "appSecret": APP_SECRET, "accessToken": ACCESS_TOKEN,
                                   "refreshToken": REFRESH_TOKEN, "shopCipher": SHOP_CIPHER, "shopId": SHOP_ID,
                                   "baseUrl": self.base_url, "authUrl": self.base_url},
                           webhook_secret=APP_SECRET)

    # --- catalogue -----------------------------------------------------------------------------
    def generate_order(self, index: int, created_at: datetime) -> dict:
        rng = self.rng
        order_id = str(ID_BASE + index * 7919 + rng.randint(1, 7000))
        created = _now_ts(created_at)
        line_items = []
        for _position in range(rng.choice([1, 1, 2, 3])):
            product, sku_name, seller_sku, sale, original = rng.choice(PRODUCTS)
            sku_index = PRODUCTS.index((product, sku_name, seller_sku, sale, original))
            for _unit in range(rng.choice([1, 1, 2])):   # TikTok: one line item per unit
                line_items.append({
                    "id": str(int(order_id) * 10 + len(line_items) + 1),
                    "sku_id": str(2729382476852921560 + sku_index),
                    "product_id": str(1729582718312380123 + sku_index), "product_name": product,
                    "sku_name": sku_name, "seller_sku": seller_sku, "sku_image": "https://example.invalid/sku.jpg",
                    "original_price": original, "sale_price": sale,
                    "seller_discount": money(Decimal(original) - Decimal(sale)), "platform_discount": "0",
                    "currency": "USD", "display_status": "UNPAID", "is_gift": False, "sku_type": "NORMAL",
                    "item_tax": [], "rts_time": 0,
                })
        original_total = sum(Decimal(item["original_price"]) for item in line_items)
        sub_total = sum(Decimal(item["sale_price"]) for item in line_items)
        shipping = Decimal(rng.choice(["0.00", "0.00", "4.99", "6.50"]))
        product_tax = (sub_total * Decimal("0.0725")).quantize(Decimal("0.01"))
        shipping_tax = (shipping * Decimal("0.0725")).quantize(Decimal("0.01"))
        total = sub_total + shipping + product_tax + shipping_tax
        provider_id, provider_name = rng.choice(SHIPPING_PROVIDERS)
        order = {
            "id": order_id, "status": "UNPAID", "create_time": created, "update_time": created,
            "user_id": str(7021436810468230477 + rng.randint(1, 10**6)),
            "buyer_email": f"{rng.getrandbits(40):x}@scs.tiktokw.us", "buyer_message": "",
            "payment": {
                "currency": "USD", "sub_total": money(sub_total), "shipping_fee": money(shipping),
                "seller_discount": money(original_total - sub_total), "platform_discount": "0",
                "total_amount": money(total), "original_total_product_price": money(original_total),
                "original_shipping_fee": money(shipping), "shipping_fee_seller_discount": "0",
                "shipping_fee_platform_discount": "0", "tax": money(product_tax + shipping_tax),
                "product_tax": money(product_tax), "shipping_fee_tax": money(shipping_tax),
            },
            "line_items": line_items, "packages": [],
            "delivery_option_id": DELIVERY_OPTION[0], "delivery_option_name": DELIVERY_OPTION[1],
            "delivery_type": "HOME_DELIVERY", "fulfillment_type": "FULFILLMENT_BY_SELLER", "shipping_type": "SELLER",
            "shipping_provider": provider_name, "shipping_provider_id": provider_id,
            "warehouse_id": "6955005333819123123", "payment_method_name": rng.choice(["CCDC", "PayPal", "Apple Pay"]),
            "is_cod": False, "is_on_hold_order": False, "is_sample_order": False, "is_replacement_order": False,
            "is_buyer_request_cancel": False, "commerce_platform": "TIKTOK_SHOP", "order_type": "NORMAL",
            "split_or_combine_tag": "", "has_updated_recipient_address": False,
            "rts_sla_time": created + 3 * 86400, "tts_sla_time": created + 5 * 86400,
        }
        order["_recipient"] = rng.randrange(len(RECIPIENTS))   # used once paid; not part of the wire shape
        age_days = (self.now() - created_at).days
        if age_days >= 1 or rng.random() < 0.7:
            self._pay(order, created_at + timedelta(minutes=3))
        if order["status"] == "AWAITING_SHIPMENT" and age_days >= 2 and rng.random() < 0.7:
            self._ship(order, created_at + timedelta(days=1), provider_id, None)
            if age_days >= 6 and rng.random() < 0.6:
                self._set_status(order, "DELIVERED", created_at + timedelta(days=5))
                if age_days >= 20:
                    self._set_status(order, "COMPLETED", created_at + timedelta(days=19))
        elif order["status"] in ("UNPAID", "AWAITING_SHIPMENT") and age_days >= 3 and rng.random() < 0.1:
            self._cancel(order, created_at + timedelta(days=2))
        return order

    # --- lifecycle -----------------------------------------------------------------------------
    def _set_status(self, order: dict, status: str, when: datetime) -> None:
        when = min(when, self.now())   # a catalogue event is never in the future
        order["status"] = status
        order["update_time"] = max(order["update_time"], _now_ts(when))
        line_status = {"AWAITING_SHIPMENT": "AWAITING_SHIPMENT", "IN_TRANSIT": "IN_TRANSIT",
                       "DELIVERED": "DELIVERED", "COMPLETED": "COMPLETED", "CANCELLED": "CANCELLED"}.get(status)
        if line_status:
            for item in order["line_items"]:
                item["display_status"] = line_status

    def _pay(self, order: dict, when: datetime) -> None:
        name, phone, line1, line2, city, state, postal = RECIPIENTS[order.get("_recipient", 0)]
        first, _, last = name.partition(" ")
        when = min(when, self.now())
        order["paid_time"] = _now_ts(when)
        order["recipient_address"] = {
            "full_address": f"{line1} {line2} {city}, {state} {postal}".replace("  ", " "),
            "phone_number": phone, "name": name, "first_name": first, "last_name": last,
            "region_code": "US", "postal_code": postal, "address_line1": line1, "address_line2": line2,
            "address_line3": "", "address_line4": "", "address_detail": line2,
            "district_info": [{"address_level_name": "country", "address_name": "United States", "address_level": "L0"},
                              {"address_level_name": "State", "address_name": state, "address_level": "L1"},
                              {"address_level_name": "City", "address_name": city, "address_level": "L3"}],
        }
        # Like TikTok for local US/UK sellers shipping themselves, some orders get their package only when
        # they are marked shipped (Mark Package As Shipped); the others have one from payment on.
        order["packages"] = [] if self.rng.random() < 0.3 else [{"id": self._package_id(order)}]
        self._set_status(order, "AWAITING_SHIPMENT", when)

    @staticmethod
    def _package_id(order: dict) -> str:
        return str(int(order["id"]) + 575_690_000_000_000_000)

    def _ship(self, order: dict, when: datetime, provider_id: str, tracking: str | None, *,
              move: bool = True) -> None:
        provider_name = dict(SHIPPING_PROVIDERS).get(provider_id, "Other")
        tracking = tracking or TRACKING_PATTERNS.get(provider_name, "TT{:016d}").format(self.rng.randint(0, 10**9))
        if not order["packages"]:
            order["packages"] = [{"id": self._package_id(order)}]
        package_id = order["packages"][0]["id"]
        order.update({"tracking_number": tracking, "shipping_provider_id": provider_id,
                      "shipping_provider": provider_name, "rts_time": _now_ts(when)})
        for item in order["line_items"]:
            item.update({"tracking_number": tracking, "package_id": package_id, "package_status": "PROCESSING",
                         "shipping_provider_id": provider_id, "shipping_provider_name": provider_name,
                         "rts_time": _now_ts(when)})
        if move:
            self._set_status(order, "IN_TRANSIT", when)
        else:
            order["update_time"] = max(order["update_time"], _now_ts(when))

    def _cancel(self, order: dict, when: datetime) -> None:
        order.update({"cancel_reason": "No longer needed", "cancellation_initiator": "BUYER",
                      "cancel_time": _now_ts(when)})
        self._set_status(order, "CANCELLED", when)

    def change_order(self, order: dict, now: datetime) -> str | None:
        status = order["status"]
        if status == "UNPAID":
            if self.rng.random() < 0.15:
                self._cancel(order, now)
            else:
                self._pay(order, now)
            return "ORDER_STATUS_CHANGE"
        if status == "IN_TRANSIT":
            self._set_status(order, "DELIVERED", now)
            return "ORDER_STATUS_CHANGE"
        if status == "DELIVERED":
            self._set_status(order, "COMPLETED", now)
            return "ORDER_STATUS_CHANGE"
        return None   # awaiting shipment: the seller (our app) ships it

    def build_webhook(self, order: dict, topic: str) -> OutboundWebhook:
        payload = {"type": 1, "tts_notification_id": str(7327112393057371910 + self.rng.randint(1, 10**9)),
                   "shop_id": SHOP_ID, "timestamp": _now_ts(self.now()),
                   "data": {"order_id": order["id"], "order_status": order["status"],
                            "is_on_hold_order": order.get("is_on_hold_order", False),
                            "update_time": order["update_time"]}}
        body = json.dumps(payload, separators=(",", ":")).encode()
        signature = hmac.new(APP_SECRET.encode(), APP_KEY.encode() + body, hashlib.sha256).hexdigest()
        address = self.registered_webhooks.get("ORDER_STATUS_CHANGE") or self.webhook_path
        return OutboundWebhook(address, {"Content-Type": "application/json", "Authorization": signature}, body,
                               topic="ORDER_STATUS_CHANGE", order_id=order["id"])

    @staticmethod
    def public(order: dict) -> dict:
        return {key: value for key, value in order.items() if not key.startswith("_")}

    # --- API: orders ---------------------------------------------------------------------------
    @staticmethod
    def _encode_token(data: dict) -> str:
        # Standard base64 (with '/' and '+') like TikTok's tokens, so clients must URL-encode it.
        return base64.b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()

    @route("POST", r"^/order/202309/orders/search$")
    def search_orders(self, request: SimRequest) -> SimResponse:
        try:
            page_size = int(request.arg("page_size", ""))
        except ValueError:
            return json_response(_envelope(code=36009001, message="page_size is required"), 400)
        if not 1 <= page_size <= 100:
            return json_response(_envelope(code=36009001, message="page_size must be in [1, 100]"), 400)
        try:
            filters = request.json() or {}
        except ValueError:
            return json_response(_envelope(code=36009001, message="body is not JSON"), 400)
        sort_field = request.arg("sort_field", "create_time")
        descending = request.arg("sort_order", "DESC").upper() == "DESC"
        token = request.arg("page_token")
        offset = 0
        if token:
            try:
                state = json.loads(base64.b64decode(token))
                offset = int(state["offset"])
            except (ValueError, KeyError, TypeError):
                return json_response(_envelope(code=36009001, message="invalid page_token"), 400)
            if state.get("filters") != filters:
                return json_response(_envelope(code=36009001, message="page_token does not match the filters"), 400)
        with self.lock:
            originals = [o for o in self.orders.values() if self._matches(o, filters)]
            matching = [json.loads(json.dumps(self.public(o))) for o in originals]
            self.shift_during_paging(originals)
        matching.sort(key=lambda o: (o.get(sort_field) or 0, o["id"]), reverse=descending)
        page = matching[offset:offset + page_size]
        more = offset + page_size < len(matching)
        next_token = self._encode_token({"offset": offset + page_size, "filters": filters}) if more else ""
        return json_response(_envelope({"next_page_token": next_token, "total_count": len(matching),
                                        "orders": page}))

    @staticmethod
    def _matches(order: dict, filters: dict) -> bool:
        for key, field, op in (("update_time_ge", "update_time", "ge"), ("update_time_lt", "update_time", "lt"),
                               ("create_time_ge", "create_time", "ge"), ("create_time_lt", "create_time", "lt")):
            if filters.get(key) is not None:
                value, bound = order[field], int(filters[key])
                if (op == "ge" and value < bound) or (op == "lt" and value >= bound):
                    return False
        if filters.get("order_status") and order["status"] != filters["order_status"]:
            return False
        return True

    @route("GET", r"^/order/202309/orders$")
    def order_detail(self, request: SimRequest) -> SimResponse:
        ids = [i for i in (request.arg("ids") or "").split(",") if i]
        if not ids or len(ids) > 50:
            return json_response(_envelope(code=36009001, message="ids: between 1 and 50 order ids"), 400)
        with self.lock:
            orders = [self.public(self.orders[i]) for i in ids if i in self.orders]
        return json_response(_envelope({"orders": orders}))

    # --- API: fulfillment ----------------------------------------------------------------------
    # TikTok's answers for what a seller may not do (error codes from the Ship Package / Mark Package As Shipped
    # references): an order TikTok ships itself, a missing field, a provider id TikTok does not know.
    PLATFORM_SHIPPED = (21008025, "Seller cannot operate orders which are fulfilled by platform")
    MISSING_FIELD = 21001001
    BAD_PROVIDER = (21011022, "Invalid tracking number or provider ID. Please double check and try again.")

    def _order_of_package(self, package_id: str) -> dict | None:
        for order in self.orders.values():
            if any(p["id"] == package_id for p in order.get("packages") or []):
                return order
        return None

    @staticmethod
    def _package_items(order: dict, package_id: str) -> list[dict]:
        """The live line items a package holds: theirs by package_id, or every one when the order's only package
        is the one TikTok made at payment (its items do not name it yet)."""
        live = [i for i in order["line_items"] if i.get("display_status") != "CANCELLED"]
        named = [i for i in live if i.get("package_id") == package_id]
        if named or any(i.get("package_id") for i in live):
            return named
        return live if [p["id"] for p in order.get("packages") or []] == [package_id] else []

    def _shipment_refusal(self, order: dict, body: dict) -> SimResponse | None:
        """TikTok's error envelope ({code, message, request_id}) for a self-shipment it refuses, else None."""
        if order.get("shipping_type") == "TIKTOK":
            return json_response(_envelope(code=self.PLATFORM_SHIPPED[0], message=self.PLATFORM_SHIPPED[1]))
        missing = [key for key in ("tracking_number", "shipping_provider_id")
                   if not isinstance(body.get(key), str) or not body[key].strip()]
        if missing:
            return json_response(_envelope(code=self.MISSING_FIELD, message="Invalid parameters. Please ensure you "
                                           f"are passing the correct request parameter(s): {', '.join(missing)} "
                                           "required."))
        if body["shipping_provider_id"] not in dict(SHIPPING_PROVIDERS):
            return json_response(_envelope(code=self.BAD_PROVIDER[0], message=self.BAD_PROVIDER[1]))
        return None

    def _ship_items(self, order: dict, items: list[dict], package_id: str, body: dict) -> None:
        """The items leave in `package_id` with this tracking; the order is shipped once no live item is left."""
        provider_id, tracking = body["shipping_provider_id"], body["tracking_number"]
        provider_name = dict(SHIPPING_PROVIDERS)[provider_id]
        when = self.now()
        for item in items:
            item.update({"tracking_number": tracking, "package_id": package_id, "package_status": "PROCESSING",
                         "shipping_provider_id": provider_id, "shipping_provider_name": provider_name,
                         "rts_time": _now_ts(when), "display_status": "IN_TRANSIT"})
        left = [i for i in order["line_items"] if i.get("display_status") in SHIPPABLE]
        order.update({"tracking_number": tracking, "shipping_provider_id": provider_id,
                      "shipping_provider": provider_name, "rts_time": _now_ts(when)})
        order["status"] = "PARTIALLY_SHIPPING" if left else "IN_TRANSIT"
        order["update_time"] = max(order["update_time"], _now_ts(when))

    @route("POST", r"^/fulfillment/202309/packages/(?P<package_id>\d+)/ship$")
    def ship_package(self, request: SimRequest, package_id: str) -> SimResponse:
        body = request.json() or {}
        with self.lock:
            order = self._order_of_package(package_id)
            if order is None:
                return json_response(_envelope(code=21011028, message="The package does not belong to the "
                                                                      "current shop."))
            if order["status"] == "CANCELLED":
                return json_response(_envelope(code=21011041, message="Cannot complete the operation when "
                                                                      "order is cancelled."))
            items = self._package_items(order, package_id)
            if order["status"] not in SHIPPABLE or not any(i["display_status"] in SHIPPABLE for i in items):
                return json_response(_envelope(code=21011040, message="Package has already been shipped."))
            self_shipment = body.get("self_shipment")
            refusal = self._shipment_refusal(order, self_shipment if isinstance(self_shipment, dict) else {})
            if refusal is not None:
                return refusal
            self._ship_items(order, items, package_id, self_shipment)
            self.touch(order)
            self.record_writeback(request, kind="ship_package", order_id=order["id"], packageId=package_id)
            hook = self.build_webhook(order, "ORDER_STATUS_CHANGE")
        self.deliver([hook])
        return json_response(_envelope())

    @route("POST", r"^/fulfillment/202309/orders/(?P<order_id>\d+)/packages$")
    def mark_package_shipped(self, request: SimRequest, order_id: str) -> SimResponse:
        """Mark Package As Shipped: the named line items (all unshipped ones when none are named) become a package
        of their own with this tracking, split from the package they were in."""
        body = request.json() or {}
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                return json_response(_envelope(code=21001001, message="Invalid parameters. Please ensure you are "
                                                                      "passing the correct request parameter(s)."))
            if order["status"] not in SHIPPABLE:
                return json_response(_envelope(code=21011020, message="These orders are already shipped."))
            by_id = {item["id"]: item for item in order["line_items"]}
            open_ids = sorted(i for i, item in by_id.items() if item["display_status"] in SHIPPABLE)
            line_ids = [str(i) for i in body.get("order_line_item_ids") or []] or open_ids
            if not set(line_ids) <= set(by_id):
                return json_response(_envelope(code=21011029, message="order does not belong to fulfill unit"))
            if not set(line_ids) <= set(open_ids):
                return json_response(_envelope(code=21011020, message="These orders are already shipped."))
            refusal = self._shipment_refusal(order, body)
            if refusal is not None:
                return refusal
            packages = order.setdefault("packages", [])
            if len(packages) == 1 and not any(i.get("package_id") for i in by_id.values()):
                for item in by_id.values():   # the payment-time package keeps the items not shipped now
                    item["package_id"] = packages[0]["id"]
            whole = [p["id"] for p in packages
                     if {i["id"] for i in self._package_items(order, p["id"])} == set(line_ids)]
            package_id = whole[0] if whole else str(int(self._package_id(order)) + len(packages))
            if not whole:
                packages.append({"id": package_id})
            self._ship_items(order, [by_id[i] for i in line_ids], package_id, body)
            self.touch(order)
            self.record_writeback(request, kind="mark_package_shipped", order_id=order_id, packageId=package_id)
            hook = self.build_webhook(order, "ORDER_STATUS_CHANGE")
        self.deliver([hook])
        return json_response(_envelope({"order_id": order_id, "order_line_item_ids": line_ids,
                                        "package_id": package_id}))

    @route("POST", r"^/fulfillment/202309/packages/(?P<package_id>\d+)/shipping_info/update$")
    def update_shipping_info(self, request: SimRequest, package_id: str) -> SimResponse:
        body = request.json() or {}
        with self.lock:
            order = self._order_of_package(package_id)
            if order is None:
                return json_response(_envelope(code=21011028, message="The package does not belong to the "
                                                                      "current shop."))
            if order.get("shipping_type") == "TIKTOK":
                return json_response(_envelope(code=21011004, message="This API cannot be used to update package "
                                                                      "shipping information for packages that are "
                                                                      "not shipped by sellers."))
            items = self._package_items(order, package_id)
            if any(i["display_status"] in SHIPPABLE for i in items):
                return json_response(_envelope(code=21011030, message="fulfillment not allow update tracking no."))
            refusal = self._shipment_refusal(order, body)
            if refusal is not None:
                return refusal
            provider_name = dict(SHIPPING_PROVIDERS)[body["shipping_provider_id"]]
            for item in items:
                item.update({"tracking_number": body["tracking_number"], "shipping_provider_name": provider_name,
                             "shipping_provider_id": body["shipping_provider_id"]})
            order.update({"tracking_number": body["tracking_number"], "shipping_provider": provider_name,
                          "shipping_provider_id": body["shipping_provider_id"]})
            self.touch(order)
            self.record_writeback(request, kind="update_shipping_info", order_id=order["id"], packageId=package_id)
        return json_response(_envelope())

    @route("GET", r"^/fulfillment/202309/packages/(?P<package_id>\d+)$")
    def package_detail(self, request: SimRequest, package_id: str) -> SimResponse:
        """Get Package Detail, in the published sample's shape (the fields a seller reads back)."""
        with self.lock:
            order = self._order_of_package(package_id)
            if order is None:
                return json_response(_envelope(code=21011028, message="The package does not belong to the "
                                                                      "current shop."))
            items = self._package_items(order, package_id)
            tracked = next((i for i in items if i.get("tracking_number")), {})
            statuses = {i["display_status"] for i in items}
            status = ("COMPLETED" if statuses <= {"DELIVERED", "COMPLETED"} else
                      "FULFILLING" if statuses & {"IN_TRANSIT", "DELIVERED", "COMPLETED"} else "PROCESSING")
            return json_response(_envelope({
                "package_id": package_id, "orders": [{"id": order["id"]}], "package_status": status,
                "shipping_provider_name": tracked.get("shipping_provider_name", ""),
                "shipping_provider_id": tracked.get("shipping_provider_id", ""),
                "shipping_type": order.get("shipping_type", "SELLER"),
                "delivery_option_id": order.get("delivery_option_id", ""),
                "delivery_option_name": order.get("delivery_option_name", ""),
                "tracking_number": tracked.get("tracking_number", ""),
                "order_line_item_ids": [i["id"] for i in items], "create_time": order.get("paid_time", 0),
                "update_time": order["update_time"], "handover_method": "PICKUP"}))

    def ship_by_platform(self, order_id: str, *, label: bool = True) -> dict:
        """Tests and demos: this order is TikTok-shipped (shipping_type TIKTOK); with `label`, TikTok has issued
        its label, so its package carries TikTok's tracking (and only TikTok moves it on)."""
        with self.lock:
            order = self.orders[order_id]
            order["shipping_type"] = "TIKTOK"
            order["delivery_option_name"] = "Shipped via platform"
            if not order.get("packages"):
                order["packages"] = [{"id": self._package_id(order)}]
            if label:
                package_id = order["packages"][0]["id"]
                number = "TT" + format(self.rng.randint(0, 10**14), "014d")
                for item in self._package_items(order, package_id):
                    item.update({"tracking_number": number, "package_id": package_id,
                                 "shipping_provider_id": "6617675021119438849",
                                 "shipping_provider_name": "TT Virtual express"})
                order.update({"tracking_number": number, "shipping_provider": "TT Virtual express",
                              "shipping_provider_id": "6617675021119438849"})
            self.touch(order)
            return self.public(order)

    @route("GET", r"^/logistics/202309/delivery_options/(?P<option_id>\d+)/shipping_providers$")
    def shipping_providers(self, request: SimRequest, option_id: str) -> SimResponse:
        if option_id != DELIVERY_OPTION[0]:
            return json_response(_envelope(code=21008116, message="No Subscription without specified "
                                                                  "delivery option."))
        return json_response(_envelope({"shipping_providers": [{"id": i, "name": n} for i, n in SHIPPING_PROVIDERS]}))

    # --- API: webhooks, shops, tokens ----------------------------------------------------------
    @route("PUT", r"^/event/202309/webhooks$")
    def update_webhook(self, request: SimRequest) -> SimResponse:
        body = request.json() or {}
        if not body.get("event_type") or not str(body.get("address", "")).startswith(("http://", "https://")):
            return json_response(_envelope(code=36009001, message="event_type and an http(s) address required"), 400)
        with self.lock:
            self.registered_webhooks[body["event_type"]] = body["address"]
            self.record_writeback(request, kind="webhook_registration")
        return json_response(_envelope())

    @route("DELETE", r"^/event/202309/webhooks$")
    def delete_webhook(self, request: SimRequest) -> SimResponse:
        with self.lock:
            self.registered_webhooks.pop((request.json() or {}).get("event_type"), None)
        return json_response(_envelope())

    @route("GET", r"^/event/202309/webhooks$")
    def list_webhooks(self, request: SimRequest) -> SimResponse:
        with self.lock:
            hooks = [{"event_type": e, "address": a, "create_time": 0, "update_time": 0}
                     for e, a in self.registered_webhooks.items()]
        return json_response(_envelope({"webhooks": hooks}))

    @route("GET", r"^/authorization/202309/shops$")
    def authorized_shops(self, request: SimRequest) -> SimResponse:
        return json_response(_envelope({"shops": [{"id": SHOP_ID, "name": "Simulated TikTok Shop", "region": "US",
                                                   "seller_type": "LOCAL", "cipher": SHOP_CIPHER,
                                                   "code": "USSIMSHOP1"}]}))

    @route("GET", r"^/api/v2/token/refresh$")
    def refresh_token_route(self, request: SimRequest) -> SimResponse:
        if (request.arg("app_key"), request.arg("app_secret")) != (APP_KEY, APP_SECRET) or \
                request.arg("grant_type") != "refresh_token" or request.arg("refresh_token") != self.refresh_token:
            return json_response({"code": 36004004, "message": "invalid refresh_token", "data": None,
                                  "request_id": "SIM"})
        with self.lock:
            token = f"TTP_sim_{self.rng.getrandbits(64):016x}"
            self.access_tokens.add(token)
        now = _now_ts(self.now())
        return json_response({"code": 0, "message": "success", "request_id": "SIM", "data": {
            "access_token": token, "access_token_expire_in": now + 7 * 86400, "refresh_token": self.refresh_token,
            "refresh_token_expire_in": now + 365 * 86400, "open_id": "sim-open-id",
            "seller_name": "Simulated TikTok Shop", "seller_base_region": "US", "user_type": 0}})

    def expire_access_tokens(self) -> None:
        """Tests and demos: every access token issued so far expires (the next call answers 105002)."""
        with self.lock:
            self.expired_tokens |= self.access_tokens
            self.access_tokens.clear()
