"""Plain values passed between routes and stores.

Identifiers and expiry times are made here, by the route, before any store is
called: wrapper stores (fallback, write-behind, caches) can then hand the very
same value to two places without inventing ids of their own.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any


def now() -> float:
    """Wall-clock time in unix seconds; every expiry compares against this."""
    return time.time()


def new_id() -> str:
    """A random uuid4 hex id for files, quotes and records."""
    return uuid.uuid4().hex


def is_live(expires_at: float | None, at: float) -> bool:
    """True while an expiry lies in the future; None means "never expires"."""
    return expires_at is None or expires_at > at


@dataclass(frozen=True)
class Session:
    token: str
    user: str
    expires_at: float | None

    @classmethod
    def new(cls, user: str, ttl: float) -> Session:
        return cls(token=secrets.token_urlsafe(32), user=user, expires_at=now() + ttl)


@dataclass(frozen=True)
class StoredFile:
    id: str
    sha256: str
    size: int
    content: bytes = field(repr=False)

    @classmethod
    def new(cls, content: bytes) -> StoredFile:
        return cls(id=new_id(), sha256=hashlib.sha256(content).hexdigest(), size=len(content), content=content)


@dataclass(frozen=True)
class Quote:
    id: str
    amount: float
    expires_at: float | None
    used: bool = False

    @classmethod
    def new(cls, amount: float, ttl: float) -> Quote:
        return cls(id=new_id(), amount=amount, expires_at=now() + ttl)

    def as_used(self) -> Quote:
        return replace(self, used=True)


@dataclass(frozen=True)
class Cooldown:
    key: str
    started_at: float
    until: float


@dataclass(frozen=True)
class Record:
    id: str
    data: dict[str, Any]
    version: int

    @classmethod
    def new(cls, data: dict[str, Any]) -> Record:
        return cls(id=new_id(), data=data, version=1)


@dataclass(frozen=True)
class LimitResult:
    """Outcome of one hit on a fixed-window rate limit."""

    key: str
    count: int
    limit: int
    retry_after: int

    @property
    def allowed(self) -> bool:
        return self.count <= self.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)
