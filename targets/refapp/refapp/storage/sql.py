"""Stores written once in SQL, run on Postgres (durable) or SQLite (local-disk).

Both engines take the same statements (``%s`` placeholders; the SQLite engine
rewrites them), so the local-disk mode differs from durable only in WHERE the
database lives, which is exactly its bug. Every check-and-set is one statement
(``UPDATE ... WHERE NOT used ... RETURNING``, ``INSERT ... ON CONFLICT ... WHERE``)
so it stays atomic when several replicas share one Postgres.
"""

from __future__ import annotations

import json
import time
from contextlib import AbstractContextManager
from typing import Any, Protocol

from refapp.errors import AlreadyUsed, CoolingDown, Expired, NotFound
from refapp.models import Cooldown, Quote, Record, Session, StoredFile, is_live

LIVE = "(expires_at IS NULL OR expires_at > %s)"
"""SQL test for "not expired at the given time"; NULL expiry never expires."""


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: str, params: tuple[Any, ...] = ...) -> Any: ...

    def fetchone(self) -> tuple[Any, ...] | None: ...

    def fetchall(self) -> list[tuple[Any, ...]]: ...


class SqlEngine(Protocol):
    def transaction(self) -> AbstractContextManager[Cursor]:
        """One transaction: commit on success, roll back on any exception.

        Driver errors leave it as StorageUnavailable; domain errors raised in
        the block pass through unchanged.
        """


def _json_param(data: dict[str, Any]) -> str:
    # Sent as text: Postgres casts it to jsonb, SQLite keeps the text.
    return json.dumps(data, separators=(",", ":"))


def _json_value(value: Any) -> dict[str, Any]:
    # psycopg decodes jsonb already; SQLite hands back the text.
    decoded: dict[str, Any] = json.loads(value) if isinstance(value, (str, bytes)) else value
    return decoded


class SqlSessionStore:
    """Sessions as rows; expiry is a column checked in every read."""

    def __init__(self, db: SqlEngine) -> None:
        self.db = db

    def add(self, session: Session) -> None:
        # DO NOTHING keeps replays (write-behind retries) idempotent.
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT INTO sessions (token, username, expires_at) VALUES (%s, %s, %s)"
                " ON CONFLICT (token) DO NOTHING",
                (session.token, session.user, session.expires_at),
            )

    def get(self, token: str, now: float) -> Session:
        with self.db.transaction() as cur:
            cur.execute(f"SELECT username, expires_at FROM sessions WHERE token = %s AND {LIVE}", (token, now))
            row = cur.fetchone()
        if row is None:
            raise NotFound(token)
        return Session(token=token, user=row[0], expires_at=row[1])

    def revoke(self, token: str, now: float) -> None:
        with self.db.transaction() as cur:
            cur.execute(f"DELETE FROM sessions WHERE token = %s AND {LIVE}", (token, now))
            if cur.rowcount == 0:
                raise NotFound(token)

    def discard(self, token: str) -> None:
        """Delete whatever is there (buffered revocations, expiry timers)."""
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM sessions WHERE token = %s", (token,))


class SqlFileStore:
    """File content in a bytea column, so every replica sees every upload."""

    def __init__(self, db: SqlEngine) -> None:
        self.db = db

    def add(self, file: StoredFile) -> None:
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT INTO files (id, sha256, size, content) VALUES (%s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
                (file.id, file.sha256, file.size, file.content),
            )

    def get(self, file_id: str) -> bytes:
        with self.db.transaction() as cur:
            cur.execute("SELECT content FROM files WHERE id = %s", (file_id,))
            row = cur.fetchone()
        if row is None:
            raise NotFound(file_id)
        return bytes(row[0])


class SqlQuoteStore:
    """Quotes with their expiry in a column; use-once is one conditional UPDATE."""

    def __init__(self, db: SqlEngine) -> None:
        self.db = db

    def add(self, quote: Quote) -> None:
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT INTO quotes (id, amount, expires_at, used) VALUES (%s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
                (quote.id, quote.amount, quote.expires_at, quote.used),
            )

    def find(self, quote_id: str) -> Quote:
        """The stored row whatever its state; raise NotFound."""
        with self.db.transaction() as cur:
            cur.execute("SELECT amount, expires_at, used FROM quotes WHERE id = %s", (quote_id,))
            row = cur.fetchone()
        if row is None:
            raise NotFound(quote_id)
        return Quote(id=quote_id, amount=float(row[0]), expires_at=row[1], used=bool(row[2]))

    def get(self, quote_id: str, now: float) -> Quote:
        quote = self.find(quote_id)
        if not is_live(quote.expires_at, now):
            raise Expired(quote_id)
        return quote

    def use(self, quote_id: str, now: float) -> None:
        with self.db.transaction() as cur:
            cur.execute(f"UPDATE quotes SET used = TRUE WHERE id = %s AND NOT used AND {LIVE} RETURNING id", (quote_id, now))
            if cur.fetchone() is not None:
                return
        # Lost the race or not usable: say why, from the row as it is now.
        quote = self.find(quote_id)
        if quote.used:
            raise AlreadyUsed(quote_id)
        raise Expired(quote_id)

    def mark_used(self, quote_id: str) -> None:
        """Unconditional use, for replaying a write-behind buffer."""
        with self.db.transaction() as cur:
            cur.execute("UPDATE quotes SET used = TRUE WHERE id = %s", (quote_id,))

    def set_expiry(self, quote_id: str, expires_at: float) -> None:
        """Mark a quote expired at ``expires_at`` (the no-expiry mode's timers)."""
        with self.db.transaction() as cur:
            cur.execute("UPDATE quotes SET expires_at = %s WHERE id = %s", (expires_at, quote_id))


