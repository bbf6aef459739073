"""Violations grouped by cause: which fault lost what, and what the replicas never shared.

A QA engineer's first question after a fault is "did the fault itself lose anything on
the replica it hit?". A verdict lists violations in the checkers' order, and the first
is often a loss between replicas that simply do not share that state, with no fault in
between. This module sorts every loss of a verdict by what the history says about it,
a pure function of (verdict, history), so a stored run can be explained again:

- ``same_replica``: written on replica X and lost when read back on X, after a fault on
  X: what the fault did to the replica it hit;
- ``not_shared``: written on one replica and missing on another, with no fault between
  the write and the read: the replicas do not share that state. Once a state kind has
  shown that, its other cross-replica losses are the same thing, faults or not (a
  replica that never had a session cannot lose it in a crash);
- ``race``: lost between writes that overlapped, on state the replicas do share: a lost
  update (two acknowledged updates of a record that report the same version), or
  increments missing from a counter that a replica read higher than every increment it
  took itself could make it, with no fault between the write and the read;
- ``fault_elsewhere``: lost after a fault between write and read that did not hit the
  reading replica with its own write (a dependency restart, or a crash of the replica
  that took the write, when the kind has not shown it is unshared);
- ``other``: every other violation, by kind (over-limit, expired-but-accepted, a loss
  with no fault at all, ...). None is ever dropped: the groups' violation counts add up
  to the verdict's.

The write and the read of a violation are found from its evidence (``write`` or
``login``, and ``read``), else from its operation ids (the read is the last, the writes
the others), and their replicas from the history's operations.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from harness.checkers.base import Verdict, Violation, faults_between
from harness.history import FaultEvent, History, Operation

SAME_REPLICA = "same_replica"
NOT_SHARED = "not_shared"
RACE = "race"
FAULT_ELSEWHERE = "fault_elsewhere"
OTHER = "other"

#: the groups in the order reports show them, with what each means in words
GROUPS = {
    SAME_REPLICA: "lost on the replica the fault hit",
    NOT_SHARED: "never seen on another replica (replicas do not share it)",
    RACE: "lost between concurrent writes to shared state (a race)",
    FAULT_ELSEWHERE: "lost after a fault elsewhere",
    OTHER: "other violations",
}

#: violation kinds that say an acknowledged write went missing: the ones a cause can explain
LOSSES = frozenset({"lost", "lost-increments", "acknowledged-during-outage-then-lost"})
#: violation kinds that are a race by what they are: two writes that overlapped, one lost
RACES = frozenset({"lost-update"})


@dataclass
class _Group:
    """The violations of one cause, and the distinct items they lost per replica and state kind."""

    violations: list[Violation] = field(default_factory=list)
    items: dict[str, dict[str, set[Any]]] = field(default_factory=dict)  # replica -> kind -> items
    faults: list[str] = field(default_factory=list)

    def add(self, violation: Violation, loss: _Loss | None) -> None:
        self.violations.append(violation)
        if loss is None:
            return
        self.items.setdefault(loss.reader, {}).setdefault(loss.kind, set()).add(loss.item)
        self.faults += [name for name in dict.fromkeys(_fault_name(f) for f in loss.between) if name not in self.faults]

    def counts(self, replica: str | None = None) -> dict[str, int]:
        """Distinct items lost per state kind, on ``replica`` or on all of them."""
        merged: dict[str, set[Any]] = {}
        for on, kinds in self.items.items():
            if replica is None or on == replica:
                for kind, items in kinds.items():
                    merged.setdefault(kind, set()).update(items)
        return {kind: len(items) for kind, items in sorted(merged.items())}

    def replicas(self) -> list[str]:
        return sorted(self.items)


@dataclass(frozen=True)
class _Loss:
    """A loss as its write(s) and read: who took the write, who missed it, what happened in between."""

    violation: Violation
    kind: str
    item: Any
    writers: frozenset[str]
    reader: str
    between: tuple[FaultEvent, ...]

    @property
    def cross(self) -> bool:
        return self.writers != {self.reader}


def _fault_name(f: FaultEvent) -> str:
    return f"{f.fault} of {f.target}"


class _Ops:
    """Operations by id, looked up in the history (no copy of a million-operation index)."""

    def __init__(self, history: History) -> None:
        self._history = history

    def __contains__(self, op_id: object) -> bool:
        return isinstance(op_id, int) and self._history.operation(op_id) is not None

    def __getitem__(self, op_id: int) -> Operation:
        op = self._history.operation(op_id)
        if op is None:
            raise KeyError(op_id)
        return op

    def get(self, op_id: object) -> Operation | None:
        return self._history.operation(op_id) if isinstance(op_id, int) else None


def _loss(violation: Violation, by_id: _Ops, history: History) -> _Loss | None:
    """The write(s) and the read a loss names, or None when the history does not hold them."""
    ids = [i for i in violation.op_ids if i in by_id]
    read_id = violation.evidence.get("read")
    read = by_id.get(read_id) if isinstance(read_id, int) else (by_id[ids[-1]] if ids else None)
    named = [violation.evidence.get(key) for key in ("write", "login")]
    writes = [by_id[i] for i in named if isinstance(i, int) and i in by_id]
    if not writes:
        writes = [by_id[i] for i in ids if read is None or i != read.id]
    if read is None or not writes:
        return None
    item = next((violation.evidence[k] for k in ("record", "name", "counter") if violation.evidence.get(k)),
                tuple(w.id for w in writes))
    between = tuple(faults_between(history, min(w.end for w in writes), read.start))
    # a violation that lists only some of its writes names every replica that took one
    writers = violation.evidence.get("writers")
    replicas = frozenset(writers) if isinstance(writers, list) else frozenset(w.replica for w in writes)
    return _Loss(violation, writes[0].kind, item, replicas, read.replica, between)


class _OwnIncrements:
    """How much each replica's own increments of a counter add up to by a moment (prefix sums, built once)."""

    def __init__(self, history: History) -> None:
        self._starts: dict[tuple[str, Any], list[float]] = {}
        self._sums: dict[tuple[str, Any], list[float]] = {}
        for op in history.operations("counters"):
            if op.name == "increment" and op.outcome.value != "fail":
                key = (op.replica, op.args.get("name"))
                self._starts.setdefault(key, []).append(op.start)
                by = op.args.get("by", 1)
                sums = self._sums.setdefault(key, [])
                sums.append((sums[-1] if sums else 0) + (by if isinstance(by, (int, float)) else 1))

    def before(self, replica: str, name: Any, moment: float) -> float:
        """The sum of every increment ``replica`` took of ``name`` that started before ``moment`` (acknowledged
        or of unknown outcome: all it could have applied by then)."""
        starts, sums = self._starts.get((replica, name), []), self._sums.get((replica, name), [])
        n = bisect_left(starts, moment) if starts == sorted(starts) else sum(1 for t in starts if t < moment)
        return sums[n - 1] if n else 0


