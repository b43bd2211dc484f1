"""Shopify's OAuth install (authorization-code grant), for agencies that connect many stores with one app.

1. `shopify_install_start`: a `state` nonce bound to the org and user, and the URL that sends the merchant to
   https://{shop}/admin/oauth/authorize.
2. The merchant approves; Shopify redirects to the app's redirect URI with code, hmac, host, shop, state, timestamp.
   The page there posts those parameters, with the same user's token, to the callback endpoint.
3. `shopify_install_complete`: the state is the caller's, unexpired and unused; the hmac is Shopify's (hex
   HMAC-SHA256 of the other parameters, sorted, with the app's client secret); the shop is the one the install was
   started for and a *.myshopify.com host; then the code is exchanged (asking for an expiring offline token) and
   the channel is created, or its tokens replaced, with every secret encrypted in its config.
shopify.dev: "Authorization code grant", "Offline access tokens" (expiring since December 2025).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from datetime import timedelta
from urllib.parse import urlencode

from django.db import IntegrityError, transaction
from django.utils import timezone

from channels_sync.models import Channel, ShopifyInstall
from channels_sync.providers.errors import ChannelError, PermanentChannelError
from channels_sync.providers.http import ChannelHttpClient
from channels_sync.providers.shopify.client import (
    API_VERSION_RE,
    DEFAULT_API_VERSION,
    TOKEN_WARNING,
    token_config,
)
from channels_sync.services.channels import channel_config_url_errors
from core.api.exceptions import ApiError, Conflict, UpstreamError

STATE_TTL = timedelta(minutes=10)
# What the writeback and polling need: orders, and the fulfillment orders of merchant-managed locations.
DEFAULT_SCOPES = ("read_orders,write_orders,read_merchant_managed_fulfillment_orders,"
                  "write_merchant_managed_fulfillment_orders")
SHOP_RE = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")


def _invalid(message: str, field: str) -> ApiError:
    return ApiError(message, code="invalid", status_code=400, details={field: [message]})


def shop_domain(value: str | None) -> str | None:
    """`acme`, `acme.myshopify.com` or `https://acme.myshopify.com/` as the shop's host; None when it is not one."""
    text = (value or "").strip().lower()
    for scheme in ("https://", "http://"):
        if text.startswith(scheme):
            text = text[len(scheme):]
    text = text.rstrip("/")
    if text and "." not in text:
        text = f"{text}.myshopify.com"
    return text if SHOP_RE.fullmatch(text) else None


def oauth_hmac(params: dict, secret: str) -> str:
    message = "&".join(f"{key}={value}" for key, value in sorted(params.items()) if key not in ("hmac", "signature"))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def shopify_install_start(*, org, user, shop: str, channel_id: str, client_id: str, client_secret: str,
                          redirect_uri: str, scopes: str | None = None, api_version: str | None = None,
                          base_url: str | None = None) -> tuple[ShopifyInstall, str]:
    """(the pending install, the authorize URL to send the merchant to)."""
    domain = shop_domain(shop)
    if domain is None:
        raise _invalid("Give the store's myshopify.com domain (e.g. acme.myshopify.com).", "shop")
    if api_version and not API_VERSION_RE.match(api_version):
        raise _invalid(f"Shopify API versions are YYYY-MM with a quarter's month, e.g. {DEFAULT_API_VERSION}.",
                       "apiVersion")
    existing = Channel.objects.filter(org=org, channel_id=channel_id).first()
    if existing is not None and existing.provider != "shopify":
        raise Conflict(f"The channel {channel_id!r} exists and is not a Shopify channel.", code="channel_exists",
                       details={"channelId": channel_id})
    if base_url:
        from channels_sync.providers.shopify import Provider

        errors = channel_config_url_errors(provider_cls=Provider, config={"baseUrl": base_url, "shopDomain": domain})
        if errors:
            raise ApiError("Not a host the hub may call.", code="invalid", status_code=400, details=errors)
    now = timezone.now()
    ShopifyInstall.objects.filter(expires_at__lt=now).delete()   # expired ones are of no use to anyone
    install = ShopifyInstall.objects.create(
        state=secrets.token_urlsafe(32), org=org, user=user, channel_id=channel_id, shop_domain=domain,
        client_id=client_id, client_secret=client_secret, scopes=(scopes or DEFAULT_SCOPES).replace(" ", ""),
        redirect_uri=redirect_uri, api_version=api_version or "",
        base_url=(base_url or "").rstrip("/"), created_at=now, expires_at=now + STATE_TTL)
    authorize = (install.base_url or f"https://{domain}") + "/admin/oauth/authorize?" + urlencode(
        {"client_id": client_id, "scope": install.scopes, "redirect_uri": install.redirect_uri,
         "state": install.state})
    return install, authorize


