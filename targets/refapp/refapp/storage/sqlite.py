"""The SQLite engine: the local-disk mode's file, or the shared embedded database.

In the local-disk mode the file lives under DATA_DIR, in the container's writable
layer, so it is per replica and gone when the container is recreated: that is the
bug this mode models. The engine itself is careful (WAL, synchronous=FULL,
IMMEDIATE transactions), so a plain restart of the same container keeps everything.

``DATABASE_URL=sqlite:///path`` (and/or ``REDIS_URL=sqlite:///path``) makes the
same engine the durable store of every replica: one file on a local disk, shared
by processes on one machine (the harness's local backend where no PostgreSQL or
Redis server is installed). WAL lets readers run beside the one writer, and every
transaction takes the write lock up front, so each check-and-set stays atomic
across processes.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from refapp.errors import StorageUnavailable


class _Cursor:
    """Adapts sqlite3's ``?`` placeholders to the ``%s`` used by the SQL stores."""

    def __init__(self, cur: sqlite3.Cursor) -> None:
        self._cur = cur

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> _Cursor:
        self._cur.execute(sql.replace("%s", "?"), params)
        return self

    def fetchone(self) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self._cur.fetchone()
        return row

    def fetchall(self) -> list[tuple[Any, ...]]:
        return self._cur.fetchall()


SQLITE_URL = "sqlite:///"


def sqlite_path(url: str) -> str | None:
    """The file named by ``sqlite:///relative`` or ``sqlite:////absolute``; None for other URLs."""
    if not url.startswith(SQLITE_URL):
        return None
    path = url[len(SQLITE_URL):]
    if not path:
        raise ValueError(f"no file in {url!r}: expected sqlite:///path")
    return path


class SqliteEngine:
    """One connection per thread (sqlite3 objects are not shared across threads)."""

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._local = threading.local()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self, immediate: bool = True) -> Iterator[_Cursor]:
        """A transaction; ``immediate=False`` only for reads that need no lock (a snapshot, in WAL)."""
        try:
            conn = self._connection()
            cur = conn.cursor()
            # Take the write lock up front: no upgrade deadlocks, and check-and-set stays atomic.
            cur.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"sqlite: {exc}") from exc
        try:
            yield _Cursor(cur)
        except sqlite3.Error as exc:
            _rollback(conn)
            raise StorageUnavailable(f"sqlite: {exc}") from exc
        except BaseException:
            _rollback(conn)
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(conn)
            raise StorageUnavailable(f"sqlite: {exc}") from exc

    def ping(self) -> None:
        with self.transaction() as cur:
            cur.execute("SELECT 1")


def _rollback(conn: sqlite3.Connection) -> None:
    # Nothing to roll back, or the connection is gone: the caller reports the first error.
    with contextlib.suppress(sqlite3.Error):
        conn.execute("ROLLBACK")
