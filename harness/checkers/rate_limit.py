"""Rate limits across replicas: allowed hits stay within the declared algorithm, and denials have a reason.

Each hit carries its key, limit, window and algorithm (``rate_limit_algorithms``; no
algorithm means a fixed window with anchor ``any``), so the history alone is judged.
Per key, two questions, each answered only where the answer is certain:

- **over-limit** (``rate_limit_admission``): more hits were allowed than any behaviour
  of the model explains, with every hit's effect anywhere in its ``[start, end]``
  (widened by a clock ``tolerance``) and hits of unknown outcome never counted as
  allowed;
- **over-denied** / **stuck** (``rate_limit_denial``): a hit was denied although too
  few hits could have been counted before it, even counting every hit that may have
  been (unknown outcomes included); ``stuck`` when the key stays so for longer than
  any window, e.g. a counter that lost its expiry (``INCR``, a crash, no ``EXPIRE``).

The stats give, per key, the worst window (or interval) and its overshoot ratio,
allowed / the most the model allows there: about N for N replicas each keeping their
own fixed-window counter in memory, at most 1.0 for a shared atomic one. Under the
models that do not fix where windows are (``any``, a sliding-window counter), any
span shorter than W may meet two windows, so the ratio there is against twice the
limit and memory-per-replica shows as about N / 2.

A pass means no violation was observed; it does not prove the limit holds under more
load or other timing, and hits that straddle every possible window prove nothing.
"""

from __future__ import annotations

import gc
import math
from collections import Counter
from contextlib import contextmanager
from typing import Any, Iterator

from harness.checkers.base import Validity, Verdict, Violation, describe_faults, faults_between, first_time
from harness.checkers.base import judges
from harness.checkers.rate_limit_admission import Admission, Overshoot, judge_admission
from harness.checkers.rate_limit_algorithms import Algorithm, algorithm_of
from harness.checkers.rate_limit_denial import DeniedRun, Unreachable, denied_runs, outages, over_denied, run_kind
from harness.checkers.rate_limit_hits import KeyHits
from harness.history import History, Operation

NAME = "rate_limit"
TOLERANCE = 0.05
#: violations of one kind reported per key; the rest are counted in a note (the stats hold every figure)
MOST_PER_KEY = 50
#: operation ids a violation keeps as evidence: the first and last this many (its time span stays whole)
MOST_IDS = 100


def window_of(op: Operation, length: float, tolerance: float = TOLERANCE) -> int | None:
    """The epoch-aligned window a hit surely fell in, or None when it may straddle a boundary."""
    first = math.floor((op.start - tolerance) / length)
    last = math.floor((op.end + tolerance) / length)
    return first if first == last else None


def _group(history: History, tolerance: float) -> dict[tuple[str, float, Algorithm], KeyHits]:
    """Hits by key, window and algorithm. Hits usually share their args dict (a load run's do, per key),
    so each distinct args is read once."""
    by_args: dict[int, tuple[dict, list[Operation]]] = {}
    for op in history.operations(NAME):
        if op.name != "hit":
            continue
        entry = by_args.get(id(op.args))
        if entry is None:
            entry = by_args[id(op.args)] = (op.args, [])
        entry[1].append(op)
    groups: dict[tuple[str, float, Algorithm], KeyHits] = {}
    for args, ops in by_args.values():
        if "key" not in args or "limit" not in args or "window" not in args:
            continue
        window = float(args["window"])
        algorithm = algorithm_of(args)
        group = (args["key"], window, algorithm)
        hits = groups.get(group)
        if hits is None:
            hits = groups[group] = KeyHits(args["key"], window, algorithm)
        hits.add_all(ops, int(args["limit"]), tolerance)
    return {g: h.finish() for g, h in groups.items()}


def _ids(ops: list[Operation]) -> tuple[int, ...]:
    chosen = ops if len(ops) <= 2 * MOST_IDS else ops[:MOST_IDS] + ops[-MOST_IDS:]
    return tuple(op.id for op in chosen)


