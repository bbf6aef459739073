"""The write-behind bug: acknowledge first, write to Postgres later.

Writes go into an in-process buffer (a queue of pending database writes plus
an overlay that reads consult before the database) and are answered at once.
A background thread flushes the queue every FLUSH_INTERVAL seconds, and the
app flushes everything on graceful shutdown (SIGTERM -> lifespan shutdown).
So a graceful restart loses nothing, while SIGKILL loses every write of the
last few seconds even though each was acknowledged.

Overlay entries are removed only after their write has committed, and only if
no newer write replaced them meanwhile, so reads never miss an acknowledged
write while the process lives.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from refapp.errors import AlreadyUsed, CoolingDown, Expired, NotFound, StorageUnavailable
from refapp.models import Cooldown, Quote, Record, Session, StoredFile, is_live
from refapp.storage.sql import (
    SqlCooldownStore,
    SqlCounterStore,
    SqlFileStore,
    SqlQuoteStore,
    SqlRecordStore,
    SqlSessionStore,
)

log = logging.getLogger("refapp.write_behind")

Pending = Callable[[], None]
"""Applies one buffered write to the database, then clears its overlay entry.

Raises StorageUnavailable (and leaves the overlay alone) if the write failed.
"""


class _Tombstone:
    """Overlay marker for a buffered delete (each instance is distinct)."""


class WriteBuffer:
    """The ordered queue of writes not yet in the database."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[Pending] = []
        self._flush_lock = threading.Lock()

    def add(self, write: Pending) -> None:
        with self._lock:
            self._pending.append(write)

    def __len__(self) -> int:
        with self._lock:
            return len(self._pending)

    def flush(self) -> int:
        """Apply pending writes in order; on failure keep the rest for next time."""
        with self._flush_lock:
            with self._lock:
                batch, self._pending = self._pending, []
            for done, write in enumerate(batch):
                try:
                    write()
                except StorageUnavailable as exc:
                    with self._lock:
                        self._pending[:0] = batch[done:]
                    log.warning("flush stopped after %d of %d writes: %s", done, len(batch), exc)
                    return done
            return len(batch)


class Flusher:
    """Flushes a WriteBuffer every interval on a daemon thread, and once more at stop."""

    def __init__(self, buffer: WriteBuffer, interval: float, final_attempts: int = 3) -> None:
        self.buffer = buffer
        self.interval = interval
        self.final_attempts = final_attempts
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="refapp-flusher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.buffer.flush()
            except Exception:  # keep flushing later whatever one batch did
                log.exception("flush failed")

    def stop(self) -> None:
        """Graceful shutdown: stop the timer, then flush everything still buffered."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        flushed = 0
        for attempt in range(self.final_attempts):
            flushed += self.buffer.flush()
            if not len(self.buffer):
                log.info("flushed %d buffered writes at shutdown", flushed)
                return
            log.warning("final flush incomplete (attempt %d), retrying", attempt + 1)
            time.sleep(0.5)
        log.error("shutting down with %d buffered writes not flushed", len(self.buffer))


class _Overlay:
    """Buffered values by key; an entry is dropped once its own write committed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        with self.lock:
            return self.items.get(key)

    def set(self, key: str, value: Any) -> None:
        with self.lock:
            self.items[key] = value

    def settle(self, key: str, value: Any) -> None:
        with self.lock:
            if self.items.get(key) is value:
                del self.items[key]

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return dict(self.items)


def _pending(apply: Callable[[], None], overlay: _Overlay, key: str, value: Any) -> Pending:
    def write() -> None:
        apply()
        overlay.settle(key, value)

    return write


class WriteBehindSessionStore:
    def __init__(self, db: SqlSessionStore, buffer: WriteBuffer) -> None:
        self.db, self.buffer, self.overlay = db, buffer, _Overlay()

    def add(self, session: Session) -> None:
        self.overlay.set(session.token, session)
        self.buffer.add(_pending(lambda: self.db.add(session), self.overlay, session.token, session))

    def get(self, token: str, now: float) -> Session:
        buffered = self.overlay.get(token)
        if isinstance(buffered, _Tombstone):
            raise NotFound(token)
        if isinstance(buffered, Session):
            if not is_live(buffered.expires_at, now):
                raise NotFound(token)
            return buffered
        return self.db.get(token, now)

    def revoke(self, token: str, now: float) -> None:
        self.get(token, now)
        tombstone = _Tombstone()
        self.overlay.set(token, tombstone)
        self.buffer.add(_pending(lambda: self.db.discard(token), self.overlay, token, tombstone))


class WriteBehindFileStore:
    def __init__(self, db: SqlFileStore, buffer: WriteBuffer) -> None:
        self.db, self.buffer, self.overlay = db, buffer, _Overlay()

    def add(self, file: StoredFile) -> None:
        self.overlay.set(file.id, file)
        self.buffer.add(_pending(lambda: self.db.add(file), self.overlay, file.id, file))

    def get(self, file_id: str) -> bytes:
        buffered = self.overlay.get(file_id)
        if isinstance(buffered, StoredFile):
            return buffered.content
        return self.db.get(file_id)


