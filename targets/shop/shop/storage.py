"""Where the shop keeps its state: two stores with the same methods.

``MemoryStore`` keeps everything in process dicts: fast, and gone on every restart,
different on every replica (the bug this target exists to show). ``PostgresStore``
keeps sessions, orders, view counters and rate-limit counts in PostgreSQL; every
change is one atomic statement committed before the request is answered, and every
wait on the database is bounded, so an outage answers 503 (never an acknowledged
write that was not stored).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
import uuid
from contextlib import contextmanager
from typing import Any, Iterator

log = logging.getLogger("shop.storage")

Order = tuple[Any, int]  # (payload, revision)


class StorageUnavailable(Exception):
    """The database did not answer in time: the request is answered 503."""


def new_sid() -> str:
    return secrets.token_urlsafe(32)


def new_order_id() -> str:
    return uuid.uuid4().hex


def window_id(now: float, window: float) -> int:
    """Fixed windows aligned to the epoch: [k * window, (k + 1) * window)."""
    return int(now // window)


class MemoryStore:
    """Everything in this process's memory, guarded by one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, str] = {}
        self._orders: dict[str, Order] = {}
        self._views: dict[str, int] = {}
        self._hits: dict[tuple[str, int], int] = {}

    def ping(self) -> None:
        pass

    def create_session(self, username: str) -> str:
        sid = new_sid()
        with self._lock:
            self._sessions[sid] = username
        return sid

    def session_user(self, sid: str) -> str | None:
        return self._sessions.get(sid)

    def delete_session(self, sid: str) -> bool:
        with self._lock:
            return self._sessions.pop(sid, None) is not None

    def create_order(self, payload: Any) -> tuple[str, int]:
        order_id = new_order_id()
        with self._lock:
            self._orders[order_id] = (payload, 1)
        return order_id, 1

    def get_order(self, order_id: str) -> Order | None:
        return self._orders.get(order_id)

    def update_order(self, order_id: str, payload: Any) -> int | None:
        with self._lock:
            if order_id not in self._orders:
                return None
            revision = self._orders[order_id][1] + 1
            self._orders[order_id] = (payload, revision)
            return revision

    def delete_order(self, order_id: str) -> bool:
        with self._lock:
            return self._orders.pop(order_id, None) is not None

    def list_orders(self) -> dict[str, Any]:
        with self._lock:
            return {order_id: payload for order_id, (payload, _) in self._orders.items()}

    def add_views(self, name: str, n: int) -> int:
        with self._lock:
            self._views[name] = self._views.get(name, 0) + n
            return self._views[name]

    def views(self, name: str) -> int:
        return self._views.get(name, 0)

    def hit(self, key: str, window: float) -> int:
        """Count one request of ``key`` in the current window; return the count so far."""
        slot = (key, window_id(time.time(), window))
        with self._lock:
            self._hits[slot] = self._hits.get(slot, 0) + 1
            return self._hits[slot]


SCHEMA = (
    """CREATE TABLE IF NOT EXISTS shop_sessions (
        sid text PRIMARY KEY, username text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())""",
    """CREATE TABLE IF NOT EXISTS shop_orders (
        id text PRIMARY KEY, payload text NOT NULL, revision integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now())""",
    "CREATE TABLE IF NOT EXISTS shop_views (name text PRIMARY KEY, views bigint NOT NULL)",
    """CREATE TABLE IF NOT EXISTS shop_rate_hits (
        key text NOT NULL, window_id bigint NOT NULL, hits integer NOT NULL, PRIMARY KEY (key, window_id))""",
)
SCHEMA_LOCK = 0x5A0B  # advisory lock: replicas starting together create the tables one at a time


