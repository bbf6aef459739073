"""Cooldowns: once started, a cooldown holds on every replica until its ``until``.

The model: a ``start`` of a key that the app acknowledges as allowed opens a cooldown
until the ``until`` it answered (``start + period`` when it answered none); no other
start of that key may be allowed before then, on any replica, across restarts and
redeploys. The app decides at some moment inside each request, so a second allowed
start is a violation (``cooldown-bypassed``) only if it surely fell inside the first
one's cooldown whichever of the two the app saw first: it ended before ``until -
tolerance`` (and, when the two overlapped, the first also ended before the second's
``until``).

A refusal needs a cause: a refused start with no earlier allowed start still cooling
down and no start of unknown outcome before it is ``unexpected`` (cooldown state that
was never written). A start of unknown outcome may have opened a cooldown at any
moment after it began: it explains any later refusal, and it is never taken as an
allowed start. Keys are assumed fresh for each run (no cooldown left from before the
history began).

A pass means no bypass was observed; it does not prove the cooldown would hold for
starts that were never attempted while one was running (see ``probes`` in the stats).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import defaultdict

from harness.checkers.base import Validity, Verdict, Violation, describe_faults, faults_between, first_time
from harness.checkers.base import judges
from harness.history import History, Operation, Outcome

NAME = "cooldowns"
TOLERANCE = 0.25


def _allowed(op: Operation) -> bool:
    return op.outcome is Outcome.OK and bool((op.value or {}).get("allowed"))


def _period(op: Operation) -> float | None:
    period = op.args.get("period")
    return None if period is None else float(period)


def _until_at_least(op: Operation) -> float | None:
    """The earliest moment an allowed start's cooldown can end (None: unknown)."""
    until = (op.value or {}).get("until")
    if until is not None:
        return float(until)
    period = _period(op)
    return None if period is None else op.start + period


def _until_at_most(op: Operation) -> float:
    """The latest moment an allowed start's cooldown can end (infinite when unknown)."""
    until = (op.value or {}).get("until")
    if until is not None:
        return float(until)
    period = _period(op)
    return float("inf") if period is None else op.end + period


def _surely_inside(first: Operation, second: Operation, tolerance: float) -> bool:
    """True when ``second`` surely came while ``first``'s cooldown ran (``first`` taken to come first)."""
    until = _until_at_least(first)
    return until is not None and first.start < second.end and second.end < until - tolerance


def _bypassed(a: Operation, b: Operation, tolerance: float) -> bool:
    """Two allowed starts that cannot both be right, in whichever order the app saw them."""
    a_first, b_first = a.start < b.end, b.start < a.end
    return (a_first or b_first) and (not a_first or _surely_inside(a, b, tolerance)) and (
        not b_first or _surely_inside(b, a, tolerance))


def _bypass_violation(history: History, t0: float, key: str, a: Operation, b: Operation) -> Violation:
    until = _until_at_least(a) or a.end
    in_between = describe_faults(faults_between(history, a.end, b.start), t0)
    message = (f"key '{key}': a cooldown was started on {a.replica} at +{a.start - t0:.2f}s, until "
               f"+{until - t0:.2f}s, but {b.replica} allowed another start at +{b.start - t0:.2f}s; "
               f"in between: {in_between}")
    return Violation(NAME, "cooldown-bypassed", message, replica=b.replica, op_ids=(a.id, b.id), time=b.start,
                     evidence={"key": key, "first": a.id, "second": b.id, "until": until, "status": b.status})


def _explained(refusal: Operation, starts: list[Operation], tolerance: float) -> bool:
    """A refusal is explained by an allowed start still cooling down, or by any unknown start before it."""
    return any(
        s.id != refusal.id and s.start < refusal.end and (
            s.outcome is Outcome.UNKNOWN or (_allowed(s) and refusal.start < _until_at_most(s) + tolerance))
        for s in starts
    )


def _prefix_max(values: list[float]) -> list[float]:
    """``out[i]`` is the largest of ``values[:i + 1]``: one bisection then answers "does any before i exceed x"."""
    out, best = [], -math.inf
    for v in values:
        best = v if v > best else best
        out.append(best)
    return out


