"""The Redis connection and the mapping of its errors to StorageUnavailable.

Timeouts are DB_TIMEOUT and redis-py's own retries are off: a retried
MULTI/INCR could count a hit twice, and a dead Redis must answer 503 quickly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from refapp.errors import StorageUnavailable


def connect(url: str, timeout: float) -> redis.Redis:
    """A client whose pool connects lazily (no Redis needed to construct it)."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )


@contextmanager
def redis_errors() -> Iterator[None]:
    """Turn any redis-py failure inside the block into StorageUnavailable."""
    try:
        yield
    except redis.RedisError as exc:
        raise StorageUnavailable(f"redis: {exc}") from exc


def ping(client: redis.Redis) -> None:
    """Readiness probe."""
    with redis_errors():
        client.ping()
