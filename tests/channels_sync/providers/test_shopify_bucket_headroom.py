"""Our shared bucket must keep Shopify's own bucket from overflowing although calls reach Shopify late.

Shopify counts a call when it arrives (40 calls, leaking 2 per second); our limiter reserves it earlier. Four
workers call back to back for ten minutes, each call reaching Shopify up to a second after its reservation was
due; Shopify's bucket, replayed over the arrival times, must never be over 40 (a 429 for a real store).
"""

import random

import pytest

from channels_sync.providers.ratelimit import _LocalBuckets
from channels_sync.providers.shopify import Provider

CONFIG = {"shopDomain": "headroom.myshopify.com", "accessToken": "x"}


def shopify_peak(spec, *, workers=4, seconds=600, max_delay=1.0, seed=7) -> float:
    clock = [0.0]
    buckets = _LocalBuckets(clock=lambda: clock[0])
    rng = random.Random(seed)
    free_at = [0.0] * workers            # when each worker reserves its next call
    arrivals = []
    while min(free_at) < seconds:
        worker = free_at.index(min(free_at))
        clock[0] = free_at[worker]
        wait = buckets.reserve("shopify", spec, max_wait=120)
        arrives = clock[0] + wait + rng.uniform(0, max_delay)
        arrivals.append(arrives)
        free_at[worker] = arrives + 0.05   # the answer, then the next call
    level, at, peak = 0.0, 0.0, 0.0
    for arrival in sorted(arrivals):      # Shopify's leaky bucket over what it received
        level = max(0.0, level - (arrival - at) * 2.0) + 1
        at, peak = arrival, max(peak, level)
    return peak


def test_calls_arriving_up_to_a_second_late_never_overflow_shopifys_bucket():
    spec = Provider(CONFIG).http.rate_limiter.specs["shopify"]
    assert shopify_peak(spec) <= 40


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_without_headroom_the_same_calls_would_overflow_it(seed):
    from channels_sync.providers.ratelimit import BucketSpec

    assert shopify_peak(BucketSpec(rate=2.0, burst=40), seed=seed) > 40