class _KeyIndex:
    """One key's allowed starts, sorted twice, with prefix maxima of their cooldowns' ends.

    A soak contends on a few keys with tens of thousands of starts each, so every
    question the checker asks of one start ("which earlier allowed start does it
    bypass", "what explains this refusal", "did it probe a running cooldown") is one
    bisection here instead of a pass over every start of the key. Each answer is the
    one the plain definitions above give; starts that take no time at all (hand-written
    histories) are answered by those definitions directly.
    """

    def __init__(self, allowed: list[Operation], unknown: list[Operation], tolerance: float) -> None:
        self.allowed = allowed  # sorted by start
        self.tolerance = tolerance
        self.starts = [a.start for a in allowed]
        least = [_until_at_least(a) for a in allowed]
        self.least_max = _prefix_max([-math.inf if u is None else u for u in least])
        self.most_max = _prefix_max([_until_at_most(a) + tolerance for a in allowed])
        by_end = sorted(allowed, key=lambda op: op.end)
        self.ends = [a.end for a in by_end]
        self.by_end_max = _prefix_max([-math.inf if u is None else u - tolerance
                                       for u in map(_until_at_least, by_end)])
        self.first_unknown = min((s.start for s in unknown), default=math.inf)

    def bypassed(self, i: int) -> Operation | None:
        """The first allowed start before ``allowed[i]`` (in start order) whose cooldown it surely fell in."""
        b, allowed, tolerance = self.allowed[i], self.allowed, self.tolerance
        if b.end <= b.start:
            return next((a for a in allowed[:i] if _bypassed(a, b, tolerance)), None)
        # an earlier a is bypassed only if b.end < until(a) - tolerance: none before the first cooldown to reach
        # past b's end (a margin keeps float rounding on the safe side; the definition decides each candidate)
        j = bisect_right(self.least_max, b.end + tolerance - 1e-3, 0, i)
        return next((a for a in allowed[j:i] if _bypassed(a, b, tolerance)), None)

    def explained(self, refusal: Operation) -> bool:
        """``_explained`` for a refusal (an acknowledged start that was not allowed)."""
        if self.first_unknown < refusal.end:
            return True
        before = bisect_left(self.starts, refusal.end)
        return before > 0 and refusal.start < self.most_max[before - 1]

    def probed(self, p: Operation) -> bool:
        """An allowed start ended before ``p`` began and its cooldown surely ran past ``p``'s end."""
        if p.end <= p.start:
            return any(a.id != p.id and a.end <= p.start and _surely_inside(a, p, self.tolerance)
                       for a in self.allowed)
        before = bisect_right(self.ends, p.start)
        return before > 0 and p.end < self.by_end_max[before - 1]


def _sort_out(starts: list[Operation]) -> tuple[list[Operation], list[Operation], list[Operation]]:
    """One key's starts as allowed, refused (acknowledged, not allowed) and of unknown outcome, in history order."""
    allowed, refused, unknown = [], [], []
    ok, maybe = Outcome.OK, Outcome.UNKNOWN
    for op in starts:
        if op.outcome is ok:
            (allowed if (op.value or {}).get("allowed") else refused).append(op)
        elif op.outcome is maybe:
            unknown.append(op)
    return allowed, refused, unknown


def _judge_key(history: History, t0: float, key: str, sorted_out: tuple[list[Operation], ...],
               tolerance: float) -> tuple[list[Violation], int]:
    """Violations for one key (its starts sorted out), and how many acknowledged starts probed a running cooldown."""
    allowed, refused, unknown = sorted_out
    allowed = sorted(allowed, key=lambda op: op.start)
    index = _KeyIndex(allowed, unknown, tolerance)
    violations = []
    for i, b in enumerate(allowed):
        first = index.bypassed(i)
        if first is not None:
            violations.append(_bypass_violation(history, t0, key, first, b))
    for r in refused:
        if not index.explained(r):
            violations.append(Violation(
                NAME, "unexpected",
                f"key '{key}': {r.replica} refused a start at +{r.start - t0:.2f}s as cooling down, but no "
                "start of this key had been allowed (or attempted) before it",
                replica=r.replica, op_ids=(r.id,), time=r.start, evidence={"key": key, "refused": r.id}))
    probes = sum(index.probed(p) for p in allowed) + sum(index.probed(p) for p in refused)
    return violations, probes


@judges("cooldowns", name=NAME)
def check_cooldowns(history: History, tolerance: float = TOLERANCE) -> Verdict:
    """Cooldowns bypassed (a second allowed start while one ran) and refusals without a cause."""
    ops = history.operations(NAME)
    t0 = first_time(history)
    by_key: dict[str, list[Operation]] = defaultdict(list)
    for op in ops:
        if op.name == "start" and "key" in op.args:
            by_key[op.args["key"]].append(op)
    sorted_out = [_sort_out(key_starts) for key_starts in by_key.values()]
    violations: list[Violation] = []
    probes = 0
    for key, key_starts in zip(by_key, sorted_out):
        found, probed = _judge_key(history, t0, key, key_starts, tolerance)
        violations += found
        probes += probed

    stats = {
        "keys": len(by_key),
        "allowed": sum(len(allowed) for allowed, _, _ in sorted_out),
        "refused": sum(len(refused) for _, refused, _ in sorted_out),
        "unknown": sum(len(unknown) for _, _, unknown in sorted_out),
        "probes": probes,
        "cooldown_bypassed": sum(v.kind == "cooldown-bypassed" for v in violations),
        "unexpected": sum(v.kind == "unexpected" for v in violations),
    }
    if violations:
        return Verdict(NAME, Validity.FAIL, tuple(violations), stats=stats)
    if by_key and not any(allowed or refused for allowed, refused, _ in sorted_out):
        return Verdict(NAME, Validity.UNKNOWN, notes=("no start was answered",), stats=stats)
    if stats["allowed"] and not probes:
        return Verdict(NAME, Validity.UNKNOWN, notes=("no start was attempted while a cooldown ran",), stats=stats)
    return Verdict(NAME, Validity.PASS, stats=stats)
