"""Retry delays for every service that schedules its own next try (channel deliveries, writebacks, storefront
orders of channel orders, order-event handler runs): exponential, jittered, never before Retry-After."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from django.utils import timezone

# A retry's task may run a moment before its ETA (clock skew between machines).
EARLY_TOLERANCE = timedelta(seconds=1)

# A retry due this long ago whose row still waits has lost its message (a broker restart drops queued and
# countdown messages): every recovery sweep re-sends after this grace.
SWEEP_GRACE = timedelta(minutes=2)


def retry_delay(*, attempt: int, base: float, cap: float, retry_after: float | None = None,
                rng: random.Random | None = None) -> float:
    """Seconds to wait before try `attempt + 1`: base * 2^(attempt-1), jittered to 50-100%, at least Retry-After."""
    rng = rng or random
    exponential = min(cap, base * (2 ** max(0, attempt - 1)))
    delay = exponential * rng.uniform(0.5, 1.0)
    if retry_after is not None:
        delay = max(delay, float(retry_after))
    return round(min(max(delay, 0.0), max(cap, retry_after or 0.0)), 3)


def retry_not_due(scheduled_at: datetime | None) -> bool:
    """True when a retry is scheduled later than now: the task running now is a duplicate (the sweep's copy
    after a lost message), and the task due at `scheduled_at` will run the try."""
    return scheduled_at is not None and scheduled_at > timezone.now() + EARLY_TOLERANCE
