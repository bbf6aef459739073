"""Each rate-limit model (``limit_models.py``) in its correct form and in its real broken forms.

``RATE_LIMITER`` picks the model, ``RATE_LIMITER_FORM`` the form:

- ``atomic`` (correct): one Lua script per hit, run by Redis as a whole, on the Redis
  server's clock (``TIME``), so every replica's hits are judged in the order Redis runs
  them, as rate-limit-redis and ``limits`` do;
- ``memory``: the same decisions on a dict in each replica: every replica (and every
  restart) counts afresh, so N replicas allow about N times the limit;
- ``racy``: GET the state, decide in Python, SET it back: two replicas reading the same
  state both allow their hit, and one write is lost (``RACE_GAP`` between the two calls
  stands in for the work a real handler does there);
- ``split-expire`` (``fixed-first-hit`` only): ``INCR`` and, when the count is 1,
  ``EXPIRE`` as a second, later call. Hand-written limiters do exactly this; a crash
  between the two leaves a counter with no expiry, and the client is denied for good.
  In such code the gap is a round trip, which no test's crash can aim at; here the
  EXPIRE is sent from a timer thread ``RATE_EXPIRE_DELAY`` seconds after the INCR (as
  work deferred past the response is), which makes the same gap wide enough for the
  restart suite's crash to land in it. The EXPIRE sets the window's absolute end
  (PEXPIREAT first hit + W), so without a crash this form keeps exact first-hit
  windows; a graceful stop sends the pending EXPIREs at once (the app's shutdown hook,
  as deferred work is flushed), so only a kill loses one.

The atomic ``fixed-epoch`` limiter is the app's historical one (``ratelimit.py``); modes
pick it unless these settings say otherwise. Redis keys carry the model's name, so two
models never share a counter.
"""

from __future__ import annotations

import logging
import math
import threading
import time

import redis

from refapp.config import Settings
from refapp.models import LimitResult
from refapp.storage.base import RateLimiter
from refapp.storage.limit_models import ClockWindow, LimitModel, TokenBucket, make_model, offset_of
from refapp.storage.redis_client import redis_errors

log = logging.getLogger("refapp.limiters")

# Every script reads the Redis server's clock: ``now`` in seconds, as a float.
_NOW = "local t = redis.call('TIME')\nlocal now = tonumber(t[1]) + tonumber(t[2]) / 1000000\n"

#: clock-aligned windows (epoch, or django-ratelimit's per-key phase): INCR the window's key, expire after it ends
CLOCK_WINDOW = _NOW + """
local window, phase = tonumber(ARGV[1]), tonumber(ARGV[2])
local index = math.floor((now - phase) / window)
local name = KEYS[1] .. ':' .. index
local count = redis.call('INCR', name)
local ends = (index + 1) * window + phase
redis.call('PEXPIREAT', name, math.ceil((ends + 1) * 1000))
return {count, tostring(ends - now)}
"""

#: rate-limit-redis's increment: the first hit (or a key found without expiry) opens a window of W
FIRST_HIT = """
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, tostring(ttl / 1000)}
"""

#: the ``limits`` moving window: a list of allowed hits' times, newest first, at most ``limit`` long
SLIDING_LOG = _NOW + """
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local oldest = redis.call('LINDEX', KEYS[1], limit - 1)
if oldest and tonumber(oldest) >= now - window then
  return {limit + 1, tostring(tonumber(oldest) + window - now)}
end
redis.call('LPUSH', KEYS[1], string.format('%.6f', now))
redis.call('LTRIM', KEYS[1], 0, limit - 1)
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
local count = 0
for _, at in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  if tonumber(at) >= now - window then count = count + 1 end
end
return {count, '0'}
"""

#: the ``limits`` sliding window: previous epoch window's count weighted by its remaining cover, plus the current
SLIDING_COUNTER = _NOW + """
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local index = math.floor(now / window)
local current_key = KEYS[1] .. ':' .. index
local previous = tonumber(redis.call('GET', KEYS[1] .. ':' .. (index - 1)) or '0')
local current = tonumber(redis.call('GET', current_key) or '0')
local weight = 1 - (now - index * window) / window
local estimate = math.floor(previous * weight) + current
if estimate + 1 > limit then
  return {estimate + 1, tostring((index + 1) * window - now)}
end
redis.call('INCR', current_key)
redis.call('PEXPIREAT', current_key, math.ceil((index + 2) * window * 1000))
return {estimate + 1, '0'}
"""

#: GCRA (``limits``, redis-cell): the theoretical arrival time, allowed to lead now by burst / rate
TOKEN_BUCKET = _NOW + """
local interval, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new = tat + interval
local lead = burst * interval
if new - lead > now + 1e-9 then
  return {burst + 1, tostring(new - lead - now)}
end
redis.call('SET', KEYS[1], string.format('%.6f', new), 'PX', math.max(1, math.ceil((new - now) * 1000)))
return {burst - math.floor((now + lead - new) / interval + 1e-6), '0'}
"""


def _result(key: str, limit: int, count: int, retry_after: float) -> LimitResult:
    return LimitResult(key=key, count=int(count), limit=limit, retry_after=max(1, math.ceil(float(retry_after))))


