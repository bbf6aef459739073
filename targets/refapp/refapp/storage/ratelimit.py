"""Fixed-window rate limiting in Redis: the atomic way and the racy way.

Window id = floor(now / RATE_WINDOW); the count lives at ``rl:{key}:{window}``
and expires shortly after its window. ``AtomicRedisLimiter`` increments with
INCR+EXPIRE in one MULTI, so concurrent hits on any number of replicas are
all counted. ``RacyRedisLimiter`` is the racy-limit bug: GET, add one in
Python, SET. Two replicas reading the same value both write value+1 and both
let their request through, so the limit is exceeded under concurrency.
"""

from __future__ import annotations

import math

import redis

from refapp.models import LimitResult
from refapp.storage.redis_client import redis_errors


def fixed_window(now: float, window: float) -> tuple[int, int]:
    """Return (window id, whole seconds until the window ends, at least 1)."""
    window_id = math.floor(now / window)
    ends_at = (window_id + 1) * window
    return window_id, max(1, math.ceil(ends_at - now))


def _key(key: str, window_id: int) -> str:
    return f"rl:{key}:{window_id}"


class AtomicRedisLimiter:
    def __init__(self, client: redis.Redis, limit: int, window: float) -> None:
        self.client = client
        self.limit = limit
        self.window = window
        self.ttl = math.ceil(window) + 1  # the key outlives its window, then goes

    def hit(self, key: str, now: float) -> LimitResult:
        window_id, retry_after = fixed_window(now, self.window)
        name = _key(key, window_id)
        with redis_errors():
            pipe = self.client.pipeline(transaction=True)
            pipe.incr(name)
            pipe.expire(name, self.ttl)
            count, _ = pipe.execute()
        return LimitResult(key=key, count=int(count), limit=self.limit, retry_after=retry_after)


class RacyRedisLimiter:
    def __init__(self, client: redis.Redis, limit: int, window: float) -> None:
        self.client = client
        self.limit = limit
        self.window = window
        self.ttl = math.ceil(window) + 1

    def hit(self, key: str, now: float) -> LimitResult:
        window_id, retry_after = fixed_window(now, self.window)
        name = _key(key, window_id)
        with redis_errors():
            current = self.client.get(name)
            count = int(current or 0) + 1  # the bug: another replica may have read the same value
            self.client.set(name, count, ex=self.ttl)
        return LimitResult(key=key, count=count, limit=self.limit, retry_after=retry_after)
