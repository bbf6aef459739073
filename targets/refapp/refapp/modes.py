"""Which stores each STORAGE mode puts behind the routes.

``durable`` is the correct wiring; every other mode starts from it (or from
nothing, for ``memory``) and swaps in the one piece that carries its bug, so
a mode's difference from durable reads off this file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from refapp.config import Settings
from refapp.schema import create_postgres_schema, create_shared_sqlite_schema, create_sqlite_schema, create_with_retry
from refapp.storage import limiters, memory, redis_client
from refapp.storage.base import Backend, Check, RateLimiter
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
from refapp.storage.memory import MemoryCounterStore, MemoryQuoteStore, MemoryRecordStore
from refapp.storage.no_expiry import ExpiryScheduler, TimerQuoteStore, TimerSessionStore
from refapp.storage.postgres import PostgresEngine
from refapp.storage.races import (
    CheckThenSetMemoryQuoteStore,
    CheckThenSetSqlQuoteStore,
    ReadModifyWriteMemoryCounterStore,
    ReadModifyWriteMemoryRecordStore,
    ReadModifyWriteSqlCounterStore,
    ReadModifyWriteSqlRecordStore,
)
from refapp.storage.ratelimit import AtomicRedisLimiter, RacyRedisLimiter, SqlAtomicLimiter, SqlRacyLimiter
from refapp.storage.redis_sessions import RedisSessionStore
from refapp.storage.sql import (
    SqlCooldownStore,
    SqlCounterStore,
    SqlEngine,
    SqlFileStore,
    SqlQuoteStore,
    SqlRecordStore,
    SqlSessionStore,
)
from refapp.storage.sqlite import SqliteEngine, sqlite_path
from refapp.storage.signed_sessions import SignedSessionStore
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


log = logging.getLogger("refapp.modes")


@dataclass
class Store:
    """One engine behind some stores: what it is, its readiness probe, its start and stop hooks."""

    engine: object
    describe: str
    checks: dict[str, Check]
    on_start: list[Callable[[], None]] = field(default_factory=list)
    on_stop: list[Callable[[], None]] = field(default_factory=list)


def _shared_sqlite(path: str, settings: Settings, engines: dict[str, SqliteEngine]) -> tuple[SqliteEngine, bool]:
    """One engine per file within one backend; True when it is new (its schema still to create)."""
    path = os.path.abspath(path)
    if path in engines:
        return engines[path], False
    # Several replicas write the one file: wait a little longer than for a server's lock.
    engines[path] = SqliteEngine(path, max(settings.db_timeout, 5.0))
    return engines[path], True


def _sqlite_store(path: str, settings: Settings, engines: dict[str, SqliteEngine]) -> Store:
    db, new = _shared_sqlite(path, settings, engines)
    start = [lambda: create_with_retry(lambda: create_shared_sqlite_schema(db), "sqlite")] if new else []
    return Store(db, f"shared SQLite file {os.path.abspath(path)} (WAL)", {"shared-sqlite": db.ping} if new else {}, start)


def _database(settings: Settings, engines: dict[str, SqliteEngine]) -> Store:
    """PostgreSQL, or the shared SQLite file for ``DATABASE_URL=sqlite:///path``."""
    path = sqlite_path(settings.database_url)
    if path is not None:
        return _sqlite_store(path, settings, engines)
    pg = PostgresEngine(settings.database_url, settings.db_timeout, settings.db_pool_size)
    return Store(pg, "postgres", {"postgres": pg.ping},
                 [pg.open, lambda: create_with_retry(lambda: create_postgres_schema(pg), "postgres")], [pg.close])


def _limiter(settings: Settings, engines: dict[str, SqliteEngine], racy: bool = False) -> tuple[RateLimiter, Store]:
    """Rate limits in Redis, or in the shared SQLite file for ``REDIS_URL=sqlite:///path``."""
    if (settings.rate_limiter, settings.rate_limiter_form) != ("fixed-epoch", "atomic"):
        return _chosen_limiter(settings, engines, racy)
    path = sqlite_path(settings.redis_url)
    if path is not None:
        store = _sqlite_store(path, settings, engines)
        assert isinstance(store.engine, SqliteEngine)
        sql_kind = SqlRacyLimiter if racy else SqlAtomicLimiter
        return sql_kind(store.engine, settings.rate_limit, settings.rate_window), store
    rds = redis_client.connect(settings.redis_url, settings.db_timeout)
    redis_kind = RacyRedisLimiter if racy else AtomicRedisLimiter
    store = Store(rds, "redis", {"redis": lambda: redis_client.ping(rds)}, on_stop=[rds.close])
    return redis_kind(rds, settings.rate_limit, settings.rate_window), store


