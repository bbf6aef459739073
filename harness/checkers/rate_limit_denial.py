"""Over-denial: denied hits that no behaviour of the declared model explains.

A limiter denies only when enough earlier hits were counted against the key; if too
few hits could have been counted, the denial is certain over-denial (a counter that
lost its expiry, a window that never closes). Each test counts, generously, every hit
that *may* have been counted (``Spans.maybe_in``: its span merely meets the interval;
unknown outcomes and hits the app refused with another status included), so a denial
is reported only when even that many fall short:

- fixed window, any anchor: the window holding the denial opened less than W before
  it (with ``epoch``, at the epoch multiple before it), and its first ``limit`` hits
  were all allowed, since each saw a count under the limit, even where the limiter
  counts denials too. Fewer than ``limit`` hits that may have been allowed in that
  time: over-denied.
- sliding log: fewer than ``limit`` hits of any outcome in the W before the denial
  (some logs record denied hits too, so those count).
- sliding-window counter: the estimate weighs the current and the previous window, so
  fewer than ``limit`` hits of any outcome in the 2W before.
- token bucket: the deficit (burst minus tokens) at a moment t is the largest
  ``hits in (u, t] - rate * (t - u)`` over earlier u; a denial needs it above
  ``burst - 1``. With every hit of any outcome counted where it may lie, the largest
  possible deficit is found for every denial in one sweep.

Over-denied hits in a row (no hit between them that may have been allowed) are one
violation; when such a run lasts longer than the model's horizon (W; 2W for a
counter; burst / rate for a bucket) the key is ``stuck``.

Denials while a dependency is stopped, restarting or cut off (and for
``OUTAGE_GRACE`` after it is back, while the app reconnects) are not judged: a
limiter that cannot reach its store may fail closed by design (django-ratelimit
denies every request when its cache fails, unless ``RATELIMIT_FAIL_OPEN``). They are
counted apart. A fault never excuses a denial after it: a reset allows more, never less.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass, field

from harness.checkers.intervals import IntervalIndex
from harness.checkers.rate_limit_algorithms import BUCKET, COUNTER, FIXED, SLIDING
from harness.checkers.outages import outages as dependency_outages
from harness.checkers.rate_limit_hits import KeyHits, Spans
from harness.history import FaultEvent, Operation

OVER_DENIED, STUCK = "over-denied", "stuck"
#: seconds after a dependency is back during which the app may still be reconnecting to it
OUTAGE_GRACE = 2.0


def outages(faults: list[FaultEvent]) -> list[tuple[float, float]]:
    """The times a dependency was unreachable (``harness.checkers.outages``), each plus the grace."""
    return [(w.start, w.end + OUTAGE_GRACE) for w in dependency_outages(faults)]


def during(lo: float, hi: float, spans: list[tuple[float, float]]) -> bool:
    return any(a < hi and lo < b for a, b in spans)


class Unreachable(IntervalIndex):
    """Outage spans (``outages``): ``during`` asked once per denial (a broken limiter under a long soak brings
    hundreds of thousands, and a soak hundreds of outages)."""

    def during(self, lo: float, hi: float) -> bool:
        """``during(lo, hi, spans)``: some span begins before ``hi`` and ends after ``lo``."""
        return self.overlaps(lo, hi)


@dataclass
class DeniedRun:
    """Over-denied hits in a row, and at most how many hits could have been counted before the first."""

    ops: list[Operation] = field(default_factory=list)
    could_count: int = 0
    first_hi: float = 0.0  # span end of the first denial
    last_lo: float = 0.0  # span start of the last

    @property
    def first(self) -> Operation:
        return self.ops[0]

    @property
    def last(self) -> Operation:
        return self.ops[-1]

    @property
    def lasted(self) -> float:
        """How long the key surely stayed denied: from the end of the first denial to the start of the last."""
        return self.last_lo - self.first_hi


def over_denied(hits: KeyHits) -> list[tuple[float, float, Operation, int]]:
    """Every denial no behaviour explains, with the most hits that could have been counted before it."""
    if not hits.denied:
        return []
    algorithm, w, limit = hits.algorithm, hits.window, hits.least_limit
    if algorithm.name == BUCKET:
        return _bucket(hits)
    found = []
    if algorithm.name in (SLIDING, COUNTER):
        spans, reach, self_counted = hits.spans("counted"), (2 * w if algorithm.name == COUNTER else w), 1
    else:
        spans, reach, self_counted = hits.spans("maybe_allowed"), w, 0
    epoch = algorithm.name == FIXED and algorithm.anchor == "epoch"
    for lo, hi, op in hits.denied:
        if epoch:
            could = spans.maybe_in_from(math.floor(lo / w) * w, hi)
        else:
            could = spans.maybe_in(lo - reach, hi) - self_counted
        if could < limit:
            found.append((lo, hi, op, could))
    return found


def _bucket(hits: KeyHits) -> list[tuple[float, float, Operation, int]]:
    """Denials whose largest possible deficit stays at or below ``burst - 1``: the bucket held a token."""
    burst, rate = float(hits.algorithm.burst), float(hits.algorithm.rate)  # type: ignore[arg-type]
    spans: Spans = hits.spans("counted")
    his = spans.his
    found = []
    peak = -math.inf  # max over ends h <= X of rate * h - #{hi < h}
    j = 0
    for lo, hi, op in hits.denied:  # sorted by lo
        while j < len(his) and his[j] <= lo:
            if j == 0 or his[j - 1] != his[j]:
                peak = max(peak, rate * his[j] - j)
            j += 1
        reach = max(peak, rate * lo - j)  # sup over u <= lo of rate * u - #{hi <= u}
        deficit = bisect_left(spans.los, hi) - 1 + reach - rate * lo  # minus the denial itself
        if deficit < burst - 1 - 1e-9:
            found.append((lo, hi, op, max(0, math.floor(deficit + 1e-9))))
    return found


def denied_runs(hits: KeyHits, denials: list[tuple[float, float, Operation, int]]) -> list[DeniedRun]:
    """Over-denied hits grouped into runs that no hit which may have been allowed interrupts."""
    if not denials:
        return []
    could = {id(op): c for _, _, op, c in denials}
    maybe = hits.spans("maybe_allowed").los
    runs: list[DeniedRun] = []
    current: DeniedRun | None = None
    for lo, hi, op in hits.denied:
        if id(op) not in could:
            current = None
            continue
        if current is not None and bisect_left(maybe, lo) != bisect_left(maybe, current.last_lo):
            current = None  # a hit that may have been allowed came in between
        if current is None:
            current = DeniedRun(could_count=could[id(op)], first_hi=hi, last_lo=lo)
            runs.append(current)
        current.ops.append(op)
        current.last_lo = lo
    return runs


def run_kind(run: DeniedRun, horizon: float) -> str:
    """``stuck`` when the key stayed over-denied longer than any window (or refill) explains."""
    return STUCK if run.lasted >= horizon else OVER_DENIED
