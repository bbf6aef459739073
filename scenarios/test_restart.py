"""Restart suite: sessions acknowledged before a restart are valid on every replica after it."""

from __future__ import annotations

import pytest

from harness.checkers.sessions import check_sessions
from harness.faults import Crash, GracefulRestart, Redeploy
from harness.run import Scenario
from harness.workloads import SessionWorkload

pytestmark = pytest.mark.restart


@pytest.mark.parametrize(
    "fault",
    [Crash(replica=0), GracefulRestart(replica=0), Redeploy(replica=0)],
    ids=lambda f: f.name,
)
def test_sessions_survive(harness, fault) -> None:
    result = harness.run(
        Scenario(f"sessions survive {fault.name}", SessionWorkload(seed=harness.seed), [fault], [check_sessions])
    )
    harness.assert_pass(result)
