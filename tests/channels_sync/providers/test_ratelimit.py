"""The shared token bucket: one budget for every worker of a channel account."""

from __future__ import annotations

import threading
import uuid

import pytest

from channels_sync.providers.errors import RetryableChannelError
from channels_sync.providers.ratelimit import BucketSpec, TokenBucketLimiter, _LocalBuckets

SPECS = {"getOrders": BucketSpec(rate=0.0167, burst=20), "fast": BucketSpec(rate=2.0, burst=3)}


@pytest.fixture
def namespace():
    """A namespace of this test's own: tests run two at a time against one Redis and never flush it."""
    name = f"test:{uuid.uuid4().hex}"
    yield name
    for limiter_key in ("getOrders", "fast"):
        TokenBucketLimiter(name, SPECS).reset(limiter_key)


@pytest.mark.redis
def test_two_workers_share_one_bucket_in_redis(namespace):
    waits: list[float] = []
    worker_a = TokenBucketLimiter(namespace, SPECS, sleep=waits.append)
    worker_b = TokenBucketLimiter(namespace, SPECS, sleep=waits.append)
    assert worker_a._client() is not None
    for _ in range(10):
        worker_a.acquire("getOrders")
        worker_b.acquire("getOrders")
    assert waits == []           # 20 together: the burst
    worker_b.acquire("getOrders")
    assert len(waits) == 1 and 59 < waits[0] <= 60


@pytest.mark.redis
def test_concurrent_reservations_never_exceed_the_burst(namespace):
    limiter = TokenBucketLimiter(namespace, SPECS, max_wait=0.0)
    granted, refused = [], []

    def take():
        try:
            limiter.reserve("getOrders")
            granted.append(1)
        except RetryableChannelError:
            refused.append(1)

    threads = [threading.Thread(target=take) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (len(granted), len(refused)) == (20, 10)


@pytest.mark.redis
def test_accounts_have_separate_buckets(namespace):
    waits: list[float] = []
    for seller in ("S1", "S2"):
        limiter = TokenBucketLimiter(f"{namespace}:{seller}", SPECS, sleep=waits.append)
        for _ in range(3):
            limiter.acquire("fast")
        limiter.reset("fast")
    assert waits == []


def test_a_wait_past_max_wait_is_retryable_and_reserves_nothing(namespace):
    limiter = TokenBucketLimiter(namespace, SPECS, max_wait=5.0, use_redis=False)
    for _ in range(3):
        limiter.acquire("fast")
    assert 0 < limiter.reserve("fast") <= 0.5          # reserved: due in half a second
    limiter.reset("getOrders")
    for _ in range(20):
        limiter.reserve("getOrders")
    with pytest.raises(RetryableChannelError) as caught:
        limiter.reserve("getOrders")
    assert caught.value.status_code == 429 and 59 < caught.value.retry_after <= 60


def test_in_process_fallback_refills_at_the_rate():
    now = [0.0]
    buckets = _LocalBuckets(clock=lambda: now[0])
    spec = BucketSpec(rate=2.0, burst=2)
    assert buckets.reserve("k", spec, 10) == 0
    assert buckets.reserve("k", spec, 10) == 0
    assert buckets.reserve("k", spec, 10) == pytest.approx(0.5)
    now[0] = 5.0
    assert buckets.reserve("k", spec, 10) == 0


def test_operations_without_a_spec_are_not_limited(namespace):
    limiter = TokenBucketLimiter(namespace, SPECS, use_redis=False)
    assert all(limiter.reserve("unlisted") == 0 for _ in range(100))
