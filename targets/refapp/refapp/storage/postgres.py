"""The Postgres engine: a bounded connection pool whose failures become 503s.

Every wait is bounded by DB_TIMEOUT (pool checkout, connect) so a stopped
database yields a quick StorageUnavailable, never a hung request.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg_pool import ConnectionPool

from refapp.errors import StorageUnavailable


class PostgresEngine:
    """Runs SQL transactions on a psycopg 3 pool; see ``refapp.storage.sql``."""

    def __init__(self, url: str, timeout: float, pool_size: int) -> None:
        self.timeout = timeout
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            timeout=timeout,
            open=False,
            # Drop connections broken by a Postgres restart before handing them out.
            check=ConnectionPool.check_connection,
            # The pool retries failed connects with exponential backoff (1 s, 2 s,
            # 4 s, ...): after a long outage that would keep us unavailable for a
            # while after Postgres is back. Giving up after one DB_TIMEOUT makes
            # the next request start a fresh attempt, so recovery takes ~1 s.
            reconnect_timeout=timeout,
            name="refapp",
            kwargs={
                "connect_timeout": max(2, math.ceil(timeout)),
                # A cut network must surface as an error, not a hang: unacknowledged
                # sends fail after DB_TIMEOUT, a silent peer after a few keepalives.
                "tcp_user_timeout": int(timeout * 1000),
                "keepalives": 1,
                "keepalives_idle": max(1, math.ceil(timeout)),
                "keepalives_interval": 1,
                "keepalives_count": 2,
            },
        )

    def open(self) -> None:
        """Start the pool without waiting: startup retries schema creation itself."""
        self.pool.open(wait=False)

    def close(self) -> None:
        self.pool.close(timeout=self.timeout)

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Cursor]:
        try:
            with self.pool.connection() as conn, conn.cursor() as cur:
                yield cur
        except psycopg.ProgrammingError:
            raise  # a bug in our SQL is not an outage
        except psycopg.Error as exc:  # includes PoolTimeout, OperationalError
            raise StorageUnavailable(f"postgres: {_first_line(exc)}") from exc

    def ping(self) -> None:
        """Readiness probe: one round trip."""
        with self.transaction() as cur:
            cur.execute("SELECT 1")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