class WriteBehindQuoteStore:
    def __init__(self, db: SqlQuoteStore, buffer: WriteBuffer) -> None:
        self.db, self.buffer, self.overlay = db, buffer, _Overlay()
        self._use_lock = threading.Lock()

    def add(self, quote: Quote) -> None:
        self.overlay.set(quote.id, quote)
        self.buffer.add(_pending(lambda: self.db.add(quote), self.overlay, quote.id, quote))

    def _current(self, quote_id: str) -> Quote:
        buffered = self.overlay.get(quote_id)
        return buffered if isinstance(buffered, Quote) else self.db.find(quote_id)

    def get(self, quote_id: str, now: float) -> Quote:
        quote = self._current(quote_id)
        if not is_live(quote.expires_at, now):
            raise Expired(quote_id)
        return quote

    def use(self, quote_id: str, now: float) -> None:
        with self._use_lock:  # once per process; across replicas only after a flush
            quote = self._current(quote_id)
            if quote.used:
                raise AlreadyUsed(quote_id)
            if not is_live(quote.expires_at, now):
                raise Expired(quote_id)
            used = quote.as_used()
            self.overlay.set(quote_id, used)
        self.buffer.add(_pending(lambda: self.db.mark_used(quote_id), self.overlay, quote_id, used))


class WriteBehindCooldownStore:
    def __init__(self, db: SqlCooldownStore, buffer: WriteBuffer) -> None:
        self.db, self.buffer, self.overlay = db, buffer, _Overlay()
        self._start_lock = threading.Lock()

    def start(self, key: str, now: float, seconds: float) -> Cooldown:
        with self._start_lock:
            buffered = self.overlay.get(key)
            until = buffered.until if isinstance(buffered, Cooldown) else self.db.until(key)
            if until is not None and until > now:
                raise CoolingDown(until=until)
            cooldown = Cooldown(key=key, started_at=now, until=now + seconds)
            self.overlay.set(key, cooldown)
        self.buffer.add(_pending(lambda: self.db.put(cooldown), self.overlay, key, cooldown))
        return cooldown


class WriteBehindRecordStore:
    def __init__(self, db: SqlRecordStore, buffer: WriteBuffer) -> None:
        self.db, self.buffer, self.overlay = db, buffer, _Overlay()
        self._write_lock = threading.Lock()

    def add(self, record: Record) -> None:
        self.overlay.set(record.id, record)
        self.buffer.add(_pending(lambda: self.db.put(record), self.overlay, record.id, record))

    def get(self, record_id: str) -> Record:
        buffered = self.overlay.get(record_id)
        if isinstance(buffered, _Tombstone):
            raise NotFound(record_id)
        if isinstance(buffered, Record):
            return buffered
        return self.db.get(record_id)

    def update(self, record_id: str, data: dict[str, Any]) -> Record:
        with self._write_lock:  # version+1 must see the previous buffered version
            current = self.get(record_id)
            record = Record(id=record_id, data=data, version=current.version + 1)
            self.overlay.set(record_id, record)
        self.buffer.add(_pending(lambda: self.db.put(record), self.overlay, record_id, record))
        return record

    def delete(self, record_id: str) -> None:
        with self._write_lock:
            self.get(record_id)
            tombstone = _Tombstone()
            self.overlay.set(record_id, tombstone)
        self.buffer.add(_pending(lambda: self.db.discard(record_id), self.overlay, record_id, tombstone))

    def list(self) -> list[Record]:
        # Overlay first: an entry leaves it only after the database has it.
        buffered = self.overlay.snapshot()
        merged = {r.id: r for r in self.db.list()}
        for record_id, value in buffered.items():
            if isinstance(value, _Tombstone):
                merged.pop(record_id, None)
            else:
                merged[record_id] = value
        return list(merged.values())


class WriteBehindCounterStore:
    """Buffered increments are a per-name delta on top of the database value."""

    def __init__(self, db: SqlCounterStore, buffer: WriteBuffer) -> None:
        self.db, self.buffer = db, buffer
        # Held across "database value + delta" so a flush is never counted twice.
        self._lock = threading.Lock()
        self._delta: dict[str, int] = {}

    def increment(self, name: str, by: int) -> int:
        with self._lock:
            base = self.db.get(name)  # fails (503) before anything is buffered
            delta = self._delta.get(name, 0) + by
            self._delta[name] = delta
        self.buffer.add(lambda: self._apply(name, by))
        return base + delta

    def _apply(self, name: str, by: int) -> None:
        with self._lock:
            self.db.increment(name, by)
            remaining = self._delta.get(name, 0) - by
            if remaining:
                self._delta[name] = remaining
            else:
                self._delta.pop(name, None)

    def get(self, name: str) -> int:
        with self._lock:
            return self.db.get(name) + self._delta.get(name, 0)