class AtomicLimiter:
    """The model's Lua script: read, decide and write in one step inside Redis."""

    def __init__(self, client: redis.Redis, model: LimitModel) -> None:
        self.client, self.model = client, model
        self.limit = model.limit
        base, script, args = self._script(model)
        self._base, self._args = base, args
        self._script_call = client.register_script(script)

    @staticmethod
    def _script(model: LimitModel) -> tuple[str, str, tuple[float | int, ...]]:
        """(key prefix, Lua source, arguments after the key) for ``model``."""
        base = f"rl:{model.name}:"
        if isinstance(model, ClockWindow):
            return base, CLOCK_WINDOW, (model.window,)
        if isinstance(model, TokenBucket):
            return base, TOKEN_BUCKET, (model.interval, model.burst)
        scripts = {"fixed-first-hit": (FIRST_HIT, (math.ceil(model.window * 1000),)),
                   "sliding-log": (SLIDING_LOG, (model.limit, model.window)),
                   "sliding-counter": (SLIDING_COUNTER, (model.limit, model.window))}
        script, args = scripts[model.name]
        return base, script, args

    def hit(self, key: str, now: float) -> LimitResult:
        args: tuple[float | int, ...] = self._args
        if isinstance(self.model, ClockWindow):
            args = (*args, self.model.phase(key))
        with redis_errors():
            count, retry_after = self._script_call(keys=[self._base + key], args=list(args))
        return _result(key, self.limit, int(count), float(retry_after))


class MemoryLimiter:
    """The model on a dict of this replica's own: correct alone, blind to every other replica."""

    def __init__(self, model: LimitModel) -> None:
        self.model, self.limit = model, model.limit
        self._lock = threading.Lock()
        self._states: dict[str, tuple[str, float]] = {}

    def hit(self, key: str, now: float) -> LimitResult:
        slot = self.model.slot(key, now)
        with self._lock:
            if len(self._states) > 10_000:  # forget what has expired, so memory stays bounded
                self._states = {k: v for k, v in self._states.items() if v[1] > now}
            state, expires_at = self._states.get(slot, (None, math.inf))
            decision = self.model.decide(key, state if expires_at > now else None, now)
            self._states[slot] = (decision.state, decision.expires_at)
        return _result(key, self.limit, decision.count, decision.retry_after)


#: What the racy form spends between its GET and its SET, standing in for what a real handler does there
#: (decode, validate, log): with a bare round trip, one uvicorn process per replica serialises most
#: requests on the GIL and the race shows in some bursts only; with this gap it shows in every burst.
RACE_GAP = 0.005


class RacyLimiter:
    """GET, decide in Python, SET: two replicas between the same GET and SET both allow their hit."""

    def __init__(self, client: redis.Redis, model: LimitModel, gap: float = RACE_GAP) -> None:
        self.client, self.model, self.limit, self.gap = client, model, model.limit, gap

    def hit(self, key: str, now: float) -> LimitResult:
        slot = self.model.slot(key, now)
        with redis_errors():
            stored = self.client.get(slot)
            time.sleep(self.gap)
            decision = self.model.decide(key, stored.decode() if stored is not None else None, now)
            ttl_ms = max(1, math.ceil((decision.expires_at - now) * 1000))
            self.client.set(slot, decision.state, px=ttl_ms)  # the bug: another replica may have read the same state
        return _result(key, self.limit, decision.count, decision.retry_after)


class SplitExpireLimiter:
    """First-hit windows as ``INCR``, then ``EXPIRE`` when the count is 1, as two separate calls.

    The EXPIRE goes out from a timer thread ``delay`` seconds later (see the module's
    docstring for why); a kill before it leaves the key without expiry: denied forever.
    """

    def __init__(self, client: redis.Redis, limit: int, window: float, delay: float) -> None:
        self.client, self.limit, self.window, self.delay = client, limit, window, delay
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[threading.Timer, int]] = {}

    def hit(self, key: str, now: float) -> LimitResult:
        name = f"rl:fixed-first-hit:{key}"
        with redis_errors():
            count = int(self.client.incr(name))
        if count == 1:
            ends_ms = math.ceil((now + self.window) * 1000)
            timer = threading.Timer(self.delay, self._expire, (name, ends_ms))
            timer.daemon = True
            with self._lock:
                self._pending[name] = (timer, ends_ms)
            timer.start()
        return _result(key, self.limit, count, self.window)

    def _expire(self, name: str, ends_ms: int) -> None:
        with self._lock:
            self._pending.pop(name, None)
        try:
            self.client.pexpireat(name, ends_ms)
        except redis.RedisError as exc:  # the same loss as a crash: the key keeps no expiry
            log.warning("split-expire: EXPIRE of %s failed: %s", name, exc)

    def flush(self) -> None:
        """On a graceful stop (before the connection closes): send every pending EXPIRE now."""
        with self._lock:
            pending, self._pending = self._pending, {}
        for name, (timer, ends_ms) in pending.items():
            timer.cancel()
            self._expire(name, ends_ms)


def make_limiter(settings: Settings, client: redis.Redis | None, form: str | None = None) -> RateLimiter:
    """The limiter for RATE_LIMITER in ``form`` (default RATE_LIMITER_FORM); every form but memory needs ``client``."""
    form = form or settings.rate_limiter_form
    model = make_model(settings.rate_limiter, settings.rate_limit, settings.rate_window)
    if form == "memory":
        return MemoryLimiter(model)
    if client is None:
        raise ValueError(f"RATE_LIMITER_FORM {form} needs Redis")
    if form == "racy":
        return RacyLimiter(client, model)
    if form == "split-expire":
        return SplitExpireLimiter(client, settings.rate_limit, settings.rate_window, settings.rate_expire_delay)
    return AtomicLimiter(client, model)


def describe(settings: Settings, form: str | None = None) -> str:
    """For the start-up log line and /stats: which limiter, in which form (default RATE_LIMITER_FORM)."""
    offset = ""
    if settings.rate_limiter == "fixed-offset":
        offset = " (per-key phase: crc32(key) % window)"
    return f"rate limiter {settings.rate_limiter}{offset}, {form or settings.rate_limiter_form}"


__all__ = ["AtomicLimiter", "MemoryLimiter", "RacyLimiter", "SplitExpireLimiter", "describe", "make_limiter",
           "offset_of"]
