"""Sessions kept in Redis with a TTL (the volatile-redis mode).

Correct as code: the key expires with the session and revocation is a DEL.
The bug is where it lives: the deployment runs this Redis without
persistence, so a Redis restart silently logs every user out.
"""

from __future__ import annotations

import json

import redis

from refapp import models
from refapp.errors import NotFound
from refapp.models import Session, is_live
from refapp.storage.redis_client import redis_errors


def _key(token: str) -> str:
    return f"session:{token}"


class RedisSessionStore:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def add(self, session: Session) -> None:
        assert session.expires_at is not None  # routes always give sessions an expiry
        ttl_ms = max(1, int((session.expires_at - models.now()) * 1000))
        value = json.dumps({"user": session.user, "expires_at": session.expires_at})
        with redis_errors():
            self.client.set(_key(session.token), value, px=ttl_ms)

    def get(self, token: str, now: float) -> Session:
        with redis_errors():
            raw = self.client.get(_key(token))
        if raw is None:
            raise NotFound(token)
        stored = json.loads(raw)
        if not is_live(stored["expires_at"], now):  # Redis expiry is ms-late at worst; be exact
            raise NotFound(token)
        return Session(token=token, user=stored["user"], expires_at=stored["expires_at"])

    def revoke(self, token: str, now: float) -> None:
        self.get(token, now)
        with redis_errors():
            deleted = self.client.delete(_key(token))
        if not deleted:
            raise NotFound(token)
