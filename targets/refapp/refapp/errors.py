"""Domain errors raised by stores and turned into HTTP answers by the app.

Stores speak in these terms (not HTTP codes, not driver exceptions) so every
storage mode can be swapped behind the same routes, and so the fallback mode
can tell "the database is down" from "the row is not there".
"""

from __future__ import annotations


class StorageUnavailable(Exception):
    """A dependency (Postgres, Redis, SQLite, disk) failed or timed out.

    Answered as 503: the write was not acknowledged, so the harness may count
    it as failed, which is only honest if we never answer 200 in this case.
    """


class NotFound(Exception):
    """The item does not exist (or, for sessions, is not valid any more)."""


class Expired(Exception):
    """The item exists but its expiry has passed (quotes: 410)."""


class AlreadyUsed(Exception):
    """A use-once item was used before (quotes: 409)."""


class CoolingDown(Exception):
    """The cooldown for a key has not ended yet (429)."""

    def __init__(self, until: float) -> None:
        super().__init__(f"cooling down until {until}")
        self.until = until
