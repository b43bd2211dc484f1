"""TikTok Shop (Partner API, version 202309): signed requests, order search + detail, webhooks, ship package.

Every shop-scoped call carries `app_key`, `timestamp`, `shop_cipher` and `sign` in the query and
the seller's token in `x-tts-access-token`; answers are HTTP 200 envelopes `{code, message, data}`
where `code` 0 is success, so failures are classified from `code` as well as from the HTTP status.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from django.core.cache import cache

from channels_sync.normalized import (
    Address,
    AggregatedOrderData,
    CommonStatus,
    OrderLineData,
    WebhookEvent,
    WebhookRequest,
    WritebackRequest,
    WritebackResult,
)
from channels_sync.providers.base import ChannelProvider
from channels_sync.providers.errors import PermanentChannelError, RetryableChannelError, WebhookRejected
from channels_sync.providers.http import ChannelHttpClient
from channels_sync.providers.ratelimit import configured_limiter

logger = logging.getLogger(__name__)

API_VERSION = "202309"
SEARCH_PATH = f"/order/{API_VERSION}/orders/search"
DETAIL_PATH = f"/order/{API_VERSION}/orders"
SHIP_PATH = "/fulfillment/" + API_VERSION + "/packages/{package_id}/ship"
MARK_SHIPPED_PATH = "/fulfillment/" + API_VERSION + "/orders/{order_id}/packages"
UPDATE_SHIPPING_PATH = "/fulfillment/" + API_VERSION + "/packages/{package_id}/shipping_info/update"
PROVIDERS_PATH = "/logistics/" + API_VERSION + "/delivery_options/{delivery_option_id}/shipping_providers"
WEBHOOKS_PATH = f"/event/{API_VERSION}/webhooks"
DEFAULT_AUTH_URL = "https://auth.tiktok-shops.com"
SANDBOX_AUTH_URL = "https://auth-sandbox.tiktok-shops.com"
TOKEN_CACHE_PREFIX = "ordershub:tiktok-token:"
PAGE_SIZE_MAX = 100          # Get Order List: page_size 1-100
DETAIL_IDS_MAX = 50          # Get Order Detail: ids max count 50
RATE_KEY = "api"             # one shared bucket per shop (TikTok publishes no per-call numbers we rely on)
DEFAULT_RATE_PER_SECOND = 10
DEFAULT_RATE_BURST = 20

STATUS_MAP = {
    "UNPAID": CommonStatus.PENDING,
    # Paid but still in the buyer's free-cancel window: not yet shippable, so not "processing".
    "ON_HOLD": CommonStatus.PENDING,
    "AWAITING_SHIPMENT": CommonStatus.PROCESSING,
    "PARTIALLY_SHIPPING": CommonStatus.PROCESSING,
    # The seller has shipped (tracking exists); only the carrier pickup is pending.
    "AWAITING_COLLECTION": CommonStatus.SHIPPED,
    "IN_TRANSIT": CommonStatus.SHIPPED,
    "DELIVERED": CommonStatus.DELIVERED,
    "COMPLETED": CommonStatus.DELIVERED,
    "CANCELLED": CommonStatus.CANCELLED,
    "CANCEL": CommonStatus.CANCELLED,   # the type-1 webhook doc spells it so
}

WEBHOOK_TYPES = {
    1: "ORDER_STATUS_CHANGE", 2: "REVERSE_STATUS_UPDATE", 3: "RECIPIENT_ADDRESS_UPDATE", 4: "PACKAGE_UPDATE",
    5: "PRODUCT_STATUS_CHANGE", 6: "SELLER_DEAUTHORIZATION", 7: "UPCOMING_AUTHORIZATION_EXPIRATION",
    11: "CANCELLATION_STATUS_CHANGE", 12: "RETURN_STATUS_CHANGE",
}
# Notification types whose `data.order_id` names an order whose detail may have changed.
ORDER_WEBHOOK_TYPES = {1, 2, 3, 4, 11, 12}

# `code` values documented as transient ("Internal error. Please try again", "System process error,
# please try again later", "System timeout") plus the gateway's throttling answer.
RETRYABLE_CODES = {36009003, 11001031, 21001003, 21001008, 21001011, 21022029, 21042001, 21042076, 36009004}
TOKEN_EXPIRED_CODES = {105002}
ALREADY_SHIPPED_CODES = {11006021, 21008099, 21011020, 21011040}

# Order fields that do not map onto AggregatedOrderData but matter to a merchant (kept raw).
METADATA_KEYS = (
    "delivery_option_id", "delivery_option_name", "delivery_type", "delivery_option_required_delivery_time",
    "fulfillment_type", "shipping_type", "shipping_provider", "shipping_provider_id", "warehouse_id",
    "payment_method_name", "payment_method_code", "is_cod", "is_on_hold_order", "is_sample_order",
    "is_replacement_order", "replaced_order_id", "is_exchange_order", "is_buyer_request_cancel",
    "buyer_message", "seller_note", "cancel_reason", "cancellation_initiator", "cancel_time", "user_id",
    "order_type", "paid_time", "rts_time", "rts_sla_time", "tts_sla_time", "shipping_due_time",
    "delivery_due_time", "delivery_sla_time", "collection_due_time", "split_or_combine_tag",
    "commerce_platform", "fast_delivery_program", "need_upload_invoice", "has_updated_recipient_address",
)


def sign_request(app_secret: str, path: str, params: dict[str, Any], body: bytes | str = b"") -> str:
    """TikTok's request signature: hex HMAC-SHA256 (key app_secret) over
    app_secret + path + sorted(key+value, without sign/access_token) + body + app_secret."""
    joined = "".join(f"{key}{params[key]}" for key in sorted(params) if key not in ("sign", "access_token"))
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    message = f"{app_secret}{path}{joined}{body or ''}{app_secret}"
    return hmac.new(app_secret.encode(), message.encode("utf-8"), hashlib.sha256).hexdigest()


def webhook_signature(app_key: str, app_secret: str, body: bytes) -> str:
    """The `Authorization` header TikTok puts on a push: hex HMAC-SHA256(app_secret, app_key + raw body)."""
    return hmac.new(app_secret.encode(), app_key.encode() + body, hashlib.sha256).hexdigest()


def _shared_rate_limiter(config: dict, namespace: str):
    return configured_limiter(config, namespace, rate_key=RATE_KEY, default_rate=DEFAULT_RATE_PER_SECOND,
                              default_burst=DEFAULT_RATE_BURST)


def _envelope_code(text: str | None) -> int | None:
    try:
        code = json.loads(text or "").get("code")
        return int(code) if code not in (None, "") else None
    except (ValueError, TypeError, AttributeError):
        return None


def _decimal(value: Any) -> Decimal:
    if value in (None, ""):
        return Decimal("0")
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return Decimal("0")


def _ts(value: Any) -> datetime | None:
    if value in (None, "", 0):
        return None
    return datetime.fromtimestamp(int(value), tz=UTC)


def _text(value: Any) -> str | None:
    """A string field as given, with TikTok's empty placeholders (blank, literal `""`) treated as absent."""
    if value is None:
        return None
    text = str(value).strip()
    return None if text in ("", '""') else text