def _chosen_limiter(settings: Settings, engines: dict[str, SqliteEngine], racy: bool) -> tuple[RateLimiter, Store]:
    """RATE_LIMITER in RATE_LIMITER_FORM (refapp/storage/limiters.py); racy-limit makes an atomic form racy."""
    form = "racy" if racy and settings.rate_limiter_form == "atomic" else settings.rate_limiter_form
    path = sqlite_path(settings.redis_url)
    if path is not None:  # config allows only the memory form without Redis
        return limiters.make_limiter(settings, None, form), _sqlite_store(path, settings, engines)
    rds = redis_client.connect(settings.redis_url, settings.db_timeout)
    limiter = limiters.make_limiter(settings, rds, form)
    flush = [limiter.flush] if isinstance(limiter, limiters.SplitExpireLimiter) else []  # deferred EXPIREs, then close
    store = Store(rds, f"redis ({limiters.describe(settings, form)})", {"redis": lambda: redis_client.ping(rds)},
                  on_stop=[*flush, rds.close])
    return limiter, store


def _describe(db: Store, limits: Store) -> str:
    if db.engine is limits.engine:
        return f"{db.describe} for everything"
    return f"{db.describe}, rate limits in {limits.describe}"


def durable(settings: Settings, racy: bool = False) -> Backend:
    """Postgres for every kind, Redis (append-only in the deployment) for rate limits.

    With ``sqlite:///path`` URLs one SQLite file shared by every replica stands in
    for either or both (a machine without the servers); it is just as durable.
    """
    engines: dict[str, SqliteEngine] = {}
    db = _database(settings, engines)
    limiter, limits = _limiter(settings, engines, racy)
    sql: SqlEngine = db.engine  # type: ignore[assignment]
    stores = _describe(db, limits)
    if "SQLite" in stores:
        log.warning("durable state in a %s: only replicas on this machine can share it", stores)
    return Backend(
        sessions=SqlSessionStore(sql),
        files=SqlFileStore(sql),
        quotes=SqlQuoteStore(sql),
        limiter=limiter,
        cooldowns=SqlCooldownStore(sql),
        records=SqlRecordStore(sql),
        counters=SqlCounterStore(sql),
        checks={**db.checks, **limits.checks},
        stores=stores,
        on_start=[*db.on_start, *limits.on_start],
        on_stop=[*db.on_stop, *limits.on_stop],
    )


def in_memory(settings: Settings) -> Backend:
    """Everything in this process's dicts; no dependency at all."""
    return Backend(
        sessions=memory.MemorySessionStore(),
        files=memory.MemoryFileStore(),
        quotes=memory.MemoryQuoteStore(),
        limiter=(memory.MemoryRateLimiter(settings.rate_limit, settings.rate_window)
                 if settings.rate_limiter == "fixed-epoch" else limiters.make_limiter(settings, None, "memory")),
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
        stores=f"{real.stores}, falling back to process memory on errors",
    )


def local_disk(settings: Settings) -> Backend:
    """Files and a SQLite file under DATA_DIR.

    In the container's own layer that is the bug; on a volume shared by the replicas
    (targets/refapp/shared-volume.yaml) it is a correct store: every replica opens the one
    file (WAL, IMMEDIATE transactions), waits for the write lock as long as the shared
    embedded file does, and creates the tables at start retrying while another replica
    holds the lock.
    """
    files = DiskFileStore(os.path.join(settings.data_dir, "files"))
    db = SqliteEngine(os.path.join(settings.data_dir, "refapp.sqlite3"), max(settings.db_timeout, 5.0))
    limiter, limits = _limiter(settings, {})
    return Backend(
        sessions=SqlSessionStore(db),
        files=files,
        quotes=SqlQuoteStore(db),
        limiter=limiter,
        cooldowns=SqlCooldownStore(db),
        records=SqlRecordStore(db),
        counters=SqlCounterStore(db),
        checks={"sqlite": db.ping, **limits.checks},
        stores=f"SQLite file and files under {settings.data_dir}, rate limits in {limits.describe}",
        on_start=[files.prepare, lambda: create_with_retry(lambda: create_sqlite_schema(db), "sqlite"),
                  *limits.on_start],
        on_stop=limits.on_stop,
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
        stores=f"{base.stores}, behind a write buffer flushed every {settings.flush_interval:g}s",
        on_start=[*base.on_start, flusher.start],
        # Flush before the pool closes: this is what makes SIGTERM safe.
        on_stop=[flusher.stop, *base.on_stop],
    )


