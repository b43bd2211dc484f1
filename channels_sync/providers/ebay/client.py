"""eBay Sell Fulfillment API v1 and Notification API v1 push notifications, bound to one seller: the Provider
class, OAuth tokens, paging.

Auth is the seller's OAuth user token, renewed from the refresh token (basic auth with the app's
client id and secret) and cached until it expires. Orders come from getOrders filtered by
`lastmodifieddate` (open-ended: see fetch_orders), paged with limit/offset. Notifications are signed with
ECDSA over the body; the public key for the signature's `kid` comes from the Notification API (or from config).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from channels_sync.normalized import CommonStatus
from channels_sync.providers.base import ChannelProvider
from channels_sync.providers.ebay.normalize import ORDERS_PATH, iso, normalize, parse_time
from channels_sync.providers.ebay.webhooks import WebhooksMixin
from channels_sync.providers.ebay.writeback import WritebackMixin
from channels_sync.providers.errors import PermanentChannelError
from channels_sync.providers.oauth import CachedToken, token_cache_key

DEFAULT_BASE_URL = "https://api.ebay.com"
DEFAULT_TOKEN_URL = "https://api.ebay.com/identity/v1/oauth2/token"
FULFILLMENT_SCOPE = "https://api.ebay.com/oauth/api_scope/sell.fulfillment"
APP_SCOPE = "https://api.ebay.com/oauth/api_scope"   # client-credentials scope getPublicKey accepts
PAGE_LIMIT = 200          # getOrders maximum


# One-shot `status` filter -> the orderfulfillmentstatus combination getOrders accepts (it documents exactly
# these two; any other value is an error), refined after normalizing. Cancelled/refunded: no server filter.
FULFILLMENT_FILTER = {
    CommonStatus.PENDING: "NOT_STARTED|IN_PROGRESS",
    CommonStatus.PROCESSING: "NOT_STARTED|IN_PROGRESS",
    CommonStatus.SHIPPED: "FULFILLED|IN_PROGRESS",
    CommonStatus.DELIVERED: "FULFILLED|IN_PROGRESS",
}


class Provider(WebhooksMixin, WritebackMixin, ChannelProvider):
    name = "ebay"

    label = "eBay"
    webhook_path = "/upstream/webhooks/ebay/notifications"

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
        "accountDeletionEndpoint": "Optional: the keyset's Marketplace Account Deletion URL as registered, if a "
                                   "proxy changes the one we see.",
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
        """Every order modified in [since, until], each once.

        getOrders sorts by creation date (newest first), not by modification, and pages by offset. With an upper
        bound on lastmodifieddate, an order modified while we page leaves the window and every later order moves
        up one offset: one unchanged order would be skipped for good. So the window is asked open-ended (a
        modified order keeps its place: the sort is by creation) and `until` is applied here; an order created
        meanwhile enters at offset 0 and pushes the rest down, which can only repeat one, dropped by id.
        """
        try:
            wanted = CommonStatus(status) if status else None
        except ValueError:
            raise PermanentChannelError(f"unknown status filter {status!r}") from None
        filters = []
        if since or until:
            start = since or datetime.now(UTC) - timedelta(days=90)
            filters.append(f"lastmodifieddate:[{iso(start)}..]")
        if wanted in FULFILLMENT_FILTER:
            filters.append(f"orderfulfillmentstatus:{{{FULFILLMENT_FILTER[wanted]}}}")
        limit = min(int(self.config.get("pageSize") or PAGE_LIMIT), PAGE_LIMIT)
        base_params = {"filter": ",".join(filters)} if filters else {}
        url, params, offset = ORDERS_PATH, {**base_params, "limit": limit, "offset": 0}, 0
        seen: set[str] = set()
        while True:
            page = self._call("GET", url, params=params).json() or {}
            orders = page.get("orders") or []
            for order in orders:
                if order.get("orderId") in seen:
                    continue
                seen.add(order.get("orderId"))
                if until and parse_time(order.get("lastModifiedDate") or order.get("creationDate")) > until:
                    continue   # changed after the window closed: the next poll, from this one's start, reads it
                if wanted is None or normalize(order).status == wanted:
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

    normalize = staticmethod(normalize)
