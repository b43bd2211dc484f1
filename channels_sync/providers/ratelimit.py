"""Token buckets shared by every worker, so N workers together stay under a channel's rate limit.

Amazon and others publish a rate (requests per second) and a burst per operation and per selling
account; a bucket per (account, operation) in Redis enforces it across processes. Each `acquire`
reserves one token atomically (a Lua script, Redis's own clock) and sleeps until it is due; a wait
longer than `max_wait` reserves nothing and raises RetryableChannelError so the task retries later.
Without Redis (REDIS_URL unset: a single-process demo) an in-process bucket does the same.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from channels_sync.providers.errors import RetryableChannelError

KEY_PREFIX = "ordershub:ratelimit:"


@dataclass(frozen=True)
class BucketSpec:
    rate: float   # tokens added per second
    burst: int    # bucket size: how many requests may go at once after a quiet spell


# KEYS[1] bucket; ARGV: rate, burst, max_wait. Returns the seconds to wait before the reserved
# request may go ("0" when a token was free); a negative number means "not reserved: would wait -x".
_RESERVE_LUA = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
if tokens < 1 then
  wait = (1 - tokens) / rate
end
if wait > max_wait then
  return tostring(-wait)
end
tokens = tokens - 1
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst / rate + 60) * 1000))
return tostring(wait)
"""


_clients: dict[str, object] = {}


def _redis_client():
    """redis-py client for settings.REDIS_URL (one pool per process), or None when Redis is not configured."""
    from django.conf import settings

    url = getattr(settings, "REDIS_URL", "") or ""
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    if url not in _clients:
        import redis

        _clients[url] = redis.Redis.from_url(url)
    return _clients[url]


class _LocalBuckets:
    """The same reservation arithmetic in process memory (one process only)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, float]] = {}
        self._clock = clock

    def reserve(self, key: str, spec: BucketSpec, max_wait: float) -> float:
        with self._lock:
            now = self._clock()
            tokens, ts = self._state.get(key, (float(spec.burst), now))
            tokens = min(spec.burst, tokens + max(0.0, now - ts) * spec.rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / spec.rate
            if wait > max_wait:
                return -wait
            self._state[key] = (tokens - 1, now)
            return wait


_local_buckets = _LocalBuckets()


class TokenBucketLimiter:
    """A RateLimiter (see http.py) for one channel account: `rate_key` names the operation.

    `namespace` identifies the account (e.g. "amazon:A3TH9S8BH6GOGM"), `specs` maps each
    operation to its BucketSpec; an operation without a spec is not limited.
    """

    def __init__(self, namespace: str, specs: dict[str, BucketSpec], *, max_wait: float = 120.0,
                 sleep: Callable[[float], None] = time.sleep, redis_client=None, use_redis: bool | None = None):
        self.namespace = namespace
        self.specs = dict(specs)
        self.max_wait = max_wait
        self.sleep = sleep
        self._redis = redis_client
        self._use_redis = use_redis
        self._script = None

    def _client(self):
        if self._use_redis is False:
            return None
        if self._redis is None:
            self._redis = _redis_client()
        return self._redis

    def bucket_key(self, rate_key: str) -> str:
        return f"{KEY_PREFIX}{self.namespace}:{rate_key}"

    def reserve(self, rate_key: str) -> float:
        """Reserve one token; the seconds until it is due, or raise when that is over `max_wait`."""
        spec = self.specs.get(rate_key)
        if spec is None:
            return 0.0
        key = self.bucket_key(rate_key)
        client = self._client()
        if client is not None:
            if self._script is None:
                self._script = client.register_script(_RESERVE_LUA)
            raw = self._script(keys=[key], args=[spec.rate, spec.burst, self.max_wait])
            wait = float(raw.decode() if isinstance(raw, bytes) else raw)
        else:
            wait = _local_buckets.reserve(key, spec, self.max_wait)
        if wait < 0:
            raise RetryableChannelError(
                f"rate limit for {rate_key}: next request allowed in {-wait:.0f}s", status_code=429, retry_after=-wait)
        return wait

    def acquire(self, key: str) -> None:
        wait = self.reserve(key)
        if wait > 0:
            self.sleep(wait)

    def reset(self, rate_key: str) -> None:
        """Forget a bucket (tests, or after the channel says its real limit differs)."""
        client = self._client()
        key = self.bucket_key(rate_key)
        if client is not None:
            client.delete(key)
        with _local_buckets._lock:
            _local_buckets._state.pop(key, None)


def configured_limiter(config: dict, namespace: str, *, rate_key: str, default_rate: float,
                       default_burst: int) -> TokenBucketLimiter:
    """The Redis token bucket shared by every worker for one account, at the channel's configured rate
    (`rateLimitPerSecond`, `rateLimitBurst`, else the provider's defaults); a 429 is still handled by the client."""
    spec = BucketSpec(rate=float(config.get("rateLimitPerSecond") or default_rate),
                      burst=int(config.get("rateLimitBurst") or default_burst))
    return TokenBucketLimiter(namespace, {rate_key: spec})
