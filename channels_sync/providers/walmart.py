"""Walmart Marketplace (US, Orders API v3): client-credentials token, order windows, acknowledge, ship lines.

Walmart has no order webhooks for this flow, so it is polled (every 5 minutes by default). An order
has no status of its own: each line carries its statuses, and the order's status is derived from them.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.cache import cache

from channels_sync.normalized import (
    Address,
    AggregatedOrderData,
    CommonStatus,
    OrderLineData,
    WritebackRequest,
    WritebackResult,
)
from channels_sync.providers.base import ChannelProvider
from channels_sync.providers.errors import PermanentChannelError, RetryableChannelError
from channels_sync.providers.http import ChannelHttpClient
from channels_sync.providers.ratelimit import configured_limiter

SERVICE_NAME = "Walmart Marketplace"
ORDERS_PATH = "/v3/orders"
PAGE_LIMIT_MAX = 200          # GET /v3/orders: limit default 100, at most 200
HISTORY_DAYS = 180            # only the last 180 days of orders are available
TOKEN_SAFETY_SECONDS = 60     # renew a little before Walmart's 15-minute expiry
RATE_KEY = "api"              # one shared bucket per seller account; Walmart answers 429 past its own limits
DEFAULT_RATE_PER_SECOND = 5
DEFAULT_RATE_BURST = 10

LINE_STATUS_MAP = {
    "created": CommonStatus.PENDING,
    "acknowledged": CommonStatus.PROCESSING,
    "shipped": CommonStatus.SHIPPED,
    "delivered": CommonStatus.DELIVERED,
    "cancelled": CommonStatus.CANCELLED,
    "canceled": CommonStatus.CANCELLED,
    "refund": CommonStatus.REFUNDED,
    "refunded": CommonStatus.REFUNDED,
}
# Walmart's own carrier names (carrierName.carrier must match one exactly); others go as otherCarrier.
KNOWN_CARRIERS = {name.lower().replace(" ", ""): name for name in (
    "UPS", "USPS", "FedEx", "DHL", "OnTrac", "LaserShip", "Estes", "Roadrunner", "Pilot", "AIT", "Ceva",
    "Saia", "YRC", "ABF", "Old Dominion", "R&L Carriers", "Southeastern Freight Lines", "Spee Dee", "UDS",
    "AxleHire", "Better Trucks", "Veho", "Amazon", "Asendia", "Newgistics", "OSM", "Landmark", "GSO",
)}
KNOWN_CARRIERS.update({"fedexground": "FedEx", "dhlecommerce": "DHL", "unitedstatespostalservice": "USPS"})
METHOD_CODES = {code.lower(): code for code in ("Standard", "Express", "OneDay", "Freight", "WhiteGlove", "Value")}
COUNTRY_ALPHA2 = {"USA": "US", "CAN": "CA", "MEX": "MX", "CHL": "CL"}

TOKEN_CACHE_PREFIX = "ordershub:walmart-token:"


def _shared_rate_limiter(config: dict, namespace: str):
    return configured_limiter(config, namespace, rate_key=RATE_KEY, default_rate=DEFAULT_RATE_PER_SECOND,
                              default_burst=DEFAULT_RATE_BURST)


def _decimal(value: Any) -> Decimal:
    if value in (None, ""):
        return Decimal("0")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal("0")


def _ms(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    return datetime.fromtimestamp(int(value) / 1000, tz=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _list(container: Any, key: str) -> list:
    """Walmart nests lists in wrapper objects (`orderLines.orderLine`); a single object may come unwrapped."""
    value = (container or {}).get(key) if isinstance(container, dict) else None
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def order_lines(order: dict) -> list[dict]:
    return _list(order.get("orderLines"), "orderLine")


def line_statuses(line: dict) -> list[dict]:
    return _list(line.get("orderLineStatuses"), "orderLineStatus")


def _quantity(value: Any) -> int:
    try:
        return int(Decimal(str((value or {}).get("amount", "0"))))
    except (InvalidOperation, TypeError, ValueError):
        return 0


def line_status_quantities(line: dict) -> dict[str, int]:
    """{status: quantity} for one line (a multi-quantity line can be part shipped, part cancelled)."""
    quantities: dict[str, int] = {}
    for status in line_statuses(line):
        name = str(status.get("status") or "")
        quantities[name] = quantities.get(name, 0) + (_quantity(status.get("statusQuantity")) or 0)
    return quantities


def _line_refunded(line: dict, line_total: Decimal) -> bool:
    refund_charges = _list((line.get("refund") or {}).get("refundCharges"), "refundCharge")
    refunded = sum((abs(_decimal(((c.get("charge") or {}).get("chargeAmount") or {}).get("amount")))
                    for c in refund_charges), Decimal("0"))
    return refunded > 0 and refunded >= line_total


def derive_status(line_states: list[CommonStatus]) -> CommonStatus:
    """One status for the order from its lines' statuses (cancelled lines only count when all are)."""
    if not line_states:
        return CommonStatus.PENDING
    live = [state for state in line_states if state != CommonStatus.CANCELLED]
    if not live:
        return CommonStatus.CANCELLED
    if all(state == CommonStatus.REFUNDED for state in live):
        return CommonStatus.REFUNDED
    if all(state == CommonStatus.DELIVERED for state in live):
        return CommonStatus.DELIVERED
    if all(state in (CommonStatus.SHIPPED, CommonStatus.DELIVERED, CommonStatus.REFUNDED) for state in live):
        return CommonStatus.SHIPPED
    if all(state == CommonStatus.PENDING for state in live):
        return CommonStatus.PENDING
    return CommonStatus.PROCESSING


