"""Shrinking, with a fake ``run``: which plans fail is decided by hand, so the search itself is what is tested."""

from __future__ import annotations

from typing import Callable

from harness.checkers.base import Validity, Verdict, Violation
from harness.history import History
from harness.soak.driver import SoakResult
from harness.soak.plan import FaultStep, SoakPlan
from harness.soak.shrink import as_run, ddmin, describe_shrink, matching, shrink
from harness.vocabulary import FaultName

LOST = Violation("durability", "lost", "acknowledged record r1 not read back")
SIGNATURE = frozenset({("durability", "lost")})


def plan(faults: int = 12, clients: int = 4, duration: float = 120.0) -> SoakPlan:
    steps = tuple(FaultStep(FaultName.PAUSE if i % 3 else FaultName.CRASH, at=5.0 + 8 * i, target=str(i % 2),
                            hold=1.0 if i % 3 else 0.0) for i in range(faults))
    return SoakPlan(seed=7, duration=duration, clients=clients, replicas=2, schedule=steps)


def result(p: SoakPlan, violations: tuple[Violation, ...] = ()) -> SoakResult:
    verdict = Verdict("all", Validity.FAIL if violations else Validity.PASS, violations)
    return SoakResult("refapp", p, p.schedule, verdict, History(), False, 50.0, 1.0)


class FakeRun:
    """A ``run`` whose failures follow ``fails(plan, call)``; keeps every plan it was given and a fake
    clock that each run advances by ``seconds``."""

    def __init__(self, fails: Callable[[SoakPlan, int], bool], seconds: float = 10.0,
                 violation: Violation = LOST) -> None:
        self.decide, self.seconds, self.violation = fails, seconds, violation
        self.plans: list[SoakPlan] = []
        self.now = 0.0

    def __call__(self, p: SoakPlan) -> SoakResult:
        self.plans.append(p)
        self.now += self.seconds
        return result(p, (self.violation,) if self.decide(p, len(self.plans)) else ())

    def clock(self) -> float:
        return self.now


def needs(*indices: int, original: SoakPlan | None = None) -> Callable[[SoakPlan, int], bool]:
    """Fails whenever the given steps of the original schedule are all kept."""
    steps = (original or plan()).schedule
    return lambda p, _call: all(steps[i] in p.schedule for i in indices)


def test_a_failure_that_needs_one_step_shrinks_to_that_step() -> None:
    run = FakeRun(needs(5))
    shrunk = shrink(plan(), run, SIGNATURE, budget=10_000, attempts=1, log=lambda _: None, clock=run.clock)
    assert shrunk.minimal.schedule == (plan().schedule[5],)
    assert shrunk.minimal.schedule[0].at == plan().schedule[5].at  # the step keeps its time
    assert not shrunk.exhausted_budget and shrunk.runs == len(run.plans)
    assert shrunk.violation == LOST and shrunk.original == plan()


def test_a_failure_that_needs_two_steps_keeps_both_in_order() -> None:
    run = FakeRun(needs(2, 9))
    shrunk = shrink(plan(), run, SIGNATURE, budget=10_000, attempts=1, log=lambda _: None, clock=run.clock)
    assert shrunk.minimal.schedule == (plan().schedule[2], plan().schedule[9])


def test_a_failure_without_any_fault_shrinks_to_an_empty_schedule_first() -> None:
    run = FakeRun(lambda p, _: True)
    shrunk = shrink(plan(), run, SIGNATURE, budget=10_000, attempts=1, log=lambda _: None, clock=run.clock)
    assert shrunk.minimal.schedule == ()
    assert run.plans[0].schedule == ()  # the first candidate: no fault at all


def test_ddmin_finds_a_one_minimal_subset() -> None:
    items = list(plan(16).schedule)
    wanted = {items[1], items[7], items[14]}
    calls: list[int] = []

    def fails(kept: object) -> bool:
        calls.append(1)
        return wanted <= set(kept)  # type: ignore[arg-type]

    assert ddmin(items, fails) == [items[1], items[7], items[14]]
    assert len(calls) < 2 ** 16 // 100  # delta debugging, not every subset


def test_a_flaky_failure_is_kept_by_running_a_candidate_again() -> None:
    # the step 3 bug shows on the third run of a plan only: with one attempt the search never sees it again
    def third_run(p: SoakPlan, _call: int, runs: dict[object, int]) -> bool:
        key = (p.schedule, p.clients, p.duration)
        runs[key] = runs.get(key, 0) + 1
        return needs(3)(p, 0) and runs[key] % 3 == 0

    again: dict[object, int] = {}
    run = FakeRun(lambda p, call: third_run(p, call, again))
    shrunk = shrink(plan(), run, SIGNATURE, budget=10_000, attempts=3, log=lambda _: None, clock=run.clock)
    assert shrunk.minimal.schedule == (plan().schedule[3],)

    once: dict[object, int] = {}
    single = FakeRun(lambda p, call: third_run(p, call, once))
    lost = shrink(plan(), single, SIGNATURE, budget=10_000, attempts=1, log=lambda _: None, clock=single.clock)
    assert lost.minimal == plan() and lost.violation is None  # nothing smaller seen failing: the original stands


