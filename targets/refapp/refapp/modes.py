"""Which stores each STORAGE mode puts behind the routes.

``durable`` is the correct wiring; every other mode starts from it (or from
nothing, for ``memory``) and swaps in the one piece that carries its bug, so
a mode's difference from durable reads off this file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace

from refapp.config import Settings
from refapp.schema import create_postgres_schema, create_sqlite_schema, create_with_retry
from refapp.storage import memory, redis_client
from refapp.storage.base import Backend
from refapp.storage.disk import DiskFileStore
from refapp.storage.fallback import (
    FallbackCooldownStore,
    FallbackCounterStore,
    FallbackFileStore,
    FallbackQuoteStore,
    FallbackRateLimiter,
    FallbackRecordStore,
    FallbackSessionStore,
)
from refapp.storage.no_expiry import ExpiryScheduler, TimerQuoteStore, TimerSessionStore
from refapp.storage.postgres import PostgresEngine
from refapp.storage.ratelimit import AtomicRedisLimiter, RacyRedisLimiter
from refapp.storage.redis_sessions import RedisSessionStore
from refapp.storage.sql import (
    SqlCooldownStore,
    SqlCounterStore,
    SqlFileStore,
    SqlQuoteStore,
    SqlRecordStore,
    SqlSessionStore,
)
from refapp.storage.sqlite import SqliteEngine
from refapp.storage.stale_cache import CachedSessionStore
from refapp.storage.write_behind import (
    Flusher,
    WriteBehindCooldownStore,
    WriteBehindCounterStore,
    WriteBehindFileStore,
    WriteBehindQuoteStore,
    WriteBehindRecordStore,
    WriteBehindSessionStore,
    WriteBuffer,
)


def durable(settings: Settings) -> Backend:
    """Postgres for every kind, Redis (append-only in the deployment) for rate limits."""
    pg = PostgresEngine(settings.database_url, settings.db_timeout, settings.db_pool_size)
    rds = redis_client.connect(settings.redis_url, settings.db_timeout)
    return Backend(
        sessions=SqlSessionStore(pg),
        files=SqlFileStore(pg),
        quotes=SqlQuoteStore(pg),
        limiter=AtomicRedisLimiter(rds, settings.rate_limit, settings.rate_window),
        cooldowns=SqlCooldownStore(pg),
        records=SqlRecordStore(pg),
        counters=SqlCounterStore(pg),
        checks={"postgres": pg.ping, "redis": lambda: redis_client.ping(rds)},
        on_start=[pg.open, lambda: create_with_retry(lambda: create_postgres_schema(pg), "postgres")],
        on_stop=[pg.close, rds.close],
    )


def in_memory(settings: Settings) -> Backend:
    """Everything in this process's dicts; no dependency at all."""
    return Backend(
        sessions=memory.MemorySessionStore(),
        files=memory.MemoryFileStore(),
        quotes=memory.MemoryQuoteStore(),
        limiter=memory.MemoryRateLimiter(settings.rate_limit, settings.rate_window),
        cooldowns=memory.MemoryCooldownStore(),
        records=memory.MemoryRecordStore(),
        counters=memory.MemoryCounterStore(),
    )


def fallback(settings: Settings) -> Backend:
    """Durable, but any storage error silently diverts to process memory."""
    real, spare = durable(settings), in_memory(settings)
    return replace(
        real,
        sessions=FallbackSessionStore(real.sessions, spare.sessions),
        files=FallbackFileStore(real.files, spare.files),
        quotes=FallbackQuoteStore(real.quotes, spare.quotes),
        limiter=FallbackRateLimiter(real.limiter, spare.limiter),
        cooldowns=FallbackCooldownStore(real.cooldowns, spare.cooldowns),
        records=FallbackRecordStore(real.records, spare.records),
        counters=FallbackCounterStore(real.counters, spare.counters),
    )


