from core.api.throttles import ClientAddressThrottle


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
