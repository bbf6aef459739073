"""Over-admission: allowed hits that no behaviour of the declared model explains.

Each model gets the strongest test that stays sound: a violation is reported only when
every behaviour the model allows is ruled out, with each hit's effect anywhere in its
span and hits of unknown outcome free to have been allowed or not (they are never
counted as allowed here). Only allowed hits that *surely* lie in an interval count in
it (``Spans.surely_in``), so each count is a lower bound and each violation certain.

- fixed window, ``epoch``: windows ``[kW, (k+1)W)``; a window holding more than
  ``limit`` hits is a violation.
- ``offset``: the same windows shifted by one unknown phase per key. The phase is swept
  over the circle ``[0, W)`` (every window start ``x`` folded onto ``x mod W``, the
  upper envelope of window counts taken, its minimum found): only when every phase
  puts more than ``limit`` in some window is it a violation, reported at the phase that
  explains the most.
- ``first-hit``: a window opens at a hit, after the previous one closed. ``limit + 1``
  hits within less than W need two windows, so the first of them was opened by a hit
  in the W before the group; when no hit (of any outcome but refused) could lie there,
  they shared one window. This trusts the history to hold every hit on the key, as it
  does: a deployment's stores start empty (a pooled Redis is flushed between
  deployments) and workload keys are the run's own. With the two tests of ``any`` besides.
- ``any``: disjoint windows placed anywhere. m hits within a span shorter than qW meet
  at most q + 1 windows (k disjoint windows each holding a point of a span d need
  d > (k - 2) W), so more than (q + 1) x limit is a violation: more than 2 x limit
  within less than W, exactly; over longer spans through the linear bound
  ``m - (limit / W) d > 2 limit``, then checked exactly (it may miss an excess of under
  one limit spread over several windows, never report a false one).
- ``sliding-window`` (a log): more than ``limit`` within less than W.
- ``sliding-window-counter``: the counted window never exceeds ``limit``, so any span
  shorter than qW holds at most (q + 1) x limit: the tests of ``any``.
- ``token-bucket``: at most ``burst + rate * d`` within any span d; the span that
  maximises ``m - rate * d`` is found in one sweep.

Each is linear after sorting, except the offset sweep (n log n).
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from harness.checkers.intervals import IntervalIndex
from harness.checkers.rate_limit_algorithms import BUCKET, COUNTER, FIXED, SLIDING
from harness.checkers.rate_limit_hits import KeyHits, Spans
from harness.history import Operation


@dataclass
class Overshoot:
    """Allowed hits surely inside ``[lo, hi)`` (a window) or ``[lo, hi]`` (an interval), against the model's bound."""

    lo: float
    hi: float
    ops: list[Operation]
    bound: float
    window: bool = True
    reason: str = ""

    @property
    def allowed(self) -> int:
        return len(self.ops)

    @property
    def ratio(self) -> float:
        return self.allowed / max(self.bound, 1e-9)


@dataclass
class Admission:
    """What the model's test found for one key: the violations and the interval behind the overshoot ratio."""

    overshoots: list[Overshoot] = field(default_factory=list)
    worst: Overshoot | None = None
    windows: int = 0
    ambiguous: int = 0
    phase: float | None = None  # offset: the phase judged, seconds past each multiple of W


def judge_admission(hits: KeyHits) -> Admission:
    """The over-admission test of the key's declared model (see the module docstring)."""
    algorithm = hits.algorithm
    if algorithm.name == FIXED and algorithm.anchor == "epoch":
        return _phase_windows(hits, 0.0)
    if algorithm.name == FIXED and algorithm.anchor == "offset":
        return _offset(hits)
    if algorithm.name == SLIDING:
        return _sliding(hits)
    if algorithm.name == BUCKET:
        return _bucket(hits)
    first_hit = algorithm.name == FIXED and algorithm.anchor == "first-hit"
    return _any(hits, first_hit=first_hit, counter=algorithm.name == COUNTER)


def _span_windows(hits: KeyHits) -> int:
    if not hits.allowed:
        return 0
    return max(1, math.ceil((max(h[1] for h in hits.allowed) - hits.allowed[0][0]) / hits.window))


# --- fixed windows at a known phase (epoch, and offset once its phase is chosen) ---------------------