def _district(address: dict, *levels: str) -> str | None:
    for level in levels:
        for entry in address.get("district_info") or []:
            if entry.get("address_level") == level and _text(entry.get("address_name")):
                return _text(entry.get("address_name"))
    return None


def _line_key(item: dict) -> tuple:
    return (item.get("sku_id"), _text(item.get("seller_sku")), item.get("sale_price"), item.get("product_name"))


class Provider(ChannelProvider):
    name = "tiktok"
    label = "TikTok Shop"
    default_base_url = "https://open-api.tiktokglobalshop.com"
    default_poll_minutes = 5
    supports_webhooks = True
    required_config = ("appKey", "appSecret", "accessToken", "shopCipher", "shopId")
    secret_config = ("appSecret", "accessToken", "refreshToken")
    identity_config_key = "shopId"
    # What each config key is and where a merchant finds it (for connect forms and the README).
    config_help = {
        "appKey": "App key of your TikTok Shop app (Partner Center > App & Service > your app).",
        "appSecret": "App secret of the same app; also signs TikTok's webhooks to us.",
        "accessToken": "Seller access token from the authorization (GET /api/v2/token/get with the auth code).",
        "refreshToken": "Optional: the refresh token from the same call, so an expired access token is renewed.",
        "shopCipher": "The shop's `cipher` from GET /authorization/202309/shops.",
        "shopId": "The shop's `id` from the same call; webhooks are matched to the channel by it.",
        "shippingProviderIds": "Optional: {carrier name: TikTok shipping_provider_id} for self-shipped packages.",
        "baseUrl": "Optional: API host (default https://open-api.tiktokglobalshop.com).",
        "authUrl": "Optional: token host (default https://auth.tiktok-shops.com, or baseUrl for a stand-in).",
    }

    def __init__(self, config: dict, *, webhook_secret: str | None = None, channel_id: str | None = None,
                 http: ChannelHttpClient | None = None, clock=time.time):
        config = dict(config or {})
        if http is None:
            base = (config.get("baseUrl") or self.default_base_url).rstrip("/")
            namespace = f"tiktok:{config.get('appKey', '')}:{config.get('shopCipher', '')}"
            http = ChannelHttpClient(base, rate_limiter=_shared_rate_limiter(config, namespace))
        super().__init__(config, webhook_secret=webhook_secret, channel_id=channel_id, http=http)
        self.clock = clock
        renewed = cache.get(self.token_cache_key) or {}
        self._access_token = renewed.get("access_token") or self.config.get("accessToken") or ""
        if renewed.get("refresh_token"):
            self.config["refreshToken"] = renewed["refresh_token"]

    @property
    def token_cache_key(self) -> str:
        """Where a renewed token is shared by every worker (keyed by the configured grant, no secret in clear)."""
        grant = "\x1f".join([self.base_url, *(str(self.config.get(key, "")) for key in ("appKey", "shopCipher",
                                                                                      "accessToken"))])
        return TOKEN_CACHE_PREFIX + hashlib.sha256(grant.encode()).hexdigest()

    @property
    def auth_url(self) -> str:
        """Token host: `authUrl`, else TikTok's (sandbox) auth host for TikTok's (sandbox) API host, else the
        configured baseUrl (a stand-in server serves both)."""
        if self.config.get("authUrl"):
            return self.config["authUrl"].rstrip("/")
        host = urlsplit(self.base_url).hostname or ""
        if host.endswith("tiktokglobalshop.com"):
            return SANDBOX_AUTH_URL if "sandbox" in host else DEFAULT_AUTH_URL
        return self.base_url

    # --- signed calls ----------------------------------------------------------------------------
    def signed_params(self, path: str, query: dict[str, Any] | None, body: bytes) -> dict[str, Any]:
        params = {key: value for key, value in (query or {}).items() if value is not None}
        params.update({"app_key": self.config.get("appKey", ""), "timestamp": int(self.clock())})
        if self.config.get("shopCipher"):
            params["shop_cipher"] = self.config["shopCipher"]
        # The path as it goes on the wire: the same as `path` on TikTok's host, and still right when a
        # stand-in server is mounted below a prefix (its baseUrl has a path).
        wire_path = urlsplit(self.http.url(path)).path
        params["sign"] = sign_request(self.config.get("appSecret", ""), wire_path, params, body)
        return params

    def call(self, method: str, path: str, *, query: dict | None = None, body: Any = None,
             _refreshed: bool = False) -> dict:
        """One signed call; returns `data`. Raises Retryable/PermanentChannelError from HTTP or `code`."""
        raw_body = b"" if body is None else json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        params = self.signed_params(path, query, raw_body)
        headers = {"x-tts-access-token": self._access_token, "content-type": "application/json"}
        try:
            response = self.http.request(method, path, params=params, data=raw_body or None, headers=headers,
                                         rate_key=RATE_KEY)
        except PermanentChannelError as exc:
            # TikTok also answers some refusals with an HTTP 401 carrying its envelope: only an expired
            # token is worth a refresh; a bad signature or app key is not.
            code = _envelope_code(exc.response_body)
            if code in TOKEN_EXPIRED_CODES and not _refreshed and self._refresh_access_token():
                return self.call(method, path, query=query, body=body, _refreshed=True)
            if code is not None:
                exc.channel_code = code
                exc.args = (f"{exc.args[0]} (TikTok code {code})",)
            raise
        try:
            envelope = response.json()
        except ValueError:
            raise RetryableChannelError(f"{method} {path}: answer is not JSON", status_code=response.status_code,
                                        response_body=response.text[:2000])
        code = envelope.get("code", 0)
        if code in (0, "0", None):
            return envelope.get("data") or {}
        code = int(code)
        if code in TOKEN_EXPIRED_CODES and not _refreshed and self._refresh_access_token():
            return self.call(method, path, query=query, body=body, _refreshed=True)
        message = f"{method} {path}: TikTok code {code}: {envelope.get('message', '')}"
        error_cls = RetryableChannelError if code in RETRYABLE_CODES else PermanentChannelError
        error = error_cls(message, status_code=response.status_code, response_body=response.text[:2000])
        error.channel_code = code
        raise error

    def _refresh_access_token(self) -> bool:
        """Trade the configured refreshToken for a new access token (unsigned GET on the auth host)."""
        refresh_token = self.config.get("refreshToken")
        if not refresh_token:
            return False
        auth_url = self.auth_url
        response = self.http.request("GET", f"{auth_url}/api/v2/token/refresh", params={
            "app_key": self.config.get("appKey", ""), "app_secret": self.config.get("appSecret", ""),
            "refresh_token": refresh_token, "grant_type": "refresh_token"}, rate_key=None)
        envelope = response.json()
        token = (envelope.get("data") or {}).get("access_token")
        if envelope.get("code") not in (0, None) or not token:
            raise PermanentChannelError(f"TikTok token refresh failed: {envelope.get('message', '')}",
                                        status_code=response.status_code, response_body=response.text[:2000])
        data = envelope["data"]
        self._access_token = token
        if data.get("refresh_token"):
            self.config["refreshToken"] = data["refresh_token"]
        # `access_token_expire_in` is a Unix time; keep the renewal until shortly before it.
        try:
            ttl = int(data.get("access_token_expire_in") or 0) - int(self.clock()) - 300
        except (TypeError, ValueError):
            ttl = 0
        cache.set(self.token_cache_key, {"access_token": token, "refresh_token": self.config.get("refreshToken")},
                  timeout=ttl if ttl > 0 else 6 * 24 * 3600)
        return True

    # --- reading ---------------------------------------------------------------------------------
    def fetch_orders(self, since: datetime | None, until: datetime | None, status: str | None = None
                     ) -> Iterator[dict]:
        """Order search by update time, every page (page_token), then detail in batches of 50."""
        body: dict[str, Any] = {}
        if since is not None:
            body["update_time_ge"] = int(since.timestamp())
        if until is not None:
            body["update_time_lt"] = int(until.timestamp())
        raw_filter, common_filter = self._status_filter(status)
        if raw_filter:
            body["order_status"] = raw_filter
        page_size = max(1, min(int(self.config.get("pageSize") or PAGE_SIZE_MAX), PAGE_SIZE_MAX))
        page_token: str | None = None
        while True:
            query = {"page_size": page_size, "sort_field": "update_time", "sort_order": "ASC"}
            if page_token:
                query["page_token"] = page_token
            data = self.call("POST", SEARCH_PATH, query=query, body=body)
            summaries = data.get("orders") or []
            for order in self._with_details(summaries):
                if common_filter is None or STATUS_MAP.get(order.get("status")) == common_filter:
                    yield order
            page_token = data.get("next_page_token") or None
            if not page_token or not summaries:
                return

    @staticmethod
    def _status_filter(status: str | None) -> tuple[str | None, CommonStatus | None]:
        if not status:
            return None, None
        if status.upper() in STATUS_MAP:
            return status.upper(), None
        try:
            return None, CommonStatus(status.lower())
        except ValueError:
            raise PermanentChannelError(f"unknown status filter {status!r}")

    def _with_details(self, summaries: list[dict]) -> list[dict]:
        if not summaries or self.config.get("fetchDetails") is False:
            return summaries
        ids = [str(order["id"]) for order in summaries if order.get("id")]
        details: dict[str, dict] = {}
        try:
            for start in range(0, len(ids), DETAIL_IDS_MAX):
                for order in self.fetch_details(ids[start:start + DETAIL_IDS_MAX]):
                    details[str(order.get("id"))] = order
        except PermanentChannelError as exc:
            # A server without the detail route (HTTP 404/405, never a TikTok `code`) whose search already
            # returns whole orders, as TikTok's does: keep those rather than fail the whole sync.
            complete = all(order.get("line_items") is not None and order.get("payment") for order in summaries)
            if exc.status_code not in (404, 405) or getattr(exc, "channel_code", None) or not complete:
                raise
            logger.warning("TikTok order detail unavailable (%s); using the search results", exc)
            return summaries
        return [details.get(str(order.get("id")), order) for order in summaries]

    def fetch_details(self, order_ids: list[str]) -> list[dict]:
        data = self.call("GET", DETAIL_PATH, query={"ids": ",".join(order_ids)})
        return data.get("orders") or []

    def fetch_order(self, channel_order_id: str) -> dict:
        orders = self.fetch_details([str(channel_order_id)])
        if not orders:
            raise PermanentChannelError(f"TikTok order {channel_order_id} not found", status_code=404)
        return orders[0]

    @staticmethod
    def normalize(raw: dict) -> AggregatedOrderData:
        payment = raw.get("payment") or {}
        raw_status = str(raw.get("status") or "")
        tax = payment.get("tax")
        if tax in (None, ""):
            tax = _decimal(payment.get("product_tax")) + _decimal(payment.get("shipping_fee_tax"))
        items = raw.get("line_items") or []
        grouped: dict[tuple, list[dict]] = {}
        for item in items:  # TikTok sends one line item per unit: count them back into quantities
            grouped.setdefault(_line_key(item), []).append(item)
        lines = [
            OrderLineData(
                sku=_text(group[0].get("seller_sku")),
                channel_sku=_text(group[0].get("sku_id")),
                quantity=len(group),
                unit_price=_decimal(group[0].get("sale_price", group[0].get("original_price"))),
                name=_text(group[0].get("product_name")),
                channel_line_id=",".join(str(item.get("id")) for item in group if item.get("id")) or None,
            )
            for group in grouped.values()
        ]
        tracking = _text(raw.get("tracking_number")) or next(
            (_text(item.get("tracking_number")) for item in items if _text(item.get("tracking_number"))), None)
        created = _ts(raw.get("create_time")) or datetime.fromtimestamp(0, tz=UTC)
        metadata = {key: raw[key] for key in METADATA_KEYS if key in raw}
        metadata["package_ids"] = Provider.package_ids(raw)
        metadata["line_item_statuses"] = {str(item.get("id")): item.get("display_status") for item in items}
        metadata["payment"] = {key: value for key, value in payment.items()
                               if key not in ("currency", "sub_total", "shipping_fee", "tax", "total_amount")}
        recipient = raw.get("recipient_address") or None
        return AggregatedOrderData(
            channel_order_id=str(raw["id"]),
            status=STATUS_MAP.get(raw_status, CommonStatus.PENDING),
            raw_status=raw_status,
            currency=str(payment.get("currency") or (items[0].get("currency") if items else "") or ""),
            created_at=created,
            updated_at=_ts(raw.get("update_time")) or created,
            subtotal=_decimal(payment.get("sub_total")),
            tax=_decimal(tax),
            shipping=_decimal(payment.get("shipping_fee")),
            grand_total=_decimal(payment.get("total_amount")),
            lines=lines,
            customer_email=_text(raw.get("buyer_email")),
            customer_name=_text(recipient.get("name")) if recipient else None,
            shipping_address=Provider._address(recipient) if recipient else None,
            tracking_number=tracking,
            channel_order_number=str(raw["id"]),
            channel_metadata=metadata,
        )

    @staticmethod
    def _address(recipient: dict) -> Address:
        """Only what TikTok gives (masked values stay masked); region/city from district levels L1 / L3-L2."""
        extra_lines = [_text(recipient.get(key)) for key in ("address_line2", "address_line3", "address_line4")]
        return Address(
            name=_text(recipient.get("name")),
            line1=_text(recipient.get("address_line1")) or _text(recipient.get("address_detail")),
            line2=", ".join(line for line in extra_lines if line) or None,
            city=_text(recipient.get("post_town")) or _district(recipient, "L3", "L2"),
            region=_district(recipient, "L1"),
            postal_code=_text(recipient.get("postal_code")),
            country=_text(recipient.get("region_code")),
            phone=_text(recipient.get("phone_number")),
        )

    @staticmethod
    def package_ids(raw: dict) -> list[str]:
        """The order's packages (order level first; line items name theirs once shipped)."""
        ids = [str(package["id"]) for package in raw.get("packages") or [] if package.get("id")]
        if not ids:
            for item in raw.get("line_items") or []:
                if item.get("package_id") and str(item["package_id"]) not in ids:
                    ids.append(str(item["package_id"]))
        return ids

    # --- webhooks --------------------------------------------------------------------------------
    @classmethod
    def webhook_identity(cls, request: WebhookRequest) -> str | None:
        try:
            shop_id = json.loads(request.body).get("shop_id")
        except (ValueError, AttributeError):
            return None
        return str(shop_id) if shop_id not in (None, "") else None

    def verify_webhook(self, request: WebhookRequest) -> None:
        received = (request.header("Authorization") or "").strip()
        app_key, app_secret = self.config.get("appKey"), self.config.get("appSecret")
        if not received or not app_key or not app_secret:
            raise WebhookRejected("missing TikTok signature or app credentials")
        expected = webhook_signature(app_key, app_secret, request.body)
        if not hmac.compare_digest(expected.encode(), received.lower().encode()):
            raise WebhookRejected("TikTok signature mismatch")

    def parse_webhook(self, request: WebhookRequest) -> WebhookEvent:
        payload = json.loads(request.body)
        type_code = int(payload.get("type") or 0)
        # tts_notification_id is the documented dedupe key; older pushes lack it, so a redelivery of
        # the same bytes is recognised by their digest instead.
        delivery_id = str(payload.get("tts_notification_id") or "") or (
            "sha256:" + hashlib.sha256(request.body).hexdigest())
        data = payload.get("data") or {}
        refs = [str(data["order_id"])] if type_code in ORDER_WEBHOOK_TYPES and data.get("order_id") else []
        return WebhookEvent(delivery_id=delivery_id, topic=WEBHOOK_TYPES.get(type_code, f"TYPE_{type_code}"),
                            order_refs=refs)

    def register_webhooks(self, callback_url: str) -> list[dict]:
        body = {"event_type": "ORDER_STATUS_CHANGE", "address": callback_url}
        self.call("PUT", WEBHOOKS_PATH, body=body)
        return [body]

    def unregister_webhooks(self, callback_url: str) -> None:
        self.call("DELETE", WEBHOOKS_PATH, body={"event_type": "ORDER_STATUS_CHANGE"})

    # --- writing ---------------------------------------------------------------------------------
    def write_back(self, request: WritebackRequest) -> WritebackResult:
        if request.status in (CommonStatus.PENDING, CommonStatus.PROCESSING):
            return WritebackResult(request_summary=f"TikTok has no call for {request.status}; nothing sent")
        if request.status != CommonStatus.SHIPPED:
            raise PermanentChannelError(f"TikTok writeback of {request.status!r} is not supported; "
                                        "do it in TikTok Seller Center")
        if not request.tracking_number:
            raise PermanentChannelError("shipping a TikTok package needs a tracking number")
        order = request.raw or {}
        packages = self.package_ids(order)
        if not packages:
            order = self.fetch_order(request.channel_order_id)
            packages = self.package_ids(order)
        provider_id = self.resolve_shipping_provider(request.carrier, order)
        shipment = {"tracking_number": request.tracking_number, "shipping_provider_id": provider_id}
        if not packages:
            return self._mark_shipped(request, order, shipment)
        summaries = []
        for package_id in packages:
            try:
                self.call("POST", SHIP_PATH.format(package_id=package_id), body={"self_shipment": shipment})
                summaries.append(f"ship package {package_id}")
            except PermanentChannelError as exc:
                if getattr(exc, "channel_code", None) not in ALREADY_SHIPPED_CODES:
                    raise
                # Already shipped (e.g. a corrected tracking number): update its shipping info instead.
                self.call("POST", UPDATE_SHIPPING_PATH.format(package_id=package_id), body=shipment)
                summaries.append(f"update shipping info of package {package_id}")
        return WritebackResult(channel_reference=",".join(packages), response_code=200,
                               request_summary="; ".join(summaries) + f" (tracking {request.tracking_number}, "
                                                                      f"shipping_provider_id {provider_id})")

    def _mark_shipped(self, request: WritebackRequest, order: dict, shipment: dict) -> WritebackResult:
        """No package yet (US/UK/EU/JP sellers shipping themselves get one only when they ship): Mark
        Package As Shipped creates it from the order's line items that are not cancelled."""
        line_ids = [str(item["id"]) for item in order.get("line_items") or []
                    if item.get("id") and item.get("display_status") != "CANCELLED"]
        if not line_ids:
            raise PermanentChannelError(f"TikTok order {request.channel_order_id} has nothing left to ship")
        data = self.call("POST", MARK_SHIPPED_PATH.format(order_id=request.channel_order_id),
                         body={"order_line_item_ids": line_ids, **shipment})
        package_id = str(data.get("package_id") or "")
        return WritebackResult(channel_reference=package_id or None, response_code=200,
                               request_summary=f"mark {len(line_ids)} line item(s) shipped as package {package_id} "
                                               f"(tracking {request.tracking_number}, shipping_provider_id "
                                               f"{shipment['shipping_provider_id']})")

    def resolve_shipping_provider(self, carrier: str | None, order: dict) -> str:
        """TikTok wants its own shipping_provider_id: an id given as carrier, the config map
        (`shippingProviderIds` {name: id}), a name match among the order's delivery option
        providers, else the provider already on the order."""
        if carrier and carrier.strip().isdigit():
            return carrier.strip()
        configured = self.config.get("shippingProviderIds") or {}
        mapping = {str(key).lower(): str(value) for key, value in configured.items()}
        if carrier and carrier.strip().lower() in mapping:
            return mapping[carrier.strip().lower()]
        option = order.get("delivery_option_id")
        if carrier and option:
            data = self.call("GET", PROVIDERS_PATH.format(delivery_option_id=option))
            wanted = carrier.strip().lower().replace(" ", "")
            for provider in data.get("shipping_providers") or []:
                if str(provider.get("name", "")).lower().replace(" ", "") == wanted:
                    return str(provider["id"])
        fallback = order.get("shipping_provider_id") or next(
            (item.get("shipping_provider_id") for item in order.get("line_items") or []
             if item.get("shipping_provider_id")), None)
        if fallback:
            return str(fallback)
        raise PermanentChannelError(f"no TikTok shipping_provider_id for carrier {carrier!r}; set "
                                    "config.shippingProviderIds")
