"""Shrinking: from a failing soak plan to the smallest plan that still fails.

A soak that fails after thirty minutes and forty faults tells a developer that something is
wrong, not what. Shrinking searches for a smaller scenario with the same kind of violation:
first Zeller's delta debugging (ddmin) over the fault schedule, then fewer clients, then a
shorter workload. Every candidate runs on a fresh deployment (the ``run`` callable deploys,
drives, tears down and judges), and, since a race may not show on every run, a candidate
that passes is run again, up to ``attempts`` times, before it is called passing.

What the result proves: the minimal plan failed at least once with a violation of the
original's kinds. It does not prove that every smaller plan passes: a timing-dependent
failure may simply not have shown within ``attempts`` runs, and the budget may have ended
the search early (``Shrunk.exhausted_budget``).

Pure search logic: no deployment, no clock but the one given (``clock``), so it is tested
with a fake ``run``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable, Sequence

from harness.checkers.base import Violation
from harness.errors import HarnessError
from harness.soak.plan import FaultStep, SoakPlan

if TYPE_CHECKING:
    from harness.soak.driver import SoakResult

#: seconds of workload kept after the last kept fault's heal, so operations meet the healed deployment
TAIL = 5.0
#: the shortest workload a shrunk plan without any fault runs
MIN_DURATION = 5.0
#: a shorter duration is tried only when it saves at least this many seconds
MIN_CUT = 0.5

Signature = frozenset[tuple[str, str]]


@dataclass(frozen=True)
class Shrunk:
    """The outcome of a shrink: the plan it began with, the smallest plan found that still fails,
    how many soaks it ran, how long it took, and whether the budget ended it before it was done.

    ``violation``: a violation of the original's kinds that the minimal plan's last failing run
    showed (None when no candidate failed: the minimal plan is then the original); what
    ``repro.json`` names and ``harness replay`` looks for.
    """

    original: SoakPlan
    minimal: SoakPlan
    runs: int
    seconds: float
    exhausted_budget: bool
    violation: Violation | None = None


class _OutOfBudget(Exception):
    """The budget is spent: the search unwinds and returns the smallest failing plan found so far."""


def matching(result: "SoakResult", signature: Signature) -> Violation | None:
    """The first violation of ``result`` whose (checker, kind) is in ``signature``, or None: a run
    that fails in another way does not reproduce the original failure."""
    if not result.failed:
        return None
    return next((v for v in result.verdict.violations if (v.checker, v.kind) in signature), None)


def as_run(result: "SoakResult") -> SoakPlan:
    """The plan a failing soak really ran, to shrink from: only the steps it applied (``result.done``).
    A soak stopped early (``--fail-fast``) never reached the later ones, and the driver skips a step
    aimed at a replica the deployment does not have then: neither can be part of its failure."""
    done = set(result.done)
    return result.plan.with_schedule([s for s in result.plan.schedule if s in done])


def describe_size(plan: SoakPlan, of: int | None = None) -> str:
    """``3 of 12 faults, 2 clients, 20s``: a plan's size in one phrase, for log lines and reports."""
    faults = len(plan.schedule)
    count = f"{faults} of {of}" if of is not None else str(faults)
    clients = f"{plan.clients} client{'s' if plan.clients != 1 else ''}"
    return f"{count} fault{'s' if (of or faults) != 1 else ''}, {clients}, {plan.duration:g}s"


