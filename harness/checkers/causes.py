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

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from harness.checkers.base import Verdict, Violation, faults_between
from harness.history import FaultEvent, History, Operation

SAME_REPLICA = "same_replica"
NOT_SHARED = "not_shared"
FAULT_ELSEWHERE = "fault_elsewhere"
OTHER = "other"

#: the groups in the order reports show them, with what each means in words
GROUPS = {
    SAME_REPLICA: "lost on the replica the fault hit",
    NOT_SHARED: "never seen on another replica (replicas do not share it)",
    FAULT_ELSEWHERE: "lost after a fault elsewhere",
    OTHER: "other violations",
}

#: violation kinds that say an acknowledged write went missing: the ones a cause can explain
LOSSES = frozenset({"lost", "lost-increments", "acknowledged-during-outage-then-lost"})


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


def _loss(violation: Violation, by_id: dict[int, Operation], history: History) -> _Loss | None:
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
    return _Loss(violation, writes[0].kind, item, frozenset(w.replica for w in writes), read.replica, between)


def _classify(loss: _Loss, unshared: set[str]) -> str:
    if not loss.cross and any(f.target == loss.reader for f in loss.between):
        return SAME_REPLICA
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


def _read_back_after(ops: list[Operation], replica: str, history: History) -> bool:
    """Whether any operation on ``replica`` answered after the first fault on it ended."""
    ends = [f.end for f in history.faults() if f.target == replica and not f.heal]
    return bool(ends) and any(op.replica == replica and op.start >= min(ends) and op.outcome.value == "ok"
                              for op in ops)


def _summary(history: History, ops: list[Operation], groups: dict[str, _Group]) -> str:
    """One line that names the cause: the faults, then what each group says."""
    faults = _faults_in_order(history)
    head = " then ".join(f"{fault} of {', '.join(targets)}" for fault, targets in faults.items()) or "no fault"
    replicas = {op.replica for op in ops}
    parts = []
    same = groups.get(SAME_REPLICA, _Group())
    for replica in dict.fromkeys(t for targets in faults.values() for t in targets if t in replicas):
        lost = same.counts(replica)
        if lost:
            parts.append(f"lost {_amounts(lost)} on {replica}")
        elif _read_back_after(ops, replica, history):
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
    by_id = {op.id: op for op in ops}
    losses = [_loss(v, by_id, history) if v.kind in LOSSES else None for v in verdict.violations]
    unshared = {loss.kind for loss in losses if loss is not None and loss.cross and not loss.between}
    groups: dict[str, _Group] = {}
    firsts: dict[str, dict[str, Any]] = {}
    for violation, loss in zip(verdict.violations, losses):
        cause = OTHER if loss is None else _classify(loss, unshared)
        groups.setdefault(cause, _Group()).add(violation, loss if cause != OTHER else None)
        firsts.setdefault(cause, _example(violation, loss))
    shown: dict[str, Any] = {}
    for cause, title in GROUPS.items():
        if cause not in groups:
            continue
        g = groups[cause]
        counts = (dict(sorted(Counter(v.kind for v in g.violations).items())) if cause == OTHER else g.counts())
        shown[cause] = {"title": title, "violations": len(g.violations), "counts": counts,
                        "replicas": g.replicas() if cause != OTHER else sorted({v.replica for v in g.violations
                                                                                 if v.replica}),
                        "faults": g.faults, "first": firsts[cause]}
    faults = [f"{fault} of {', '.join(targets)}" for fault, targets in _faults_in_order(history).items()]
    return {"summary": _summary(history, ops, groups), "faults": faults, "groups": shown}
