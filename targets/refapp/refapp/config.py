"""Settings read from the environment, validated once at import of the app.

The app is configured only through environment variables because the harness
starts it in containers; a bad value must stop the process before it serves
(exit code 2) rather than fail on the first request.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass

STORAGE_MODES: tuple[str, ...] = (
    "durable",
    "memory",
    "fallback",
    "local-disk",
    "write-behind",
    "racy-limit",
    "stale-cache",
    "volatile-redis",
    "no-expiry",
)


class ConfigError(ValueError):
    """A setting has a value the app cannot run with."""


@dataclass(frozen=True)
class Settings:
    """Every knob of the app; defaults match the harness's expectations."""

    storage: str = "durable"
    database_url: str = "postgresql://app:app@postgres:5432/app"
    redis_url: str = "redis://redis:6379/0"
    data_dir: str = "/var/lib/refapp"
    rate_limit: int = 10
    rate_window: float = 10.0
    cooldown_seconds: float = 60.0
    session_ttl: float = 3600.0
    quote_ttl: float = 60.0
    flush_interval: float = 5.0
    db_timeout: float = 2.0
    db_pool_size: int = 10
    replica_name: str = ""


def _number(env: Mapping[str, str], name: str, default: float, *, integer: bool = False) -> float:
    """Parse a positive number, naming the variable in the error."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"invalid {name} {raw!r}: expected {kind}") from None
    if value <= 0:
        raise ConfigError(f"invalid {name} {raw!r}: must be > 0")
    return value


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from ``env`` (default: the process environment).

    Raises ConfigError with a one-line message on any invalid value.
    """
    env = os.environ if env is None else env
    storage = env.get("STORAGE", "durable").strip() or "durable"
    if storage not in STORAGE_MODES:
        raise ConfigError(f"unknown STORAGE {storage!r}: expected one of {', '.join(STORAGE_MODES)}")
    defaults = Settings()
    return Settings(
        storage=storage,
        database_url=env.get("DATABASE_URL", defaults.database_url),
        redis_url=env.get("REDIS_URL", defaults.redis_url),
        data_dir=env.get("DATA_DIR", defaults.data_dir),
        rate_limit=int(_number(env, "RATE_LIMIT", defaults.rate_limit, integer=True)),
        rate_window=_number(env, "RATE_WINDOW", defaults.rate_window),
        cooldown_seconds=_number(env, "COOLDOWN_SECONDS", defaults.cooldown_seconds),
        session_ttl=_number(env, "SESSION_TTL", defaults.session_ttl),
        quote_ttl=_number(env, "QUOTE_TTL", defaults.quote_ttl),
        flush_interval=_number(env, "FLUSH_INTERVAL", defaults.flush_interval),
        db_timeout=_number(env, "DB_TIMEOUT", defaults.db_timeout),
        db_pool_size=int(_number(env, "DB_POOL_SIZE", defaults.db_pool_size, integer=True)),
        replica_name=env.get("REPLICA_NAME") or socket.gethostname(),
    )
