"""Rate limits across replicas: no fixed window may allow more hits than the limit.

The model is the app's: for each key, time is cut into fixed windows
``[k * window, (k + 1) * window)`` aligned to the epoch (window id =
``floor(now / window)``), and at most ``limit`` hits per window may be allowed, in
total over all replicas. The app decides at some moment inside the request, so a
hit is attributed to a window only if its whole ``[start, end]`` (widened by a small
clock ``tolerance``) lies inside that window; hits straddling a boundary are counted
apart as *ambiguous* and never in a window. Only acknowledged hits count: a hit of
unknown outcome may or may not have been allowed, so it is never counted as allowed.
Both choices make the count of allowed hits per window a lower bound, so a violation
is certain, never a false alarm.

The stats give, per key, the worst window and its overshoot ratio (allowed / limit):
about N for N replicas each keeping their own counter in memory, about 1.0 for a
shared atomic counter.

A pass means no window was observed over its limit; it does not prove the limit holds
under more load, other timing, or hits that straddled window boundaries.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from harness.checkers.base import Validity, Verdict, Violation, describe_faults, faults_between, first_time
from harness.history import History, Operation, Outcome

NAME = "rate_limit"
TOLERANCE = 0.05


@dataclass
class _Window:
    """One fixed window of one key: the acknowledged hits surely inside it."""

    index: int
    length: float
    limit: int = 0
    allowed: list[Operation] = field(default_factory=list)
    denied: int = 0

    @property
    def start(self) -> float:
        return self.index * self.length

    @property
    def overshoot(self) -> float:
        return len(self.allowed) / max(self.limit, 1)


def window_of(op: Operation, length: float, tolerance: float = TOLERANCE) -> int | None:
    """The window a hit surely fell in, or None when it may straddle a boundary."""
    first = math.floor((op.start - tolerance) / length)
    last = math.floor((op.end + tolerance) / length)
    return first if first == last else None


@dataclass
class _KeyCount:
    """Every window of one key, and the hits that could not be placed or judged."""

    windows: dict[int, _Window] = field(default_factory=dict)
    ambiguous: int = 0
    unknown: int = 0
    failed: int = 0

    def add(self, op: Operation, length: float, tolerance: float) -> None:
        if op.outcome is not Outcome.OK:
            self.unknown += op.outcome is Outcome.UNKNOWN
            self.failed += op.outcome is Outcome.FAIL
            return
        index = window_of(op, length, tolerance)
        if index is None:
            self.ambiguous += 1
            return
        window = self.windows.setdefault(index, _Window(index, length))
        window.limit = max(window.limit, int(op.args["limit"]))
        if (op.value or {}).get("allowed"):
            window.allowed.append(op)
        else:
            window.denied += 1


def _count(ops: list[Operation], tolerance: float) -> dict[tuple[str, float], _KeyCount]:
    counts: dict[tuple[str, float], _KeyCount] = defaultdict(_KeyCount)
    for op in ops:
        if op.name == "hit" and {"key", "limit", "window"} <= op.args.keys():
            length = float(op.args["window"])
            counts[(op.args["key"], length)].add(op, length, tolerance)
    return counts


def _over_limit(history: History, t0: float, key: str, w: _Window) -> Violation:
    allowed = sorted(w.allowed, key=lambda op: op.start)
    culprit = allowed[w.limit]
    per_replica = Counter(op.replica for op in allowed)
    spread = ", ".join(f"{r} allowed {n}" for r, n in sorted(per_replica.items()))
    in_window = describe_faults(faults_between(history, w.start, w.start + w.length), t0)
    message = (f"key '{key}': {len(allowed)} hits were allowed in the {w.length:g}s window "
               f"[{w.start - t0:+.2f}s, {w.start + w.length - t0:+.2f}s) against a limit of {w.limit} "
               f"({w.overshoot:.2f}x): {spread}; hit {w.limit + 1} was allowed by {culprit.replica} at "
               f"+{culprit.start - t0:.2f}s; faults in that window: {in_window}")
    return Violation(NAME, "over-limit", message, replica=culprit.replica, op_ids=tuple(op.id for op in allowed),
                     time=culprit.start, evidence={"key": key, "window_start": w.start, "window": w.length,
                                                   "allowed": len(allowed), "limit": w.limit,
                                                   "by_replica": dict(per_replica)})


def _key_stats(count: _KeyCount, length: float) -> dict[str, Any]:
    worst = max(count.windows.values(), key=lambda w: (w.overshoot, -w.index), default=None)
    return {
        "window": length,
        "limit": worst.limit if worst else None,
        "windows": len(count.windows),
        "allowed": sum(len(w.allowed) for w in count.windows.values()),
        "denied": sum(w.denied for w in count.windows.values()),
        "ambiguous": count.ambiguous,
        "unknown": count.unknown,
        "failed": count.failed,
        "worst_window_start": worst.start if worst else None,
        "worst_window_allowed": len(worst.allowed) if worst else 0,
        "overshoot": round(worst.overshoot, 3) if worst else 0.0,
    }


def check_rate_limit(history: History, tolerance: float = TOLERANCE) -> Verdict:
    """Windows that allowed more than the limit, with the overshoot ratio per key."""
    t0 = first_time(history)
    counts = _count(history.operations(NAME), tolerance)
    several = Counter(key for key, _ in counts)
    violations: list[Violation] = []
    keys: dict[str, Any] = {}
    for (key, length), count in counts.items():
        label = key if several[key] == 1 else f"{key} ({length:g}s)"
        keys[label] = _key_stats(count, length)
        violations += [_over_limit(history, t0, label, w) for _, w in sorted(count.windows.items())
                       if len(w.allowed) > w.limit]

    stats = {
        "keys": keys,
        "max_overshoot": max((k["overshoot"] for k in keys.values()), default=0.0),
        "windows_over_limit": len(violations),
        "ambiguous": sum(c.ambiguous for c in counts.values()),
        "unknown": sum(c.unknown for c in counts.values()),
    }
    if violations:
        return Verdict(NAME, Validity.FAIL, tuple(violations), stats=stats)
    if counts and not any(c.windows for c in counts.values()):
        return Verdict(NAME, Validity.UNKNOWN, notes=("no acknowledged hit fell surely inside a window",),
                       stats=stats)
    untested = [label for label, k in keys.items() if k["denied"] == 0 and k["overshoot"] < 1.0]
    notes = (f"the limit was never reached for: {', '.join(untested)}",) if untested else ()
    return Verdict(NAME, Validity.PASS, notes=notes, stats=stats)
