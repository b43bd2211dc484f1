from django.conf import settings
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class CustomerLookupThrottle(SimpleRateThrottle):
    """Per client address, across all customer lookups (counted in the cache: Redis when REDIS_URL is set)."""

    scope = "storefront-customer"

    def get_rate(self) -> str:
        return settings.ORDERS_CUSTOMER_RATE_LIMIT

    def get_ident(self, request) -> str:
        # DRF trusts X-Forwarded-For when NUM_PROXIES is unset, so a client could rotate it to dodge
        # the limit. Only a deployment that declares its proxies (NUM_PROXIES) gets the header read.
        if api_settings.NUM_PROXIES is None:
            return request.META.get("REMOTE_ADDR", "")
        return super().get_ident(request)

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