def _shared(loss: _Loss, history: History, own: "_OwnIncrements") -> bool:
    """Whether the lost item is state the replicas demonstrably share: a counter read on a replica higher than
    every increment that replica took could make it (so it sees the others')."""
    if loss.kind != "counters":
        return False
    evidence = loss.violation.evidence
    read = history.operation(evidence["read"]) if isinstance(evidence.get("read"), int) else None
    value = evidence.get("value")
    if read is None or not isinstance(value, (int, float)):
        return False
    return value > own.before(read.replica, evidence.get("name"), read.end)


def _classify(loss: _Loss, unshared: set[str], shared: bool = False) -> str:
    if not loss.cross and any(f.target == loss.reader for f in loss.between):
        return SAME_REPLICA
    if shared and not loss.between:
        return RACE
    if loss.cross and (not loss.between or loss.kind in unshared):
        return NOT_SHARED
    return FAULT_ELSEWHERE if loss.between else OTHER


def _example(violation: Violation, loss: _Loss | None) -> dict[str, Any]:
    """The first violation of a group, as reports show it: what, where, and the write's and read's replicas."""
    example: dict[str, Any] = {"checker": violation.checker, "kind": violation.kind, "message": violation.message,
                               "replica": violation.replica, "op_ids": list(violation.op_ids)}
    if loss is not None:
        example.update(written_on=sorted(loss.writers), read_on=loss.reader,
                       faults_between=list(dict.fromkeys(_fault_name(f) for f in loss.between)))
    return example


