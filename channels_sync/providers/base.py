"""The provider interface: one class per channel, bound to one channel's config."""

from __future__ import annotations

import base64
import hashlib
import hmac
from abc import ABC, abstractmethod
from collections.abc import Iterator
from datetime import datetime
from typing import ClassVar

import orjson

from channels_sync.normalized import (
    AggregatedOrderData,
    WebhookEvent,
    WebhookRequest,
    WritebackRequest,
    WritebackResult,
)
from channels_sync.providers.errors import WebhookRejected
from channels_sync.providers.http import ChannelHttpClient


def verify_base64_hmac_sha256(request: WebhookRequest, *, header: str, secret: str | None) -> None:
    """The Shopify / WooCommerce scheme: header = base64(HMAC-SHA256(secret, raw body)), constant-time compare."""
    signature = request.header(header)
    if not signature:
        raise WebhookRejected(f"missing {header}")
    if not secret:
        raise WebhookRejected("channel has no webhook secret")
    expected = base64.b64encode(hmac.new(secret.encode(), request.body, hashlib.sha256).digest())
    if not hmac.compare_digest(expected, signature.strip().encode()):
        raise WebhookRejected(f"bad {header}")


class ChannelProvider(ABC):
    """What every channel integration implements. Instances are bound to one channel.

    `config` is the channel's config dict (camelCase keys as in docs/architecture.md, secrets included,
    `baseUrl` optional); `webhook_secret` the channel's webhook secret, if any.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    default_base_url: ClassVar[str] = ""
    default_poll_minutes: ClassVar[int] = 5          # 15 for own stores
    supports_webhooks: ClassVar[bool] = True
    # Where the channel posts its deliveries (the receiver URL, the webhook lane and registration all read it,
    # through channels_sync.services.channels.WEBHOOK_PATHS); None: the provider is polled only.
    webhook_path: ClassVar[str | None] = None
    required_config: ClassVar[tuple[str, ...]] = ()   # keys a merchant must supply to connect
    secret_config: ClassVar[tuple[str, ...]] = ()     # keys never returned by the API, masked in admin
    # Header that names the channel account on a webhook, matched against config[identity_config_key].
    webhook_identity_header: ClassVar[str | None] = None
    identity_config_key: ClassVar[str | None] = None
    # Headers that prove a delivery (its signature, a shared secret): checked once at receipt, never stored.
    webhook_secret_headers: ClassVar[tuple[str, ...]] = ()
    # Whether a shipment's writeback carries the parcel's public tracking URL (`WritebackRequest.tracking_url`):
    # only for channels that need one (Walmart, for a carrier outside its list); the others build their own.
    wants_tracking_url: ClassVar[bool] = False

    def __init__(self, config: dict, *, webhook_secret: str | None = None, channel_id: str | None = None,
                 http: ChannelHttpClient | None = None):
        self.config = dict(config or {})
        self.webhook_secret = webhook_secret
        self.channel_id = channel_id
        self.http = http or ChannelHttpClient(self.base_url)

    @property
    def base_url(self) -> str:
        return (self.config.get("baseUrl") or self.default_base_url).rstrip("/")

    @classmethod
    def validate_config(cls, config: dict) -> dict[str, str]:
        """Field errors for a connect form/API: {key: message}. Empty when the config is usable."""
        return {key: "This field is required." for key in cls.required_config if not config.get(key)}

    def connection_errors(self) -> dict[str, str]:
        """Field errors from one cheap authenticated call made while connecting ({config key: why}): credentials
        the channel refuses are a 400 then, not a first poll that fails. Default: no call, no errors."""
        return {}

    # --- reading ---------------------------------------------------------------------------
    @abstractmethod
    def fetch_orders(self, since: datetime | None, until: datetime | None, status: str | None = None) -> Iterator[dict]:
        """Raw orders modified in [since, until), every page, as the channel sends them."""

    def fetch_order(self, channel_order_id: str) -> dict:
        """One raw order by id (for notifications that only name the order)."""
        raise NotImplementedError(f"{self.name} does not fetch single orders")

    @staticmethod
    @abstractmethod
    def normalize(raw: dict) -> AggregatedOrderData:
        """Pure: raw channel order -> AggregatedOrderData. No DB, no HTTP."""

    # --- after ingest ------------------------------------------------------------------------
    @staticmethod
    def acknowledgement_id(raw: dict) -> str | None:
        """The id to acknowledge once this raw order is stored, for channels that expect new orders to be
        acknowledged (Walmart); None otherwise."""
        return None

    def acknowledge(self, ids: list[str]) -> dict[str, str]:
        """Acknowledge stored orders at the channel: {id: "acknowledged" | error text}, one failure not stopping
        the others (an order still unacknowledged is tried again on the next pull, and before shipping)."""
        return {}

    # --- account identity ----------------------------------------------------------------------
    def reported_identities(self) -> list[str]:
        """The account identities (values of config[identity_config_key]) the channel's own API reports for
        these credentials: how an org proves it owns an account another org's channel holds. Raises
        ChannelError when the channel refuses the credentials, NotImplementedError where the channel's API
        reports no identity (then ownership cannot be proven through it)."""
        raise NotImplementedError(f"{self.name} reports no account identity through its API")

    # --- webhooks ----------------------------------------------------------------------------
    @classmethod
    def webhook_identity(cls, request: WebhookRequest) -> str | None:
        """Which channel account a delivery belongs to, read before verification (the secret is per
        channel). Default: the `webhook_identity_header`; providers whose identity is in the body
        (TikTok shop id, Amazon seller id) override. Matched against config[identity_config_key].
        Receivers also accept `?channel=<channelId>`, which registration adds to the URL it gives."""
        return request.header(cls.webhook_identity_header) if cls.webhook_identity_header else None

    def webhook_challenge(self, request: WebhookRequest) -> dict | None:
        """Answer to a channel's endpoint-ownership challenge (eBay's GET challenge_code), else None."""
        return None

    def webhook_ping(self, request: WebhookRequest) -> dict | None:
        """The answer to a verified POST that only tests reachability (WooCommerce's save-time ping): answered,
        never stored. None for a real delivery."""
        return None

    def webhook_body_readable(self, request: WebhookRequest) -> bool:
        """Whether an authentic delivery's body can be read at all (JSON for every channel here). One that
        cannot is answered 400 and not stored: no retry could ever process it. Providers with other bodies
        (WooCommerce's form-encoded ping) override."""
        try:
            orjson.loads(request.body)
        except (ValueError, RecursionError):
            return False
        return True

    def webhook_delivery_identity(self, request: WebhookRequest) -> tuple[str, str] | None:
        """(delivery id, topic) when the channel sends them as headers, so the receiver stores a delivery
        without parsing its body twice. None: `parse_webhook` reads them from the body."""
        return None

    def webhook_secret_header_names(self) -> set[str]:
        """Lower-case names of the headers `verify_webhook` reads as proof; the receiver drops them before
        storing a delivery (a stored row is already verified, and processing never verifies again)."""
        return {name.lower() for name in self.webhook_secret_headers}

    def verify_webhook(self, request: WebhookRequest) -> None:
        """Raise WebhookRejected unless the delivery is authentic (constant-time compare)."""
        raise NotImplementedError(f"{self.name} has no webhooks")

    def parse_webhook(self, request: WebhookRequest) -> WebhookEvent:
        raise NotImplementedError(f"{self.name} has no webhooks")

    def register_webhooks(self, callback_url: str) -> list[dict]:
        """Subscribe the channel to order events at `callback_url`; returns what was registered."""
        return []

    def unregister_webhooks(self, callback_url: str) -> None:
        return None

    # --- writing -----------------------------------------------------------------------------
    # {current status: the statuses the channel can be told from it}; a status missing from the table, or a current
    # status without an entry, is refused before anything is saved (409). None: the channel takes any status.
    writable_statuses: ClassVar[dict[str, tuple[str, ...]] | None] = None
    # {status the channel's API cannot set: where staff do it instead, in words}; added to the 409 and to the channel
    # order page's reason, so the API and the page say the same thing.
    done_elsewhere: ClassVar[dict[str, str]] = {}

    @classmethod
    def writable_from(cls, current: str) -> tuple[str, ...] | None:
        """The statuses an order in `current` may be set to (in the common order), None for any."""
        if cls.writable_statuses is None:
            return None
        return tuple(cls.writable_statuses.get(str(current), ()))

    @classmethod
    def accepted_carriers(cls) -> list[str] | None:
        """The carriers this channel accepts on a shipment, as staff would name them (for the 400 that lists
        them and the admin's carrier picker); None: the channel takes any carrier name as free text."""
        return None

    @classmethod
    def carrier_code(cls, carrier: str | None) -> str | None:
        """The channel's own code for a carrier name staff typed ("UPS", "usps", "Royal Mail"), or None when
        it cannot be mapped. Checked before a shipment's writeback is queued, so an unmappable carrier is a
        400 naming `accepted_carriers()` rather than a failure at the channel later."""
        return (carrier or "").strip() or None

    def tracking_url_required(self, carrier: str | None) -> bool:
        """Whether a shipment with this carrier can be written back only with the parcel's tracking URL."""
        return False

    def carrier_problem(self, carrier: str | None, raw: dict) -> list[str] | None:
        """None when a shipment of this order (`raw`, as last fetched) can be written back with `carrier`; else the
        carriers to name in the 400. Providers whose list depends on the channel or the order (TikTok) override."""
        accepted = self.accepted_carriers()
        if accepted is None or self.carrier_code(carrier):
            return None
        return accepted

    @abstractmethod
    def write_back(self, request: WritebackRequest) -> WritebackResult:
        """Tell the channel the order's new status (and tracking). Raises Retryable/PermanentChannelError."""
