"""Fixed-window rate limiting in Redis: the atomic way and the racy way.

Window id = floor(now / RATE_WINDOW); the count lives at ``rl:{key}:{window}``
and expires shortly after its window. ``AtomicRedisLimiter`` increments with
INCR+EXPIRE in one MULTI, so concurrent hits on any number of replicas are
all counted. ``RacyRedisLimiter`` is the racy-limit bug: GET, add one in
Python, SET. Two replicas reading the same value both write value+1 and both
let their request through, so the limit is exceeded under concurrency.

``SqlAtomicLimiter`` and ``SqlRacyLimiter`` are the same two on the shared SQLite
file (``REDIS_URL=sqlite:///path``): one upsert in one transaction, or a read and
a write in two.

These are the ``fixed-epoch`` limiter every STORAGE mode uses by default; the other
models (``RATE_LIMITER``) and their broken forms (``RATE_LIMITER_FORM``) are in
``limiters.py``.
"""

from __future__ import annotations

import itertools
import math

import redis

from refapp.models import LimitResult
from refapp.storage.redis_client import redis_errors
from refapp.storage.sql import SqlEngine
from refapp.storage.sqlite import SqliteEngine


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


#: Windows past their end are deleted on every this-many-th hit (cheap housekeeping).
PURGE_EVERY = 64

UPSERT = ("INSERT INTO rate_limits (name, count, expires_at) VALUES (%s, %s, %s)"
          " ON CONFLICT (name) DO UPDATE SET count = {count}, expires_at = excluded.expires_at RETURNING count")


class SqlAtomicLimiter:
    def __init__(self, db: SqlEngine, limit: int, window: float) -> None:
        self.db = db
        self.limit = limit
        self.window = window
        self._hits = itertools.count(1)

    def hit(self, key: str, now: float) -> LimitResult:
        window_id, retry_after = fixed_window(now, self.window)
        with self.db.transaction() as cur:  # takes the write lock: no other replica runs between
            cur.execute(UPSERT.format(count="rate_limits.count + 1"),
                        (_key(key, window_id), 1, (window_id + 1) * self.window + 1))
            row = cur.fetchone()
            if next(self._hits) % PURGE_EVERY == 0:
                cur.execute("DELETE FROM rate_limits WHERE expires_at < %s", (now,))
        assert row is not None  # an upsert with RETURNING always yields the row
        return LimitResult(key=key, count=int(row[0]), limit=self.limit, retry_after=retry_after)


class SqlRacyLimiter:
    def __init__(self, db: SqliteEngine, limit: int, window: float) -> None:
        self.db = db
        self.limit = limit
        self.window = window

    def hit(self, key: str, now: float) -> LimitResult:
        window_id, retry_after = fixed_window(now, self.window)
        name = _key(key, window_id)
        with self.db.transaction(immediate=False) as cur:  # a plain read: replicas read side by side
            cur.execute("SELECT count FROM rate_limits WHERE name = %s", (name,))
            row = cur.fetchone()
        count = int(row[0] if row else 0) + 1  # the bug: another replica may have read the same value
        with self.db.transaction() as cur:
            cur.execute(UPSERT.format(count="excluded.count"), (name, count, (window_id + 1) * self.window + 1))
            cur.fetchone()  # SQLite finishes a RETURNING statement only once it is read
        return LimitResult(key=key, count=count, limit=self.limit, retry_after=retry_after)
