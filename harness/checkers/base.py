"""Verdicts, violations, how a policy exempts some, and how verdicts of several checkers merge.

A checker is a pure function ``history -> Verdict``. Verdicts are three-valued, as in
Jepsen: ``pass`` (nothing wrong was observed), ``fail`` (at least one violation, with
its evidence) and ``unknown`` (the history does not allow a judgement, e.g. no final
read ever answered, or the checker itself crashed). ``pass`` means "no violation was
observed in this history", not "the app is durable".

Nothing checked is not a pass: a checker declares the operation kinds it judges
(``judges``), and when a history holds none of them (the logout scenario on a target
without sessions) its verdict is ``unknown`` marked ``nothing_to_check``. Merged with
verdicts that did judge something, it only adds a note; when no checker of a scenario
had anything to check, the scenario's verdict is that ``unknown``, and every report says
"nothing to check".
"""

from __future__ import annotations

import gc
from bisect import bisect_left
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from functools import wraps
from typing import Any, Callable, Iterable, Iterator, Mapping, TypeVar
from weakref import WeakKeyDictionary, ref

from harness.history import FaultEvent, History
from harness.policy import NEVER_EXEMPT, exempts


class Validity(StrEnum):
    PASS = "pass"
    UNKNOWN = "unknown"
    FAIL = "fail"


_PRIORITY = {Validity.PASS: 0, Validity.UNKNOWN: 1, Validity.FAIL: 2}

#: how every report words a verdict whose checkers saw no operation of their kind
NOTHING_TO_CHECK = "nothing to check"
#: how every report words the kinds some checkers found no operation of, beside others that judged
NOT_IN_SPEC = "not in the spec"


@dataclass(frozen=True, slots=True)  # slotted: a soak of a broken app has violations by the hundred thousand
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
class Finding:
    """A fact about the target's declared model that users should know, not a broken promise.

    Example: with client-side sessions (a signed cookie) a token stays valid after its
    logout; that is how the model works, so it is reported, with its reason, apart from
    violations and without failing the verdict. It never hides a violation: a checker
    reports findings beside whatever violations the same history shows.
    """

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
    findings: tuple[Finding, ...] = ()
    #: the history held no operation of the kinds the checker(s) judge: unknown, not a pass
    nothing_to_check: bool = False

    @property
    def ok(self) -> bool:
        return self.validity is Validity.PASS

    def explain(self, most: int = 20) -> str:
        """A report a QA engineer can read: the verdict, the first ``most`` violations, the notes."""
        lines = [f"{self.checker}: {self.validity.value} ({len(self.violations)} violations)"]
        lines += [f"  - [{v.checker}/{v.kind}] {v.message}" for v in self.violations[:most]]
        if len(self.violations) > most:
            lines.append(f"  ... and {len(self.violations) - most} more (all of them are in the verdict JSON)")
        lines += [f"  finding: [{f.checker}/{f.kind}] {f.message}" for f in self.findings]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Checker = Callable[[History], Verdict]