def local_disk(settings: Settings) -> Backend:
    """Files and a SQLite file under DATA_DIR (the container's own layer)."""
    files = DiskFileStore(os.path.join(settings.data_dir, "files"))
    db = SqliteEngine(os.path.join(settings.data_dir, "refapp.sqlite3"), settings.db_timeout)
    rds = redis_client.connect(settings.redis_url, settings.db_timeout)
    return Backend(
        sessions=SqlSessionStore(db),
        files=files,
        quotes=SqlQuoteStore(db),
        limiter=AtomicRedisLimiter(rds, settings.rate_limit, settings.rate_window),
        cooldowns=SqlCooldownStore(db),
        records=SqlRecordStore(db),
        counters=SqlCounterStore(db),
        checks={"sqlite": db.ping, "redis": lambda: redis_client.ping(rds)},
        on_start=[files.prepare, lambda: create_sqlite_schema(db)],
        on_stop=[rds.close],
    )


def write_behind(settings: Settings) -> Backend:
    """Durable stores behind an in-process write buffer flushed every few seconds."""
    base = durable(settings)
    buffer = WriteBuffer()
    flusher = Flusher(buffer, settings.flush_interval)
    assert isinstance(base.sessions, SqlSessionStore) and isinstance(base.files, SqlFileStore)
    assert isinstance(base.quotes, SqlQuoteStore) and isinstance(base.cooldowns, SqlCooldownStore)
    assert isinstance(base.records, SqlRecordStore) and isinstance(base.counters, SqlCounterStore)
    return replace(
        base,
        sessions=WriteBehindSessionStore(base.sessions, buffer),
        files=WriteBehindFileStore(base.files, buffer),
        quotes=WriteBehindQuoteStore(base.quotes, buffer),
        cooldowns=WriteBehindCooldownStore(base.cooldowns, buffer),
        records=WriteBehindRecordStore(base.records, buffer),
        counters=WriteBehindCounterStore(base.counters, buffer),
        on_start=[*base.on_start, flusher.start],
        # Flush before the pool closes: this is what makes SIGTERM safe.
        on_stop=[flusher.stop, *base.on_stop],
    )


def racy_limit(settings: Settings) -> Backend:
    """Durable, but the rate-limit counter is GET + SET instead of INCR."""
    base = durable(settings)
    assert isinstance(base.limiter, AtomicRedisLimiter)
    return replace(base, limiter=RacyRedisLimiter(base.limiter.client, settings.rate_limit, settings.rate_window))


def stale_cache(settings: Settings) -> Backend:
    """Durable, plus a per-replica session cache that logout does not invalidate elsewhere."""
    base = durable(settings)
    return replace(base, sessions=CachedSessionStore(base.sessions))


def volatile_redis(settings: Settings) -> Backend:
    """Durable, but sessions live in Redis (run without persistence by the deployment)."""
    base = durable(settings)
    assert isinstance(base.limiter, AtomicRedisLimiter)
    return replace(base, sessions=RedisSessionStore(base.limiter.client))


def no_expiry(settings: Settings) -> Backend:
    """Durable, but session and quote expiry enforced only by in-process timers."""
    base = durable(settings)
    scheduler = ExpiryScheduler()
    assert isinstance(base.sessions, SqlSessionStore) and isinstance(base.quotes, SqlQuoteStore)
    return replace(
        base,
        sessions=TimerSessionStore(base.sessions, scheduler),
        quotes=TimerQuoteStore(base.quotes, scheduler),
        on_start=[*base.on_start, scheduler.start],
        on_stop=[scheduler.stop, *base.on_stop],
    )


BUILDERS: dict[str, Callable[[Settings], Backend]] = {
    "durable": durable,
    "memory": in_memory,
    "fallback": fallback,
    "local-disk": local_disk,
    "write-behind": write_behind,
    "racy-limit": racy_limit,
    "stale-cache": stale_cache,
    "volatile-redis": volatile_redis,
    "no-expiry": no_expiry,
}


def build_backend(settings: Settings) -> Backend:
    """The Backend for ``settings.storage`` (already validated by config)."""
    return BUILDERS[settings.storage](settings)
