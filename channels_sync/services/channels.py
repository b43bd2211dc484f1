"""Connecting, enabling and disabling channels."""

from __future__ import annotations

import logging
from urllib.parse import urlencode, urlsplit

from django.db import IntegrityError, transaction
from django.utils import timezone

from channels_sync.conf import public_base_url
from channels_sync.models import Channel, Outcome, SyncRun, normalize_identity
from channels_sync.providers import UnknownProvider, available_providers, provider_class, webhook_paths
from channels_sync.providers.errors import ChannelError, RetryableChannelError
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


# What admin shows in place of a stored secret; submitted back, it means "keep the stored value".
SECRET_MASK = "********"

SECRET_MOVED = ("Enter this secret again: the channel now points at another host, and a stored secret only stays "
                "with the host it was given for.")


def _origin(url: str) -> str:
    parts = urlsplit(url if "://" in url else f"https://{url}")
    scheme = (parts.scheme or "https").lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


def channel_origins(*, provider: str, config: dict) -> set[str]:
    """Every scheme://host:port the channel's workers would send its credentials to: the URL keys and the
    provider's own base URL (Shopify's comes from `shopDomain`)."""
    origins = {_origin(str(config[key])) for key in URL_CONFIG_KEYS if config.get(key)}
    try:
        origins.add(_origin(provider_class(provider)(config).http.base_url))
    except Exception:  # unknown provider or a config too incomplete to build the client
        pass
    return origins


def channel_config_keep_secrets(*, channel: Channel | None, provider: str, config: dict) -> tuple[dict, dict]:
    """(config, errors): the submitted config with each `SECRET_MASK` replaced by the stored value, allowed only
    while the channel keeps its provider and every host. Otherwise each masked key is an error and the secret
    must be typed again: pointing a channel elsewhere must never send its stored credentials there."""
    stored = (channel.config or {}) if channel is not None and channel.pk else {}
    masked = [key for key, value in (config or {}).items() if value == SECRET_MASK]
    merged = {key: (stored.get(key) if value == SECRET_MASK else value) for key, value in (config or {}).items()}
    if not masked:
        return merged, {}
    same_place = (bool(stored) and provider == channel.provider
                  and channel_origins(provider=provider, config=merged)
                  == channel_origins(provider=channel.provider, config=stored))
    if same_place and all(key in stored for key in masked):
        return merged, {}
    return merged, {key: SECRET_MOVED for key in masked}


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
                    poll_interval_minutes: int | None = None, create_local_orders: bool = False,
                    claim: bool = False) -> Channel:
    """Store a new channel (disabled until `channel_enable`); the provider validates its config.

    An account another enabled channel holds is a 409 `channel_identity_claimed` unless the caller says it will
    `claim` it: the channel is then stored (disabled, it holds nothing) and the proof happens on enabling."""
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
    channel.refresh_identity()
    if not claim and identity_holder(channel) is not None:
        raise _claimed(channel)
    try:
        with transaction.atomic():
            channel.save()
    except IntegrityError:
        raise Conflict(f"A channel named {channel_id!r} already exists.", code="channel_exists",
                       details={"channelId": channel_id})
    return channel


def channel_enable(*, channel: Channel, claim: bool = False) -> Channel:
    """Register the channel's webhooks (where the provider can) and let polling pick it up.

    One enabled channel per account, across orgs (the `one_enabled_channel_per_account` constraint). When
    another channel holds the account: 409 `channel_identity_claimed`, or with `claim` the takeover below.
    """
    channel.refresh_identity()
    holder = identity_holder(channel)
    if holder is not None:
        if not claim:
            raise _claimed(channel)
        _prove_takeover(channel=channel, holder=holder)
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
    try:
        with transaction.atomic():
            if holder is not None:
                _hand_over(holder=holder, to=channel)
            channel.save(update_fields=["enabled", "webhooks_registered", "last_polled_at", "updated_at"])
    except IntegrityError:
        # Another enable of the same account committed first (the constraint decides the race).
        channel.enabled, channel.webhooks_registered = False, []
        raise _claimed(channel) from None
    return channel


