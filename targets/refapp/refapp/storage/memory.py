"""Process-memory stores: the ``memory`` mode, and the fallback mode's spare map.

Everything lives in dicts of this process, guarded by one lock per store. It
is correct within one process and lost on any restart, and every replica has
its own copy: exactly the bug these modes exist to show.
"""

from __future__ import annotations

import threading
from typing import Any

from refapp.errors import AlreadyUsed, CoolingDown, Expired, NotFound
from refapp.models import Cooldown, LimitResult, Quote, Record, Session, StoredFile, is_live
from refapp.storage.ratelimit import fixed_window


class MemorySessionStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}

    def add(self, session: Session) -> None:
        with self._lock:
            self._sessions[session.token] = session

    def get(self, token: str, now: float) -> Session:
        with self._lock:
            session = self._sessions.get(token)
        if session is None or not is_live(session.expires_at, now):
            raise NotFound(token)
        return session

    def revoke(self, token: str, now: float) -> None:
        with self._lock:
            session = self._sessions.pop(token, None)
        if session is None or not is_live(session.expires_at, now):
            raise NotFound(token)


class MemoryFileStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, bytes] = {}

    def add(self, file: StoredFile) -> None:
        with self._lock:
            self._files[file.id] = file.content

    def get(self, file_id: str) -> bytes:
        with self._lock:
            content = self._files.get(file_id)
        if content is None:
            raise NotFound(file_id)
        return content


class MemoryQuoteStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._quotes: dict[str, Quote] = {}

    def add(self, quote: Quote) -> None:
        with self._lock:
            self._quotes[quote.id] = quote

    def get(self, quote_id: str, now: float) -> Quote:
        with self._lock:
            quote = self._quotes.get(quote_id)
        if quote is None:
            raise NotFound(quote_id)
        if not is_live(quote.expires_at, now):
            raise Expired(quote_id)
        return quote

    def use(self, quote_id: str, now: float) -> None:
        with self._lock:  # check and set under one lock: use-once within this process
            quote = self._quotes.get(quote_id)
            if quote is None:
                raise NotFound(quote_id)
            if quote.used:
                raise AlreadyUsed(quote_id)
            if not is_live(quote.expires_at, now):
                raise Expired(quote_id)
            self._quotes[quote_id] = quote.as_used()


class MemoryRateLimiter:
    """Fixed-window counts per process: each replica (and restart) starts afresh."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int], int] = {}

    def hit(self, key: str, now: float) -> LimitResult:
        window_id, retry_after = fixed_window(now, self.window)
        with self._lock:
            if len(self._counts) > 10_000:  # forget past windows so memory stays bounded
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= window_id}
            count = self._counts.get((key, window_id), 0) + 1
            self._counts[(key, window_id)] = count
        return LimitResult(key=key, count=count, limit=self.limit, retry_after=retry_after)


class MemoryCooldownStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[str, Cooldown] = {}

    def start(self, key: str, now: float, seconds: float) -> Cooldown:
        with self._lock:
            current = self._until.get(key)
            if current is not None and current.until > now:
                raise CoolingDown(until=current.until)
            cooldown = Cooldown(key=key, started_at=now, until=now + seconds)
            self._until[key] = cooldown
        return cooldown


class MemoryRecordStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, Record] = {}  # insertion ordered: creation order

    def add(self, record: Record) -> None:
        with self._lock:
            self._records[record.id] = record

    def get(self, record_id: str) -> Record:
        with self._lock:
            record = self._records.get(record_id)
        if record is None:
            raise NotFound(record_id)
        return record

    def update(self, record_id: str, data: dict[str, Any]) -> Record:
        with self._lock:
            current = self._records.get(record_id)
            if current is None:
                raise NotFound(record_id)
            record = Record(id=record_id, data=data, version=current.version + 1)
            self._records[record_id] = record
        return record

    def delete(self, record_id: str) -> None:
        with self._lock:
            if self._records.pop(record_id, None) is None:
                raise NotFound(record_id)

    def list(self) -> list[Record]:
        with self._lock:
            return list(self._records.values())


class MemoryCounterStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, int] = {}

    def increment(self, name: str, by: int) -> int:
        with self._lock:
            value = self._values.get(name, 0) + by
            self._values[name] = value
        return value

    def get(self, name: str) -> int:
        with self._lock:
            return self._values.get(name, 0)
