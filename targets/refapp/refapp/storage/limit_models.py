"""Rate-limit algorithms as pure decisions: (stored state, now) -> allowed or denied, new state.

One class per model in DESIGN.md's table, each as the libraries it stands for build it
(their real sources were read; none is imported):

- ``ClockWindow`` phase 0: fixed windows ``[k*W, (k+1)*W)`` aligned to the epoch (the
  app's historical limiter, many hand-written ones);
- ``ClockWindow`` with ``offset_of(key)``: django-ratelimit's windows, which end when
  ``unix_time % W == crc32(key) % W`` (its ``_get_window``), counted per window key;
- ``FirstHitWindow``: a window opens at the first hit after the last one closed and
  lasts W (express-rate-limit with rate-limit-redis, the ``limits`` fixed window,
  ``INCR`` then ``EXPIRE`` on count 1); denied hits are counted too, as they do;
- ``SlidingLog``: the ``limits`` moving window: allowed while fewer than ``limit``
  allowed hits lie in the last W seconds; only allowed hits are logged;
- ``SlidingCounter``: the ``limits`` sliding window (Cloudflare's counter): the previous
  epoch window's allowed count, weighted by how much of it the last W seconds still
  cover, plus the current one's; at most ``2 * limit`` in any W seconds;
- ``TokenBucket``: GCRA as ``limits`` and redis-cell do it: ``burst`` at once, then one
  hit per ``1 / rate`` seconds.

The state is one string, so the same decision serves the per-replica memory form (a
dict) and the non-atomic read-then-write form (GET, decide here, SET). The atomic forms
run the same decisions as Lua scripts inside Redis (``limit_scripts.py``).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Decision:
    """One hit judged: whether it is allowed, and the state to keep afterwards."""

    allowed: bool
    count: int
    """Hits counted against the limit, this one included; above ``limit`` exactly when denied."""
    retry_after: float
    state: str
    expires_at: float
    """When the kept state may be forgotten (unix seconds)."""


class LimitModel(Protocol):
    name: str
    limit: int
    window: float

    def slot(self, key: str, now: float) -> str:
        """Where the state of ``key`` lives at ``now`` (clock-aligned windows add the window's index)."""

    def decide(self, key: str, state: str | None, now: float) -> Decision:
        """Judge one hit given the stored state (None: nothing stored)."""


def offset_of(key: str, window: float) -> float:
    """django-ratelimit's per-key phase: the windows of ``key`` end when ``unix_time % window`` equals this."""
    return zlib.crc32(key.encode("utf-8")) % window


@dataclass(frozen=True)
class ClockWindow:
    """Fixed windows on the clock, shifted by a per-key phase (0 for the epoch-aligned model)."""

    limit: int
    window: float
    per_key_offset: bool = False

    @property
    def name(self) -> str:
        return "fixed-offset" if self.per_key_offset else "fixed-epoch"

    def phase(self, key: str) -> float:
        return offset_of(key, self.window) if self.per_key_offset else 0.0

    def index(self, key: str, now: float) -> int:
        return math.floor((now - self.phase(key)) / self.window)

    def slot(self, key: str, now: float) -> str:
        return f"rl:{self.name}:{key}:{self.index(key, now)}"

    def decide(self, key: str, state: str | None, now: float) -> Decision:
        ends = (self.index(key, now) + 1) * self.window + self.phase(key)
        count = int(state or 0) + 1
        return Decision(count <= self.limit, count, ends - now, str(count), ends + 1)


@dataclass(frozen=True)
class FirstHitWindow:
    """A window of W seconds opened by the first hit after the previous window closed."""

    limit: int
    window: float
    name: str = "fixed-first-hit"

    def slot(self, key: str, now: float) -> str:
        return f"rl:{self.name}:{key}"

    def decide(self, key: str, state: str | None, now: float) -> Decision:
        count, ends = 0, now + self.window
        if state:
            stored, stored_ends = state.split()
            if float(stored_ends) > now:
                count, ends = int(stored), float(stored_ends)
        count += 1
        return Decision(count <= self.limit, count, ends - now, f"{count} {ends!r}", ends)


@dataclass(frozen=True)
class SlidingLog:
    """The times of the last ``limit`` allowed hits; a hit is allowed when the oldest of them is W old."""

    limit: int
    window: float
    name: str = "sliding-log"

    def slot(self, key: str, now: float) -> str:
        return f"rl:{self.name}:{key}"

    def decide(self, key: str, state: str | None, now: float) -> Decision:
        log = [float(t) for t in (state or "").split()]  # newest first
        recent = [t for t in log if t >= now - self.window]
        if len(recent) >= self.limit:
            oldest = recent[self.limit - 1]
            return Decision(False, self.limit + 1, oldest + self.window - now, state or "", max(log) + self.window)
        log = [now, *recent][: self.limit]
        return Decision(True, len(log), 0.0, " ".join(repr(t) for t in log), now + self.window)


@dataclass(frozen=True)
class SlidingCounter:
    """Allowed hits counted per epoch window; the previous window's count weighs what it still covers."""

    limit: int
    window: float
    name: str = "sliding-counter"

    def slot(self, key: str, now: float) -> str:
        return f"rl:{self.name}:{key}"

    def decide(self, key: str, state: str | None, now: float) -> Decision:
        index = math.floor(now / self.window)
        previous = current = 0
        if state:
            stored, stored_previous, stored_current = (int(x) for x in state.split())
            if stored == index:
                previous, current = stored_previous, stored_current
            elif stored == index - 1:
                previous = stored_current
        weight = 1 - (now - index * self.window) / self.window
        estimate = math.floor(previous * weight) + current
        allowed = estimate + 1 <= self.limit
        current += allowed
        ends = (index + 1) * self.window
        return Decision(allowed, estimate + 1, 0.0 if allowed else ends - now, f"{index} {previous} {current}",
                        ends + self.window)


@dataclass(frozen=True)
class TokenBucket:
    """GCRA: the theoretical arrival time moves 1/rate on each allowed hit and may lead now by burst/rate."""

    limit: int
    window: float
    burst: int
    rate: float
    name: str = "token-bucket"

    @property
    def interval(self) -> float:
        return 1 / self.rate

    def slot(self, key: str, now: float) -> str:
        return f"rl:{self.name}:{key}"

    def decide(self, key: str, state: str | None, now: float) -> Decision:
        tat = max(float(state) if state else now, now)
        new = tat + self.interval
        lead = self.burst * self.interval
        if new - lead > now + 1e-9:
            return Decision(False, self.burst + 1, new - lead - now, state or repr(tat), tat)
        remaining = math.floor((now + lead - new) / self.interval + 1e-6)
        return Decision(True, self.burst - remaining, 0.0, repr(new), new)


def make_model(name: str, limit: int, window: float) -> LimitModel:
    """The model called ``name`` (config.RATE_LIMITERS); a token bucket holds ``limit`` and refills it per window."""
    models: dict[str, LimitModel] = {
        "fixed-epoch": ClockWindow(limit, window),
        "fixed-offset": ClockWindow(limit, window, per_key_offset=True),
        "fixed-first-hit": FirstHitWindow(limit, window),
        "sliding-log": SlidingLog(limit, window),
        "sliding-counter": SlidingCounter(limit, window),
        "token-bucket": TokenBucket(limit, window, burst=limit, rate=limit / window),
    }
    return models[name]