C = TypeVar("C", bound=Callable[..., Verdict])


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a checker runs (restored after, also when nested).

    A soak's history is a million operations, each a handful of objects, all alive while it is
    judged; a checker allocates its indexes by the hundred thousand, and every full collection
    that triggers walks the whole heap again: a fifth to a third of the judging time. What a
    checker builds holds no cycles, so nothing is left for the collector to find.
    """
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def judges(*kinds: str, name: str | None = None) -> Callable[[C], C]:
    """Declare the operation kinds a checker reads (and the name its verdicts carry).

    ``judge`` then reports a history without any operation of these kinds as having
    nothing to check, instead of running the checker on nothing and calling it a pass.
    The checker runs with the garbage collector paused (``gc_paused``), and its verdict on a
    history is kept while that history lives and has not grown: a checker is a pure function
    of an append-only history, and others ask for the same verdict again (fail-loud reads the
    durability checkers' findings, ``judge`` has just run them), which on a soak's history
    would double the judging time.
    """
    def mark(checker: C) -> C:
        verdicts: "WeakKeyDictionary[History, tuple[int, Verdict]]" = WeakKeyDictionary()

        @wraps(checker)
        def judged(*args: Any, **kwargs: Any) -> Verdict:
            history = args[0] if len(args) == 1 and not kwargs and isinstance(args[0], History) else None
            if history is not None and (known := verdicts.get(history)) is not None and known[0] == len(history):
                return known[1]
            with gc_paused():
                verdict = checker(*args, **kwargs)
            if history is not None:
                verdicts[history] = (len(history), verdict)
            return verdict
        judged.judged_kinds = frozenset(kinds)  # type: ignore[attr-defined]
        judged.checker_name = name or checker.__name__.removeprefix("check_")  # type: ignore[attr-defined]
        return judged  # type: ignore[return-value]
    return mark


def judged_kinds(checker: Checker) -> frozenset[str] | None:
    """The kinds a checker declared with ``judges``; a ``functools.partial`` judges its function's; None: undeclared."""
    return getattr(getattr(checker, "func", checker), "judged_kinds", None)


def nothing_to_check(name: str, kinds: Iterable[str]) -> Verdict:
    """The verdict of a checker whose kinds the history never shows: unknown, with the reason."""
    kinds = sorted(kinds)
    note = f"{NOTHING_TO_CHECK}: no {' or '.join(kinds)} operation in this history"
    return Verdict(name, Validity.UNKNOWN, notes=(note,),
                   stats={"nothing_to_check": kinds}, nothing_to_check=True)


def judge(history: History, checkers: Iterable[Checker],
          exempt: Mapping[str, frozenset[str]] | None = None) -> Verdict:
    """Run every checker and merge their verdicts; a crashing checker yields unknown, never pass.

    ``exempt`` is a policy (``harness.policy.effective``): each checker's violations that
    only exempt faults explain become notes before the verdicts merge.
    """
    with gc_paused():
        return _judge(history, checkers, exempt)


def _judge(history: History, checkers: Iterable[Checker], exempt: Mapping[str, frozenset[str]] | None) -> Verdict:
    verdicts = []
    present = history.kinds()
    for checker in checkers:
        name = getattr(checker, "__name__", repr(checker))
        kinds = judged_kinds(checker)
        if kinds is not None and not kinds & present:
            base = getattr(checker, "func", checker)
            verdicts.append(nothing_to_check(getattr(base, "checker_name", name), kinds))
            continue
        try:
            verdict = checker(history)
        except Exception as exc:  # noqa: BLE001 - a checker bug must not turn into a pass
            verdict = Verdict(name, Validity.UNKNOWN, notes=(f"checker crashed: {exc!r}",))
        verdicts.append(apply_policy(verdict, history, exempt) if exempt is not None else verdict)
    return merge(verdicts)


def merge(verdicts: Iterable[Verdict]) -> Verdict:
    """Combine verdicts: the worst validity of those that checked something wins; violations and notes
    are kept in order; those with nothing to check add one note, or, when no verdict checked anything,
    make the merged verdict an unknown with nothing to check."""
    verdicts = list(verdicts)
    if not verdicts:
        return Verdict("none", Validity.UNKNOWN, notes=("no checker ran",))
    checked = [v for v in verdicts if not v.nothing_to_check]
    idle = [v for v in verdicts if v.nothing_to_check]
    idle_kinds = sorted({k for v in idle for k in v.stats.get("nothing_to_check", [v.checker])})
    if not checked:
        return Verdict(checker="+".join(v.checker for v in verdicts), validity=Validity.UNKNOWN,
                       notes=(f"{NOTHING_TO_CHECK}: no operation of the kinds these checkers judge "
                              f"({', '.join(idle_kinds)}) in this history",),
                       stats={v.checker: v.stats for v in verdicts}, nothing_to_check=True)
    worst = max((v.validity for v in checked), key=_PRIORITY.__getitem__)
    # said once, by kind: the checkers of kinds the target lacks are not named among those that judged
    idle_note = ((f"{NOT_IN_SPEC}: {', '.join(idle_kinds)} (no operation of these kinds in this history: "
                  f"not judged)",) if idle else ())
    return Verdict(
        checker="+".join(v.checker for v in checked),
        validity=worst,
        violations=tuple(x for v in verdicts for x in v.violations),
        notes=tuple(n for v in checked for n in v.notes) + idle_note,
        stats={v.checker: v.stats for v in verdicts},
        findings=tuple(f for v in verdicts for f in v.findings),
    )


def not_in_spec(verdict: Verdict) -> list[str]:
    """The kinds a merged verdict's idle checkers judge (no operation of them in the history), while
    other checkers judged something: what the target's spec does not have. [] when all or none judged."""
    if verdict.nothing_to_check:
        return []
    return sorted({str(kind) for stats in verdict.stats.values() if isinstance(stats, dict)
                   for kind in stats.get("nothing_to_check") or ()})


class _Times:
    """A history's first moment and its fault events ordered by start, built once per history.

    Checkers ask for these once per violation, and a long soak's history holds a million
    operations and many violations: a scan per question would make judging it quadratic.
    Rebuilt when the history has grown since (a live history is judged as it grows).
    """

    def __init__(self, history: History) -> None:
        self.size = len(history)
        self._history = ref(history)  # a strong one would keep every judged history alive
        self._first: float | None = None
        self.faults = history.faults()
        order = sorted(range(len(self.faults)), key=lambda i: self.faults[i].start)
        self.order = order
        self.in_order = all(i == k for k, i in enumerate(order))
        self.starts = [self.faults[i].start for i in order]
        self.longest = max((max(0.0, f.end - f.start) for f in self.faults), default=0.0)

    @property
    def first(self) -> float:
        if self._first is None:
            history = self._history()
            self._first = min((e.start for e in history), default=0.0) if history is not None else 0.0
        return self._first

    def between(self, start: float, end: float) -> list[FaultEvent]:
        """The faults with ``f.start < end and f.end > start``, in the history's order: only those
        that began after ``start`` less the longest fault are looked at."""
        lo = bisect_left(self.starts, start - self.longest - 1.0)
        hi = bisect_left(self.starts, end)
        if self.in_order:  # recorded as they began (the usual case): the slice is in the history's order
            return [f for f in self.faults[lo:hi] if f.end > start]
        found = [i for i in self.order[lo:hi] if self.faults[i].end > start and self.faults[i].start < end]
        return [self.faults[i] for i in sorted(found)]


_TIMES: "WeakKeyDictionary[History, _Times]" = WeakKeyDictionary()


def _times(history: History) -> _Times:
    times = _TIMES.get(history)
    if times is None or times.size != len(history):
        times = _TIMES[history] = _Times(history)
    return times


def first_time(history: History) -> float:
    """The moment all times in messages are relative to: the first event's start."""
    return _times(history).first


def faults_between(history: History, start: float, end: float) -> list[FaultEvent]:
    """Faults that began or were under way between two moments: the 'what happened in between'."""
    return _times(history).between(start, end)


#: ``describe_faults`` names at most this many faults, the first and the last half of them
MOST_FAULTS_NAMED = 6


def describe_faults(faults: list[FaultEvent], t0: float) -> str:
    """The faults in between, in words; beyond ``MOST_FAULTS_NAMED``, the first and the last few and how many
    between them (a soak's loss found at the end may follow a hundred faults, and every message naming them all
    would make a verdict grow with violations times faults)."""
    if not faults:
        return "no fault in between"
    def named(some: list[FaultEvent]) -> list[str]:
        return [f"{f.label} of {f.target} at +{f.start - t0:.2f}s" for f in some]
    if len(faults) <= MOST_FAULTS_NAMED:
        return ", ".join(named(faults))
    half = MOST_FAULTS_NAMED // 2
    return ", ".join(named(faults[:half]) + [f"{len(faults) - 2 * half} more faults"] + named(faults[-half:]))


def exempting_faults(violation: Violation, history: History, exempt: Mapping[str, frozenset[str]]) -> list[FaultEvent]:
    """The faults that exempt a violation, or [] when it stands (see ``harness.policy``: a violation
    is exempt only when every fault between its first and last operation is exempt for its kinds)."""
    if (violation.checker, violation.kind) in NEVER_EXEMPT:
        return []
    ops = [op for op in map(history.operation, violation.op_ids) if op is not None]
    if not ops:
        return []
    kinds = {op.kind for op in ops}
    between = faults_between(history, min(op.start for op in ops), max(op.end for op in ops))
    if between and all(exempts(exempt.get(kind, frozenset()), f.fault, f.target) for f in between for kind in kinds):
        return between
    return []


def apply_policy(verdict: Verdict, history: History, exempt: Mapping[str, frozenset[str]]) -> Verdict:
    """Move the violations the policy exempts into notes; a verdict left without violations passes."""
    standing: list[Violation] = []
    notes = list(verdict.notes)
    for v in verdict.violations:
        faults = exempting_faults(v, history, exempt)
        if not faults:
            standing.append(v)
            continue
        names = ", ".join(sorted({f"{f.fault} of {f.target}" for f in faults}))
        notes.append(f"exempt by policy (need not survive {names}): [{v.checker}/{v.kind}] {v.message}")
    if len(standing) == len(verdict.violations):
        return verdict
    validity = verdict.validity
    if validity is Validity.FAIL and not standing:
        validity = Validity.PASS
    stats = {**verdict.stats, "exempt_by_policy": len(verdict.violations) - len(standing)}
    return replace(verdict, validity=validity, violations=tuple(standing), notes=tuple(notes), stats=stats)