def racy_limit(settings: Settings) -> Backend:
    """Durable, but the rate-limit counter is GET + SET instead of INCR."""
    return durable(settings, racy=True)


def stale_cache(settings: Settings) -> Backend:
    """Durable, plus a per-replica session cache that logout does not invalidate elsewhere."""
    base = durable(settings)
    return replace(base, sessions=CachedSessionStore(base.sessions))


def volatile_redis(settings: Settings) -> Backend:
    """Durable, but sessions live in Redis (run without persistence by the deployment)."""
    base = durable(settings)
    if not isinstance(base.limiter, (AtomicRedisLimiter, limiters.AtomicLimiter, limiters.RacyLimiter,
                                     limiters.SplitExpireLimiter)):
        log.warning("volatile-redis: no Redis (REDIS_URL is a SQLite file): sessions stay in the %s, "
                    "so this mode behaves as durable here", base.stores)
        return base
    return replace(base, sessions=RedisSessionStore(base.limiter.client), stores=f"{base.stores}; sessions in redis")


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
    return with_session_model(settings, with_race_forms(settings, BUILDERS[settings.storage](settings)))


def with_race_forms(settings: Settings, backend: Backend) -> Backend:
    """COUNTER_INCREMENT, QUOTE_USE, RECORD_UPDATE in their broken forms: the mode's own SQL or memory
    store with that one write done as read, round trip, unconditional write (refapp/storage/races.py).

    Config allows them only with the modes whose stores are the plain ones (RACE_STORAGES).
    """
    delay = settings.round_trip_delay
    changes: dict[str, object] = {}
    forms: list[str] = []
    if settings.counter_increment == "read-modify-write":
        c = backend.counters
        assert isinstance(c, (SqlCounterStore, MemoryCounterStore)), type(c)
        changes["counters"] = (ReadModifyWriteSqlCounterStore(c.db, delay) if isinstance(c, SqlCounterStore)
                               else ReadModifyWriteMemoryCounterStore(delay))
        forms.append("counters by read-modify-write")
    if settings.quote_use == "check-then-set":
        q = backend.quotes
        assert isinstance(q, (SqlQuoteStore, MemoryQuoteStore)), type(q)
        changes["quotes"] = (CheckThenSetSqlQuoteStore(q.db, delay) if isinstance(q, SqlQuoteStore)
                             else CheckThenSetMemoryQuoteStore(delay))
        forms.append("quote use by check-then-set")
    if settings.record_update == "read-modify-write":
        r = backend.records
        assert isinstance(r, (SqlRecordStore, MemoryRecordStore)), type(r)
        changes["records"] = (ReadModifyWriteSqlRecordStore(r.db, delay) if isinstance(r, SqlRecordStore)
                              else ReadModifyWriteMemoryRecordStore(delay))
        forms.append("record updates by read-modify-write")
    if not forms:
        return backend
    return replace(backend, **changes, stores=f"{backend.stores}; {', '.join(forms)} ({delay:g}s apart)")


def with_session_model(settings: Settings, backend: Backend) -> Backend:
    """SESSIONS=client-side: sessions in signed tokens instead of the mode's store; else as the mode keeps them."""
    if settings.sessions != "client-side":
        return backend
    sessions = SignedSessionStore(settings.session_secret)
    if sessions.random_secret:
        log.warning("SESSIONS=client-side without SESSION_SECRET: signing with a random secret drawn at this "
                    "start; every session ends at a restart and no other replica accepts it")
    secret = "a random per-start secret" if sessions.random_secret else "SESSION_SECRET"
    return replace(backend, sessions=sessions, stores=f"{backend.stores}; sessions client-side, signed with {secret}")
