"""Rate limits for endpoints that need no login: per client address, in the shared cache."""

from django.conf import settings
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class ClientAddressThrottle(SimpleRateThrottle):
    """Requests per client address, counted in the Django cache (Redis when REDIS_URL is set, so every
    web process shares the count). Subclasses name the `scope` and the setting holding the rate, read on
    each request so a deployment (or a test) can change it."""

    rate_setting = ""

    def get_rate(self) -> str:
        return getattr(settings, self.rate_setting)

    def get_ident(self, request) -> str:
        # DRF trusts any client's X-Forwarded-For while NUM_PROXIES is unset (a rotated header would
        # reset the count): only a deployment that declares its proxies gets the header read.
        if api_settings.NUM_PROXIES is None:
            return request.META.get("REMOTE_ADDR", "")
        return super().get_ident(request)

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
