"""Two kinds of channel failure: worth retrying later, or not."""


class ChannelError(Exception):
    def __init__(self, message: str, *, status_code: int | None = None, retry_after: float | None = None,
                 response_body: str | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.retry_after = retry_after
        self.response_body = response_body


class RetryableChannelError(ChannelError):
    """Timeouts, connection errors, 429 and 5xx: the same call may work later (after `retry_after`)."""


class PermanentChannelError(ChannelError):
    """4xx other than 429 (bad credentials, unknown order, invalid body): retrying will not help."""


class WebhookRejected(Exception):
    """A webhook that fails verification; the receiver answers 401 and stores nothing."""
