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

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate

from harness.checkers.base import Validity, Verdict, Violation, describe_faults, faults_between, first_time
from harness.checkers.base import judges
from harness.history import History, Operation, Outcome

NAME = "counters"


#: a lost-increments violation names at most this many increments among its operations (see ``_Increments.explain``)
MOST_LISTED = 20


@dataclass(frozen=True)
class _Bounds:
    """What a read of a counter may answer, and the increments that surely applied before it."""

    lower: int
    upper: int
    certain: tuple[Operation, ...]  # those listed as evidence: all of them, or MOST_LISTED when more
    count: int = 0                  # how many surely applied
    first: Operation | None = None  # the first of them to end
    last: Operation | None = None   # the last of them to end
    writers: tuple[str, ...] | None = None  # the replicas that acknowledged them, when not all are listed


def _by(op: Operation) -> int:
    return int(op.args.get("by", 1))


class _Increments:
    """One counter's increments, with running sums by time, so that each read's bounds take two
    lookups instead of a pass over every increment (a counter several clients increment all
    through a soak has many thousands).

    For a read over [start, end]: the *certain* increments are the acknowledged ones that ended
    before it started (and the read itself when it is an acknowledged increment); the
    *uncertain* ones every other increment, acknowledged or unknown, that started before it
    ended. Every certain increment started before the read ended, so the uncertain sums are the
    sums over all that started before it ended, less the certain ones.
    """

    def __init__(self, increments: list[Operation]) -> None:
        self.increments = increments
        by = [_by(i) for i in increments]
        ok_at = sorted((p for p, i in enumerate(increments) if i.outcome is Outcome.OK),
                       key=lambda p: increments[p].end)
        self.ok_at = ok_at  # positions in ``increments`` of the acknowledged ones, by end
        self.ok_ends = [increments[p].end for p in ok_at]
        self.ok_sum = [0, *accumulate(by[p] for p in ok_at)]
        self.ok_up = [0, *accumulate(by[p] if by[p] > 0 else 0 for p in ok_at)]
        self.ok_down = [0, *accumulate(by[p] if by[p] < 0 else 0 for p in ok_at)]
        live = sorted((p for p, i in enumerate(increments) if i.outcome is not Outcome.FAIL),
                      key=lambda p: increments[p].start)
        self.live_starts = [increments[p].start for p in live]
        self.live_up = [0, *accumulate(by[p] if by[p] > 0 else 0 for p in live)]
        self.live_down = [0, *accumulate(by[p] if by[p] < 0 else 0 for p in live)]

    def bounds(self, read: Operation) -> tuple[int, int]:
        """The interval (lower, upper) of values ``read`` may see."""
        done = bisect_left(self.ok_ends, read.start)  # acknowledged, ended before the read started
        started = bisect_left(self.live_starts, read.end)  # may have applied by the time it ended
        base = self.ok_sum[done]
        up = self.live_up[started] - self.ok_up[done]
        down = self.live_down[started] - self.ok_down[done]
        if read.name == "increment":  # acknowledged (a definite answer): surely includes its own increment
            own = _by(read)
            base += own
            if read.start < read.end:  # it started before it ended: counted among those that started
                up, down = up - max(0, own), down - min(0, own)
        return base + down, base + up

    @cached_property
    def ok_positions(self) -> dict[int, list[int]]:
        """Where each acknowledged increment is in ``increments``, by id (asked only for violations)."""
        positions: dict[int, list[int]] = defaultdict(list)
        for p in self.ok_at:
            positions[self.increments[p].id].append(p)
        return positions

    @cached_property
    def _earliest(self) -> list[int]:
        """For the first k acknowledged to end: the position of the one that started first (first in the history's
        order among equals)."""
        inc = self.increments
        return list(accumulate(self.ok_at, lambda a, b: b if (inc[b].start, b) < (inc[a].start, a) else a))

    @cached_property
    def _replica_from(self) -> dict[str, int]:
        """Each replica that acknowledged an increment, and how many had ended before its first one did."""
        first: dict[str, int] = {}
        for k, p in enumerate(self.ok_at):
            first.setdefault(self.increments[p].replica, k)
        return first

    def explain(self, read: Operation, lower: int, upper: int) -> _Bounds:
        """The bounds with the increments that surely applied before ``read`` (the read itself when it is an
        acknowledged increment), in the history's order.

        A counter every client increments all through a soak has thousands of them before each
        read, and every read after a loss is a violation: listing them all would make a verdict
        grow with reads times increments. Beyond ``MOST_LISTED``, the list keeps the first to
        start and the first to end (the loss's window opens there: the faults between and the
        policy's exemption read it), and the last to end before the read; the count and every
        replica that acknowledged one are kept whole.
        """
        inc, ok_at = self.increments, self.ok_at
        done = bisect_left(self.ok_ends, read.start)
        own = list(self.ok_positions.get(read.id, ())) if read.name == "increment" else []
        count = done + len(own)
        if count <= MOST_LISTED:
            # recorded as they end, operations are nearly in end order already: this sort is about linear
            certain = tuple(inc[p] for p in sorted(set(ok_at[:done] + own)))
            first = min(certain, key=lambda i: i.end, default=None)
            last = max(certain, key=lambda i: i.end, default=None)
            return _Bounds(lower, upper, certain, count, first, last)
        # own increments end after the read began, so after every one that ended before it
        tail = ok_at[bisect_left(self.ok_ends, self.ok_ends[done - 1]):done]
        last = inc[own[0]] if own else inc[min(tail)]
        listed = {self._earliest[done - 1], ok_at[0], *own}
        listed.update(ok_at[max(0, done - (MOST_LISTED - len(listed))):done])
        writers = tuple(sorted(r for r, k in self._replica_from.items() if k < done))
        return _Bounds(lower, upper, tuple(inc[p] for p in sorted(listed)), count, inc[ok_at[0]], last, writers)


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
    if value < b.lower and b.count:
        first, last = b.first, b.last
        assert first is not None and last is not None
        in_between = describe_faults(faults_between(history, first.end, read.start), t0)
        message = (f"{seen}, but {b.count} acknowledged increments totalling {b.lower} had completed "
                   f"before it (the last by {last.replica} at +{last.end - t0:.2f}s); the value could only "
                   f"lie between {b.lower} and {b.upper}; in between: {in_between}")
        if b.writers is not None:  # not all of them listed among the operations
            evidence.update(increments_listed=len(b.certain), increments_certain=b.count, writers=list(b.writers))
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
        increments = _Increments([op for op in named if op.name == "increment"])
        for read in _reads(named):
            judged += 1
            lower, upper = increments.bounds(read)
            if lower <= read.value["value"] <= upper:
                continue
            bounds = increments.explain(read, lower, upper)
            if (violation := _violation(history, t0, name, read, bounds)) is not None:
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
