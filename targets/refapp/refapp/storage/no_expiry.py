"""The no-expiry bug: session and quote expiry kept in in-process timers.

Rows are stored without an expiry (NULL, which the SQL stores read as "never
expires"); a timer of this process deletes the session, or stamps the quote
expired, when its TTL elapses. A restart drops every pending timer, so what
should have expired meanwhile is accepted forever.

One scheduler thread with a heap stands in for one ``threading.Timer`` per
item: same behaviour, without a thread per login.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from refapp.errors import StorageUnavailable
from refapp.models import Quote, Session
from refapp.storage.sql import SqlQuoteStore, SqlSessionStore

log = logging.getLogger("refapp.no_expiry")


class ExpiryScheduler:
    """Runs callbacks at given unix times on one daemon thread; forgets them on exit."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="refapp-expiry", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()

    def at(self, when: float, callback: Callable[[], None]) -> None:
        with self._cond:
            heapq.heappush(self._heap, (when, next(self._seq), callback))
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.time()):
                    delay = self._heap[0][0] - time.time() if self._heap else None
                    self._cond.wait(delay)
                if self._stopped:
                    return
                _, _, callback = heapq.heappop(self._heap)
            try:
                callback()
            except Exception:  # a failed expiry is simply lost: part of the bug
                log.exception("expiry timer failed")


class TimerSessionStore:
    def __init__(self, inner: SqlSessionStore, scheduler: ExpiryScheduler) -> None:
        self.inner = inner
        self.scheduler = scheduler
        self._lock = threading.Lock()
        self._expires: dict[str, float] = {}  # only for reporting expires_at

    def add(self, session: Session) -> None:
        self.inner.add(replace(session, expires_at=None))
        if session.expires_at is not None:
            with self._lock:
                self._expires[session.token] = session.expires_at
            self.scheduler.at(session.expires_at, lambda: self._expire(session.token))

    def _expire(self, token: str) -> None:
        with self._lock:
            self._expires.pop(token, None)
        try:
            self.inner.discard(token)
        except StorageUnavailable as exc:
            log.warning("could not expire session: %s", exc)

    def get(self, token: str, now: float) -> Session:
        session = self.inner.get(token, now)
        with self._lock:
            return replace(session, expires_at=self._expires.get(token))

    def revoke(self, token: str, now: float) -> None:
        self.inner.revoke(token, now)
        with self._lock:
            self._expires.pop(token, None)


class TimerQuoteStore:
    def __init__(self, inner: SqlQuoteStore, scheduler: ExpiryScheduler) -> None:
        self.inner = inner
        self.scheduler = scheduler
        self._lock = threading.Lock()
        self._expires: dict[str, float] = {}

    def add(self, quote: Quote) -> None:
        self.inner.add(replace(quote, expires_at=None))
        if quote.expires_at is not None:
            expires_at = quote.expires_at
            with self._lock:
                self._expires[quote.id] = expires_at
            self.scheduler.at(expires_at, lambda: self._expire(quote.id, expires_at))

    def _expire(self, quote_id: str, expires_at: float) -> None:
        try:
            self.inner.set_expiry(quote_id, expires_at)
        except StorageUnavailable as exc:
            log.warning("could not expire quote: %s", exc)
            return
        with self._lock:
            self._expires.pop(quote_id, None)

    def get(self, quote_id: str, now: float) -> Quote:
        quote = self.inner.get(quote_id, now)
        if quote.expires_at is None:
            with self._lock:
                quote = replace(quote, expires_at=self._expires.get(quote_id))
        return quote

    def use(self, quote_id: str, now: float) -> None:
        self.inner.use(quote_id, now)