class PostgresStore:
    """Everything in PostgreSQL, through a bounded psycopg connection pool."""

    def __init__(self, url: str, timeout: float = 2.0, pool_size: int = 8) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool

        self._psycopg = psycopg
        self.timeout = timeout
        self.pool = ConnectionPool(
            url, min_size=1, max_size=pool_size, timeout=timeout, open=False, name="shop",
            check=ConnectionPool.check_connection,  # drop connections a Postgres restart broke
            reconnect_timeout=timeout,  # give up fast; the next request tries afresh
            kwargs={
                "connect_timeout": max(2, round(timeout)),
                "client_encoding": "utf8",  # text as str even when the database is SQL_ASCII
                "options": f"-c statement_timeout={int(timeout * 1000)}",
                # a cut network must surface as an error, not a hang
                "tcp_user_timeout": int(timeout * 1000),
                "keepalives": 1, "keepalives_idle": 1, "keepalives_interval": 1, "keepalives_count": 2,
            },
        )

    def open(self, wait: float = 20.0) -> None:
        """Open the pool and create the tables, retrying while Postgres is not up yet."""
        self.pool.open(wait=False)
        deadline = time.monotonic() + wait
        while True:
            try:
                with self._tx() as cur:
                    cur.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                    for statement in SCHEMA:
                        cur.execute(statement)
                return
            except StorageUnavailable as exc:
                if time.monotonic() >= deadline:
                    raise
                log.warning("postgres not ready, retrying schema creation: %s", exc)
                time.sleep(0.5)

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        """One transaction, committed when the block ends; database trouble becomes StorageUnavailable."""
        psycopg = self._psycopg
        try:
            with self.pool.connection() as conn, conn.cursor() as cur:
                yield cur
        except (psycopg.ProgrammingError, psycopg.DataError):
            raise  # a bug in our SQL is not an outage
        except psycopg.Error as exc:  # OperationalError, PoolTimeout, QueryCanceled, ...
            raise StorageUnavailable(f"postgres: {_first_line(exc)}") from exc

    def _one(self, sql: str, params: tuple = ()) -> tuple | None:
        with self._tx() as cur:
            cur.execute(sql, params)
            return cur.fetchone() if cur.description else None

    def ping(self) -> None:
        self._one("SELECT 1")

    def create_session(self, username: str) -> str:
        sid = new_sid()
        self._one("INSERT INTO shop_sessions (sid, username) VALUES (%s, %s)", (sid, username))
        return sid

    def session_user(self, sid: str) -> str | None:
        row = self._one("SELECT username FROM shop_sessions WHERE sid = %s", (sid,))
        return row[0] if row else None

    def delete_session(self, sid: str) -> bool:
        return self._one("DELETE FROM shop_sessions WHERE sid = %s RETURNING sid", (sid,)) is not None

    def create_order(self, payload: Any) -> tuple[str, int]:
        order_id = new_order_id()
        self._one("INSERT INTO shop_orders (id, payload) VALUES (%s, %s)", (order_id, _dump(payload)))
        return order_id, 1

    def get_order(self, order_id: str) -> Order | None:
        row = self._one("SELECT payload, revision FROM shop_orders WHERE id = %s", (order_id,))
        return (json.loads(row[0]), row[1]) if row else None

    def update_order(self, order_id: str, payload: Any) -> int | None:
        row = self._one("UPDATE shop_orders SET payload = %s, revision = revision + 1 WHERE id = %s "
                        "RETURNING revision", (_dump(payload), order_id))
        return row[0] if row else None

    def delete_order(self, order_id: str) -> bool:
        return self._one("DELETE FROM shop_orders WHERE id = %s RETURNING id", (order_id,)) is not None

    def list_orders(self) -> dict[str, Any]:
        with self._tx() as cur:
            cur.execute("SELECT id, payload FROM shop_orders ORDER BY created_at")
            return {order_id: json.loads(payload) for order_id, payload in cur.fetchall()}

    def add_views(self, name: str, n: int) -> int:
        row = self._one("INSERT INTO shop_views (name, views) VALUES (%s, %s) ON CONFLICT (name) "
                        "DO UPDATE SET views = shop_views.views + EXCLUDED.views RETURNING views", (name, n))
        return int(row[0])  # type: ignore[index]

    def views(self, name: str) -> int:
        row = self._one("SELECT views FROM shop_views WHERE name = %s", (name,))
        return int(row[0]) if row else 0

    def hit(self, key: str, window: float) -> int:
        """Count one request of ``key`` in the current window, atomically over every replica."""
        row = self._one("INSERT INTO shop_rate_hits (key, window_id, hits) VALUES (%s, %s, 1) "
                        "ON CONFLICT (key, window_id) DO UPDATE SET hits = shop_rate_hits.hits + 1 RETURNING hits",
                        (key, window_id(time.time(), window)))
        return int(row[0])  # type: ignore[index]


def _dump(payload: Any) -> str:
    """JSON as pure ASCII text: stored unchanged whatever the database's encoding."""
    return json.dumps(payload, ensure_ascii=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
