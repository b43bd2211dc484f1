from django.conf import settings
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class ClientAddressThrottle(SimpleRateThrottle):
    """Per client address (counted in the cache: Redis when REDIS_URL is set, shared by every web process);
    the rate is read from the setting named by `rate_setting` on each request."""

    rate_setting = ""

    def get_rate(self) -> str:
        return getattr(settings, self.rate_setting)

    def get_ident(self, request) -> str:
        # DRF trusts X-Forwarded-For when NUM_PROXIES is unset, so a client could rotate it to dodge
        # the limit. Only a deployment that declares its proxies (NUM_PROXIES) gets the header read.
        if api_settings.NUM_PROXIES is None:
            return request.META.get("REMOTE_ADDR", "")
        return super().get_ident(request)

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class CustomerLookupThrottle(ClientAddressThrottle):
    """Across all customer lookups."""

    scope = "storefront-customer"
    rate_setting = "ORDERS_CUSTOMER_RATE_LIMIT"


class CheckoutThrottle(ClientAddressThrottle):
    """Checkouts need no login, so one address cannot flood them (reservations hold stock)."""

    scope = "storefront-checkout"
    rate_setting = "ORDERS_CHECKOUT_RATE_LIMIT"
