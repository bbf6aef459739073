"""Scale-out suite: state written on one replica is seen by every replica, at 1 -> 3 -> 1
replicas, limits hold summed over replicas, and a logout is honoured by all."""

from __future__ import annotations

import pytest

from harness.checkers import STATE_CHECKERS, check_sessions
from harness.faults import ScaleTo
from harness import Scenario
from harness.workloads import Mixed, SessionWorkload, every_kind

pytestmark = pytest.mark.scale_out


def test_state_valid_on_new_replicas(harness) -> None:
    """Written while one replica ran; read on all three after scaling out."""
    result = harness.run(Scenario("state after scale-out 1 -> 3", every_kind(harness.seed), [ScaleTo(3)],
                                  STATE_CHECKERS, replicas=1))
    harness.assert_pass(result)


def test_state_survives_scale_in(harness) -> None:
    """Written across three replicas; read on the one left after scaling in."""
    result = harness.run(Scenario("state after scale-in 3 -> 1", every_kind(harness.seed), [ScaleTo(1)],
                                  STATE_CHECKERS, replicas=3))
    harness.assert_pass(result)


def test_logout_honoured_by_every_replica(harness) -> None:
    """A token read on every replica, then logged out on one, must be rejected by all."""
    result = harness.run(
        # Mixed: on a target without sessions nothing is sent, and the verdict says "nothing to check"
        Scenario("logout on one replica, honoured by all", Mixed([SessionWorkload(seed=harness.seed, logout=True)]),
                 [], [check_sessions], replicas=3)
    )
    harness.assert_pass(result)