def needs_acknowledgement(order: dict) -> bool:
    """Walmart expects a seller-fulfilled order acknowledged (within 4 hours) while a line is Created."""
    return any("Created" in line_status_quantities(line) for line in order_lines(order))


class Provider(ChannelProvider):
    name = "walmart"
    label = "Walmart Marketplace"
    default_base_url = "https://marketplace.walmartapis.com"
    default_poll_minutes = 5
    supports_webhooks = False
    required_config = ("clientId", "clientSecret")
    secret_config = ("clientSecret",)
    # What each config key is and where a merchant finds it (for connect forms and the README).
    config_help = {
        "clientId": "Client ID: Seller Center > API Integration > API Key Management (your personal key).",
        "clientSecret": "Client secret shown with that client ID.",
        "baseUrl": "Optional: API host (default https://marketplace.walmartapis.com; sandbox "
                   "https://sandbox.walmartapis.com).",
        "tokenUrl": "Optional: token endpoint (default <baseUrl>/v3/token).",
        "shipNodeType": "Optional: SellerFulfilled (Walmart's default), WFSFulfilled or 3PLFulfilled.",
        "consumerChannelType": "Optional: the WM_CONSUMER.CHANNEL.TYPE Walmart gave a solution provider.",
        "cancellationReason": "Optional: reason sent when cancelling lines (default "
                              "CUSTOMER_REQUESTED_SELLER_TO_CANCEL).",
    }

    def __init__(self, config: dict, *, webhook_secret: str | None = None, channel_id: str | None = None,
                 http: ChannelHttpClient | None = None, clock=time.time):
        config = dict(config or {})
        if http is None:
            base = (config.get("baseUrl") or self.default_base_url).rstrip("/")
            limiter = _shared_rate_limiter(config, f"walmart:{config.get('clientId', '')}")
            http = ChannelHttpClient(base, rate_limiter=limiter)
        super().__init__(config, webhook_secret=webhook_secret, channel_id=channel_id, http=http)
        self.clock = clock

    # --- auth ------------------------------------------------------------------------------------
    @property
    def token_url(self) -> str:
        return self.config.get("tokenUrl") or f"{self.base_url}/v3/token"

    @property
    def token_cache_key(self) -> str:
        """Shared by every worker (the Django cache is Redis in production); no secret in the key itself."""
        grant = "\x1f".join((self.token_url, str(self.config.get("clientId", "")),
                             str(self.config.get("clientSecret", ""))))
        return TOKEN_CACHE_PREFIX + hashlib.sha256(grant.encode()).hexdigest()

    def access_token(self, *, force: bool = False) -> str:
        """The cached client-credentials token, renewed shortly before it expires (or when rejected)."""
        if not force:
            cached = cache.get(self.token_cache_key)
            if cached:
                return cached
        response = self.http.request(
            "POST", self.token_url, auth=(self.config.get("clientId", ""), self.config.get("clientSecret", "")),
            data={"grant_type": "client_credentials"},
            headers={**self._base_headers(), "Content-Type": "application/x-www-form-urlencoded"},
            rate_key=None)
        try:
            payload = response.json()
        except ValueError:
            raise RetryableChannelError("Walmart token answer is not JSON", status_code=response.status_code)
        token = payload.get("access_token")
        if not token:
            raise PermanentChannelError("Walmart token answer has no access_token", status_code=response.status_code,
                                        response_body=response.text[:2000])
        expires_in = int(payload.get("expires_in") or 900)
        cache.set(self.token_cache_key, token, timeout=max(1, expires_in - TOKEN_SAFETY_SECONDS))
        return token

    def _base_headers(self) -> dict[str, str]:
        headers = {"WM_SVC.NAME": self.config.get("serviceName") or SERVICE_NAME,
                   "WM_QOS.CORRELATION_ID": str(uuid.uuid4()), "Accept": "application/json"}
        if self.config.get("consumerChannelType"):
            headers["WM_CONSUMER.CHANNEL.TYPE"] = self.config["consumerChannelType"]
        return headers

    def call(self, method: str, path: str, *, params: dict | None = None, json_body: Any = None,
             not_found_ok: bool = False) -> Any:
        """One authenticated call (fresh correlation id each try); a 401 renews the token once."""
        for attempt in (0, 1):
            headers = {**self._base_headers(), "WM_SEC.ACCESS_TOKEN": self.access_token(force=attempt == 1)}
            if json_body is not None:
                headers["Content-Type"] = "application/json"
            try:
                response = self.http.request(method, path, params=params, json=json_body, headers=headers,
                                             rate_key=RATE_KEY)
            except PermanentChannelError as exc:
                if exc.status_code == 401 and attempt == 0:
                    continue
                if exc.status_code == 404 and not_found_ok:
                    return None
                raise
            return response.json() if response.content else None
        raise AssertionError("unreachable")

    # --- reading ---------------------------------------------------------------------------------
    def fetch_orders(self, since: datetime | None, until: datetime | None, status: str | None = None
                     ) -> Iterator[dict]:
        """GET /v3/orders by last-modified window, following `nextCursor` (a ready-made query string)."""
        now = datetime.fromtimestamp(self.clock(), tz=UTC)
        # Walmart defaults createdStartDate to 7 days ago; an older order modified now must still come back.
        params: dict[str, Any] = {
            "createdStartDate": _iso(now - timedelta(days=HISTORY_DAYS - 1)),
            "limit": max(1, min(int(self.config.get("pageSize") or PAGE_LIMIT_MAX), PAGE_LIMIT_MAX)),
        }
        if since is not None:
            params["lastModifiedStartDate"] = _iso(since)
        if until is not None:
            params["lastModifiedEndDate"] = _iso(until)
        raw_filter, common_filter = self._status_filter(status)
        if raw_filter:
            params["status"] = raw_filter
        if self.config.get("shipNodeType"):
            params["shipNodeType"] = self.config["shipNodeType"]
        path, query = ORDERS_PATH, params
        while True:
            # A 404 on the first page means no order matches; on a later page it is an error (an expired
            # cursor must fail the poll, not end it early and move the cursor past unread orders).
            payload = self.call("GET", path, params=query, not_found_ok=query is not None)
            listing = (payload or {}).get("list") or {}
            for order in _list(listing.get("elements"), "order"):
                if common_filter is None or self.normalize(order).status == common_filter:
                    yield order
            cursor = (listing.get("meta") or {}).get("nextCursor")
            if not cursor:
                return
            path, query = ORDERS_PATH + (cursor if cursor.startswith("?") else "?" + cursor), None

    @staticmethod
    def _status_filter(status: str | None) -> tuple[str | None, CommonStatus | None]:
        if not status:
            return None, None
        raw = {"created": "Created", "acknowledged": "Acknowledged", "shipped": "Shipped",
               "delivered": "Delivered", "cancelled": "Cancelled"}
        if status in raw.values():
            return status, None
        try:
            return None, CommonStatus(status.lower())
        except ValueError:
            raise PermanentChannelError(f"unknown status filter {status!r}")

    def fetch_order(self, channel_order_id: str) -> dict:
        payload = self.call("GET", f"{ORDERS_PATH}/{channel_order_id}")
        return (payload or {}).get("order") or {}

    def acknowledge(self, purchase_order_ids: list[str]) -> dict[str, str]:
        """POST .../acknowledge for each purchase order; returns {id: "acknowledged" | error text}.

        Meant for the core to call after ingest with the ids whose raw order `needs_acknowledgement`;
        one failing id does not stop the others (the next poll sees it still Created and tries again).
        """
        results: dict[str, str] = {}
        for purchase_order_id in purchase_order_ids:
            try:
                self.call("POST", f"{ORDERS_PATH}/{purchase_order_id}/acknowledge")
                results[str(purchase_order_id)] = "acknowledged"
            except RetryableChannelError as exc:
                results[str(purchase_order_id)] = f"retryable: {exc}"
            except PermanentChannelError as exc:
                results[str(purchase_order_id)] = f"failed: {exc}"
        return results

    @staticmethod
    def acknowledgement_id(raw: dict) -> str | None:
        """The purchase order id to acknowledge after this raw order is ingested, or None (hook for the core)."""
        return str(raw["purchaseOrderId"]) if raw.get("purchaseOrderId") and needs_acknowledgement(raw) else None

    def acknowledge_new(self, raw_orders: list[dict]) -> dict[str, str]:
        """Acknowledge the purchase orders among `raw_orders` that still have Created lines."""
        return self.acknowledge([po for po in map(self.acknowledgement_id, raw_orders) if po])

    @staticmethod
    def normalize(raw: dict) -> AggregatedOrderData:
        subtotal = tax = shipping = other = Decimal("0")
        currency = ""
        lines: list[OrderLineData] = []
        line_states: list[CommonStatus] = []
        raw_statuses: list[str] = []
        tracking_number = None
        line_meta = []
        updated = _ms(raw.get("orderDate"))
        for line in order_lines(raw):
            line_product = Decimal("0")
            for charge in _list(line.get("charges"), "charge"):
                amount = _decimal((charge.get("chargeAmount") or {}).get("amount"))
                currency = currency or (charge.get("chargeAmount") or {}).get("currency") or ""
                if charge.get("isDiscount") and amount > 0:
                    amount = -amount
                kind = str(charge.get("chargeType") or "").upper()
                if kind == "PRODUCT":
                    line_product += amount
                elif kind == "SHIPPING":
                    shipping += amount
                else:
                    other += amount
                tax_amount = (charge.get("tax") or {}).get("taxAmount") or {}
                tax += _decimal(tax_amount.get("amount"))
                currency = currency or tax_amount.get("currency") or ""
            subtotal += line_product
            quantity = _quantity(line.get("orderLineQuantity")) or 1
            item = line.get("item") or {}
            lines.append(OrderLineData(
                sku=item.get("sku"), channel_sku=item.get("sku"), quantity=quantity,
                # chargeAmount is the line's charge; the unit price is that over the line quantity.
                unit_price=(line_product / quantity).quantize(Decimal("0.01")),
                name=item.get("productName"), channel_line_id=str(line.get("lineNumber") or "") or None))
            quantities = line_status_quantities(line)
            states = [LINE_STATUS_MAP.get(name.lower(), CommonStatus.PENDING) for name in quantities]
            if _line_refunded(line, line_product):
                states = [CommonStatus.REFUNDED]
            line_states.append(derive_status(states))
            raw_statuses.extend(name for name in quantities if name not in raw_statuses)
            for status in line_statuses(line):
                number = (status.get("trackingInfo") or {}).get("trackingNumber")
                tracking_number = tracking_number or number
            status_date = _ms(line.get("statusDate"))
            if status_date and (updated is None or status_date > updated):
                updated = status_date
            line_meta.append({
                "lineNumber": line.get("lineNumber"), "statuses": line_statuses(line),
                "fulfillment": line.get("fulfillment"),
                **({"refund": line["refund"]} if line.get("refund") else {}),
            })
        shipping_info = raw.get("shippingInfo") or {}
        postal = shipping_info.get("postalAddress") or None
        created = _ms(raw.get("orderDate")) or datetime.fromtimestamp(0, tz=UTC)
        metadata = {key: raw[key] for key in ("customerOrderId", "orderType", "originalCustomerOrderID",
                                              "shipNode", "sellerOrderId", "buyerId", "mart", "isGuest")
                    if key in raw}
        metadata.update({
            "shippingMethodCode": shipping_info.get("methodCode"),
            "estimatedShipDate": shipping_info.get("estimatedShipDate"),
            "estimatedDeliveryDate": shipping_info.get("estimatedDeliveryDate"),
            "addressType": (postal or {}).get("addressType"),
            "lines": line_meta,
        })
        if other:
            metadata["otherCharges"] = f"{other:.2f}"
        return AggregatedOrderData(
            channel_order_id=str(raw["purchaseOrderId"]),
            status=derive_status(line_states),
            raw_status="/".join(raw_statuses),
            currency=currency or "USD",
            created_at=created,
            updated_at=updated or created,
            subtotal=subtotal,
            tax=tax,
            shipping=shipping,
            grand_total=subtotal + shipping + tax + other,
            lines=lines,
            customer_email=raw.get("customerEmailId") or None,
            customer_name=(postal or {}).get("name") or None,
            shipping_address=Address(
                name=postal.get("name"), line1=postal.get("address1"), line2=postal.get("address2"),
                city=postal.get("city"), region=postal.get("state"), postal_code=postal.get("postalCode"),
                country=COUNTRY_ALPHA2.get(postal.get("country"), postal.get("country")),
                phone=shipping_info.get("phone"),
            ) if postal else None,
            tracking_number=tracking_number,
            channel_order_number=raw.get("customerOrderId") or None,
            channel_metadata=metadata,
        )

    # --- writing ---------------------------------------------------------------------------------
    def write_back(self, request: WritebackRequest) -> WritebackResult:
        purchase_order_id = request.channel_order_id
        if request.status == CommonStatus.PENDING:
            return WritebackResult(request_summary="Walmart has no call for pending; nothing sent")
        order = request.raw or {}
        if not order_lines(order):
            order = self.fetch_order(purchase_order_id)
        if request.status == CommonStatus.PROCESSING:
            if not needs_acknowledgement(order):
                return WritebackResult(request_summary=f"PO {purchase_order_id} already acknowledged")
            self.call("POST", f"{ORDERS_PATH}/{purchase_order_id}/acknowledge")
            return WritebackResult(channel_reference=purchase_order_id, response_code=200,
                                   request_summary=f"acknowledge PO {purchase_order_id}")
        if request.status == CommonStatus.SHIPPED:
            return self._ship(request, order)
        if request.status == CommonStatus.CANCELLED:
            return self._cancel(request, order)
        raise PermanentChannelError(f"Walmart writeback of {request.status!r} is not supported; "
                                    "do it in Seller Center")

    def shipping_body(self, request: WritebackRequest, order: dict) -> dict:
        """orderShipment for every line that still has open (Created/Acknowledged) quantity."""
        if not request.tracking_number:
            raise PermanentChannelError("a Walmart shipping update needs a tracking number")
        ship_at = request.ship_date or datetime.fromtimestamp(self.clock(), tz=UTC)
        carrier = (request.carrier or "").strip()
        carrier_name = ({"carrier": KNOWN_CARRIERS[carrier.lower().replace(" ", "")]}
                        if carrier.lower().replace(" ", "") in KNOWN_CARRIERS
                        else {"otherCarrier": carrier or "Other"})
        method = (request.shipping_method or (order.get("shippingInfo") or {}).get("methodCode") or "Standard")
        tracking_info = {
            "shipDateTime": int(ship_at.timestamp() * 1000),
            "carrierName": carrier_name,
            "methodCode": METHOD_CODES.get(str(method).lower(), "Standard"),
            "trackingNumber": request.tracking_number,
        }
        if request.tracking_url:
            tracking_info["trackingURL"] = request.tracking_url
        open_lines = []
        for line in order_lines(order):
            quantities = line_status_quantities(line)
            open_quantity = quantities.get("Created", 0) + quantities.get("Acknowledged", 0)
            if open_quantity:
                open_lines.append((str(line.get("lineNumber")), open_quantity))
        if not order_lines(order):  # no raw order at hand: ship what the aggregated order lists
            open_lines = [(line.channel_line_id, line.quantity) for line in request.lines if line.channel_line_id]
        if not open_lines:
            raise PermanentChannelError(f"PO {request.channel_order_id} has no line left to ship")
        return {"orderShipment": {"orderLines": {"orderLine": [
            {"lineNumber": number, "orderLineStatuses": {"orderLineStatus": [{
                "status": "Shipped",
                "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(quantity)},
                "trackingInfo": tracking_info,
            }]}}
            for number, quantity in open_lines
        ]}}}

    def _ship(self, request: WritebackRequest, order: dict) -> WritebackResult:
        body = self.shipping_body(request, order)
        summary = []
        if needs_acknowledgement(order):  # Walmart refuses to ship lines that were never acknowledged
            try:
                self.call("POST", f"{ORDERS_PATH}/{request.channel_order_id}/acknowledge")
                summary.append("acknowledge")
            except PermanentChannelError as exc:
                # Perhaps acknowledged meanwhile; the shipping call below says whether Walmart minds.
                summary.append(f"acknowledge refused ({exc.status_code})")
        self.call("POST", f"{ORDERS_PATH}/{request.channel_order_id}/shipping", json_body=body)
        lines = [line["lineNumber"] for line in body["orderShipment"]["orderLines"]["orderLine"]]
        summary.append(f"ship lines {','.join(lines)} tracking {request.tracking_number}")
        return WritebackResult(channel_reference=request.channel_order_id, response_code=200,
                               request_summary=f"PO {request.channel_order_id}: " + "; ".join(summary))

    def _cancel(self, request: WritebackRequest, order: dict) -> WritebackResult:
        open_lines = []
        for line in order_lines(order):
            quantities = line_status_quantities(line)
            open_quantity = quantities.get("Created", 0) + quantities.get("Acknowledged", 0)
            if open_quantity:
                open_lines.append((str(line.get("lineNumber")), open_quantity))
        if not open_lines:
            raise PermanentChannelError(f"PO {request.channel_order_id} has no line left to cancel")
        # US reason codes: the customer asked (the usual case for a hub), or SELLER_CANCEL_* via config.
        reason = self.config.get("cancellationReason") or "CUSTOMER_REQUESTED_SELLER_TO_CANCEL"
        body = {"orderCancellation": {"orderLines": {"orderLine": [
            {"lineNumber": number, "orderLineStatuses": {"orderLineStatus": [{
                "status": "Cancelled", "cancellationReason": reason,
                "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(quantity)},
            }]}}
            for number, quantity in open_lines
        ]}}}
        self.call("POST", f"{ORDERS_PATH}/{request.channel_order_id}/cancel", json_body=body)
        return WritebackResult(channel_reference=request.channel_order_id, response_code=200,
                               request_summary=f"PO {request.channel_order_id}: cancel lines "
                                               + ",".join(number for number, _ in open_lines))
