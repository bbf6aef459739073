"""Counters: Jepsen's counter model, a read must lie between what surely and what possibly applied.

The model: a counter starts at zero (the workload uses fresh names) and changes only
by increments. For every definite read of a counter over [start, end]:

- lower bound: the sum of acknowledged increments that completed before the read
  started (they surely applied, and must not be forgotten);
- upper bound: that sum plus every other increment that may have applied by the time
  the read ended: acknowledged or unknown ones that started before it ended.

A value below the lower bound is ``lost-increments`` (acknowledged increments were
forgotten: a restart, a per-replica counter); above the upper bound is
``phantom-increments`` (the counter moved by more than was ever asked). An
acknowledged increment answers the new value, so it is judged as a read too, one that
surely includes its own increment. Negative increments are honoured: an uncertain
decrement widens the lower bound instead of the upper one.

A pass means every value read was explainable by some order of the increments; it
does not prove that no increment was lost between reads that never came.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from harness.checkers.base import Validity, Verdict, Violation, describe_faults, faults_between, first_time
from harness.checkers.base import judges
from harness.history import History, Operation, Outcome

NAME = "counters"


@dataclass(frozen=True)
class _Bounds:
    """What a read of a counter may answer, and the increments that surely applied before it."""

    lower: int
    upper: int
    certain: tuple[Operation, ...]


def _by(op: Operation) -> int:
    return int(op.args.get("by", 1))


def _bounds(increments: list[Operation], read: Operation) -> _Bounds:
    """The interval of values ``read`` may see, given every increment of its counter."""
    certain = [i for i in increments if i.outcome is Outcome.OK and (i.end < read.start or i.id == read.id)]
    certain_ids = {i.id for i in certain}
    uncertain = [
        i for i in increments
        if i.id not in certain_ids and i.outcome is not Outcome.FAIL and i.start < read.end
    ]
    base = sum(_by(i) for i in certain)
    return _Bounds(
        lower=base + sum(min(0, _by(i)) for i in uncertain),
        upper=base + sum(max(0, _by(i)) for i in uncertain),
        certain=tuple(certain),
    )


def _reads(ops: list[Operation]) -> list[Operation]:
    """Every definite answer of a counter's value: reads, and acknowledged increments."""
    return [
        op for op in ops
        if op.outcome is Outcome.OK and op.name in ("read", "increment")
        and isinstance((op.value or {}).get("value"), int)
    ]


def _violation(history: History, t0: float, name: str, read: Operation, b: _Bounds) -> Violation | None:
    """Explain a value outside its bounds, or None when it lies inside."""
    value = read.value["value"]
    if b.lower <= value <= b.upper:
        return None
    what = "read" if read.name == "read" else f"increment by {_by(read)} answered"
    seen = f"counter '{name}': {read.replica} {what} {value} at +{read.start - t0:.2f}s"
    if read.phase == "final":
        seen += " (final read)"
    evidence = {"name": name, "read": read.id, "value": value, "lower": b.lower, "upper": b.upper}
    if value < b.lower and b.certain:
        first = min(b.certain, key=lambda i: i.end)
        last = max(b.certain, key=lambda i: i.end)
        in_between = describe_faults(faults_between(history, first.end, read.start), t0)
        message = (f"{seen}, but {len(b.certain)} acknowledged increments totalling {b.lower} had completed "
                   f"before it (the last by {last.replica} at +{last.end - t0:.2f}s); the value could only "
                   f"lie between {b.lower} and {b.upper}; in between: {in_between}")
        return Violation(NAME, "lost-increments", message, replica=read.replica,
                         op_ids=tuple(i.id for i in b.certain if i.id != read.id) + (read.id,),
                         time=read.start, evidence=evidence)
    message = (f"{seen}, but no order of the increments that may have applied by then gives that: "
               f"the value could only lie between {b.lower} and {b.upper}")
    return Violation(NAME, "phantom-increments", message, replica=read.replica, op_ids=(read.id,),
                     time=read.start, evidence=evidence)


@judges("counters", name=NAME)
def check_counters(history: History) -> Verdict:
    """Every definite counter value must lie between its lower and upper bounds."""
    ops = history.operations(NAME)
    t0 = first_time(history)
    by_name: dict[str, list[Operation]] = defaultdict(list)
    for op in ops:
        if "name" in op.args:
            by_name[op.args["name"]].append(op)

    violations: list[Violation] = []
    judged = 0
    for name, named in by_name.items():
        increments = [op for op in named if op.name == "increment"]
        for read in _reads(named):
            judged += 1
            if (violation := _violation(history, t0, name, read, _bounds(increments, read))) is not None:
                violations.append(violation)

    incs = [op for op in ops if op.name == "increment"]
    stats = {
        "counters": len(by_name),
        "increments_ok": sum(op.outcome is Outcome.OK for op in incs),
        "increments_unknown": sum(op.outcome is Outcome.UNKNOWN for op in incs),
        "increments_failed": sum(op.outcome is Outcome.FAIL for op in incs),
        "reads_judged": judged,
        "lost_increments": sum(v.kind == "lost-increments" for v in violations),
        "phantom_increments": sum(v.kind == "phantom-increments" for v in violations),
    }
    if violations:
        return Verdict(NAME, Validity.FAIL, tuple(violations), stats=stats)
    final_reads = [op for op in _reads(ops) if op.phase == "final" and op.name == "read"]
    if stats["increments_ok"] and not final_reads:
        return Verdict(NAME, Validity.UNKNOWN, notes=("no final read answered: durability not judged",), stats=stats)
    return Verdict(NAME, Validity.PASS, stats=stats)
