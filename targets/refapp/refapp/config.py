"""Settings read from the environment, validated once at import of the app.

The app is configured only through environment variables because the harness
starts it in containers; a bad value must stop the process before it serves
(exit code 2) rather than fail on the first request.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field

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

#: SESSIONS: where a session lives; independent of STORAGE, which keeps everything else.
SESSION_MODELS: tuple[str, ...] = ("server-side", "client-side")

#: RATE_LIMITER: the rate-limit algorithm (refapp/storage/limiters.py); fixed-epoch is the one STORAGE modes use.
RATE_LIMITERS: tuple[str, ...] = (
    "fixed-epoch",
    "fixed-first-hit",
    "fixed-offset",
    "sliding-log",
    "sliding-counter",
    "token-bucket",
)

#: RATE_LIMITER_FORM: how the limiter keeps its state; atomic is correct, the others are real bugs.
RATE_LIMITER_FORMS: tuple[str, ...] = ("atomic", "memory", "racy", "split-expire")

#: COUNTER_INCREMENT, QUOTE_USE, RECORD_UPDATE: the correct form first, then the broken one that
#: reads, waits a round trip, and writes without a condition (refapp/storage/races.py).
COUNTER_INCREMENTS: tuple[str, ...] = ("atomic", "read-modify-write")
QUOTE_USES: tuple[str, ...] = ("conditional", "check-then-set")
RECORD_UPDATES: tuple[str, ...] = ("atomic", "read-modify-write")

#: The STORAGE modes whose counters, quotes and records are the plain SQL or memory stores,
#: which the broken forms above replace (the others wrap them in buffers or fallbacks).
RACE_STORAGES: tuple[str, ...] = ("durable", "memory", "local-disk")

#: Seconds the broken forms above wait between read and write when ROUND_TRIP_DELAY is unset:
#: about a real round trip, so concurrent requests race while a single client never does.
RACE_ROUND_TRIP = 0.005


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
    sessions: str = "server-side"
    """SESSIONS: server-side (in the STORAGE mode's stores) or client-side (a signed token, no store)."""
    session_secret: str | None = field(default=None, repr=False)
    """SESSION_SECRET signs client-side sessions; unset: a random secret per start (the bug)."""
    rate_limiter: str = "fixed-epoch"
    """RATE_LIMITER: which algorithm limits /limited/{key} (see RATE_LIMITERS)."""
    rate_limiter_form: str = "atomic"
    """RATE_LIMITER_FORM: atomic in Redis, or one of its broken forms (see RATE_LIMITER_FORMS)."""
    rate_expire_delay: float = 1.0
    """RATE_EXPIRE_DELAY: how long split-expire waits between INCR and EXPIRE (its crash window)."""
    counter_increment: str = "atomic"
    """COUNTER_INCREMENT: atomic (value = value + by) or read-modify-write (the lost-increment bug)."""
    quote_use: str = "conditional"
    """QUOTE_USE: conditional (UPDATE ... WHERE NOT used) or check-then-set (the used-twice bug)."""
    record_update: str = "atomic"
    """RECORD_UPDATE: atomic (version = version + 1) or read-modify-write (the lost-update bug)."""
    round_trip_delay: float = RACE_ROUND_TRIP
    """ROUND_TRIP_DELAY: seconds the three broken forms above wait between their read and write (the
    shop's broken forms, refapp/shop_routes.py, read it too, with a default of their own)."""


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


def _session_model(env: Mapping[str, str]) -> str:
    """SESSIONS, checked against the models the app has."""
    model = env.get("SESSIONS", "server-side").strip() or "server-side"
    if model not in SESSION_MODELS:
        raise ConfigError(f"unknown SESSIONS {model!r}: expected one of {', '.join(SESSION_MODELS)}")
    return model


def _rate_limiter(env: Mapping[str, str], redis_url: str, window: float) -> tuple[str, str, float]:
    """RATE_LIMITER, RATE_LIMITER_FORM and RATE_EXPIRE_DELAY, checked against each other."""
    model = env.get("RATE_LIMITER", "fixed-epoch").strip() or "fixed-epoch"
    if model not in RATE_LIMITERS:
        raise ConfigError(f"unknown RATE_LIMITER {model!r}: expected one of {', '.join(RATE_LIMITERS)}")
    form = env.get("RATE_LIMITER_FORM", "atomic").strip() or "atomic"
    if form not in RATE_LIMITER_FORMS:
        raise ConfigError(f"unknown RATE_LIMITER_FORM {form!r}: expected one of {', '.join(RATE_LIMITER_FORMS)}")
    if form == "split-expire" and model != "fixed-first-hit":
        raise ConfigError(f"RATE_LIMITER_FORM split-expire needs RATE_LIMITER fixed-first-hit, not {model!r}: "
                          "only a window keyed by the client alone is locked out by a lost EXPIRE")
    delay = _number(env, "RATE_EXPIRE_DELAY", Settings.rate_expire_delay)
    if form == "split-expire" and delay >= window:
        raise ConfigError(f"invalid RATE_EXPIRE_DELAY {delay:g}: must be shorter than RATE_WINDOW {window:g}, "
                          "or the key would outlive its window without any crash")
    new = (model, form) != ("fixed-epoch", "atomic") and form != "memory"
    if new and redis_url.startswith("sqlite:"):
        raise ConfigError(f"RATE_LIMITER {model} in the {form} form needs Redis: REDIS_URL is a SQLite file")
    return model, form, delay


def _choice(env: Mapping[str, str], name: str, forms: tuple[str, ...]) -> str:
    """A setting that names one of ``forms`` (the first is the default)."""
    value = env.get(name, forms[0]).strip() or forms[0]
    if value not in forms:
        raise ConfigError(f"unknown {name} {value!r}: expected one of {', '.join(forms)}")
    return value


def _race_forms(env: Mapping[str, str], storage: str) -> tuple[str, str, str, float]:
    """COUNTER_INCREMENT, QUOTE_USE, RECORD_UPDATE and ROUND_TRIP_DELAY, checked against STORAGE."""
    forms = (_choice(env, "COUNTER_INCREMENT", COUNTER_INCREMENTS), _choice(env, "QUOTE_USE", QUOTE_USES),
             _choice(env, "RECORD_UPDATE", RECORD_UPDATES))
    broken = [name for name, form, choices in zip(("COUNTER_INCREMENT", "QUOTE_USE", "RECORD_UPDATE"), forms,
                                                  (COUNTER_INCREMENTS, QUOTE_USES, RECORD_UPDATES))
              if form != choices[0]]
    if broken and storage not in RACE_STORAGES:
        raise ConfigError(f"{broken[0]}={env[broken[0]].strip()} needs STORAGE {', '.join(RACE_STORAGES)}, "
                          f"not {storage!r}: that mode keeps its own counters, quotes and records")
    raw = env.get("ROUND_TRIP_DELAY", "").strip()
    try:
        delay = float(raw) if raw else RACE_ROUND_TRIP
    except ValueError:
        raise ConfigError(f"invalid ROUND_TRIP_DELAY {raw!r}: expected a number of seconds") from None
    if delay < 0:
        raise ConfigError(f"invalid ROUND_TRIP_DELAY {raw!r}: must be >= 0")
    return (*forms, delay)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from ``env`` (default: the process environment).

    Raises ConfigError with a one-line message on any invalid value.
    """
    env = os.environ if env is None else env
    storage = env.get("STORAGE", "durable").strip() or "durable"
    if storage not in STORAGE_MODES:
        raise ConfigError(f"unknown STORAGE {storage!r}: expected one of {', '.join(STORAGE_MODES)}")
    defaults = Settings()
    rate_window = _number(env, "RATE_WINDOW", defaults.rate_window)
    rate_limiter, rate_limiter_form, rate_expire_delay = _rate_limiter(
        env, env.get("REDIS_URL", defaults.redis_url), rate_window)
    counter_increment, quote_use, record_update, round_trip_delay = _race_forms(env, storage)
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
        sessions=_session_model(env),
        session_secret=env.get("SESSION_SECRET") or None,
        rate_limiter=rate_limiter,
        rate_limiter_form=rate_limiter_form,
        rate_expire_delay=rate_expire_delay,
        counter_increment=counter_increment,
        quote_use=quote_use,
        record_update=record_update,
        round_trip_delay=round_trip_delay,
    )
