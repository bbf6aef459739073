"""Verdicts, violations, and how verdicts of several checkers merge.

A checker is a pure function ``history -> Verdict``. Verdicts are three-valued, as in
Jepsen: ``pass`` (nothing wrong was observed), ``fail`` (at least one violation, with
its evidence) and ``unknown`` (the history does not allow a judgement, e.g. no final
read ever answered, or the checker itself crashed). ``pass`` means "no violation was
observed in this history", not "the app is durable".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Callable, Iterable, Mapping

from harness.history import FaultEvent, History


class Validity(StrEnum):
    PASS = "pass"
    UNKNOWN = "unknown"
    FAIL = "fail"


_PRIORITY = {Validity.PASS: 0, Validity.UNKNOWN: 1, Validity.FAIL: 2}


@dataclass(frozen=True)
class Violation:
    """One broken promise, readable without the code: what, where, when, what instead."""

    checker: str
    kind: str
    message: str
    replica: str | None = None
    op_ids: tuple[int, ...] = ()
    time: float | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    checker: str
    validity: Validity
    violations: tuple[Violation, ...] = ()
    notes: tuple[str, ...] = ()
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.validity is Validity.PASS

    def explain(self, most: int = 20) -> str:
        """A report a QA engineer can read: the verdict, the first ``most`` violations, the notes."""
        lines = [f"{self.checker}: {self.validity.value} ({len(self.violations)} violations)"]
        lines += [f"  - [{v.checker}/{v.kind}] {v.message}" for v in self.violations[:most]]
        if len(self.violations) > most:
            lines.append(f"  ... and {len(self.violations) - most} more (all of them are in the verdict JSON)")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Checker = Callable[[History], Verdict]


def judge(history: History, checkers: Iterable[Checker],
          exempt: Mapping[str, frozenset[str]] | None = None) -> Verdict:
    """Run every checker and merge their verdicts; a crashing checker yields unknown, never pass.

    ``exempt`` is a policy (``harness.policy.effective``): each checker's violations that
    only exempt faults explain become notes before the verdicts merge.
    """
    from harness.policy import apply_policy  # policy builds on this module's types

    verdicts = []
    for checker in checkers:
        name = getattr(checker, "__name__", repr(checker))
        try:
            verdict = checker(history)
        except Exception as exc:  # noqa: BLE001 - a checker bug must not turn into a pass
            verdict = Verdict(name, Validity.UNKNOWN, notes=(f"checker crashed: {exc!r}",))
        verdicts.append(apply_policy(verdict, history, exempt) if exempt is not None else verdict)
    return merge(verdicts)


def merge(verdicts: Iterable[Verdict]) -> Verdict:
    """Combine verdicts: the worst validity wins; violations and notes are kept in order."""
    verdicts = list(verdicts)
    if not verdicts:
        return Verdict("none", Validity.UNKNOWN, notes=("no checker ran",))
    worst = max((v.validity for v in verdicts), key=_PRIORITY.__getitem__)
    return Verdict(
        checker="+".join(v.checker for v in verdicts),
        validity=worst,
        violations=tuple(x for v in verdicts for x in v.violations),
        notes=tuple(n for v in verdicts for n in v.notes),
        stats={v.checker: v.stats for v in verdicts},
    )


def first_time(history: History) -> float:
    """The moment all times in messages are relative to: the first event's start."""
    return min((e.start for e in history), default=0.0)


def faults_between(history: History, start: float, end: float) -> list[FaultEvent]:
    """Faults that began or were under way between two moments: the 'what happened in between'."""
    return [f for f in history.faults() if f.start < end and f.end > start]


def describe_faults(faults: list[FaultEvent], t0: float) -> str:
    if not faults:
        return "no fault in between"
    return ", ".join(f"{f.fault} of {f.target} at +{f.start - t0:.2f}s" for f in faults)
