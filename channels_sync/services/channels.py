"""Connecting, enabling and disabling channels."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.db import IntegrityError, transaction
from django.utils import timezone

from channels_sync.conf import public_base_url
from channels_sync.models import Channel
from channels_sync.providers import UnknownProvider, available_providers, provider_class, webhook_paths
from channels_sync.providers.errors import ChannelError
from core.api.exceptions import ApiError, Conflict, UpstreamError
from core.outbound import OutboundURLRefused, check_outbound_url

logger = logging.getLogger(__name__)

# Config keys that name hosts the workers will call (each provider derives its base URL from one of them).
URL_CONFIG_KEYS = ("baseUrl", "tokenUrl", "authUrl")


def channel_config_url_errors(*, provider_cls, config: dict) -> dict[str, str]:
    """{config key: why} for hosts the hub may not call (core.outbound); empty when every one is allowed.

    The provider's own base URL is checked too: Shopify's comes from `shopDomain`, so a shop domain of
    127.0.0.1 is refused like a baseUrl would be.
    """
    errors = {}
    for key in URL_CONFIG_KEYS:
        value = config.get(key)
        if value in (None, ""):
            continue
        try:
            check_outbound_url(str(value))
        except OutboundURLRefused as exc:
            errors[key] = f"Not a host the hub may call: {exc}"
    if errors:
        return errors
    try:
        derived = provider_cls(config).http.base_url
    except Exception:  # a config too incomplete to build the client: validate_config says what is missing
        return {}
    try:
        check_outbound_url(derived)
    except OutboundURLRefused as exc:
        errors[provider_cls.identity_config_key or "baseUrl"] = f"Not a host the hub may call: {exc}"
    return errors


# The receiver path of each provider (docs/architecture.md), one table built from the providers' `webhook_path`;
# the URLconf, the webhook lane and registration all read it. Providers without webhooks poll only.
WEBHOOK_PATHS = webhook_paths()


def webhook_callback_url(channel: Channel) -> str | None:
    """Where the channel should send deliveries; the query names the channel (and its org) for routing."""
    path = WEBHOOK_PATHS.get(channel.provider) or f"/upstream/webhooks/{channel.provider}/orders"
    return f"{public_base_url()}{path}?{urlencode({'channel': channel.channel_id, 'org': channel.org.slug})}"


def _provider_or_400(name: str):
    try:
        return provider_class(name)
    except (UnknownProvider, ImportError):
        raise ApiError("Unknown provider.", code="invalid", status_code=400,
                       details={"provider": [f"Choose one of: {', '.join(available_providers())}."]})


def channel_connect(*, org, channel_id: str, provider: str, config: dict, webhook_secret: str = "",
                    poll_interval_minutes: int | None = None, create_local_orders: bool = False) -> Channel:
    """Store a new channel (disabled until `channel_enable`); the provider validates its config."""
    cls = _provider_or_400(provider)
    errors = cls.validate_config(config or {}) or channel_config_url_errors(provider_cls=cls, config=config or {})
    if errors:
        raise ApiError("The channel config is incomplete.", code="invalid", status_code=400,
                       details={"config": errors})
    try:
        errors = cls(config or {}, webhook_secret=webhook_secret or None).connection_errors()
    except ChannelError as exc:
        raise UpstreamError(f"The channel could not be reached to check the credentials: {exc}",
                            code="upstream_error", details={"statusCode": exc.status_code})
    if errors:
        raise ApiError("The channel refused these credentials.", code="invalid", status_code=400,
                       details={"config": errors})
    channel = Channel(org=org, channel_id=channel_id, provider=provider, config=config or {},
                      webhook_secret=webhook_secret or "", poll_interval_minutes=poll_interval_minutes,
                      create_local_orders=create_local_orders)
    try:
        with transaction.atomic():
            channel.save()
    except IntegrityError:
        raise Conflict(f"A channel named {channel_id!r} already exists.", code="channel_exists",
                       details={"channelId": channel_id})
    return channel


def channel_enable(*, channel: Channel) -> Channel:
    """Register the channel's webhooks (where the provider can) and let polling pick it up."""
    provider = channel.provider_instance()
    registered: list = []
    if provider.supports_webhooks:
        try:
            registered = provider.register_webhooks(webhook_callback_url(channel)) or []
        except ChannelError as exc:
            raise UpstreamError(f"The channel refused the webhook registration: {exc}", code="upstream_error",
                                details={"statusCode": exc.status_code})
    channel.enabled = True
    channel.webhooks_registered = registered
    # Due at the next beat tick: the first poll catches up from the cursor.
    channel.last_polled_at = None
    channel.save(update_fields=["enabled", "webhooks_registered", "last_polled_at", "updated_at"])
    return channel


def channel_disable(*, channel: Channel) -> Channel:
    """Stop polling at once; unregistering webhooks is best effort (a delivery still arriving is refused)."""
    provider = channel.provider_instance()
    if provider.supports_webhooks and channel.webhooks_registered:
        try:
            provider.unregister_webhooks(webhook_callback_url(channel))
        except ChannelError as exc:
            logger.warning("unregistering webhooks of channel %s failed: %s", channel.pk, exc)
    channel.enabled = False
    channel.webhooks_registered = []
    channel.save(update_fields=["enabled", "webhooks_registered", "updated_at"])
    return channel


def channel_due_for_poll(channel: Channel, *, now=None) -> bool:
    now = now or timezone.now()
    if not channel.enabled:
        return False
    if channel.last_polled_at is None:
        return True
    return (now - channel.last_polled_at).total_seconds() >= channel.effective_poll_minutes * 60 - 5
