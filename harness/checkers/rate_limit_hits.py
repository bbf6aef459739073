"""One key's hits, as the rate-limit models reason about them: intervals, never points.

The limiter decides at some instant inside a request's ``[start, end]``; widened by
the clock tolerance, that is the hit's *span* ``[lo, hi]``. Every model's question then
comes down to two counts over sorted span ends, each one bisection:

- ``surely_in(x, y)``: hits whose whole span lies in ``[x, y)``, so they surely took
  effect there. ``#{hi < y} - #{lo < x}`` is that count minus the spans that cover all
  of ``[x, y)`` and more; allowed hits whose span is ``window`` or longer are set apart
  (they can never be placed), so for intervals up to ``window`` it is exact, and it
  never exceeds the true count: a bound to prove over-admission with.
- ``maybe_in(a, b)``: hits whose span meets ``(a, b)``, so they may have taken effect
  there: ``#{lo < b} - #{hi <= a}``, exact. The bound to prove over-denial with.

Which hits count for what follows the outcomes: an allowed hit surely happened; a hit
of unknown outcome may or may not have been allowed (never proof, always a possible
explanation); a denied hit surely happened and some limiters count it; a hit that
failed with a status reached the app, whose limiter may have counted it before the
handler refused it; a hit refused before it was sent never reached the limiter.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from harness.checkers.rate_limit_algorithms import Algorithm
from harness.history import Operation, Outcome


class Spans:
    """Sorted span starts and ends of a set of hits, for the two counts above."""

    __slots__ = ("los", "his")

    def __init__(self, los: list[float], his: list[float]) -> None:
        self.los = sorted(los)
        self.his = sorted(his)

    def __len__(self) -> int:
        return len(self.los)

    def surely_in(self, x: float, y: float) -> int:
        """At least this many hits took effect in ``[x, y)`` (exactly this many when no span covers it)."""
        return bisect_left(self.his, y) - bisect_left(self.los, x)

    def surely_in_closed(self, x: float, y: float) -> int:
        """The same for the closed ``[x, y]``."""
        return bisect_right(self.his, y) - bisect_left(self.los, x)

    def maybe_in(self, a: float, b: float) -> int:
        """Hits that may have taken effect in the open ``(a, b)``."""
        return bisect_left(self.los, b) - bisect_right(self.his, a)

    def maybe_in_from(self, a: float, b: float) -> int:
        """Hits that may have taken effect in ``[a, b)``."""
        return bisect_left(self.los, b) - bisect_left(self.his, a)


@dataclass
class KeyHits:
    """Every hit on one key (and window and algorithm), sorted out by what each may prove."""

    key: str
    window: float
    algorithm: Algorithm
    limit: int = 0  # the largest limit the hits carried: over-admission is judged against it
    least_limit: int = 0  # the smallest: over-denial is judged against it
    allowed: list[tuple[float, float, Operation]] = field(default_factory=list)  # placeable, sorted by lo
    denied: list[tuple[float, float, Operation]] = field(default_factory=list)
    wide: int = 0  # allowed hits whose span is a window or longer: never placed in one
    unknown: int = 0
    failed: int = 0
    # span starts and ends of hits that may have been allowed (allowed, unknown, failed with a status) ...
    maybe_los: list[float] = field(default_factory=list)
    maybe_his: list[float] = field(default_factory=list)
    # ... and of the denied ones: together, every hit a limiter may have counted
    denied_los: list[float] = field(default_factory=list)
    denied_his: list[float] = field(default_factory=list)
    allowed_los: list[float] = field(default_factory=list)  # span starts of ``allowed``, set by finish()
    _spans: dict[str, Spans] = field(default_factory=dict)

    def add_all(self, ops: list[Operation], limit: int, tolerance: float) -> None:
        """Sort out hits that share one limit (the hot loop: a load run brings hundreds of thousands)."""
        self.limit = max(self.limit, limit)
        self.least_limit = min(self.least_limit, limit) if self.least_limit else limit
        ok, unknown = Outcome.OK, Outcome.UNKNOWN
        window = self.window
        allowed, denied = self.allowed, self.denied
        maybe_los, maybe_his = self.maybe_los, self.maybe_his
        for op in ops:
            lo, hi = op.start - tolerance, op.end + tolerance
            outcome = op.outcome
            value = op.value
            said = value.get("allowed") if outcome is ok and isinstance(value, dict) else None
            if said is not None:
                if said:
                    maybe_los.append(lo)
                    maybe_his.append(hi)
                    if hi - lo < window:
                        allowed.append((lo, hi, op))
                    else:
                        self.wide += 1
                else:
                    denied.append((lo, hi, op))
                continue
            if outcome is unknown or outcome is ok:  # an answer that says neither: as good as unknown
                self.unknown += 1
            else:
                self.failed += 1
                if op.status is None:
                    continue  # refused before it was sent: no limiter saw it
            maybe_los.append(lo)
            maybe_his.append(hi)

    def finish(self) -> "KeyHits":
        """Sort once, after the last hit was added."""
        self.allowed.sort(key=lambda h: h[0])
        self.denied.sort(key=lambda h: h[0])
        self.allowed_los = [h[0] for h in self.allowed]
        self.denied_los = [h[0] for h in self.denied]
        self.denied_his = [h[1] for h in self.denied]
        return self

    def spans(self, which: str) -> Spans:
        """``allowed``, ``maybe_allowed`` or ``counted`` (of any outcome but refused) hits as sorted spans."""
        if which not in self._spans:
            if which == "allowed":
                made = Spans(self.allowed_los, [h[1] for h in self.allowed])
            elif which == "maybe_allowed":
                made = Spans(self.maybe_los, self.maybe_his)
            else:
                made = Spans(self.maybe_los + self.denied_los, self.maybe_his + self.denied_his)
            self._spans[which] = made
        return self._spans[which]

    def allowed_in(self, x: float, y: float, closed: bool = False) -> list[Operation]:
        """The allowed hits whose whole span lies in ``[x, y)`` (``[x, y]`` when ``closed``)."""
        i = bisect_left(self.allowed_los, x)
        inside = []
        while i < len(self.allowed) and self.allowed[i][0] <= y:
            lo, hi, op = self.allowed[i]
            if hi < y or (closed and hi == y):
                inside.append(op)
            i += 1
        return inside
