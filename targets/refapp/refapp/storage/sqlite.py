"""The SQLite engine of the local-disk mode: a file under DATA_DIR.

The file lives in the container's writable layer, so it is per replica and
gone when the container is recreated: that is the bug this mode models. The
engine itself is careful (WAL, synchronous=FULL, IMMEDIATE transactions), so
a plain restart of the same container keeps everything.
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
    def transaction(self) -> Iterator[_Cursor]:
        try:
            conn = self._connection()
            cur = conn.cursor()
            cur.execute("BEGIN IMMEDIATE")  # take the write lock up front: no upgrade deadlocks
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
