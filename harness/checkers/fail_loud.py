"""Fail loud: during a dependency outage, a write must fail, not be acknowledged and then lost.

The bug this catches is the silent fallback: the database errors, the app keeps the
write in process memory and answers 200, and the write is gone once the outage ends
or the replica restarts. The model: an outage is a window of the history
(``harness.checkers.outages``): a ``dependency-outage`` or ``network-cut`` to its heal on
the same target (or to the end of the history if it never came back), a
``dependency-restart`` for as long as it lasts. A write acknowledged
while an outage was under way (its request overlapped the window) must be readable in
the final phase; if it is not, that is ``acknowledged-during-outage-then-lost``.
A write that failed or timed out during the outage (a 5xx) is the correct, loud
behaviour and is only counted.

What "readable" means is decided by the per-kind checkers (durability, sessions,
quotes, counters): this checker keeps their final-phase ``lost`` findings whose write
overlapped an outage. A counter's increments are not told apart in its value, so a
final read short of the acknowledged sum is charged to the outage when increments of
that counter were acknowledged during it. A pass means no write acknowledged during an outage was seen
missing afterwards; a write never read back in the final phase was not judged.

This checker charges a loss to the outage only when the outage is what sets the write
apart: comparable writes (the same state kind) acknowledged outside every outage were
read back, and fewer of them were lost. An app that never stored sessions durably loses
them all, inside the outage and out; that loss is the durability checkers' finding
(they report it already), and blaming a network cut for it would send the reader the
wrong way. For a counter, the outage is charged when the shortfall is no more than the
increments acknowledged during it and the final value still covers the increments
acknowledged outside it. Writes not charged are counted in a note, never dropped unseen.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, replace
from itertools import accumulate
from typing import Callable, Iterator

from harness.checkers.base import Validity, Verdict, Violation, first_time, judges
from harness.checkers.counters import check_counters
from harness.checkers.durability import check_files, check_records
from harness.checkers.expiry import check_quotes
from harness.checkers.outages import Outage, outages
from harness.checkers.sessions import check_sessions
from harness.history import History, Operation, Outcome

NAME = "fail_loud"

WRITES = {
    ("records", "create"), ("records", "update"), ("records", "delete"),
    ("files", "upload"),
    ("counters", "increment"),
    ("sessions", "login"),
    ("quotes", "create"),
}

# per-kind checker, and the evidence key naming the acknowledged write in its "lost" violations
DURABILITY: tuple[tuple[Callable[[History], Verdict], str], ...] = (
    (check_records, "write"),
    (check_files, "write"),
    (check_quotes, "write"),
    (check_sessions, "login"),
)


def outage_windows(history: History) -> list[Outage]:
    """The history's outages, an unhealed one ending with the history's last event."""
    last = max((e.end for e in history), default=0.0)
    return [replace(w, end=min(w.end, last)) for w in outages(history.faults())]


class _Windows:
    """Outage windows, looked up by an operation's interval: the first (in order) that overlaps it.

    A million operations against a hundred outages: a lookup each, not a pass over the outages.
    Windows come ordered by start; with ``reach[k]`` the latest end among the first k+1, the
    first window that ends after an operation starts is the first whose ``reach`` does, and it
    overlaps the operation exactly when it also starts before the operation ends (any later
    window starts later still).
    """

    def __init__(self, windows: list[Outage]) -> None:
        self.windows = windows
        ordered = all(a.start <= b.start for a, b in zip(windows, windows[1:]))
        self.reach = list(accumulate((w.end for w in windows), max)) if ordered else None

    def __bool__(self) -> bool:
        return bool(self.windows)

    def __iter__(self) -> Iterator[Outage]:
        return iter(self.windows)

    def during(self, op: Operation) -> Outage | None:
        if self.reach is None:
            return next((w for w in self.windows if w.overlaps(op)), None)
        k = bisect_right(self.reach, op.start)
        return self.windows[k] if k < len(self.windows) and self.windows[k].overlaps(op) else None


def _during(op: Operation, windows: _Windows | list[Outage]) -> Outage | None:
    if isinstance(windows, _Windows):
        return windows.during(op)
    return next((w for w in windows if w.overlaps(op)), None)


class _Ops:
    """Operations by id, looked up in the history (no copy of a million-operation index)."""

    def __init__(self, history: History) -> None:
        self._history = history

    def get(self, op_id: object, default: None = None) -> Operation | None:
        return self._history.operation(op_id) if isinstance(op_id, int) else None

    def __getitem__(self, op_id: int) -> Operation:
        op = self._history.operation(op_id)
        if op is None:
            raise KeyError(op_id)
        return op


def _lost_writes(history: History, by_id: _Ops) -> dict[int, list[tuple[Violation, Operation]]]:
    """Acknowledged writes the per-kind checkers found missing in a final read: write id -> (finding, read)."""
    lost: dict[int, list[tuple[Violation, Operation]]] = defaultdict(list)
    for checker, write_key in DURABILITY:
        for v in checker(history).violations:
            write, read = by_id.get(v.evidence.get(write_key, -1)), by_id.get(v.evidence.get("read", -1))
            if v.kind == "lost" and write is not None and read is not None and read.phase == "final":
                lost[write.id].append((v, read))
    return lost


@dataclass(frozen=True)
class Comparison:
    """Comparable writes of one state kind acknowledged outside every outage: how many were judged, how many lost."""

    kind: str
    judged: int
    lost: int

    def sets_apart(self, lost_during: int, during: int) -> bool:
        """The outage explains the loss: some outside write survived, and a smaller share of them was lost."""
        return self.judged > self.lost and self.lost * during < lost_during * self.judged

    def describe(self) -> str:
        if not self.judged:
            return f"no {self.kind} write acknowledged outside the outage was read back, so nothing to compare with"
        return (f"{self.lost} of {self.judged} {self.kind} write(s) acknowledged outside the outage were lost too: "
                "the outage does not set these apart")


def _comparison(history: History, kind: str, windows: _Windows, lost_ids: set[int]) -> Comparison:
    """Writes of ``kind`` acknowledged outside every outage, judged in a final read (the kind had one that answered)."""
    read_back = any(op.kind == kind and op.phase == "final" and op.outcome is Outcome.OK
                    for op in history.operations(kind))
    outside = [op for op in history.operations(kind) if (op.kind, op.name) in WRITES and op.outcome is Outcome.OK
               and _during(op, windows) is None]
    if not read_back:
        return Comparison(kind, 0, 0)
    return Comparison(kind, len(outside), sum(op.id in lost_ids for op in outside))


def _lost_violation(t0: float, write: Operation, window: Outage,
                    findings: list[tuple[Violation, Operation]]) -> Violation:
    readers = sorted({read.replica for _, read in findings})
    message = (f"{write.kind} {write.name} acknowledged by {write.replica} at +{write.end - t0:.2f}s, during the "
               f"outage ({window.describe(t0)}), was not readable after the faults healed: the final reads on "
               f"{', '.join(readers)} missed it. First finding: {findings[0][0].message}")
    return Violation(NAME, "acknowledged-during-outage-then-lost", message, replica=write.replica,
                     op_ids=(write.id,) + tuple(read.id for _, read in findings), time=write.end,
                     evidence={"write": write.id, "outage": window.describe(t0), "readers": readers})


def _lost_increments(history: History, t0: float, windows: _Windows,
                     by_id: _Ops, notes: list[str] | None = None) -> list[Violation]:
    """Counters whose final read fell below the acknowledged sum, with increments acknowledged during an outage.

    Charged to the outage only when the increments acknowledged during it explain the whole
    shortfall and the value still covers those acknowledged outside it; otherwise a note.
    """
    violations = []
    seen: set[str] = set()
    notes = [] if notes is None else notes
    acknowledged_during: dict[str, list[tuple[Operation, Outage]]] | None = None
    for v in check_counters(history).violations:
        read, name = by_id.get(v.evidence["read"]), v.evidence["name"]
        if v.kind != "lost-increments" or read is None or read.phase != "final" or name in seen:
            continue
        if acknowledged_during is None:  # once, by counter: a soak has many counters and many violations
            acknowledged_during = {}
            for op in history.operations("counters"):
                if op.name == "increment" and op.outcome is Outcome.OK and (w := _during(op, windows)) is not None:
                    acknowledged_during.setdefault(op.args.get("name"), []).append((op, w))  # type: ignore[arg-type]
        during = acknowledged_during.get(name, [])
        if not during:
            continue
        seen.add(name)
        total = sum(int(op.args.get("by", 1)) for op, _ in during)
        shortfall = v.evidence["lower"] - v.evidence["value"]
        outside = v.evidence["lower"] - total
        if not (outside > 0 and shortfall <= total):
            why = ("no increment acknowledged outside the outage to compare with" if outside <= 0 else
                   f"{shortfall} short, more than the {total} acknowledged during the outage")
            notes.append(f"counter '{name}' not charged to the outage ({why}): left to the counters checker")
            continue
        count = f"{len(during)} increment{'s' if len(during) != 1 else ''}"
        message = (f"counter '{name}': {count} totalling {total} acknowledged during the "
                   f"outage ({during[0][1].describe(t0)}); after the faults healed {read.replica} read "
                   f"{v.evidence['value']}, {v.evidence['lower'] - v.evidence['value']} short of the "
                   f"acknowledged {v.evidence['lower']}")
        violations.append(Violation(NAME, "acknowledged-during-outage-then-lost", message, replica=read.replica,
                                    op_ids=tuple(op.id for op, _ in during) + (read.id,), time=read.start,
                                    evidence={"counter": name, "read": read.id, "outage": during[0][1].describe(t0)}))
    return violations


@judges(*sorted({kind for kind, _ in WRITES}), name=NAME)
def check_fail_loud(history: History) -> Verdict:
    """Writes acknowledged during a dependency outage and missing once it healed."""
    t0 = first_time(history)
    windows = _Windows(outage_windows(history))
    ops = [op for op in history.operations() if (op.kind, op.name) in WRITES]
    during = [op for op in ops if _during(op, windows) is not None]
    acknowledged = [op for op in during if op.outcome is Outcome.OK]
    stats = {
        "outages": [w.describe(t0) for w in windows],
        "acknowledged_during_outage": len(acknowledged),
        "failed_during_outage": sum(op.outcome is not Outcome.OK for op in during),
    }
    if not windows:
        return Verdict(NAME, Validity.PASS, notes=("no dependency outage in this history",), stats={**stats, "lost": 0})
    by_id = _Ops(history)
    lost = _lost_writes(history, by_id)
    candidates = [
        (by_id[wid], window, findings)
        for wid, findings in sorted(lost.items())
        if (window := _during(by_id[wid], windows)) is not None and by_id[wid].outcome is Outcome.OK
        and (by_id[wid].kind, by_id[wid].name) in WRITES
    ]
    violations: list[Violation] = []
    notes: list[str] = []
    for kind in sorted({write.kind for write, _, _ in candidates}):
        mine = [c for c in candidates if c[0].kind == kind]
        comparison = _comparison(history, kind, windows, set(lost))
        if comparison.sets_apart(len(mine), sum(op.kind == kind for op in acknowledged)):
            violations += [_lost_violation(t0, write, window, findings) for write, window, findings in mine]
        else:
            notes.append(f"{len(mine)} {kind} write(s) acknowledged during the outage and lost afterwards were not "
                         f"charged to it ({comparison.describe()}): the {kind} checker reports the loss")
    violations += _lost_increments(history, t0, windows, by_id, notes)
    violations.sort(key=lambda v: v.time if v.time is not None else 0.0)
    stats["lost"] = len(violations)
    stats["lost_not_charged"] = len(candidates) - sum(v.evidence.get("write") is not None for v in violations)
    if violations:
        return Verdict(NAME, Validity.FAIL, tuple(violations), notes=tuple(notes), stats=stats)
    if notes:
        return Verdict(NAME, Validity.PASS, notes=tuple(notes), stats=stats)
    unread = {op.kind for op in acknowledged} - {op.kind for op in history.operations() if op.phase == "final"
                                                  and op.outcome is Outcome.OK}
    if unread:
        return Verdict(NAME, Validity.UNKNOWN, notes=(f"no final read answered for: {', '.join(sorted(unread))}",),
                       stats=stats)
    return Verdict(NAME, Validity.PASS, stats=stats)
