"""Scale-out suite: state written on one replica is seen by every replica, and logout by all."""

from __future__ import annotations

import pytest

from harness.checkers.sessions import check_sessions
from harness.faults import ScaleTo
from harness.run import Scenario
from harness.workloads import SessionWorkload

pytestmark = pytest.mark.scale_out


def test_sessions_valid_on_new_replicas(harness) -> None:
    """Sessions created while one replica ran must be accepted by all three after scaling out."""
    result = harness.run(
        Scenario("sessions after scale-out 1 -> 3", SessionWorkload(seed=harness.seed), [ScaleTo(3)],
                 [check_sessions], replicas=1)
    )
    harness.assert_pass(result)


def test_logout_honoured_by_every_replica(harness) -> None:
    """A token read on every replica, then logged out on one, must be rejected by all."""
    result = harness.run(
        Scenario("logout on one replica, honoured by all", SessionWorkload(seed=harness.seed, logout=True), [],
                 [check_sessions], replicas=3)
    )
    harness.assert_pass(result)
