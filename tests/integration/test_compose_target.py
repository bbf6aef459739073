"""A compose target: the reference app described by a docker-compose.yml (targets/refapp/compose/).

The app service is scaled and faulted like any replica; the other services are its
dependencies, faulted by their role (``postgres`` reaches the service ``db``). The
durable configuration passes; the memory one (same file, the spec overrides one
variable) is caught.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.history import History
from tests.integration.suite_runs import ROOT, run_suites

pytestmark = pytest.mark.docker
REFAPP = ROOT / "targets" / "refapp"
SELECT = ("-m", "not load", "-k", "crash or scale_in or dependency-restart-postgres or network-cut-redis")


def test_compose_target_passes_when_durable(images: None, tmp_path: Path) -> None:
    run = run_suites(REFAPP / "compose.yaml", tmp_path / "durable", *SELECT)
    assert run.code == 0, run.tail()
    assert {v["scenario"] for v in run.verdicts} == {
        "state survives crash", "state after scale-in 3 -> 1", "state survives dependency-restart of postgres",
        "state survives network-cut of redis"}, run.tail()
    assert all(v["validity"] == "pass" for v in run.verdicts), run.verdicts
    restart = run.scenario("state survives dependency-restart of postgres")
    faults = History.from_jsonl(run.out / restart["history"]).faults()
    assert [(f.fault, f.target) for f in faults] == [("dependency-restart", "postgres")]


def test_compose_target_in_memory_mode_is_caught(images: None, tmp_path: Path) -> None:
    run = run_suites(REFAPP / "compose-memory.yaml", tmp_path / "memory", "-m", "restart", "-k", "crash")
    assert run.code == 1, run.tail()
    lost = run.violations("state survives crash", "sessions", "lost")
    assert any("crash of app-0" in v["message"] for v in lost), run.tail()
