"""Load suite: the rate limit, summed over replicas, under real concurrent load (locust), and
while a replica crashes or restarts under that load.

Every response is recorded and judged per fixed window by ``check_rate_limit``; the
verdict's notes give each key's worst window and overshoot (about N for N replicas
that each count on their own, 1.0 or less for a shared atomic counter). Runs on 3
replicas unless ``--replicas`` (or the ini key) says otherwise; ``--load-users`` and
``--load-duration`` size the load. Locust's HTML and CSV reports, the raw
per-response records and a summary go to ``<run folder>/<scenario>.load/``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.faults import Crash, GracefulRestart
from harness.load import DuringLoad, LoadConfig, LoadScenario, execute_load

pytestmark = pytest.mark.load

#: replicas of a load scenario unless the run names a count
DEFAULT_REPLICAS = 3


def _replicas(harness, config: pytest.Config) -> int:
    """``--replicas`` when given, an ini ``harness_replicas`` other than the default 2, else 3."""
    given = config.getoption("harness_replicas") is not None or config.getini("harness_replicas") != "2"
    return harness.replicas if given else DEFAULT_REPLICAS


def _load(harness, config: pytest.Config, tmp_path: Path, name: str, faults: tuple[DuringLoad, ...] = ()):
    """Run one load scenario on a fresh deployment, save it like any scenario, assert its verdict."""
    if harness.spec.operations is None or harness.spec.operations.rate_limit is None:
        pytest.skip(f"{harness.spec.name} has no rate_limit operations")
    folder = harness.load_folder or tmp_path / "load"
    slug = name.split()[0]
    scenario = LoadScenario(name, LoadConfig.from_env(users=harness.load_users, duration=harness.load_duration),
                            faults=faults, keys=tuple(f"{slug}-{harness.seed}-{i}" for i in range(4)))
    harness.begin(name, _replicas(harness, config))
    loaded = execute_load(harness.spec, scenario, _replicas(harness, config), folder, deployer=harness.deployer)
    summary = dict(loaded.summary)
    if harness.out is not None:
        summary["report"] = f"{folder.name}/{loaded.run.html.name}"  # relative to report.html
    harness.record(loaded.result, load=summary)
    harness.assert_pass(loaded.result)


def test_limit_holds_under_load(harness, pytestconfig, tmp_path) -> None:
    """Many users, every replica, a few keys: allowed hits per window, summed, stay within the limit."""
    _load(harness, pytestconfig, tmp_path, "rate-limit under load")


def test_limit_holds_through_crash_under_load(harness, pytestconfig, tmp_path) -> None:
    """Replica 0 is SIGKILLed a third into the load and started again a second later."""
    at = harness.load_duration / 3
    step = DuringLoad(Crash(0), at=at, down=1.0)
    _load(harness, pytestconfig, tmp_path, f"{step.name} under load", (step,))


def test_limit_holds_through_graceful_restart_under_load(harness, pytestconfig, tmp_path) -> None:
    """Replica 0 is restarted gracefully (SIGTERM, start) a third into the load."""
    at = harness.load_duration / 3
    step = DuringLoad(GracefulRestart(0), at=at, down=0.0)
    _load(harness, pytestconfig, tmp_path, f"{step.name} under load", (step,))