def _over_limit(history: History, t0: float, label: str, hits: KeyHits, o: Overshoot) -> Violation:
    allowed = sorted(o.ops, key=lambda op: op.start)
    culprit = allowed[min(int(math.floor(o.bound + 1e-9)), len(allowed) - 1)]
    per_replica = Counter(op.replica for op in allowed)
    spread = ", ".join(f"{r} allowed {n}" for r, n in sorted(per_replica.items()))
    model = hits.algorithm.label
    faults = describe_faults(faults_between(history, o.lo, o.hi), t0)
    if o.window:
        where = (f"{len(allowed)} hits were allowed in the {hits.window:g}s window [{o.lo - t0:+.2f}s, "
                 f"{o.hi - t0:+.2f}s) against a limit of {hits.limit} ({o.ratio:.2f}x) under {model}")
        place = "window"
    else:
        where = (f"{len(allowed)} hits were allowed in the {o.hi - o.lo:.2f}s interval [{o.lo - t0:+.2f}s, "
                 f"{o.hi - t0:+.2f}s] where {model} allows at most {o.bound:g} ({o.ratio:.2f}x)")
        place = "interval"
    reason = f" ({o.reason})" if o.reason else ""
    message = (f"key '{label}': {where}{reason}: {spread}; hit {allowed.index(culprit) + 1} was allowed by "
               f"{culprit.replica} at +{culprit.start - t0:.2f}s; faults in that {place}: {faults}")
    return Violation(NAME, "over-limit", message, replica=culprit.replica, op_ids=_ids(allowed), time=culprit.start,
                     evidence={"key": label, "algorithm": model, "window_start": o.lo, "window": hits.window,
                               "interval_end": o.hi, "allowed": len(allowed), "limit": hits.limit,
                               "bound": o.bound, "by_replica": dict(per_replica)})


def _denied(history: History, t0: float, label: str, hits: KeyHits, run: DeniedRun) -> Violation:
    algorithm = hits.algorithm
    horizon = algorithm.horizon(hits.window)
    kind = run_kind(run, horizon)
    replicas = ", ".join(f"{r} denied {n}" for r, n in sorted(Counter(op.replica for op in run.ops).items()))
    when = (f"at +{run.first.start - t0:.2f}s" if len(run.ops) == 1 else
            f"from +{run.first.start - t0:.2f}s to +{run.last.start - t0:.2f}s")
    counted = "hits that may have been allowed" if algorithm.name == "fixed-window" else "hits of any outcome"
    message = (f"key '{label}': {len(run.ops)} hit(s) denied {when} ({replicas}), yet at most {run.could_count} "
               f"{counted} could have been counted before the first, short of what {algorithm.label} with limit "
               f"{hits.least_limit} needs to deny: no behaviour of the model explains it")
    if kind == "stuck":
        message += (f"; the key stayed denied for {run.lasted:.1f}s, longer than the {horizon:g}s after which the "
                    f"model allows again: it is stuck (a count that lost its expiry, e.g. INCR then a crash "
                    f"before EXPIRE)")
    faults = describe_faults(faults_between(history, run.first.start - horizon, run.last.end), t0)
    message += (f"; faults since {horizon:g}s before: {faults} (a reset after a fault allows more, never less; "
                f"if the app also answers {run.first.status} for other refusals, that status is not a denial)")
    return Violation(NAME, kind, message, replica=run.first.replica, op_ids=_ids(run.ops), time=run.first.start,
                     evidence={"key": label, "algorithm": algorithm.label, "denied": len(run.ops),
                               "could_count": run.could_count, "limit": hits.least_limit, "window": hits.window,
                               "lasted": round(run.lasted, 3), "horizon": horizon})