# --- one enabled channel per account -------------------------------------------------------------------------
def identity_holder(channel: Channel) -> Channel | None:
    """The enabled channel (any org) that holds this channel's account, if another one does."""
    if not channel.account_identity:
        return None  # providers without an account identity (eBay, Walmart) route by ?channel=&org= only
    return (Channel.objects.select_related("org").filter(provider=channel.provider,
                                                         account_identity=channel.account_identity, enabled=True)
            .exclude(pk=channel.pk).first())


def _claimed(channel: Channel) -> Conflict:
    """The 409 a second claimant gets: it names the account, never the org or channel holding it."""
    label = _label(channel)
    return Conflict(f"Another enabled channel already receives this {label} account ({channel.account_identity}). "
                    f"If the account is yours, enable this channel with \"claim\": true: the hub asks {label}'s "
                    f"API, with this channel's credentials, which account they belong to.",
                    code="channel_identity_claimed",
                    details={"provider": channel.provider, "accountIdentity": channel.account_identity})


def _label(channel: Channel) -> str:
    try:
        return channel.provider_cls().label
    except Exception:
        return channel.provider


def _proves(channel: Channel) -> bool:
    """Whether the channel's own API, asked with this channel's credentials, reports the channel's account.

    NotImplementedError (the channel reports no account) and a transient failure propagate: neither is an
    answer. A refusal of the credentials is a clear no."""
    try:
        reported = channel.provider_instance().reported_identities()
    except RetryableChannelError:
        raise
    except ChannelError:
        return False
    return channel.account_identity in {normalize_identity(value) for value in reported}


def _prove_takeover(*, channel: Channel, holder: Channel) -> None:
    """The claimant must prove the account and the holder must no longer: an account both can prove (two
    installations on one shop) is for the merchant to settle by disconnecting one, not for the hub to guess."""
    label = _label(channel)
    details = {"provider": channel.provider, "accountIdentity": channel.account_identity}
    try:
        if not _proves(channel):
            raise Conflict(f"{label}'s API does not confirm that these credentials belong to the account "
                           f"{channel.account_identity}.", code="channel_identity_unproven", details=details)
        if _proves(holder):
            raise Conflict(f"The channel that holds this {label} account still proves it with its own "
                           "credentials. Disconnect that installation at the channel, then claim again.",
                           code="channel_identity_contested", details=details)
    except NotImplementedError:
        raise Conflict(f"{label} reports no account identity through its API, so ownership cannot be proven here; "
                       "the channel that holds the account must be disabled first.",
                       code="channel_identity_unprovable", details=details) from None
    except RetryableChannelError as exc:
        raise UpstreamError(f"{label} could not answer the ownership check now; try again: {exc}",
                            code="upstream_error", details={"statusCode": exc.status_code}) from None


def _hand_over(*, holder: Channel, to: Channel) -> None:
    """Disable the previous holder (row locked, still the holder) and note it in both channels' sync history."""
    locked = Channel.objects.select_for_update().filter(pk=holder.pk, enabled=True,
                                                        account_identity=to.account_identity).first()
    now = timezone.now()
    if locked is not None:
        # Its webhooks are not unregistered: its credentials no longer reach the account (that is the proof).
        locked.enabled, locked.webhooks_registered = False, []
        locked.save(update_fields=["enabled", "webhooks_registered", "updated_at"])
        SyncRun.objects.create(
            org_id=locked.org_id, channel=locked, kind=SyncRun.Kind.IDENTITY, status=Outcome.FAILED,
            queued_at=now, finished_at=now,
            error=(f"Disabled: another org proved through {_label(locked)}'s API that it owns the account "
                   f"{locked.account_identity}, and this channel's credentials no longer do."))
    SyncRun.objects.create(
        org_id=to.org_id, channel=to, kind=SyncRun.Kind.IDENTITY, status=Outcome.SUCCEEDED, queued_at=now,
        finished_at=now,
        error=f"Took over the account {to.account_identity}: proven through {_label(to)}'s API.")


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