def _consume(*, org, user, state: str) -> ShopifyInstall:
    """The caller's unexpired install for this state, deleted so no second callback can use it."""
    with transaction.atomic():
        install = ShopifyInstall.objects.select_for_update().filter(state=state).first()
        if install is None or install.org_id != org.pk or install.user_id != user.pk:
            # Another user's or org's state is answered as an unknown one: it confirms nothing.
            raise _invalid("Unknown or already used install state: start the install again.", "state")
        install.delete()
    if install.expires_at <= timezone.now():
        raise _invalid("This install was started over 10 minutes ago and has expired: start it again.", "state")
    return install


def shopify_install_complete(*, org, user, params: dict) -> Channel:
    """Check the callback's parameters, exchange the code and store the channel (disabled until enabled)."""
    params = {str(key): str(value) for key, value in (params or {}).items()}
    for required in ("code", "hmac", "shop", "state"):
        if not params.get(required):
            raise _invalid("Shopify's callback always carries this parameter.", required)
    install = _consume(org=org, user=user, state=params["state"])
    if not hmac.compare_digest(oauth_hmac(params, install.client_secret), params["hmac"].lower()):
        raise _invalid("The callback's hmac does not match: these parameters were not signed with this app's "
                       "client secret (a wrong client secret, or altered parameters).", "hmac")
    domain = shop_domain(params["shop"])
    if domain is None or "://" in params["shop"] or domain != params["shop"].lower():
        raise _invalid("The shop is not a myshopify.com store domain.", "shop")
    if domain != install.shop_domain:
        raise _invalid(f"The callback names {domain}, but the install was started for {install.shop_domain}.", "shop")
    body = _exchange(install, params["code"])
    config = {"shopDomain": domain, "clientId": install.client_id, "clientSecret": install.client_secret,
              **token_config(body)}
    if install.api_version:
        config["apiVersion"] = install.api_version
    if install.base_url:
        config["baseUrl"] = install.base_url
    return _store_channel(org=org, install=install, config=config)


def _exchange(install: ShopifyInstall, code: str) -> dict:
    http = ChannelHttpClient(install.base_url or f"https://{install.shop_domain}")
    try:
        response = http.request("POST", "/admin/oauth/access_token", headers={"Accept": "application/json"},
                                data={"client_id": install.client_id, "client_secret": install.client_secret,
                                      "code": code, "expiring": "1"})
    except PermanentChannelError as exc:
        detail = _oauth_error(exc.response_body)
        raise ApiError(f"Shopify refused the authorization code exchange: {detail}. Check the app's client id and "
                       "client secret, then start the install again.", code="invalid", status_code=400,
                       details={"code": [detail]}) from None
    except ChannelError as exc:
        raise UpstreamError(f"Shopify could not be reached to exchange the authorization code: {exc}",
                            code="upstream_error", details={"statusCode": exc.status_code}) from None
    body = json.loads(response.content or b"{}")
    if not body.get("access_token"):
        raise UpstreamError("Shopify answered the code exchange without an access token.", code="upstream_error")
    return body


def _oauth_error(text: str | None) -> str:
    try:
        body = json.loads(text or "{}")
    except ValueError:
        return (text or "no detail")[:200]
    if isinstance(body, dict):
        return str(body.get("error_description") or body.get("error") or body.get("errors") or "no detail")[:300]
    return str(body)[:300]


def _store_channel(*, org, install: ShopifyInstall, config: dict) -> Channel:
    with transaction.atomic():
        channel = (Channel.objects.select_for_update()
                   .filter(org=org, channel_id=install.channel_id).first())
        if channel is not None:
            if channel.provider != "shopify":
                raise Conflict(f"The channel {install.channel_id!r} exists and is not a Shopify channel.",
                               code="channel_exists", details={"channelId": install.channel_id})
            # A reinstall: new tokens (the old ones were revoked with the old grant); other settings stay.
            stale = {"accessTokenExpiresAt", "refreshToken", "refreshTokenExpiresAt"}
            channel.config = {**{k: v for k, v in (channel.config or {}).items() if k not in stale}, **config}
            channel.warnings = [w for w in channel.warnings or [] if w.get("code") != TOKEN_WARNING]
            channel.save(update_fields=["config", "account_identity", "warnings", "updated_at"])
            return channel
        channel = Channel(org=org, channel_id=install.channel_id, provider="shopify", config=config)
        try:
            with transaction.atomic():
                channel.save()
        except IntegrityError:
            raise Conflict(f"A channel named {install.channel_id!r} already exists.", code="channel_exists",
                           details={"channelId": install.channel_id}) from None
    return channel