def _and(words: list[str]) -> str:
    """``["a", "b", "c"]`` -> ``a, b and c``."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _by_count(counts: dict[str, int]) -> list[str]:
    """The kinds, most items first."""
    return sorted(counts, key=lambda kind: (-counts[kind], kind))


def _amounts(counts: dict[str, int]) -> str:
    """``{"files": 3, "records": 14}`` -> ``14 records and 3 files``: most first, a count of one in the singular."""
    return _and([f"{counts[kind]} {kind if counts[kind] != 1 else kind.removesuffix('s')}"
                 for kind in _by_count(counts)])


def _faults_in_order(history: History) -> dict[str, list[str]]:
    """Each fault of the scenario (heals left out) with its targets, in the order they began."""
    named: dict[str, list[str]] = {}
    for f in sorted(history.faults(), key=lambda f: f.start):
        if not f.heal and f.target not in named.setdefault(f.fault, []):
            named[f.fault].append(f.target)
    return named


def _read_back_after(last_answer: dict[str, float], replica: str, history: History) -> bool:
    """Whether any operation on ``replica`` answered after the first fault on it ended (``last_answer``:
    each replica's latest start of an operation that answered)."""
    ends = [f.end for f in history.faults() if f.target == replica and not f.heal]
    return bool(ends) and replica in last_answer and last_answer[replica] >= min(ends)


def _last_answers(ops: list[Operation]) -> dict[str, float]:
    """Each replica's latest start of an operation that answered (one pass, asked per faulted replica)."""
    last: dict[str, float] = {}
    for op in ops:
        if op.outcome.value == "ok" and op.start > last.get(op.replica, float("-inf")):
            last[op.replica] = op.start
    return last


def _summary(history: History, ops: list[Operation], groups: dict[str, _Group]) -> str:
    """One line that names the cause: the faults, then what each group says."""
    faults = _faults_in_order(history)
    head = " then ".join(f"{fault} of {', '.join(targets)}" for fault, targets in faults.items()) or "no fault"
    last_answer = _last_answers(ops)
    replicas = {op.replica for op in ops}
    parts = []
    same = groups.get(SAME_REPLICA, _Group())
    for replica in dict.fromkeys(t for targets in faults.values() for t in targets if t in replicas):
        lost = same.counts(replica)
        if lost:
            parts.append(f"lost {_amounts(lost)} on {replica}")
        elif _read_back_after(last_answer, replica, history):
            parts.append(f"nothing lost on {replica}")
        else:
            parts.append(f"nothing read back on {replica} after the fault")
    for replica in same.replicas():  # a fault of a name the history does not list among the replicas
        if replica not in replicas:
            parts.append(f"lost {_amounts(same.counts(replica))} on {replica}")
    if NOT_SHARED in groups:
        counts = groups[NOT_SHARED].counts()
        [(kind, n)] = counts.items() if len(counts) == 1 else [("", 0)]
        parts.append(f"replicas do not share {kind} ({n} never seen on another replica)" if kind else
                     f"replicas do not share {_and(_by_count(counts))} ({_amounts(counts)} never seen on another "
                     "replica)")
    if RACE in groups:
        g = groups[RACE]
        kinds = Counter(v.kind for v in g.violations)
        parts.append("lost between concurrent writes (" + ", ".join(f"{kind}: {count}" for kind, count in
                                                                   sorted(kinds.items())) + ")")
    if FAULT_ELSEWHERE in groups:
        g = groups[FAULT_ELSEWHERE]
        every = {f"{fault} of {t}" for fault, targets in faults.items() for t in targets}
        after = ("it" if len(every) == 1 else "them") if set(g.faults) == every else _and(g.faults)
        parts.append(f"lost {_amounts(g.counts())} on {_and(g.replicas())} after {after}")
    if OTHER in groups:
        kinds = Counter(v.kind for v in groups[OTHER].violations)
        n = len(groups[OTHER].violations)
        parts.append(f"{n} other violation{'s' if n != 1 else ''} ("
                     + ", ".join(f"{kind}: {count}" for kind, count in sorted(kinds.items())) + ")")
    return f"{head}: {'; '.join(parts)}" if parts else f"{head}: nothing lost"


def causes(verdict: Verdict, history: History) -> dict[str, Any] | None:
    """The verdict's violations grouped by cause, with a one-line summary; None when it has none.

    Shape (``verdicts.json``'s ``causes``): ``summary``; ``faults`` (each fault of the
    scenario, ``crash of app-0``); ``groups``: per cause that has a violation (keys of
    ``GROUPS``, in that order) its ``title``, ``violations`` (how many), ``counts`` (distinct
    items per state kind; for ``other``: violations per violation kind), ``replicas`` (where
    they were missed), ``faults`` (those between write and read) and ``first`` (an example).
    """
    if not verdict.violations:
        return None
    ops = history.operations()
    by_id = _Ops(history)
    losses = [_loss(v, by_id, history) if v.kind in LOSSES else None for v in verdict.violations]
    own = _OwnIncrements(history) if any(loss is not None and loss.kind == "counters" for loss in losses) else None
    shared = [own is not None and loss is not None and _shared(loss, history, own) for loss in losses]
    unshared = {loss.kind for loss, known in zip(losses, shared)
                if loss is not None and loss.cross and not loss.between and not known}
    groups: dict[str, _Group] = {}
    firsts: dict[str, dict[str, Any]] = {}
    for violation, loss, is_shared in zip(verdict.violations, losses, shared):
        if violation.kind in RACES:
            groups.setdefault(RACE, _Group()).add(violation, None)
            firsts.setdefault(RACE, _example(violation, None))
            continue
        cause = OTHER if loss is None else _classify(loss, unshared, is_shared)
        groups.setdefault(cause, _Group()).add(violation, loss if cause != OTHER else None)
        firsts.setdefault(cause, _example(violation, loss))
    shown: dict[str, Any] = {}
    for cause, title in GROUPS.items():
        if cause not in groups:
            continue
        g = groups[cause]
        by_kind = cause == OTHER or (cause == RACE and not g.items)  # no items: counted by violation kind
        counts = dict(sorted(Counter(v.kind for v in g.violations).items())) if by_kind else g.counts()
        shown[cause] = {"title": title, "violations": len(g.violations), "counts": counts,
                        "replicas": g.replicas() if not by_kind else sorted({v.replica for v in g.violations
                                                                              if v.replica}),
                        "faults": g.faults, "first": firsts[cause]}
    faults = [f"{fault} of {', '.join(targets)}" for fault, targets in _faults_in_order(history).items()]
    return {"summary": _summary(history, ops, groups), "faults": faults, "groups": shown}
