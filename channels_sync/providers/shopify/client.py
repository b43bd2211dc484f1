"""Shopify GraphQL Admin API: the Provider class, its token (pasted, client-credentials or OAuth-installed), cursor
paging over an `updated_at` window, cost-based throttling and the API-version check.

Why GraphQL: REST Admin is legacy and closed to new public apps (shopify.dev, "REST Admin API" notice); every read
and write here goes to POST /admin/api/{version}/graphql.json. Webhooks still deliver REST-shaped order JSON, which
the normalizer reads as it is (normalize.py).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any

import channels_sync.providers.shopify.queries as queries
from channels_sync.normalized import CommonStatus
from channels_sync.providers.base import ChannelProvider
from channels_sync.providers.errors import PermanentChannelError, RetryableChannelError
from channels_sync.providers.http import ChannelHttpClient
from channels_sync.providers.shopify.normalize import common_status, normalize
from channels_sync.providers.shopify.webhooks import WebhooksMixin
from channels_sync.providers.shopify.writeback import WritebackMixin

logger = logging.getLogger(__name__)

# Stable and supported on 2026-12-03: Shopify releases a version each quarter and supports it for at least
# twelve months (shopify.dev/docs/api/usage/versioning); 2026-10 is the newest stable one then.
DEFAULT_API_VERSION = "2026-10"
API_VERSION_RE = re.compile(r"^\d{4}-(01|04|07|10)$")
PAGE_SIZE = 5                # orders per page: ~850 of the 1000 a single query may request (queries.py)
MAX_THROTTLE_WAIT = 30.0     # seconds waited in place for the cost bucket to refill before giving the task back
THROTTLE_MIN_WAIT = 0.5
VERSION_WARNING = "api_version"
TOKEN_WARNING = "oauth_token"
# Expiring offline tokens (OAuth installs, shopify.dev "Offline access tokens", December 2025) last an hour; they are
# refreshed this long before they expire, so no call goes out with a token about to lapse.
REFRESH_MARGIN_SECONDS = 300
TOKEN_KEYS = ("accessToken", "accessTokenExpiresAt", "refreshToken", "refreshTokenExpiresAt", "scope")


def _at(seconds) -> str | None:
    try:
        return (datetime.now(UTC) + timedelta(seconds=int(seconds))).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError):
        return None


def token_config(body: dict) -> dict:
    """The channel config keys of a token endpoint answer (authorization code or refresh): the access token and,
    for an expiring offline token, when it expires and its refresh token with that token's expiry."""
    changes = {"accessToken": body["access_token"]}
    if body.get("scope"):
        changes["scope"] = body["scope"]
    if body.get("expires_in"):
        changes["accessTokenExpiresAt"] = _at(body["expires_in"])
    if body.get("refresh_token"):
        changes["refreshToken"] = body["refresh_token"]
        if body.get("refresh_token_expires_in"):
            changes["refreshTokenExpiresAt"] = _at(body["refresh_token_expires_in"])
    return changes


def _expires_within(at: str | None, seconds: float) -> bool:
    """Whether an expiry (ISO 8601) is unknown, past or within `seconds` from now."""
    if not at:
        return True
    try:
        expiry = datetime.fromisoformat(str(at).replace("Z", "+00:00"))
    except ValueError:
        return True
    if expiry.tzinfo is None:
        expiry = expiry.replace(tzinfo=UTC)
    return expiry - datetime.now(UTC) <= timedelta(seconds=seconds)


def order_gid(order_id: str) -> str:
    return order_id if str(order_id).startswith("gid://") else f"gid://shopify/Order/{order_id}"


def _throttled(errors: Any) -> bool:
    return isinstance(errors, list) and any(
        ((error or {}).get("extensions") or {}).get("code") == "THROTTLED" for error in errors)


def refill_wait(cost: dict) -> float:
    """Seconds until the bucket holds the requested cost again, from `extensions.cost` of a THROTTLED answer."""
    status = cost.get("throttleStatus") or {}
    try:
        requested = float(cost.get("requestedQueryCost") or 0)
        available = float(status.get("currentlyAvailable") or 0)
        rate = float(status.get("restoreRate") or 0)
    except (TypeError, ValueError):
        return 1.0
    if rate <= 0:
        return 1.0
    return max(THROTTLE_MIN_WAIT, (requested - available) / rate)