def _phase_windows(hits: KeyHits, phase: float) -> Admission:
    """Windows ``[phase + kW, phase + (k+1)W)``: each hit surely inside one, or ambiguous."""
    w = hits.window
    windows: dict[int, list[Operation]] = {}
    ambiguous = 0
    for lo, hi, op in hits.allowed:
        first, last = math.floor((lo - phase) / w), math.floor((hi - phase) / w)
        if first == last:
            windows.setdefault(first, []).append(op)
        else:
            ambiguous += 1
    made = [Overshoot(phase + k * w, phase + (k + 1) * w, ops, hits.limit) for k, ops in sorted(windows.items())]
    worst = max(made, key=lambda o: (o.allowed, -o.lo), default=None)
    return Admission([o for o in made if o.allowed > hits.limit], worst, len(windows), ambiguous + hits.wide,
                     phase=phase)


def _offset(hits: KeyHits) -> Admission:
    """The phase whose worst window holds the fewest hits; a violation only if even that one is over the limit."""
    w = hits.window
    if not hits.allowed:
        return Admission(ambiguous=hits.wide, phase=0.0)
    least, phase = _least_worst_window(hits.spans("allowed"), w)
    judged = _phase_windows(hits, phase)
    if least <= hits.limit:  # some phase explains every window: no violation, whatever the folding's rounding
        judged.overshoots = []
    for o in judged.overshoots:
        o.reason = (f"whatever the phase of the key's windows, one holds more than {hits.limit}; "
                    f"at the phase that explains the most (+{phase:.2f}s past each multiple of {w:g}s)")
    return judged


def _least_worst_window(spans: Spans, w: float) -> tuple[int, float]:
    """min over phases p in [0, W) of max over k of surely_in(p + kW, p + (k+1)W), and such a phase.

    ``surely_in(x, x + W)`` is a step function of x that changes only at span starts and
    at span ends minus W; each of its steps, folded onto ``[0, W)``, is a piece whose
    value holds at those phases; the upper envelope of the pieces is the worst window of
    each phase, and its lowest point the answer.
    """
    steps = [(h - w, 1) for h in spans.his]
    steps += [(lo, -1) for lo in spans.los]
    steps.sort()
    events: list[tuple[float, int, int]] = []  # (phase, 0 = a piece ends / 1 = begins, value)
    everywhere = 0
    value = 0
    n = len(steps)
    for k, (p, delta) in enumerate(steps):
        value += delta
        if k + 1 == n or value <= 0:
            continue
        q = steps[k + 1][0]
        if q == p:
            continue  # more steps at the same point: the value holds only after the last of them
        if q - p >= w:
            everywhere = max(everywhere, value)
            continue
        a = p % w
        b = a + (q - p)
        if b <= w:
            events += ((a, 1, value), (b, 0, value))
        else:
            events += ((a, 1, value), (w, 0, value), (0.0, 1, value), (b - w, 0, value))
    events.sort()
    active: list[int] = []  # max-heap of the values of pieces under way (negated), cleared lazily
    gone: dict[int, int] = {}
    best, best_phase = math.inf, w / 2
    at = 0.0
    for x, begins, v in events:
        if x > at:  # every piece of (at, x) is known: the worst window of those phases
            while active and gone.get(-active[0], 0):
                gone[-active[0]] -= 1
                heapq.heappop(active)
            worst = max(everywhere, -active[0] if active else 0)
            if worst < best:
                best, best_phase = worst, (at + x) / 2
            at = x
        if begins:
            heapq.heappush(active, -v)
        else:
            gone[v] = gone.get(v, 0) + 1
    if at < w and everywhere < best:  # after the last piece ends, only the windows found everywhere
        best, best_phase = everywhere, (at + w) / 2
    return int(best), best_phase


# --- sliding log ----------------------------------------------------------------------------------


def _dense_intervals(hits: KeyHits, spans: Spans, bound: float, length: float) -> tuple[list[Overshoot], Overshoot | None]:
    """Intervals ``[lo_i, lo_i + length)`` holding more than ``bound`` sure hits, disjoint; and the fullest one."""
    los, his = spans.los, spans.his
    overs: list[Overshoot] = []
    best_count, best_x = -1, None
    j = 0
    skip_until = -math.inf
    for i, x in enumerate(los):
        if i and los[i - 1] == x:
            continue
        while j < len(his) and his[j] < x + length:
            j += 1
        count = j - i
        if count > best_count:
            best_count, best_x = count, x
        if count > bound and x >= skip_until:
            overs.append(Overshoot(x, x + length, hits.allowed_in(x, x + length), bound))
            skip_until = x + length
    worst = Overshoot(best_x, best_x + length, hits.allowed_in(best_x, best_x + length), bound) \
        if best_x is not None else None
    return overs, worst


