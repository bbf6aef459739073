"""The counter checker on hand-written histories: bounds, lost and phantom increments, unknown outcomes."""

from __future__ import annotations

from typing import Any

from harness.checkers.base import Validity
from harness.checkers.counters import check_counters
from harness.history import Operation, Outcome
from tests.unit.histories import FAIL, OK, UNKNOWN, HistoryBuilder


class Counters(HistoryBuilder):
    def __init__(self) -> None:
        super().__init__("counters")

    def inc(self, replica: str, by: int = 1, answered: int | None = None, outcome: Outcome = OK,
            name: str = "visits", **kw: Any) -> Operation:
        value = {"value": answered} if answered is not None else {}
        return self.op("increment", replica, outcome, {"name": name, "by": by}, value, **kw)

    def read(self, replica: str, value: int, phase: str = "final", outcome: Outcome = OK,
             name: str = "visits", **kw: Any) -> Operation:
        return self.op("read", replica, outcome, {"name": name}, {"value": value}, phase=phase, **kw)


def test_clean_history_passes() -> None:
    b = Counters()
    b.inc("app-0", 2, answered=2)
    b.inc("app-1", 3, answered=5)
    b.fault("graceful-restart", "app-0")
    b.read("app-0", 5)
    b.read("app-1", 5)
    verdict = check_counters(b.history)
    assert verdict.ok, verdict.explain()
    assert verdict.stats["reads_judged"] == 4


def test_read_below_acknowledged_sum_is_lost_increments() -> None:
    b = Counters()
    for _ in range(3):
        b.inc("app-0")
    b.fault("crash", "app-0")
    b.read("app-1", 1)
    verdict = check_counters(b.history)
    assert verdict.validity is Validity.FAIL
    [violation] = verdict.violations
    assert violation.kind == "lost-increments"
    assert violation.replica == "app-1"
    assert "'visits'" in violation.message and "read 1" in violation.message
    assert "totalling 3" in violation.message and "between 3 and 3" in violation.message
    assert "crash of app-0" in violation.message
    assert violation.evidence["lower"] == 3 and violation.evidence["upper"] == 3


def test_read_above_everything_attempted_is_phantom() -> None:
    b = Counters()
    b.inc("app-0")
    b.inc("app-1", outcome=FAIL)  # provably not applied: never counted
    b.read("app-1", 2)
    [violation] = check_counters(b.history).violations
    assert violation.kind == "phantom-increments"
    assert "read 2" in violation.message and "between 1 and 1" in violation.message


def test_unknown_increment_makes_a_higher_read_acceptable() -> None:
    for seen in (2, 3):
        b = Counters()
        b.inc("app-0")
        b.inc("app-1")
        b.inc("app-2", outcome=UNKNOWN)
        b.read("app-0", seen)
        assert check_counters(b.history).ok


def test_unknown_increment_does_not_excuse_a_loss() -> None:
    b = Counters()
    b.inc("app-0")
    b.inc("app-1")
    b.inc("app-2", outcome=UNKNOWN)
    b.read("app-0", 1)
    assert [v.kind for v in check_counters(b.history).violations] == ["lost-increments"]


def test_read_concurrent_with_an_increment_may_see_it_or_not() -> None:
    for seen in (1, 2):
        b = Counters()
        b.inc("app-0")
        b.inc("app-1", at=b.t, duration=1.0)
        b.read("app-2", seen, at=b.t + 0.2)
        assert check_counters(b.history).ok


def test_increment_answers_are_judged_too() -> None:
    b = Counters()
    b.inc("app-0", answered=1)
    b.inc("app-1", answered=1)  # a per-replica counter: app-1 never saw app-0's increment
    b.read("app-0", 2)
    [violation] = check_counters(b.history).violations
    assert violation.kind == "lost-increments" and violation.replica == "app-1"
    assert "increment by 1 answered 1" in violation.message


def test_counters_are_judged_separately() -> None:
    b = Counters()
    b.inc("app-0", name="a")
    b.inc("app-0", name="b")
    b.read("app-1", 1, name="a")
    b.read("app-1", 2, name="b")
    [violation] = check_counters(b.history).violations
    assert "'b'" in violation.message


def test_unknown_read_is_no_evidence() -> None:
    """A read that timed out is no evidence, even with a value that would be a loss if it were judged."""
    b = Counters()
    b.inc("app-0")
    b.read("app-1", 0, outcome=UNKNOWN)
    b.read("app-1", 1)
    verdict = check_counters(b.history)
    assert verdict.ok
    assert verdict.stats["reads_judged"] == 1


def test_no_final_read_is_unknown() -> None:
    b = Counters()
    b.inc("app-0")
    b.read("app-1", 1, phase="main")
    b.read("app-1", 1, outcome=UNKNOWN)
    assert check_counters(b.history).validity is Validity.UNKNOWN
