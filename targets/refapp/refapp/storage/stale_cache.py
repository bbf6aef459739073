"""The stale-cache bug: a per-replica read cache of sessions.

Logins and successful lookups fill a dict of this process; whoami answers
from it without asking the database. Logout deletes the database row and
this process's entry only, so a replica that cached the token keeps
accepting it until it expires. (Expiry is still checked on cached entries.)
"""

from __future__ import annotations

import threading

from refapp.errors import NotFound
from refapp.models import Session, is_live
from refapp.storage.base import SessionStore


class CachedSessionStore:
    def __init__(self, inner: SessionStore) -> None:
        self.inner = inner
        self._lock = threading.Lock()
        self._cache: dict[str, Session] = {}

    def add(self, session: Session) -> None:
        self.inner.add(session)
        with self._lock:
            self._cache[session.token] = session

    def get(self, token: str, now: float) -> Session:
        with self._lock:
            cached = self._cache.get(token)
        if cached is not None:
            if is_live(cached.expires_at, now):
                return cached  # the bug: never re-checked against the database
            with self._lock:
                self._cache.pop(token, None)
            raise NotFound(token)
        session = self.inner.get(token, now)
        with self._lock:
            self._cache[token] = session
        return session

    def revoke(self, token: str, now: float) -> None:
        try:
            self.inner.revoke(token, now)
        finally:
            with self._lock:
                self._cache.pop(token, None)  # only this replica forgets it
