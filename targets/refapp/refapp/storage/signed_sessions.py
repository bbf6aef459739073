"""Client-side sessions: the token itself carries the session, signed by the app (SESSIONS=client-side).

This is how Flask's default session and Starlette's ``SessionMiddleware`` work: the
session's content travels in a cookie signed with the app's secret key (through
itsdangerous, an HMAC), and the server keeps nothing. Here the token is
``base64url(JSON {user, expires_at, nonce}) "." base64url(HMAC-SHA256(secret, payload))``.

What follows from the model, and what the harness must tell apart:

- with a fixed secret (SESSION_SECRET) every replica accepts every token, and a token
  survives any restart, redeploy or dependency outage: no state to lose;
- a logout cannot revoke a copied token (there is nothing to delete): a finding of the
  model, not lost state;
- with a secret drawn anew at every start (SESSION_SECRET unset: the
  ``SECRET_KEY = os.environ.get(...) or os.urandom(32)`` fallback found in real apps),
  every session ends at every restart and no other replica accepts it: lost sessions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import replace

from refapp.errors import NotFound
from refapp.models import Session, is_live


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SignedSessionStore:
    """Issues and verifies signed tokens; stores nothing, so revocation is impossible by design."""

    def __init__(self, secret: str | None) -> None:
        self.random_secret = secret is None
        # Never logged or returned: the secret signs every session.
        self._key = (secret.encode() if secret is not None else secrets.token_bytes(32))

    def _sign(self, payload: bytes) -> str:
        return _b64(hmac.new(self._key, payload, hashlib.sha256).digest())

    def add(self, session: Session) -> Session:
        """The session as issued: its token is the signed session itself."""
        payload = json.dumps({"user": session.user, "expires_at": session.expires_at,
                              "nonce": secrets.token_urlsafe(9)}, separators=(",", ":")).encode()
        return replace(session, token=f"{_b64(payload)}.{self._sign(payload)}")

    def get(self, token: str, now: float) -> Session:
        """The session a token carries, if this app's secret signed it and it has not expired."""
        body, dot, signature = token.partition(".")
        try:
            payload = _unb64(body)
            valid = dot and hmac.compare_digest(signature, self._sign(payload))
            data = json.loads(payload) if valid else None
        except (binascii.Error, ValueError):
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("user"), str):
            raise NotFound(token)
        expires_at = data.get("expires_at")
        if not is_live(expires_at, now):
            raise NotFound(token)
        return Session(token=token, user=data["user"], expires_at=expires_at)

    def revoke(self, token: str, now: float) -> None:
        """Checks the token and forgets nothing: a signed token cannot be revoked (a copy stays valid)."""
        self.get(token, now)