def _sliding(hits: KeyHits) -> Admission:
    spans = hits.spans("allowed")
    overs, worst = _dense_intervals(hits, spans, hits.limit, hits.window)
    for o in overs:
        o.window = False
        o.reason = f"a sliding log allows at most {hits.limit} in any {hits.window:g}s"
    if worst is not None:
        worst.window = False
    return Admission(overs, worst, _span_windows(hits), hits.wide)


# --- linear budgets: token bucket, and long spans of fixed windows ------------------------------


def _best_span(spans: Spans, rate: float) -> tuple[float, float, float] | None:
    """The closed span ``[x, y]`` maximising ``surely_in_closed(x, y) - rate * (y - x)``, and that value."""
    los, his = spans.los, spans.his
    best: tuple[float, float, float] | None = None
    least, least_x = math.inf, 0.0
    i = 0
    n = len(los)
    for j, y in enumerate(his):
        while i < n and los[i] <= y:
            if i == 0 or los[i - 1] != los[i]:
                q = i - rate * los[i]  # #{lo < x} - rate * x at x = los[i]
                if q < least:
                    least, least_x = q, los[i]
            i += 1
        if j + 1 < len(his) and his[j + 1] == y:
            continue
        score = (j + 1 - rate * y) - least
        if best is None or score > best[2]:
            best = (least_x, y, score)
    return best


def _bucket(hits: KeyHits) -> Admission:
    burst, rate = float(hits.algorithm.burst), float(hits.algorithm.rate)  # type: ignore[arg-type]
    spans = hits.spans("allowed")
    found = _best_span(spans, rate)
    if found is None:
        return Admission(ambiguous=hits.wide)
    x, y, _ = found
    worst = Overshoot(x, y, hits.allowed_in(x, y, closed=True), burst + rate * (y - x), window=False,
                      reason=f"a token bucket allows at most burst + rate x {y - x:.2f}s")
    overs = [worst] if worst.allowed > worst.bound + 1e-9 else []
    return Admission(overs, worst, _span_windows(hits), hits.wide)


# --- fixed windows placed anywhere, from a first hit, and sliding-window counters -------------------


def _any(hits: KeyHits, first_hit: bool, counter: bool) -> Admission:
    limit, w = hits.limit, hits.window
    spans = hits.spans("allowed")
    overs, worst = _dense_intervals(hits, spans, 2 * limit, w)
    model = "a sliding-window counter" if counter else "windows placed anywhere"
    for o in overs:
        o.window = False
        o.reason = f"any {w:g}s meets at most two windows of {model}, so at most {2 * limit}"
    if worst is not None:
        worst.window = False
    if first_hit:
        alone = _unopened(hits, spans)
        taken = IntervalIndex([(o.lo, o.hi) for o in overs])
        overs += [o for o in alone if not taken.meets(o.lo, o.hi)]
        if alone and (worst is None or max(alone, key=lambda o: o.ratio).ratio > worst.ratio):
            worst = max(alone, key=lambda o: o.ratio)
    if not overs:
        found = _best_span(spans, limit / w)
        if found is not None:
            x, y, _ = found
            bound = limit * (math.floor((y - x) / w) + 2)
            ops = hits.allowed_in(x, y, closed=True)
            if len(ops) > bound:
                overs.append(Overshoot(x, y, ops, bound, window=False, reason=(
                    f"a span of {y - x:.2f}s meets at most {bound // limit} windows of {w:g}s")))
                worst = overs[-1]
    overs.sort(key=lambda o: o.lo)
    return Admission(overs, worst, _span_windows(hits), hits.wide)


def _unopened(hits: KeyHits, spans: Spans) -> list[Overshoot]:
    """First-hit windows: ``limit + 1`` hits within less than W with no hit in the W before that could open a window."""
    limit, w = hits.limit, hits.window
    openers = hits.spans("maybe_allowed")
    los, his = spans.los, spans.his
    found: list[Overshoot] = []
    skip_until = -math.inf
    for i, x in enumerate(los):
        if (i and los[i - 1] == x) or x < skip_until:
            continue
        before = bisect_left(los, x)
        if before + limit >= len(his):
            break
        y = his[before + limit]  # the earliest end by which limit + 1 hits surely happened
        if y - x >= w:
            continue
        # an opener of an earlier window holding some of them lies in (x - W, y - W]
        if bisect_right(openers.los, y - w) - bisect_right(openers.his, x - w) > 0:
            continue
        ops = hits.allowed_in(x, y, closed=True)
        found.append(Overshoot(x, y, ops, limit, window=False, reason=(
            f"with windows that open at a hit, no hit in the {w:g}s before could have opened an earlier "
            f"window, so they shared one")))
        skip_until = y
    return found
