from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class ClientAddressThrottle(SimpleRateThrottle):
    """Requests per client address, counted in the Django cache (Redis when REDIS_URL is set, so every
    web process shares the count). Subclasses name the scope and the setting holding the rate."""

    scope = "tracking-public"
    rate_setting = "TRACKING_PUBLIC_RATE_LIMIT"

    def get_rate(self) -> str:
        return getattr(settings, self.rate_setting)

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PublicTrackingThrottle(ClientAddressThrottle):
    scope = "tracking-public"
    rate_setting = "TRACKING_PUBLIC_RATE_LIMIT"


class LookupPageThrottle(ClientAddressThrottle):
    """The email + order number form: a tighter limit, since it is the guessable one."""

    scope = "order-lookup"
    rate_setting = "ORDER_LOOKUP_RATE_LIMIT"


class PublicPageThrottle(ClientAddressThrottle):
    scope = "order-pages"
    rate_setting = "TRACKING_PUBLIC_RATE_LIMIT"
