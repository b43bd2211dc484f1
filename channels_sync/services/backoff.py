"""Retry delays shared by webhook processing and writeback: exponential, jittered, never before Retry-After."""

from __future__ import annotations

import random


def retry_delay(*, attempt: int, base: float, cap: float, retry_after: float | None = None,
                rng: random.Random | None = None) -> float:
    """Seconds to wait before try `attempt + 1`: base * 2^(attempt-1), jittered to 50-100%, at least Retry-After."""
    rng = rng or random
    exponential = min(cap, base * (2 ** max(0, attempt - 1)))
    delay = exponential * rng.uniform(0.5, 1.0)
    if retry_after is not None:
        delay = max(delay, float(retry_after))
    return round(min(max(delay, 0.0), max(cap, retry_after or 0.0)), 3)
