"""eBay Sell Fulfillment API v1 and Notification API v1 push notifications, bound to one seller.

Auth is the seller's OAuth user token, renewed from the refresh token (basic auth with the app's
client id and secret) and cached until it expires. Orders come from getOrders filtered by
`lastmodifieddate`, paged with limit/offset. Notifications are signed with ECDSA over the body;
the public key for the signature's `kid` comes from the Notification API (or from config).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.core.cache import cache

from channels_sync.normalized import (
    AggregatedOrderData,
    CommonStatus,
    WebhookEvent,
    WebhookRequest,
    WritebackRequest,
    WritebackResult,
)
from channels_sync.providers.base import ChannelProvider
from channels_sync.providers.ebay.orders import iso, normalize_order
from channels_sync.providers.ebay.shipping import shipping_fulfillment_body
from channels_sync.providers.ebay.signatures import challenge_response, decode_signature_header, verify_signature
from channels_sync.providers.errors import ChannelError, PermanentChannelError, WebhookRejected
from channels_sync.providers.oauth import CachedToken, token_cache_key

DEFAULT_BASE_URL = "https://api.ebay.com"
DEFAULT_TOKEN_URL = "https://api.ebay.com/identity/v1/oauth2/token"
FULFILLMENT_SCOPE = "https://api.ebay.com/oauth/api_scope/sell.fulfillment"
APP_SCOPE = "https://api.ebay.com/oauth/api_scope"   # client-credentials scope getPublicKey accepts
ORDERS_PATH = "/sell/fulfillment/v1/order"
NOTIFICATION_PATH = "/commerce/notification/v1/"
PUBLIC_KEY_PATH = NOTIFICATION_PATH + "public_key/"
PAGE_LIMIT = 200          # getOrders maximum
PUBLIC_KEY_CACHE_SECONDS = 3600   # eBay recommends about an hour
SIGNATURE_HEADER = "X-EBAY-SIGNATURE"
ORDER_TOPICS = {"ORDER_CONFIRMATION", "ITEM_MARKED_SHIPPED"}
# One-shot `status` filter -> orderfulfillmentstatus values (refined after normalizing).
FULFILLMENT_FILTER = {
    CommonStatus.PENDING: "NOT_STARTED|IN_PROGRESS",
    CommonStatus.PROCESSING: "NOT_STARTED|IN_PROGRESS",
    CommonStatus.SHIPPED: "FULFILLED",
    CommonStatus.DELIVERED: "FULFILLED",
}


class Provider(ChannelProvider):
    name = "ebay"
    label = "eBay"
    default_base_url = DEFAULT_BASE_URL
    default_poll_minutes = 5
    required_config = ("clientId", "clientSecret", "refreshToken", "verificationToken")
    secret_config = ("clientSecret", "refreshToken", "verificationToken")
    # What each config key is and where a merchant finds it (for connect forms and the README).
    config_help = {
        "clientId": "App ID (Client ID) of your eBay production keyset (developer.ebay.com > Application Keys).",
        "clientSecret": "Cert ID (Client Secret) of the same keyset.",
        "refreshToken": "The seller's OAuth refresh token, consented with the sell.fulfillment scope.",
        "verificationToken": "32-80 characters you choose; answers eBay's endpoint challenge.",
        "notificationTopics": "Optional: topics to subscribe on enable, e.g. [\"ORDER_CONFIRMATION\"].",
        "notificationEndpoint": "Optional: the exact URL registered with eBay, if a proxy changes the one we see.",
        "publicKeys": "Optional: {kid: PEM} notification keys for offline use; otherwise fetched from eBay.",
        "alertEmail": "Optional: where eBay sends notification alerts (set with the first registration).",
        "marketplaceId": "Optional: X-EBAY-C-MARKETPLACE-ID, e.g. EBAY_US.",
        "baseUrl": "Optional: API host (default https://api.ebay.com; sandbox https://api.sandbox.ebay.com).",
        "tokenUrl": "Optional: OAuth token endpoint (default https://api.ebay.com/identity/v1/oauth2/token).",
    }

    def __init__(self, config: dict, **kwargs):
        super().__init__(config, **kwargs)
        client_id = self.config.get("clientId")
        self.user_token = CachedToken(
            token_cache_key("ebay-user", self.token_url, client_id, self.config.get("refreshToken"), self.scopes),
            self._exchange_refresh_token, default_ttl=7200)
        self.app_token = CachedToken(token_cache_key("ebay-app", self.token_url, client_id, APP_SCOPE),
                                     self._client_credentials, default_ttl=7200)

    # --- auth --------------------------------------------------------------------------------
    @property
    def token_url(self) -> str:
        return self.config.get("tokenUrl") or DEFAULT_TOKEN_URL

    @property
    def scopes(self) -> str:
        scopes = self.config.get("scopes") or FULFILLMENT_SCOPE
        return " ".join(scopes) if isinstance(scopes, list | tuple) else str(scopes)

    def _token_request(self, form: dict) -> dict:
        credentials = f"{self.config.get('clientId', '')}:{self.config.get('clientSecret', '')}"
        headers = {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode(),
                   "Content-Type": "application/x-www-form-urlencoded"}
        return self.http.request("POST", self.token_url, data=form, headers=headers).json()

    def _exchange_refresh_token(self) -> dict:
        return self._token_request({"grant_type": "refresh_token", "refresh_token": self.config.get("refreshToken", ""),
                                    "scope": self.scopes})

    def _client_credentials(self) -> dict:
        return self._token_request({"grant_type": "client_credentials", "scope": APP_SCOPE})

    def _call(self, method: str, path: str, *, token: CachedToken | None = None, **kwargs):
        """One API call; a token rejected as expired (401) is renewed once and the call repeated."""
        token = token or self.user_token
        extra_headers = kwargs.pop("headers", {})
        for attempt in (1, 2):
            headers = {"Authorization": f"Bearer {token.get()}", "Accept": "application/json", **extra_headers}
            if self.config.get("marketplaceId"):
                headers["X-EBAY-C-MARKETPLACE-ID"] = self.config["marketplaceId"]
            try:
                return self.http.request(method, path, headers=headers, **kwargs)
            except PermanentChannelError as exc:
                if attempt == 1 and exc.status_code == 401:
                    token.invalidate()
                    continue
                raise
        raise AssertionError("unreachable")

    # --- reading -----------------------------------------------------------------------------
    def fetch_orders(self, since: datetime | None, until: datetime | None, status: str | None = None) -> Iterator[dict]:
        try:
            wanted = CommonStatus(status) if status else None
        except ValueError:
            raise PermanentChannelError(f"unknown status filter {status!r}") from None
        filters = []
        if since or until:
            start = since or datetime.now(UTC) - timedelta(days=90)
            filters.append(f"lastmodifieddate:[{iso(start)}..{iso(until) if until else ''}]")
        if wanted in FULFILLMENT_FILTER:
            filters.append(f"orderfulfillmentstatus:{{{FULFILLMENT_FILTER[wanted]}}}")
        limit = min(int(self.config.get("pageSize") or PAGE_LIMIT), PAGE_LIMIT)
        base_params = {"filter": ",".join(filters)} if filters else {}
        url, params, offset = ORDERS_PATH, {**base_params, "limit": limit, "offset": 0}, 0
        while True:
            page = self._call("GET", url, params=params).json() or {}
            orders = page.get("orders") or []
            for order in orders:
                if wanted is None or normalize_order(order).status == wanted:
                    yield order
            offset = int(page.get("offset") or offset) + len(orders)
            if not orders:
                return
            if page.get("next"):
                url, params = self._same_origin(page["next"]), None
            elif page.get("total") is not None and offset < int(page["total"]):
                # No `next` although `total` says there is more: step the offset ourselves.
                url, params = ORDERS_PATH, {**base_params, "limit": limit, "offset": offset}
            else:
                return

    def _same_origin(self, next_url: str) -> str:
        """eBay's `next` is absolute. One under our base URL is followed as is; one on another host (eBay's
        own, while a proxy or simulator stands in) is re-based, so the token never goes elsewhere."""
        if next_url.startswith(self.base_url + "/"):
            return next_url
        parts = urlsplit(next_url)
        return self.http.url(parts.path + (f"?{parts.query}" if parts.query else ""))

    def fetch_order(self, channel_order_id: str) -> dict:
        return self._call("GET", f"{ORDERS_PATH}/{channel_order_id}").json()

    @staticmethod
    def normalize(raw: dict) -> AggregatedOrderData:
        return normalize_order(raw)

    # --- notifications -----------------------------------------------------------------------
    def webhook_challenge(self, request: WebhookRequest) -> dict | None:
        """eBay proves the endpoint is ours with GET ?challenge_code=: answer sha256(code + token + endpoint)."""
        code = request.query.get("challenge_code")
        if not code:
            return None
        token = self.config.get("verificationToken")
        if not token:   # nothing to answer with: the challenge fails and eBay keeps the endpoint disabled
            return None
        endpoint = self.config.get("notificationEndpoint") or _without_query_param(request.url, "challenge_code")
        return {"challengeResponse": challenge_response(code, token, endpoint)}

    def verify_webhook(self, request: WebhookRequest) -> None:
        header = request.header(SIGNATURE_HEADER)
        if not header:
            raise WebhookRejected(f"missing {SIGNATURE_HEADER}")
        signature = decode_signature_header(header)
        try:
            key = self.public_key(signature["kid"])
        except ChannelError as exc:
            raise WebhookRejected(f"no public key for kid {signature['kid']}: {exc}") from None
        if not verify_signature(key, signature, request.body):
            raise WebhookRejected("X-EBAY-SIGNATURE does not match the body")

    def public_key(self, kid: str) -> dict:
        """{key, algorithm, digest} for a key id: from config `publicKeys`, the cache, or getPublicKey."""
        configured = (self.config.get("publicKeys") or {}).get(kid)
        if configured:
            return configured if isinstance(configured, dict) else {"key": configured, "algorithm": "ECDSA",
                                                                     "digest": "SHA1"}
        cache_key = token_cache_key("ebay-public-key", self.base_url, kid)
        key = cache.get(cache_key)
        if key is None:
            try:
                key = self._call("GET", PUBLIC_KEY_PATH + kid, token=self.app_token).json()
            except PermanentChannelError:
                # getPublicKey takes a user token too: keys stay reachable if the app grant is refused.
                key = self._call("GET", PUBLIC_KEY_PATH + kid).json()
            if not isinstance(key, dict) or not key.get("key"):
                raise PermanentChannelError(f"getPublicKey answered no key for {kid}")
            cache.set(cache_key, key, timeout=PUBLIC_KEY_CACHE_SECONDS)
        return key

    def parse_webhook(self, request: WebhookRequest) -> WebhookEvent:
        document = json.loads(request.body)
        topic = (document.get("metadata") or {}).get("topic") or ""
        notification = document.get("notification") or {}
        delivery_id = notification.get("notificationId") or "sha256:" + hashlib.sha256(request.body).hexdigest()
        refs = _order_ids(notification.get("data")) if topic in ORDER_TOPICS else []
        return WebhookEvent(delivery_id=str(delivery_id), topic=topic, order_refs=refs)

    def register_webhooks(self, callback_url: str) -> list[dict]:
        """Create a destination for `callback_url` (eBay challenges it at once) and subscribe it to the
        topics in config `notificationTopics`, e.g. ["ORDER_CONFIRMATION"]; none configured: poll only."""
        topics = self.config.get("notificationTopics") or []
        if isinstance(topics, str):
            topics = [topic.strip() for topic in topics.split(",") if topic.strip()]
        if not topics:
            return []
        destination = {"name": f"ordershub {self.channel_id or ''}".strip()[:64], "status": "ENABLED",
                       "deliveryConfig": {"endpoint": self.config.get("notificationEndpoint") or callback_url,
                                          "verificationToken": self.config.get("verificationToken", "")}}
        if self.config.get("alertEmail"):   # eBay wants an alert address before the first destination
            self._call("PUT", NOTIFICATION_PATH + "config", token=self.app_token,
                       json={"alertEmail": self.config["alertEmail"]})
        response = self._call("POST", NOTIFICATION_PATH + "destination", token=self.app_token, json=destination)
        destination_id = _created_id(response)
        registered = []
        for topic in topics:
            body = {"topicId": topic, "status": "ENABLED", "destinationId": destination_id,
                    "payload": {"format": "JSON", "schemaVersion": "1.0", "deliveryProtocol": "HTTPS"}}
            response = self._call("POST", NOTIFICATION_PATH + "subscription", json=body)
            registered.append({"topicId": topic, "destinationId": destination_id,
                               "subscriptionId": _created_id(response)})
        return registered

    # --- writeback ---------------------------------------------------------------------------
    def write_back(self, request: WritebackRequest) -> WritebackResult:
        if request.status in (CommonStatus.PENDING, CommonStatus.PROCESSING, CommonStatus.DELIVERED):
            return WritebackResult(request_summary=f"nothing to send: eBay tracks {request.status} itself")
        if request.status != CommonStatus.SHIPPED:
            raise PermanentChannelError(f"the Fulfillment API cannot set {request.status}; "
                                        "cancel or refund in Seller Hub")
        body = shipping_fulfillment_body(request)
        response = self._call("POST", f"{ORDERS_PATH}/{request.channel_order_id}/shipping_fulfillment", json=body,
                              headers={"Content-Type": "application/json"})
        fulfillment_id = _created_id(response, "fulfillmentId")
        return WritebackResult(
            channel_reference=fulfillment_id, response_code=response.status_code,
            request_summary=(f"createShippingFulfillment {request.channel_order_id}: {body['shippingCarrierCode']} "
                             f"{body['trackingNumber']}, {len(body['lineItems'])} line(s)"))


def _created_id(response, body_key: str | None = None) -> str | None:
    """eBay answers 201 Created with the new resource's URL in `Location`; its last segment is the id."""
    location = response.headers.get("Location") or ""
    created = location.rstrip("/").rsplit("/", 1)[-1] if location else None
    if not created and body_key and response.content:
        try:
            created = (response.json() or {}).get(body_key)
        except ValueError:
            created = None
    return created or None


def _order_ids(data) -> list[str]:
    """Order ids named anywhere in a notification's data (`orderId`, or a list of them)."""
    found: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("orderId", "orderID") and isinstance(value, str | int) and str(value) not in found:
                    found.append(str(value))
                else:
                    walk(value)
        elif isinstance(node, list):
            for element in node:
                walk(element)

    walk(data)
    return found


def _without_query_param(url: str, name: str) -> str:
    parts = urlsplit(url)
    query = urlencode([(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key != name])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