class Provider(WebhooksMixin, WritebackMixin, ChannelProvider):
    name = "shopify"

    label = "Shopify"
    webhook_path = "/upstream/webhooks/shopify/orders"

    default_poll_minutes = 15

    # Plus one way to a token: `accessToken` (a pasted legacy admin token, or one stored by the OAuth install),
    # or `clientId` + `clientSecret` (the client-credentials grant); validate_config says which is missing.
    required_config = ("shopDomain",)

    secret_config = ("accessToken", "clientSecret", "refreshToken")

    webhook_identity_header = "X-Shopify-Shop-Domain"

    identity_config_key = "shopDomain"

    def __init__(self, config: dict, *, webhook_secret: str | None = None, channel_id: str | None = None,
                 http: ChannelHttpClient | None = None):
        self.config = dict(config or {})
        # Dev Dashboard apps sign webhooks (compliance ones included) with the app's client secret.
        webhook_secret = webhook_secret or self.config.get("clientSecret") or None
        super().__init__(config, webhook_secret=webhook_secret, channel_id=channel_id, http=http)
        self.max_throttle_wait = MAX_THROTTLE_WAIT
        self.warnings: list[str] = []   # what a run should show staff (a version Shopify did not serve)
        self.channel_state = None       # set by Channel.provider_instance: saves rotated tokens and warnings
        self._version_checked = False

    @property
    def base_url(self) -> str:
        explicit = self.config.get("baseUrl")
        if explicit:
            return explicit.rstrip("/")
        return f"https://{self.config.get('shopDomain', '').strip().rstrip('/')}"

    @property
    def api_version(self) -> str:
        return self.config.get("apiVersion") or DEFAULT_API_VERSION

    @classmethod
    def validate_config(cls, config: dict) -> dict[str, str]:
        errors = super().validate_config(config)
        has_token = bool(config.get("accessToken"))
        if not has_token and not (config.get("clientId") and config.get("clientSecret")):
            message = "Give an Admin API access token, or the app's client id and client secret."
            if config.get("clientId") or config.get("clientSecret"):
                key = "clientSecret" if config.get("clientId") else "clientId"
                errors[key] = "This field is required with " + ("clientId." if key == "clientSecret"
                                                                 else "clientSecret.")
            else:
                errors["accessToken"] = message
        version = config.get("apiVersion")
        if version not in (None, "") and not API_VERSION_RE.match(str(version)):
            errors["apiVersion"] = ("Shopify API versions are YYYY-MM with a quarter's month (01, 04, 07, 10), "
                                    f"e.g. {DEFAULT_API_VERSION}.")
        return errors

    # --- the token -----------------------------------------------------------------------------
    def _uses_client_credentials(self) -> bool:
        return not self.config.get("accessToken") and bool(self.config.get("clientId"))

    def _cached_token(self):
        from channels_sync.providers.oauth import CachedToken, token_cache_key

        url = self.http.url("/admin/oauth/access_token")
        key = token_cache_key("shopify-client-credentials", url, self.config.get("clientId"),
                              self.config.get("clientSecret"))
        # Tokens live ~24 h (expires_in 86399); kept until a minute before that, then fetched anew by any worker.
        return CachedToken(key, self._client_credentials_grant, default_ttl=86399)

    def _client_credentials_grant(self) -> dict:
        response = self.http.request("POST", "/admin/oauth/access_token", headers={"Accept": "application/json"},
                                     data={"grant_type": "client_credentials",
                                           "client_id": self.config.get("clientId", ""),
                                           "client_secret": self.config.get("clientSecret", "")})
        return json.loads(response.content or b"{}")

    def access_token(self) -> str:
        if self._uses_client_credentials():
            return self._cached_token().get()
        if self._expiring() and _expires_within(self.config.get("accessTokenExpiresAt"), REFRESH_MARGIN_SECONDS):
            self.refresh_offline_token()
        return self.config.get("accessToken", "")

    # --- expiring offline tokens (OAuth install) ---------------------------------------------------
    def _expiring(self) -> bool:
        return bool(self.config.get("refreshToken"))

    def refresh_offline_token(self, *, rejected: str | None = None) -> None:
        """Exchange the refresh token for a new offline token (it lasts an hour) and keep both new tokens.

        Shopify rotates the refresh token on every refresh, so the pair is saved on the channel at once
        (channel_state), one worker at a time; a worker that waited finds the new pair stored and uses it.
        `rejected`: the access token Shopify just refused (a 401), refreshed whatever its stored expiry says."""
        state = self.channel_state
        lock = state.token_lock() if state is not None else nullcontext(True)
        with lock:
            if state is not None:
                stored = state.current_config()
                fresh = stored.get("accessToken") and stored.get("accessToken") != rejected and not _expires_within(
                    stored.get("accessTokenExpiresAt"), REFRESH_MARGIN_SECONDS)
                if stored.get("refreshToken"):
                    self.config.update({key: stored.get(key) for key in TOKEN_KEYS if key in stored})
                if fresh:
                    return
            body = self._refresh_grant()
            changes = token_config(body)
            if "refreshToken" not in changes:
                changes["refreshToken"] = self.config.get("refreshToken")
            self.config.update(changes)
            if state is not None:
                state.update_config(changes)
                state.clear_warning(TOKEN_WARNING)

    def _refresh_grant(self) -> dict:
        try:
            response = self.http.request("POST", "/admin/oauth/access_token", headers={"Accept": "application/json"},
                                         data={"grant_type": "refresh_token",
                                               "client_id": self.config.get("clientId", ""),
                                               "client_secret": self.config.get("clientSecret", ""),
                                               "refresh_token": self.config.get("refreshToken", "")})
        except PermanentChannelError as exc:
            message = (f"Shopify refused to refresh the store's offline token (HTTP {exc.status_code}): install the "
                       "app on the store again")
            if self.channel_state is not None:
                self.channel_state.warn(TOKEN_WARNING, message)   # every call fails until then: say so on the channel
            raise PermanentChannelError(message, status_code=exc.status_code,
                                        response_body=exc.response_body) from exc
        body = json.loads(response.content or b"{}")
        if not body.get("access_token"):
            raise PermanentChannelError("Shopify's token refresh answered without an access_token",
                                        status_code=response.status_code, response_body=response.text[:2000])
        return body

    def _path(self, resource: str) -> str:
        return f"/admin/api/{self.api_version}/{resource}"

    # --- GraphQL -------------------------------------------------------------------------------
    def graphql(self, query: str, variables: dict | None = None) -> dict:
        """`data` of one GraphQL call. THROTTLED is waited out while the refill is due within `max_throttle_wait`
        (then RetryableChannelError); a 401 with a client-credentials token fetches a new token once; any other
        GraphQL error is a PermanentChannelError quoting Shopify's messages."""
        waited, renewed = 0.0, False
        while True:
            try:
                response = self.http.request(
                    "POST", self._path("graphql.json"), json={"query": query, "variables": variables or {}},
                    headers={"X-Shopify-Access-Token": self.access_token(), "Accept": "application/json"})
            except PermanentChannelError as exc:
                if exc.status_code == 401 and self._uses_client_credentials() and not renewed:
                    self._cached_token().invalidate()   # expired early (rotated secret, revoked): one fresh grant
                    renewed = True
                    continue
                if exc.status_code == 401 and self._expiring() and not renewed:
                    self.refresh_offline_token(rejected=self.config.get("accessToken"))  # expired before its time
                    renewed = True
                    continue
                raise
            self._check_version(response)
            body = json.loads(response.content or b"{}")
            errors = body.get("errors")
            if _throttled(errors):
                wait = refill_wait((body.get("extensions") or {}).get("cost") or {})
                if waited + wait > self.max_throttle_wait:
                    raise RetryableChannelError(f"Shopify GraphQL throttled: the cost bucket refills in {wait:.1f}s",
                                                status_code=429, retry_after=wait,
                                                response_body=response.text[:2000])
                self.http.sleep(wait)
                waited += wait
                continue
            if errors:
                messages = errors if isinstance(errors, str) else "; ".join(
                    str((error or {}).get("message")) for error in errors)
                raise PermanentChannelError(f"Shopify GraphQL error: {messages}", status_code=response.status_code,
                                            response_body=response.text[:2000])
            return body.get("data") or {}

    def _check_version(self, response) -> None:
        """Shopify answers an unsupported version with the oldest supported one and says which in a header."""
        served = response.headers.get("X-Shopify-API-Version")
        if served and served != self.api_version:
            warning = (f"Shopify served API version {served} instead of the requested {self.api_version}: "
                       f"set the channel's apiVersion to a supported version")
            if warning not in self.warnings:
                self.warnings.append(warning)
                logger.warning("channel %s: %s", self.channel_id, warning)
                if self.channel_state is not None:
                    self.channel_state.warn(VERSION_WARNING, warning)
            self._version_checked = True
        elif served and not self._version_checked:
            self._version_checked = True   # once per instance: a version fixed since the last warning clears it
            if self.channel_state is not None:
                self.channel_state.clear_warning(VERSION_WARNING)

    def connection_errors(self) -> dict[str, str]:
        """One cheap authenticated call (`{ shop { myshopifyDomain } }`): credentials Shopify refuses are field
        errors for the connect form, not a channel that fails its first poll."""
        key = "clientSecret" if self._uses_client_credentials() else "accessToken"
        try:
            self.graphql(queries.SHOP)
        except PermanentChannelError as exc:
            if exc.status_code in (400, 401, 403):
                return {key: f"Shopify refused these credentials (HTTP {exc.status_code})."}
            if exc.status_code == 404:
                return {"shopDomain": "No Shopify store (or API version) answers at this address."}
            raise
        return {}

    def reported_identities(self) -> list[str]:
        """`{ shop { myshopifyDomain } }` with this channel's token: the shop the token belongs to, by the name webhooks
        use (X-Shopify-Shop-Domain). GraphQL, as every other call: REST shop.json is legacy (module docstring)."""
        shop = self.graphql(queries.SHOP).get("shop")
        domain = shop.get("myshopifyDomain") if isinstance(shop, dict) else None
        return [str(domain)] if domain else []

    # --- reading -------------------------------------------------------------------------------
    @staticmethod
    def window_query(since: datetime | None, until: datetime | None) -> str:
        """Shopify's search syntax: orders updated in [since, until)."""
        parts = []
        if since:
            parts.append(f"updated_at:>='{since.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}'")
        if until:
            parts.append(f"updated_at:<'{until.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}'")
        return " AND ".join(parts)

    def fetch_orders(self, since: datetime | None, until: datetime | None, status: str | None = None) -> Iterator[dict]:
        """Every order updated in [since, until), oldest change first, page by page after the last cursor.

        Sorted by UPDATED_AT with the window's end fixed when the poll started: an order changed while we page
        moves past that end and is read by the next poll (whose window starts at this one's end, minus the
        overlap), and an unchanged order keeps its place, so none is skipped. The status filter is applied here
        after mapping, as the common statuses combine several Shopify fields.
        """
        after = None
        search = self.window_query(since, until)
        while True:
            data = self.graphql(queries.ORDERS, {"first": PAGE_SIZE, "after": after, "query": search or None})
            connection = data.get("orders") or {}
            for node in connection.get("nodes") or []:
                node = self._complete_line_items(node)
                if status in CommonStatus._value2member_map_ and common_status(node) != status:
                    continue
                yield node
            page_info = connection.get("pageInfo") or {}
            if not page_info.get("hasNextPage") or not page_info.get("endCursor"):
                return
            after = page_info["endCursor"]

    def fetch_order(self, channel_order_id: str) -> dict:
        order = self.graphql(queries.ORDER, {"id": order_gid(channel_order_id)}).get("order")
        if order is None:
            raise PermanentChannelError(f"Shopify has no order {channel_order_id}", status_code=404)
        return self._complete_line_items(order)

    def _complete_line_items(self, node: dict) -> dict:
        """An order with more line items than one page asks for gets the rest, 100 a call."""
        connection = node.get("lineItems") or {}
        page = connection.get("pageInfo") or {}
        if not page.get("hasNextPage"):
            return node
        items, after = list(connection.get("nodes") or []), page.get("endCursor")
        while after:
            more = (self.graphql(queries.ORDER_LINE_ITEMS, {"id": node["id"], "after": after}).get("order") or {})
            more = more.get("lineItems") or {}
            items.extend(more.get("nodes") or [])
            after = (more.get("pageInfo") or {}).get("endCursor") if (more.get("pageInfo") or {}).get(
                "hasNextPage") else None
        return {**node, "lineItems": {"nodes": items, "pageInfo": {"hasNextPage": False, "endCursor": None}}}

    normalize = staticmethod(normalize)
