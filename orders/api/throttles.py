from core.api.throttles import ClientAddressThrottle


class CustomerLookupThrottle(ClientAddressThrottle):
    """Across all customer lookups."""

    scope = "storefront-customer"
    rate_setting = "ORDERS_CUSTOMER_RATE_LIMIT"


class CheckoutThrottle(ClientAddressThrottle):
    """Checkouts need no login, so one address cannot flood them (reservations hold stock)."""

    scope = "storefront-checkout"
    rate_setting = "ORDERS_CHECKOUT_RATE_LIMIT"
