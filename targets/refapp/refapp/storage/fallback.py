"""The fallback bug: Postgres/Redis first, process memory when they fail.

This is the "resilient" pattern found in the field: catch the storage error,
log it, keep the write in a local map and answer success anyway. Reads try
the real store first, then the map, so everything looks fine while the
process lives. Writes acknowledged during an outage exist only in this
process and vanish at its next restart (and other replicas never see them).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from refapp.errors import NotFound, StorageUnavailable
from refapp.models import Cooldown, LimitResult, Quote, Record, Session, StoredFile
from refapp.storage.base import CooldownStore, CounterStore, FileStore, QuoteStore, RateLimiter, RecordStore, SessionStore

log = logging.getLogger("refapp.fallback")

T = TypeVar("T")


def _write(primary: Callable[[], T], spare: Callable[[], T]) -> T:
    """Write to the real store; on an outage, write to memory and carry on."""
    try:
        return primary()
    except StorageUnavailable as exc:
        log.warning("storage error, keeping the write in memory: %s", exc)
        return spare()


def _read(primary: Callable[[], T], spare: Callable[[], T]) -> T:
    """Read the real store; if it fails or lacks the item, look in memory."""
    try:
        return primary()
    except (StorageUnavailable, NotFound):
        return spare()


class FallbackSessionStore:
    def __init__(self, primary: SessionStore, spare: SessionStore) -> None:
        self.primary, self.spare = primary, spare

    def add(self, session: Session) -> None:
        _write(lambda: self.primary.add(session), lambda: self.spare.add(session))

    def get(self, token: str, now: float) -> Session:
        return _read(lambda: self.primary.get(token, now), lambda: self.spare.get(token, now))

    def revoke(self, token: str, now: float) -> None:
        _read(lambda: self.primary.revoke(token, now), lambda: self.spare.revoke(token, now))


class FallbackFileStore:
    def __init__(self, primary: FileStore, spare: FileStore) -> None:
        self.primary, self.spare = primary, spare

    def add(self, file: StoredFile) -> None:
        _write(lambda: self.primary.add(file), lambda: self.spare.add(file))

    def get(self, file_id: str) -> bytes:
        return _read(lambda: self.primary.get(file_id), lambda: self.spare.get(file_id))


class FallbackQuoteStore:
    def __init__(self, primary: QuoteStore, spare: QuoteStore) -> None:
        self.primary, self.spare = primary, spare

    def add(self, quote: Quote) -> None:
        _write(lambda: self.primary.add(quote), lambda: self.spare.add(quote))

    def get(self, quote_id: str, now: float) -> Quote:
        return _read(lambda: self.primary.get(quote_id, now), lambda: self.spare.get(quote_id, now))

    def use(self, quote_id: str, now: float) -> None:
        _read(lambda: self.primary.use(quote_id, now), lambda: self.spare.use(quote_id, now))


class FallbackRateLimiter:
    def __init__(self, primary: RateLimiter, spare: RateLimiter) -> None:
        self.primary, self.spare = primary, spare

    def hit(self, key: str, now: float) -> LimitResult:
        return _write(lambda: self.primary.hit(key, now), lambda: self.spare.hit(key, now))


class FallbackCooldownStore:
    def __init__(self, primary: CooldownStore, spare: CooldownStore) -> None:
        self.primary, self.spare = primary, spare

    def start(self, key: str, now: float, seconds: float) -> Cooldown:
        return _write(lambda: self.primary.start(key, now, seconds), lambda: self.spare.start(key, now, seconds))


class FallbackRecordStore:
    def __init__(self, primary: RecordStore, spare: RecordStore) -> None:
        self.primary, self.spare = primary, spare

    def add(self, record: Record) -> None:
        _write(lambda: self.primary.add(record), lambda: self.spare.add(record))

    def get(self, record_id: str) -> Record:
        return _read(lambda: self.primary.get(record_id), lambda: self.spare.get(record_id))

    def update(self, record_id: str, data: dict[str, Any]) -> Record:
        return _read(lambda: self.primary.update(record_id, data), lambda: self.spare.update(record_id, data))

    def delete(self, record_id: str) -> None:
        _read(lambda: self.primary.delete(record_id), lambda: self.spare.delete(record_id))

    def list(self) -> list[Record]:
        try:
            stored = self.primary.list()
        except StorageUnavailable as exc:
            log.warning("storage error, listing memory only: %s", exc)
            stored = []
        seen = {r.id for r in stored}
        return stored + [r for r in self.spare.list() if r.id not in seen]


class FallbackCounterStore:
    """Increments made during an outage are kept as a per-process delta."""

    def __init__(self, primary: CounterStore, spare: CounterStore) -> None:
        self.primary, self.spare = primary, spare

    def increment(self, name: str, by: int) -> int:
        try:
            return self.primary.increment(name, by) + self.spare.get(name)
        except StorageUnavailable as exc:
            log.warning("storage error, counting in memory: %s", exc)
            return self.spare.increment(name, by)

    def get(self, name: str) -> int:
        return _read(lambda: self.primary.get(name) + self.spare.get(name), lambda: self.spare.get(name))
