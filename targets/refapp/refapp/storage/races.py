"""Counters, quote use and record updates in the real broken forms that only concurrency exposes.

Each store here is the correct store of its engine with one method rewritten the way
apps get it wrong: the decision is taken on a value read in one statement and written
back, a round trip later (ROUND_TRIP_DELAY), by another statement that no longer checks it.
A single client never notices; two requests that interleave do:

* ``COUNTER_INCREMENT=read-modify-write``: ``SELECT value``, then ``UPDATE SET value =
  <read> + by``. Two increments that read the same value both answer ``read + by``:
  one is lost. The correct form (``atomic``) is ``SET value = value + by`` in one statement.
* ``QUOTE_USE=check-then-set``: ``SELECT used``; if not used, ``UPDATE SET used = true``
  without a condition. Two uses that both read "not used" are both acknowledged. The
  correct form (``conditional``) is ``UPDATE ... WHERE NOT used RETURNING``.
* ``RECORD_UPDATE=read-modify-write``: read the record's version, then write the new data
  with ``version = <read> + 1`` unconditionally. Two concurrent updates both answer the same
  version and the first one's data is silently overwritten (a lost update). The correct
  form (``atomic``) is ``version = version + 1`` in the one UPDATE.

The SQL stores run on the mode's engine (Postgres, or a SQLite file); each statement is
its own transaction, so neither engine's locking closes the window. The memory stores
release their lock between the read and the write, as a handler that awaits between
them would.
"""

from __future__ import annotations

import time
from typing import Any

from refapp.errors import AlreadyUsed, Expired, NotFound
from refapp.models import Record, is_live
from refapp.storage.memory import MemoryCounterStore, MemoryQuoteStore, MemoryRecordStore
from refapp.storage.sql import SqlCounterStore, SqlEngine, SqlQuoteStore, SqlRecordStore, _json_param

# ---- SQL (Postgres, SQLite) ------------------------------------------------------


class ReadModifyWriteSqlCounterStore(SqlCounterStore):
    """Increment by reading the value, then writing ``read + by`` a round trip later."""

    def __init__(self, db: SqlEngine, round_trip: float) -> None:
        super().__init__(db)
        self.round_trip = round_trip

    def increment(self, name: str, by: int) -> int:
        value = self.get(name) + by
        time.sleep(self.round_trip)
        with self.db.transaction() as cur:
            cur.execute(
                "INSERT INTO counters (name, value) VALUES (%s, %s)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, value),
            )
        return value


class CheckThenSetSqlQuoteStore(SqlQuoteStore):
    """Use a quote by reading ``used``, then setting it a round trip later without a condition."""

    def __init__(self, db: SqlEngine, round_trip: float) -> None:
        super().__init__(db)
        self.round_trip = round_trip

    def use(self, quote_id: str, now: float) -> None:
        quote = self.find(quote_id)
        if quote.used:
            raise AlreadyUsed(quote_id)
        if not is_live(quote.expires_at, now):
            raise Expired(quote_id)
        time.sleep(self.round_trip)
        self.mark_used(quote_id)


class ReadModifyWriteSqlRecordStore(SqlRecordStore):
    """Update by reading the version, then writing ``version = read + 1`` a round trip later."""

    def __init__(self, db: SqlEngine, round_trip: float) -> None:
        super().__init__(db)
        self.round_trip = round_trip

    def update(self, record_id: str, data: dict[str, Any]) -> Record:
        version = self.get(record_id).version + 1
        time.sleep(self.round_trip)
        with self.db.transaction() as cur:
            cur.execute("UPDATE records SET data = %s, version = %s WHERE id = %s",
                        (_json_param(data), version, record_id))
            if cur.rowcount == 0:
                raise NotFound(record_id)  # deleted in between
        return Record(id=record_id, data=data, version=version)


# ---- process memory -----------------------------------------------------------------


class ReadModifyWriteMemoryCounterStore(MemoryCounterStore):
    """The memory counter, its lock released between the read and the write."""

    def __init__(self, round_trip: float) -> None:
        super().__init__()
        self.round_trip = round_trip

    def increment(self, name: str, by: int) -> int:
        value = self.get(name) + by
        time.sleep(self.round_trip)
        with self._lock:
            self._values[name] = value
        return value


class CheckThenSetMemoryQuoteStore(MemoryQuoteStore):
    """The memory quote store, its lock released between the check and the set."""

    def __init__(self, round_trip: float) -> None:
        super().__init__()
        self.round_trip = round_trip

    def use(self, quote_id: str, now: float) -> None:
        with self._lock:
            quote = self._quotes.get(quote_id)
        if quote is None:
            raise NotFound(quote_id)
        if quote.used:
            raise AlreadyUsed(quote_id)
        if not is_live(quote.expires_at, now):
            raise Expired(quote_id)
        time.sleep(self.round_trip)
        with self._lock:
            self._quotes[quote_id] = quote.as_used()


class ReadModifyWriteMemoryRecordStore(MemoryRecordStore):
    """The memory record store, its lock released between reading the version and writing."""

    def __init__(self, round_trip: float) -> None:
        super().__init__()
        self.round_trip = round_trip

    def update(self, record_id: str, data: dict[str, Any]) -> Record:
        version = self.get(record_id).version + 1
        time.sleep(self.round_trip)
        record = Record(id=record_id, data=data, version=version)
        with self._lock:
            if record_id not in self._records:
                raise NotFound(record_id)  # deleted in between
            self._records[record_id] = record
        return record
