"""Dependency suite: Postgres and Redis restart, and a Postgres outage. A write may fail
during an outage, but a write acknowledged then must not be lost afterwards."""

from __future__ import annotations

import pytest

from harness.checkers import STATE_CHECKERS, check_fail_loud
from harness.faults import DependencyOutage, DependencyRestart
from harness.run import Scenario
from harness.workloads import every_kind

pytestmark = pytest.mark.dependency


@pytest.mark.parametrize(
    "fault",
    [DependencyRestart("postgres"), DependencyRestart("redis"), DependencyOutage("postgres", seconds=2.0)],
    ids=lambda f: f"{f.name}-{f.dependency}",
)
def test_state_survives_dependency_fault(harness, fault) -> None:
    checkers = [*STATE_CHECKERS, check_fail_loud] if isinstance(fault, DependencyOutage) else STATE_CHECKERS
    result = harness.run(Scenario(f"state survives {fault.name} of {fault.dependency}", every_kind(harness.seed),
                                  [fault], checkers))
    harness.assert_pass(result)
