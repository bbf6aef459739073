"""Dependency suite: Postgres and Redis restart, a Postgres outage, and a network cut between
the replicas and Postgres or Redis. A write may fail while a dependency is out of reach, but
a write acknowledged then must not be lost afterwards."""

from __future__ import annotations

import pytest

from harness.checkers import STATE_CHECKERS, check_fail_loud
from harness.faults import DependencyOutage, DependencyRestart, NetworkCut
from harness import Scenario
from harness.workloads import every_kind

pytestmark = pytest.mark.dependency


# A network cut must outlast the app's own storage timeouts (the refapp's DB_TIMEOUT is 2 s, and a
# broken pooled connection costs one timeout to detect plus one to get a new one): a 2 s cut only
# delays the one request under way, which then succeeds after the heal, so nothing is tested.
@pytest.mark.parametrize(
    "fault",
    [DependencyRestart("postgres"), DependencyRestart("redis"), DependencyOutage("postgres", seconds=2.0),
     NetworkCut("postgres", seconds=6.0), NetworkCut("redis", seconds=6.0)],
    ids=lambda f: f"{f.name}-{f.dependency}",
)
def test_state_survives_dependency_fault(harness, fault) -> None:
    harness.require_dependency(fault.dependency)  # a network cut on a backend without one: harness.run skips it
    # The dependency is out of reach for a while: writes then must fail loudly, not be kept aside.
    unreachable = isinstance(fault, (DependencyOutage, NetworkCut))
    checkers = [*STATE_CHECKERS, check_fail_loud] if unreachable else STATE_CHECKERS
    result = harness.run(Scenario(f"state survives {fault.name} of {fault.dependency}", every_kind(harness.seed),
                                  [fault], checkers))
    harness.assert_pass(result)
