"""Table definitions for Postgres and SQLite, and their idempotent creation.

Several replicas may start at the same moment against one Postgres; two
concurrent ``CREATE TABLE IF NOT EXISTS`` can still collide on the catalog, so
creation runs inside a transaction holding a fixed advisory lock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from refapp.errors import StorageUnavailable
from refapp.storage.sql import SqlEngine

log = logging.getLogger("refapp.schema")

SCHEMA_LOCK_ID = 0x72656661707000
"""Advisory lock key shared by every replica ("refapp" in hex)."""

SCHEMA_WAIT_SECONDS = 30.0
"""How long startup waits for Postgres before giving up (a safety net only)."""

POSTGRES_DDL: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS sessions ("
    " token text PRIMARY KEY, username text NOT NULL, expires_at double precision)",
    "CREATE TABLE IF NOT EXISTS files ("
    " id text PRIMARY KEY, sha256 text NOT NULL, size bigint NOT NULL, content bytea NOT NULL)",
    "CREATE TABLE IF NOT EXISTS quotes ("
    " id text PRIMARY KEY, amount double precision NOT NULL, expires_at double precision,"
    " used boolean NOT NULL DEFAULT false)",
    "CREATE TABLE IF NOT EXISTS cooldowns ("
    " key_name text PRIMARY KEY, started_at double precision NOT NULL, until_at double precision NOT NULL)",
    "CREATE TABLE IF NOT EXISTS records ("
    " id text PRIMARY KEY, data jsonb NOT NULL, version integer NOT NULL, created_at double precision NOT NULL)",
    "CREATE TABLE IF NOT EXISTS counters (name text PRIMARY KEY, value bigint NOT NULL)",
    # The app's own rules (refapp/storage/shop.py): one default address per user, stock never below zero.
    "CREATE TABLE IF NOT EXISTS addresses ("
    " id text PRIMARY KEY, username text NOT NULL, label text NOT NULL, is_default boolean NOT NULL,"
    " created_at double precision NOT NULL)",
    "CREATE TABLE IF NOT EXISTS items (id text PRIMARY KEY, name text NOT NULL, stock integer NOT NULL)",
)

SQLITE_DDL: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS sessions (token TEXT PRIMARY KEY, username TEXT NOT NULL, expires_at REAL)",
    "CREATE TABLE IF NOT EXISTS quotes ("
    " id TEXT PRIMARY KEY, amount REAL NOT NULL, expires_at REAL, used INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS cooldowns (key_name TEXT PRIMARY KEY, started_at REAL NOT NULL, until_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS records ("
    " id TEXT PRIMARY KEY, data TEXT NOT NULL, version INTEGER NOT NULL, created_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS addresses ("
    " id TEXT PRIMARY KEY, username TEXT NOT NULL, label TEXT NOT NULL, is_default INTEGER NOT NULL,"
    " created_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS items (id TEXT PRIMARY KEY, name TEXT NOT NULL, stock INTEGER NOT NULL)",
)


SHARED_SQLITE_DDL: tuple[str, ...] = (
    *SQLITE_DDL,
    "CREATE TABLE IF NOT EXISTS files (id TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER NOT NULL, content BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS rate_limits (name TEXT PRIMARY KEY, count INTEGER NOT NULL, expires_at REAL NOT NULL)",
)
"""The shared embedded database holds every kind, rate-limit windows included."""


class SchemaError(RuntimeError):
    """The schema could not be created; the app must not start serving."""


def create_postgres_schema(db: SqlEngine) -> None:
    """Create every table once, serialized across replicas by an advisory lock."""
    with db.transaction() as cur:
        # The xact lock is released by the commit that makes the tables visible.
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_ID,))
        for statement in POSTGRES_DDL:
            cur.execute(statement)


def create_sqlite_schema(db: SqlEngine) -> None:
    """Create the local-disk tables; the IMMEDIATE transaction serializes replicas sharing the file on a volume."""
    with db.transaction() as cur:
        for statement in SQLITE_DDL:
            cur.execute(statement)


def create_shared_sqlite_schema(db: SqlEngine) -> None:
    """Create every table of the shared file; IMMEDIATE transactions serialize the replicas."""
    with db.transaction() as cur:
        for statement in SHARED_SQLITE_DDL:
            cur.execute(statement)


def create_with_retry(create: Callable[[], None], what: str, wait: float = SCHEMA_WAIT_SECONDS) -> None:
    """Retry ``create`` while the database is unreachable, up to ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while True:
        try:
            create()
            return
        except StorageUnavailable as exc:
            if time.monotonic() >= deadline:
                raise SchemaError(f"refapp: {what} not reachable after {wait:.0f}s, cannot create schema: {exc}") from exc
            log.warning("%s not reachable yet, retrying schema creation: %s", what, exc)
            time.sleep(0.5)
