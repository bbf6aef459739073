"""Restart suite: every acknowledged write survives a crash, a graceful restart, a redeploy,
a rolling restart and a pause, on every replica, and every limit and cooldown holds across them."""

from __future__ import annotations

import pytest

from harness.checkers import STATE_CHECKERS
from harness.faults import Crash, GracefulRestart, Pause, Redeploy, RollingRestart
from harness import Scenario
from harness.workloads import every_kind

pytestmark = pytest.mark.restart


@pytest.mark.parametrize(
    "fault",
    [Crash(replica=0), GracefulRestart(replica=0), Redeploy(replica=0), RollingRestart(), Pause(replica=0, seconds=1.0)],
    ids=lambda f: f.name,
)
def test_state_survives(harness, fault) -> None:
    result = harness.run(Scenario(f"state survives {fault.name}", every_kind(harness.seed), [fault], STATE_CHECKERS))
    harness.assert_pass(result)
