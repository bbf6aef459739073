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


def _judge_key(history: History, t0: float, key: str, starts: list[Operation],
               tolerance: float) -> tuple[list[Violation], int]:
    """Violations for one key, and how many acknowledged starts probed a running cooldown."""
    allowed = sorted((op for op in starts if _allowed(op)), key=lambda op: op.start)
    violations = []
    for i, b in enumerate(allowed):
        first = next((a for a in allowed[:i] if _bypassed(a, b, tolerance)), None)
        if first is not None:
            violations.append(_bypass_violation(history, t0, key, first, b))
    for r in starts:
        if r.outcome is Outcome.OK and not _allowed(r) and not _explained(r, starts, tolerance):
            violations.append(Violation(
                NAME, "unexpected",
                f"key '{key}': {r.replica} refused a start at +{r.start - t0:.2f}s as cooling down, but no "
                "start of this key had been allowed (or attempted) before it",
                replica=r.replica, op_ids=(r.id,), time=r.start, evidence={"key": key, "refused": r.id}))
    probes = sum(
        any(a.id != p.id and a.end <= p.start and _surely_inside(a, p, tolerance) for a in allowed)
        for p in starts if p.outcome is Outcome.OK
    )
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
    violations: list[Violation] = []
    probes = 0
    for key, starts in by_key.items():
        found, probed = _judge_key(history, t0, key, starts, tolerance)
        violations += found
        probes += probed

    starts = [op for key_starts in by_key.values() for op in key_starts]
    stats = {
        "keys": len(by_key),
        "allowed": sum(_allowed(op) for op in starts),
        "refused": sum(op.outcome is Outcome.OK and not _allowed(op) for op in starts),
        "unknown": sum(op.outcome is Outcome.UNKNOWN for op in starts),
        "probes": probes,
        "cooldown_bypassed": sum(v.kind == "cooldown-bypassed" for v in violations),
        "unexpected": sum(v.kind == "unexpected" for v in violations),
    }
    if violations:
        return Verdict(NAME, Validity.FAIL, tuple(violations), stats=stats)
    if starts and not any(op.outcome is Outcome.OK for op in starts):
        return Verdict(NAME, Validity.UNKNOWN, notes=("no start was answered",), stats=stats)
    if stats["allowed"] and not probes:
        return Verdict(NAME, Validity.UNKNOWN, notes=("no start was attempted while a cooldown ran",), stats=stats)
    return Verdict(NAME, Validity.PASS, stats=stats)