class SqlCooldownStore:
    """One row per key; starting is an upsert that only wins once ``until`` passed."""

    def __init__(self, db: SqlEngine) -> None:
        self.db = db

    def start(self, key: str, now: float, seconds: float) -> Cooldown:
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT INTO cooldowns (key_name, started_at, until_at) VALUES (%s, %s, %s)"
                " ON CONFLICT (key_name) DO UPDATE SET started_at = excluded.started_at, until_at = excluded.until_at"
                " WHERE cooldowns.until_at <= excluded.started_at"
                " RETURNING started_at, until_at",
                (key, now, now + seconds),
            )
            row = cur.fetchone()
            if row is not None:
                return Cooldown(key=key, started_at=row[0], until=row[1])
            cur.execute("SELECT until_at FROM cooldowns WHERE key_name = %s", (key,))
            current = cur.fetchone()
        raise CoolingDown(until=current[0] if current else now + seconds)

    def until(self, key: str) -> float | None:
        """End of the stored cooldown, None if the key never cooled down."""
        with self.db.transaction() as cur:
            cur.execute("SELECT until_at FROM cooldowns WHERE key_name = %s", (key,))
            row = cur.fetchone()
        return None if row is None else row[0]

    def put(self, cooldown: Cooldown) -> None:
        """Unconditional write, for replaying a write-behind buffer."""
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT INTO cooldowns (key_name, started_at, until_at) VALUES (%s, %s, %s)"
                " ON CONFLICT (key_name) DO UPDATE SET started_at = excluded.started_at, until_at = excluded.until_at",
                (cooldown.key, cooldown.started_at, cooldown.until),
            )


class SqlRecordStore:
    """Records as JSON rows with a version bumped by each update."""

    def __init__(self, db: SqlEngine) -> None:
        self.db = db

    def add(self, record: Record) -> None:
        self.put(record)

    def put(self, record: Record) -> None:
        """Write the record's full state (insert or overwrite): replay-safe."""
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT INTO records (id, data, version, created_at) VALUES (%s, %s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET data = excluded.data, version = excluded.version",
                (record.id, _json_param(record.data), record.version, time.time()),
            )

    def get(self, record_id: str) -> Record:
        with self.db.transaction() as cur:
            cur.execute("SELECT data, version FROM records WHERE id = %s", (record_id,))
            row = cur.fetchone()
        if row is None:
            raise NotFound(record_id)
        return Record(id=record_id, data=_json_value(row[0]), version=int(row[1]))

    def update(self, record_id: str, data: dict[str, Any]) -> Record:
        with self.db.transaction() as cur:
            cur.execute(
                "UPDATE records SET data = %s, version = version + 1 WHERE id = %s RETURNING version",
                (_json_param(data), record_id),
            )
            row = cur.fetchone()
        if row is None:
            raise NotFound(record_id)
        return Record(id=record_id, data=data, version=int(row[0]))

    def delete(self, record_id: str) -> None:
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM records WHERE id = %s", (record_id,))
            if cur.rowcount == 0:
                raise NotFound(record_id)

    def discard(self, record_id: str) -> None:
        """Delete whatever is there, for replaying a write-behind buffer."""
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM records WHERE id = %s", (record_id,))

    def list(self) -> list[Record]:
        with self.db.transaction() as cur:
            cur.execute("SELECT id, data, version FROM records ORDER BY created_at, id")
            rows = cur.fetchall()
        return [Record(id=r[0], data=_json_value(r[1]), version=int(r[2])) for r in rows]


class SqlCounterStore:
    """Counters incremented by one atomic upsert, never read-modify-write."""

    def __init__(self, db: SqlEngine) -> None:
        self.db = db

    def increment(self, name: str, by: int) -> int:
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT INTO counters (name, value) VALUES (%s, %s)"
                " ON CONFLICT (name) DO UPDATE SET value = counters.value + excluded.value RETURNING value",
                (name, by),
            )
            row = cur.fetchone()
        assert row is not None  # an upsert with RETURNING always yields the row
        return int(row[0])

    def get(self, name: str) -> int:
        with self.db.transaction() as cur:
            cur.execute("SELECT value FROM counters WHERE name = %s", (name,))
            row = cur.fetchone()
        return 0 if row is None else int(row[0])
