"""Scenarios in parallel (pytest-xdist): each worker deploys on its own, the controller merges.

Every worker is its own pytest session with its own deployments (unique run ids,
names and ports); each writes its part of the verdicts, and the controller merges
them into one verdicts.json and renders one report.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.suite_runs import ROOT, run_suites

pytestmark = pytest.mark.docker


def test_two_workers_give_one_run_folder(images: None, tmp_path: Path) -> None:
    run = run_suites(ROOT / "targets" / "refapp" / "durable.yaml", tmp_path / "out", "-n", "2", "-m", "restart",
                     "-k", "crash or pause")
    assert run.code == 0, run.tail()
    assert sorted(v["scenario"] for v in run.verdicts) == ["state survives crash", "state survives pause"], run.tail()
    assert all(v["validity"] == "pass" for v in run.verdicts)
    assert not list(run.out.glob("verdicts.gw*.json"))  # the parts were merged
    assert 'id="verdicts"' in (run.out / "report.html").read_text()