def test_another_kind_of_violation_does_not_count_as_still_failing() -> None:
    other = Violation("counters", "over-count", "counter c1 read 5, at most 4 increments")
    run = FakeRun(lambda p, _: True, violation=other)
    shrunk = shrink(plan(), run, SIGNATURE, budget=10_000, attempts=1, log=lambda _: None, clock=run.clock)
    assert shrunk.minimal == plan() and shrunk.violation is None
    assert matching(result(plan(), (other, LOST)), SIGNATURE) == LOST


def test_the_budget_stops_the_search_with_the_smallest_failing_plan_so_far() -> None:
    run = FakeRun(needs(5), seconds=25.0)  # a 20 s workload, 25 s with its deployment
    lines: list[str] = []
    shrunk = shrink(plan(duration=20), run, SIGNATURE, budget=90, attempts=1, log=lines.append, clock=run.clock)
    assert shrunk.exhausted_budget
    assert len(run.plans) == 3  # at 0, 25 and 50 s; at 75 s the 20 s workload would end past 90 s
    assert shrunk.seconds == 75.0 and shrunk.runs == 3
    # no fault at all passed, then the first half (steps 0..5, holding the bug's step 5) failed
    assert shrunk.minimal.schedule == plan().schedule[:6] and shrunk.violation == LOST
    assert lines[-1] == "shrink 4: 3 of 12 faults, 4 clients, 20s -> not run: 15s of the 90s budget left"


def test_a_budget_shorter_than_the_workload_runs_nothing() -> None:
    run = FakeRun(needs(5))
    shrunk = shrink(plan(duration=120), run, SIGNATURE, budget=60, attempts=1, log=lambda _: None,
                    clock=run.clock)
    assert run.plans == [] and shrunk.exhausted_budget and shrunk.minimal == shrunk.original


def test_clients_and_duration_shrink_while_it_still_fails() -> None:
    # fails whenever step 3 (a crash at +29s) is kept and at least two clients run
    run = FakeRun(lambda p, _: plan().schedule[3] in p.schedule and p.clients >= 2)
    shrunk = shrink(plan(clients=8), run, SIGNATURE, budget=10_000, attempts=1, log=lambda _: None,
                    clock=run.clock)
    assert shrunk.minimal.clients == 2
    assert shrunk.minimal.duration == 29.0 + 5.0  # just after the crash, plus the tail


def test_without_faults_the_duration_is_halved_while_it_still_fails() -> None:
    run = FakeRun(lambda p, _: p.duration >= 20)
    shrunk = shrink(plan(duration=160), run, SIGNATURE, budget=10_000, attempts=1, log=lambda _: None,
                    clock=run.clock)
    assert shrunk.minimal.schedule == () and shrunk.minimal.clients == 1
    assert shrunk.minimal.duration == 20.0


def test_a_plan_that_ends_scaled_out_is_left_to_the_driver_to_scale_back() -> None:
    out = FaultStep(FaultName.SCALE, at=4.0, replicas=3)
    back = FaultStep(FaultName.SCALE, at=30.0, replicas=2)
    original = SoakPlan(seed=1, duration=60, clients=2, replicas=2, schedule=(out, back))
    run = FakeRun(lambda p, _: out in p.schedule)
    shrunk = shrink(original, run, SIGNATURE, budget=10_000, attempts=1, log=lambda _: None, clock=run.clock)
    assert shrunk.minimal.schedule == (out,) and shrunk.minimal.replicas == 2


def test_one_log_line_per_candidate_and_a_report_of_both_plans() -> None:
    run = FakeRun(needs(5))
    lines: list[str] = []
    shrunk = shrink(plan(), run, SIGNATURE, budget=10_000, attempts=2, log=lines.append, clock=run.clock)
    assert lines[0] == "shrink 1: 0 of 12 faults, 4 clients, 120s -> no longer fails (2 runs)"
    assert "shrink 2: 6 of 12 faults, 4 clients, 120s -> still fails (durability/lost)" in lines
    assert len(lines) == len({line.split(":")[0] for line in lines})  # one line per candidate
    report = describe_shrink(shrunk)
    assert report[0].startswith(f"shrunk in {shrunk.runs} runs") and "durability/lost" in report[0]
    assert report[1] == "original: 12 faults, 4 clients, 120s, 2 replicas, seed 7"
    assert len([line for line in report if line.startswith("  ")]) == 12 + 1
    assert f"minimal: 1 fault, 1 client, {shrunk.minimal.duration:g}s, 2 replicas, seed 7" in report
    assert report[-1] == "  " + plan().schedule[5].describe()


def test_a_soak_stopped_at_its_first_violation_is_shrunk_from_the_steps_it_applied() -> None:
    full = plan()
    stopped = SoakResult("refapp", full, full.schedule[:4], Verdict("all", Validity.FAIL, (LOST,)), History(),
                         True, 50.0, 30.0)
    assert as_run(stopped).schedule == full.schedule[:4] and as_run(stopped).duration == full.duration
    assert as_run(result(full, (LOST,))) == full  # ran to its end: the whole plan