class _Search:
    """One shrink's state: the best (smallest failing) plan so far, the runs and the budget."""

    def __init__(self, plan: SoakPlan, run: Callable[[SoakPlan], "SoakResult"], signature: Signature,
                 budget: float, attempts: int, log: Callable[[str], None], clock: Callable[[], float]) -> None:
        self.original, self.best = plan, plan
        self.run_soak, self.signature = run, signature
        self.budget, self.attempts, self.log, self.clock = budget, max(1, attempts), log, clock
        self.start = clock()
        self.runs = 0
        self.candidates = 0
        self.violation: Violation | None = None
        self.seen: dict[tuple[tuple[FaultStep, ...], int, float], bool] = {}

    def left(self) -> float:
        """Seconds of the budget not spent yet."""
        return self.budget - (self.clock() - self.start)

    def fails(self, candidate: SoakPlan) -> bool:
        """Run ``candidate`` up to ``attempts`` times on fresh deployments: True at the first run that shows
        a violation of the original's kinds. A run that raises a harness error (a deployment that
        would not start) counts as a run that did not reproduce it; the error is logged."""
        key = (candidate.schedule, candidate.clients, candidate.duration)
        if key in self.seen:  # ddmin may ask twice; a run costs a deployment
            if self.seen[key]:
                self.best = candidate
            return self.seen[key]
        self.candidates += 1
        size = describe_size(candidate, len(self.original.schedule))
        outcome = f"no longer fails ({self.attempts} run{'s' if self.attempts != 1 else ''})"
        found: Violation | None = None
        for attempt in range(1, self.attempts + 1):
            # a run lasts its workload at least: one that cannot end within the budget is not started
            if self.left() < candidate.duration:
                self.log(f"shrink {self.candidates}: {size} -> not run: {max(0.0, self.left()):.0f}s of the "
                         f"{self.budget:g}s budget left")
                raise _OutOfBudget
            self.runs += 1
            try:
                found = matching(self.run_soak(candidate), self.signature)
            except HarnessError as exc:
                self.log(f"shrink {self.candidates}: {size}: run {attempt} could not be judged: {exc}")
                continue
            if found is not None:
                again = f" on run {attempt} of {self.attempts}" if attempt > 1 else ""
                outcome = f"still fails{again} ({found.checker}/{found.kind})"
                break
        self.log(f"shrink {self.candidates}: {size} -> {outcome}")
        self.seen[key] = found is not None
        if found is not None:
            self.best, self.violation = candidate, found
        return found is not None

    def schedule(self) -> None:
        """ddmin over the schedule's steps (each kept step keeps its ``at``); first, no fault at all:
        a race needs none, and saying so is the most useful answer."""
        steps = list(self.best.schedule)
        if not steps:
            return
        if self.fails(self.best.with_schedule(())):
            return
        # ddmin's answer is the original schedule or a subset that failed when tried: the best one found
        self.best = self.best.with_schedule(ddmin(steps, lambda kept: self.fails(self.best.with_schedule(kept))))

    def clients(self) -> None:
        """Halve the clients down to one while it still fails."""
        while self.best.clients > 1:
            if not self.fails(replace(self.best, clients=max(1, self.best.clients // 2))):
                return

    def duration(self) -> None:
        """Cut the workload to just after the last kept fault's heal (+ ``TAIL``), then halve it while it
        still fails, never below that point (a kept fault must still meet the workload)."""
        last = max((s.at + s.hold for s in self.best.schedule), default=None)
        floor = MIN_DURATION if last is None else float(math.ceil(last + TAIL))  # whole seconds read better
        if last is not None and self.best.duration - floor >= MIN_CUT:
            self.fails(replace(self.best, duration=round(floor, 2)))
        while True:
            shorter = round(max(floor, self.best.duration / 2), 2)
            if self.best.duration - shorter < MIN_CUT or not self.fails(replace(self.best, duration=shorter)):
                return


def ddmin(items: Sequence[FaultStep], fails: Callable[[Sequence[FaultStep]], bool]) -> list[FaultStep]:
    """Zeller and Hildebrandt's ddmin: a 1-minimal subsequence of ``items`` for which ``fails`` holds
    (removing any single step of it makes it pass), assuming ``fails(items)``. Splits into ``n``
    chunks, tries each chunk, then each complement, and doubles ``n`` when neither fails.
    Order is kept, so each kept step keeps its place (and its ``at``) in the schedule."""
    current = list(items)
    n = 2
    while len(current) >= 2:
        chunks = _split(current, n)
        for chunk in chunks:
            if fails(chunk):
                current, n = chunk, 2
                break
        else:
            for i in range(len(chunks)):
                complement = [s for j, c in enumerate(chunks) if j != i for s in c]
                if fails(complement):
                    current, n = complement, max(n - 1, 2)
                    break
            else:
                if n >= len(current):
                    return current
                n = min(len(current), 2 * n)
    return current


def _split(items: list[FaultStep], n: int) -> list[list[FaultStep]]:
    """``items`` in ``n`` consecutive chunks of nearly equal size."""
    size, extra = divmod(len(items), n)
    chunks, start = [], 0
    for i in range(n):
        end = start + size + (i < extra)
        chunks.append(items[start:end])
        start = end
    return [c for c in chunks if c]


def shrink(plan: SoakPlan, run: Callable[[SoakPlan], "SoakResult"], signature: Signature, budget: float,
           attempts: int = 3, log: Callable[[str], None] = print,
           clock: Callable[[], float] = time.monotonic) -> Shrunk:
    """The smallest plan found that still fails like ``plan`` did.

    A candidate still fails when any of up to ``attempts`` fresh runs (``run``: deploy, drive, judge,
    tear down) fails with a violation whose (checker, kind) is in ``signature``, the original's. Steps:
    ddmin over ``plan.schedule`` (keeping each step's ``at``; no step is added, so a kept scale out
    whose scale back was dropped leaves the deployment larger: the driver scales back to
    ``plan.replicas`` before its final read), then clients halved down to 1, then the duration cut
    to just after the last kept step's heal and halved while it still fails. ``budget``: seconds; no
    run starts that its workload alone would carry past them, and the search then stops with the
    smallest failing plan found so far and ``exhausted_budget`` set. ``log`` gets one line per
    candidate (``shrink 7: 3 of 12 faults, 2 clients, 20s -> still fails (records/lost)``).
    """
    search = _Search(plan, run, frozenset(signature), budget, attempts, log, clock)
    exhausted = False
    try:
        search.schedule()
        search.clients()
        search.duration()
    except _OutOfBudget:
        exhausted = True
    return Shrunk(plan, search.best, search.runs, search.clock() - search.start, exhausted, search.violation)


def describe_plan(plan: SoakPlan) -> list[str]:
    """A plan in lines: its size, then one line per step (``crash of replica 1 at +12.0s``)."""
    head = (f"{describe_size(plan)}, {plan.replicas} replica{'s' if plan.replicas != 1 else ''}, "
            f"seed {plan.seed}{f', at most {plan.rate:g} ops/s per client' if plan.rate else ''}")
    return [head, *(f"  {step.describe()}" for step in plan.schedule)]


def describe_shrink(shrunk: Shrunk) -> list[str]:
    """What ``harness soak`` prints after shrinking: the search in one line, the original plan, the
    minimal one."""
    ended = ("the budget ran out: the smallest failing plan found so far" if shrunk.exhausted_budget
             else "done")
    found = f"; still fails with {shrunk.violation.checker}/{shrunk.violation.kind}" if shrunk.violation else ""
    same = " (no smaller plan failed)" if shrunk.minimal == shrunk.original else ""
    original, minimal = describe_plan(shrunk.original), describe_plan(shrunk.minimal)
    return [f"shrunk in {shrunk.runs} run{'s' if shrunk.runs != 1 else ''}, {shrunk.seconds:.0f}s ({ended}){found}",
            f"original: {original[0]}", *original[1:],
            f"minimal: {minimal[0]}{same}", *minimal[1:]]