def _key_stats(hits: KeyHits, admission: Admission, over: int, stuck: bool) -> dict[str, Any]:
    worst = admission.worst
    return {
        "window": hits.window,
        "limit": hits.limit or None,
        "algorithm": hits.algorithm.label,
        "windows": admission.windows,
        "allowed": len(hits.allowed) + hits.wide - admission.ambiguous,  # those placed; the rest are ambiguous
        "denied": len(hits.denied),
        "ambiguous": admission.ambiguous,
        "unknown": hits.unknown,
        "failed": hits.failed,
        "worst_window_start": worst.lo if worst else None,
        "worst_window_end": worst.hi if worst else None,
        "worst_window_allowed": worst.allowed if worst else 0,
        "overshoot": round(worst.ratio, 3) if worst else 0.0,
        "over_denied": over,
        "stuck": stuck,
    }


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Pause the cycle collector while the checker runs.

    A load run's history holds a million operations, and sorting its hits out
    allocates millions of small tuples, none in a cycle: each allocation burst made the
    collector walk the whole history again, doubling the checker's time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@judges("rate_limit", name=NAME)
def check_rate_limit(history: History, tolerance: float = TOLERANCE) -> Verdict:
    """Allowed hits beyond the algorithm's bound, and denials it cannot explain, with the overshoot per key."""
    with _without_cycle_collection():
        return _check(history, tolerance)


def _check(history: History, tolerance: float) -> Verdict:
    t0 = first_time(history)
    groups = _group(history, tolerance)
    several = Counter(key for key, _, _ in groups)
    violations: list[Violation] = []
    notes: list[str] = []
    keys: dict[str, Any] = {}
    over_limit = 0
    judged = False
    unreachable = Unreachable(outages(history.faults()))
    failed_closed = 0
    for (key, window, algorithm), hits in groups.items():
        label = key if several[key] == 1 else f"{key} ({window:g}s, {algorithm.label})"
        admission = judge_admission(hits)
        denials = over_denied(hits)
        if unreachable:
            judged_denials = [d for d in denials if not unreachable.during(d[0], d[1])]
            failed_closed += len(denials) - len(judged_denials)
            denials = judged_denials
        runs = denied_runs(hits, denials)
        kinds = [run_kind(r, algorithm.horizon(window)) for r in runs]
        keys[label] = _key_stats(hits, admission, sum(len(r.ops) for r in runs), "stuck" in kinds)
        judged = judged or admission.windows > 0 or bool(hits.denied)
        over_limit += len(admission.overshoots)
        violations += [_over_limit(history, t0, label, hits, o) for o in admission.overshoots[:MOST_PER_KEY]]
        violations += [_denied(history, t0, label, hits, r) for r in runs[:MOST_PER_KEY]]
        for what, count in (("over-limit", len(admission.overshoots)), ("over-denied", len(runs))):
            if count > MOST_PER_KEY:
                notes.append(f"key '{label}': {count - MOST_PER_KEY} more {what} violations not listed")

    stats = {
        "keys": keys,
        "max_overshoot": max((k["overshoot"] for k in keys.values()), default=0.0),
        "windows_over_limit": over_limit,
        "ambiguous": sum(k["ambiguous"] for k in keys.values()),
        "unknown": sum(k["unknown"] for k in keys.values()),
        "over_denied": sum(k["over_denied"] for k in keys.values()),
        "stuck": sorted(label for label, k in keys.items() if k["stuck"]),
        "denials_during_outage": failed_closed,  # unexplained, but while the limiter's store was out of reach
    }
    if failed_closed:
        notes.append(f"{failed_closed} denial(s) that no behaviour of the model explains came while a dependency "
                     f"was unreachable: not judged, a limiter may fail closed without its store")
    if any(not algorithm.declared for _, _, algorithm in groups):
        notes.append("no rate-limit algorithm declared: judged as fixed-window (anchor any), which assumes nothing "
                     "about where windows start; declare operations.rate_limit.algorithm to judge more tightly "
                     "(docs/models.md)")
    if violations:
        return Verdict(NAME, Validity.FAIL, tuple(violations), notes=tuple(notes), stats=stats)
    if groups and not judged:
        return Verdict(NAME, Validity.UNKNOWN, notes=("no acknowledged hit could be judged: none was denied, and "
                                                      "none allowed fell surely inside a window",), stats=stats)
    untested = [label for label, k in keys.items() if k["denied"] == 0 and k["overshoot"] < 1.0]
    if untested:
        notes.append(f"the limit was never reached for: {', '.join(untested)}")
    return Verdict(NAME, Validity.PASS, notes=tuple(notes), stats=stats)
