"""The cooldown checker on hand-written histories: bypass after a restart, concurrent starts, unknowns."""

from __future__ import annotations

from typing import Any

from harness.checkers.base import Validity
from harness.checkers.cooldowns import check_cooldowns
from harness.history import Operation, Outcome
from tests.unit.histories import OK, UNKNOWN, HistoryBuilder

PERIOD = 60.0


class Cooldowns(HistoryBuilder):
    def __init__(self) -> None:
        super().__init__("cooldowns")

    def start(self, replica: str, allowed: bool, until: float | None = None, outcome: Outcome = OK,
              key: str = "reward:alice", **kw: Any) -> Operation:
        at = kw.get("at", self.t)
        if until is None and allowed:
            until = at + PERIOD
        return self.op("start", replica, outcome, {"key": key, "period": PERIOD},
                       {"allowed": allowed, "until": until}, status=200 if allowed else 429, **kw)


def test_cooldown_held_across_restart_passes() -> None:
    b = Cooldowns()
    first = b.start("app-0", True)
    b.fault("graceful-restart", "app-0")
    b.start("app-0", False, until=first.value["until"])
    b.start("app-1", False, until=first.value["until"])
    verdict = check_cooldowns(b.history)
    assert verdict.ok, verdict.explain()
    assert verdict.stats["probes"] == 2


def test_bypass_after_restart_names_both_starts_and_the_fault() -> None:
    b = Cooldowns()
    b.start("app-0", True)
    b.fault("crash", "app-0")
    b.start("app-1", True)
    verdict = check_cooldowns(b.history)
    assert verdict.validity is Validity.FAIL
    [violation] = verdict.violations
    assert violation.kind == "cooldown-bypassed"
    assert violation.replica == "app-1"
    assert "started on app-0 at +0.00s" in violation.message
    assert "app-1 allowed another start" in violation.message
    assert "crash of app-0" in violation.message
    assert "'reward:alice'" in violation.message


def test_start_after_the_cooldown_ended_is_allowed() -> None:
    b = Cooldowns()
    first = b.start("app-0", True, until=b.t + 1.0)
    b.start("app-1", False, until=first.value["until"])
    b.t = first.value["until"] + 0.5
    b.start("app-1", True)
    assert check_cooldowns(b.history).ok


def test_concurrent_allowed_starts_are_a_bypass() -> None:
    b = Cooldowns()
    b.start("app-0", True, at=1000.0, duration=0.2)
    b.start("app-1", True, at=1000.1, duration=0.2)
    b.start("app-2", False, until=1060.0, at=1001.0)
    assert [v.kind for v in check_cooldowns(b.history).violations] == ["cooldown-bypassed"]


def test_slow_start_that_may_have_come_after_until_is_not_a_bypass() -> None:
    b = Cooldowns()
    first = b.start("app-0", True, until=1002.0, at=1000.0)
    b.start("app-1", False, until=first.value["until"], at=1000.5)
    b.start("app-1", True, at=1001.5, duration=1.0)  # started before until, answered after it
    assert check_cooldowns(b.history).ok


def test_unknown_start_explains_a_refusal_and_is_never_an_allowed_start() -> None:
    b = Cooldowns()
    b.start("app-0", True, outcome=UNKNOWN)
    b.start("app-1", False, until=b.t + PERIOD)
    b.start("app-2", True, outcome=UNKNOWN)
    b.start("app-2", True)
    b.start("app-0", False, until=b.t + PERIOD)
    verdict = check_cooldowns(b.history)
    assert verdict.ok, verdict.explain()
    assert verdict.stats["unknown"] == 2


def test_refusal_without_any_start_is_unexpected() -> None:
    b = Cooldowns()
    b.start("app-0", False, until=b.t + PERIOD)
    [violation] = check_cooldowns(b.history).violations
    assert violation.kind == "unexpected" and violation.replica == "app-0"


def test_unknown_answers_only_or_no_probe_is_unknown() -> None:
    b = Cooldowns()
    b.start("app-0", True, outcome=UNKNOWN)
    assert check_cooldowns(b.history).validity is Validity.UNKNOWN
    b = Cooldowns()
    b.start("app-0", True)
    assert check_cooldowns(b.history).validity is Validity.UNKNOWN
