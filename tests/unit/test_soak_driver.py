"""The soak driver's pure parts: which checkers judge a soak, and what its result says and records."""

from __future__ import annotations

import json
from pathlib import Path

from harness.checkers import STATE_CHECKERS, check_fail_loud, check_invariants
from harness.checkers.base import Validity, Verdict, Violation
from harness.history import History, Outcome
from harness.soak.driver import SoakResult, soak_checkers
from harness.soak.plan import FaultStep, SoakPlan
from harness.spec import load_spec
from harness.vocabulary import FaultName as F

REFAPP = Path(__file__).resolve().parents[2] / "targets" / "refapp"


def test_a_soak_judges_with_the_checkers_of_the_bundled_suites() -> None:
    spec = load_spec(REFAPP / "durable.yaml")
    plain = SoakPlan(1, 10.0, 2, 2, (FaultStep(F.CRASH, 1.0, "0"),))
    assert soak_checkers(spec, plain) == list(STATE_CHECKERS)
    outage = plain.with_schedule([FaultStep(F.NETWORK_CUT, 1.0, "redis", 1.0)])
    assert soak_checkers(spec, outage) == [*STATE_CHECKERS, check_fail_loud]  # as the dependency suite
    rules = load_spec(REFAPP / "rules.yaml")
    assert rules.invariants is not None and check_invariants in soak_checkers(rules, plain)


def result(verdict: Verdict) -> SoakResult:
    history = History()
    for i, phase in enumerate(["main", "main", "main", "final"]):
        history.record_op(kind="counters", name="read", replica="app-0", start=10.0 + i, end=10.5 + i,
                          outcome=Outcome.OK, args={"name": "c"}, value={"value": 0}, phase=phase)
    plan = SoakPlan(7, 60.0, 3, 2, (FaultStep(F.CRASH, 1.0, "0"), FaultStep(F.PAUSE, 9.0, "1", 1.0)))
    return SoakResult("refapp", plan, plan.schedule[:1], verdict, history, True, 80.5, 75.0)


def test_a_result_names_its_violations_by_checker_and_kind() -> None:
    lost = Violation("records", "lost", "record 1 was not found")
    failed = result(Verdict("records", Validity.FAIL, (lost, Violation("records", "lost", "record 2 too"),
                                                        Violation("counters", "lost-increments", "short"))))
    assert failed.failed
    assert failed.signature() == frozenset({("records", "lost"), ("counters", "lost-increments")})
    passed = result(Verdict("records", Validity.PASS))
    assert not passed.failed and passed.signature() == frozenset()
    assert not result(Verdict("records", Validity.UNKNOWN)).failed


def test_a_result_records_the_plan_the_steps_done_and_the_figures() -> None:
    raw = json.loads(json.dumps(result(Verdict("records", Validity.PASS)).to_dict(), default=str))
    assert SoakPlan.from_dict(raw["plan"]).schedule[1] == FaultStep(F.PAUSE, 9.0, "1", 1.0)
    assert raw["done"] == [{"fault": "crash", "at": 1.0, "target": "0", "hold": 0.0}]
    assert raw["stopped_early"] is True and raw["verdict"]["validity"] == "pass"
    figures = raw["figures"]
    assert figures["operations"] == 4 and figures["main_operations"] == 3 and figures["faults"] == 1
    assert figures["ops_per_second"] == 1.2  # 3 main operations from +10.0 s to +12.5 s
    assert figures["peak_rss_mb"] == 80.5 and figures["seconds"] == 75.0
