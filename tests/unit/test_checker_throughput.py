"""The checker benchmark's cases, small: each synthetic soak history is judged as planted.

``benchmarks/checker_throughput.py`` times every checker on 1,000,000-operation
histories; this is its short version. A clean history (a correct app under faults,
concurrency and unknown outcomes) must pass, a violating one must fail with violations
found: so the benchmark's histories stay sound, and no checker gives a false alarm on
them. A case whose generator module is not written yet is simply absent.
"""

from __future__ import annotations

import pytest

from benchmarks.checker_throughput import cases, judged_right, violations_found
from harness.checkers.base import Validity, Verdict

SMALL = 3000
CASES = cases(log=lambda _: None)


@pytest.mark.parametrize("name", sorted(CASES))
def test_clean_history_passes(name: str) -> None:
    checker, make = CASES[name]
    verdict = checker(make(SMALL, False, 7))
    assert verdict.validity is Validity.PASS, verdict.explain(5)


@pytest.mark.parametrize("name", sorted(CASES))
def test_violating_history_fails_with_violations(name: str) -> None:
    checker, make = CASES[name]
    verdict = checker(make(SMALL, True, 7))
    assert verdict.validity is Validity.FAIL
    assert violations_found(verdict, name) > 0


def test_the_limits_cases_are_there() -> None:
    assert {"rate_limit", "cooldowns", "quotes", "session_expiry"} <= set(CASES)


def test_violations_counted_in_notes_are_found() -> None:
    verdict = Verdict("rate_limit", Validity.FAIL, notes=("key 'k': 7 more over-limit violations not listed",
                                                          "key 'j': 3 more over-denied violations not listed"))
    assert violations_found(verdict) == 10


def test_a_verdict_judged_wrong_is_said_so() -> None:
    passed, failed = Verdict("x", Validity.PASS), Verdict("x", Validity.FAIL, notes=("4 more a violations not listed",))
    assert judged_right(passed, False, 1000) is None
    assert "clean history judged fail" in judged_right(failed, False, 1000)
    assert "violating history judged pass" in judged_right(passed, True, 1000)
    assert "4 violations found where about 10" in judged_right(failed, True, 1000)
    assert judged_right(failed, True, 500) is None  # 4 found, about 5 planted
