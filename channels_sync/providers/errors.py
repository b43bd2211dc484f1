"""Two kinds of channel failure: worth retrying later, or not.

They subclass core.http's outbound errors, so the shared client raises them for channel calls
(channels_sync.providers.http) while code outside channels_sync catches the core ones.
"""

from core.http import OutboundError, PermanentOutboundError, RetryableOutboundError


class ChannelError(OutboundError):
    """A failed call to a channel (carries status_code, retry_after, response_body)."""


class RetryableChannelError(ChannelError, RetryableOutboundError):
    """Timeouts, connection errors, 408, 429 and 5xx: the same call may work later (after `retry_after`)."""


class PermanentChannelError(ChannelError, PermanentOutboundError):
    """4xx other than 408 and 429 (bad credentials, unknown order, invalid body): retrying will not help."""


class WebhookRejected(Exception):
    """A webhook that fails verification; the receiver answers 401 and stores nothing."""


class WebhookMalformed(WebhookRejected):
    """A signature header that cannot even be read (wrong encoding, wrong types): the receiver answers 400."""
