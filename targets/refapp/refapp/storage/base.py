"""The store interfaces every storage mode implements, and the Backend bundle.

Routes only know these protocols; ``refapp.modes`` decides which concrete
store (or bug wrapper) stands behind each one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from refapp.models import Cooldown, LimitResult, Quote, Record, Session, StoredFile


class SessionStore(Protocol):
    def add(self, session: Session) -> Session | None:
        """Persist a new session; None, or the session as issued when the store makes its
        own token (client-side sessions: the token is the signed session)."""

    def get(self, token: str, now: float) -> Session:
        """Return the live session; raise NotFound if unknown, revoked or expired."""

    def revoke(self, token: str, now: float) -> None:
        """Revoke a live session; raise NotFound if it is not one."""


class FileStore(Protocol):
    def add(self, file: StoredFile) -> None:
        """Persist an uploaded file."""

    def get(self, file_id: str) -> bytes:
        """Return the content; raise NotFound if unknown."""


class QuoteStore(Protocol):
    def add(self, quote: Quote) -> None:
        """Persist a new quote."""

    def get(self, quote_id: str, now: float) -> Quote:
        """Return the quote; raise NotFound, or Expired once it has expired."""

    def use(self, quote_id: str, now: float) -> None:
        """Mark used exactly once; raise NotFound, AlreadyUsed or Expired."""


class RateLimiter(Protocol):
    def hit(self, key: str, now: float) -> LimitResult:
        """Count one request for ``key`` in the current fixed window."""


class CooldownStore(Protocol):
    def start(self, key: str, now: float, seconds: float) -> Cooldown:
        """Start a cooldown if none is running; raise CoolingDown otherwise."""


class RecordStore(Protocol):
    def add(self, record: Record) -> None: ...

    def get(self, record_id: str) -> Record:
        """Return the record; raise NotFound."""

    def update(self, record_id: str, data: dict[str, Any]) -> Record:
        """Replace data and bump version; raise NotFound."""

    def delete(self, record_id: str) -> None:
        """Delete; raise NotFound."""

    def list(self) -> list[Record]: ...


class CounterStore(Protocol):
    def increment(self, name: str, by: int) -> int:
        """Add ``by`` and return the new value."""

    def get(self, name: str) -> int:
        """Return the value, 0 if never incremented."""


Check = Callable[[], None]
"""A readiness probe: returns when the dependency answers, raises otherwise."""


@dataclass
class Backend:
    """Everything one storage mode provides to the app."""

    sessions: SessionStore
    files: FileStore
    quotes: QuoteStore
    limiter: RateLimiter
    cooldowns: CooldownStore
    records: RecordStore
    counters: CounterStore
    checks: dict[str, Check] = field(default_factory=dict)
    stores: str = "process memory"
    """Where the state lives, for the startup log line and /stats."""
    on_start: list[Callable[[], None]] = field(default_factory=list)
    on_stop: list[Callable[[], None]] = field(default_factory=list)

    def start(self) -> None:
        """Run start hooks in order (schema creation, background threads)."""
        for hook in self.on_start:
            hook()

    def stop(self) -> None:
        """Run stop hooks in list order (modes put "flush" before "close pool")."""
        for hook in self.on_stop:
            hook()
