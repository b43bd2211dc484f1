from core.api.throttles import ClientAddressThrottle


class CancelRequestThrottle(ClientAddressThrottle):
    """Cancellation requests from order pages: few per address, so a leaked link cannot flood staff."""

    scope = "order-cancel-request"
    rate_setting = "ORDER_CANCEL_REQUEST_RATE_LIMIT"
