from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class CustomerLookupThrottle(SimpleRateThrottle):
    """Per client address, across all customer lookups (counted in the cache: Redis when REDIS_URL is set)."""

    scope = "storefront-customer"

    def get_rate(self) -> str:
        return settings.ORDERS_CUSTOMER_RATE_LIMIT

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
