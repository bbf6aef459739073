"""Shrinking end to end: a soak of the memory app through a few faults fails, shrinks to the one fault
that loses its state, and ``harness replay`` of the repro.json it leaves reproduces the violation.

One replica, so the memory app passes without a fault (nothing to share between replicas) and a
pause costs it nothing: only the crash loses what it acknowledged. The bug is not timing-dependent,
so one attempt per candidate suffices; ``tests/unit/test_shrink.py`` covers flaky failures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.backends import docker_deployer
from harness.soak.driver import run_soak
from harness.soak.plan import FaultStep, SoakPlan
from harness.soak.repro import REPRO, read_repro, repro_of, write_repro
from harness.soak.shrink import describe_shrink, matching, shrink
from harness.spec import load_spec
from harness.vocabulary import FaultName
from tests.integration.suite_runs import ROOT

pytestmark = pytest.mark.docker
MEMORY = ROOT / "targets" / "refapp" / "memory.yaml"

CRASH = FaultStep(FaultName.CRASH, 4.0, "0")
ORIGINAL = SoakPlan(seed=3, duration=10.0, clients=2, replicas=1, rate=20.0, schedule=(
    FaultStep(FaultName.PAUSE, 1.5, "0", 1.0), CRASH, FaultStep(FaultName.PAUSE, 6.5, "0", 1.0)))


def test_a_failing_soak_shrinks_to_one_crash_that_replay_reproduces(images: None, tmp_path: Path) -> None:
    spec = load_spec(MEMORY)
    soak = tmp_path / "soak"
    soak.mkdir()
    failing = run_soak(spec, ORIGINAL, docker_deployer, out=soak)
    assert failing.failed, failing.verdict.explain()

    lines: list[str] = []
    shrunk = shrink(ORIGINAL, lambda p: run_soak(spec, p, docker_deployer), failing.signature(), budget=240,
                    attempts=1, log=lines.append)
    assert not shrunk.exhausted_budget, lines
    assert shrunk.minimal.schedule == (CRASH,), lines  # one fault, at the time it had
    assert shrunk.minimal.clients == 1 and shrunk.minimal.duration == CRASH.at + 5.0, lines
    assert matching(failing, failing.signature()) is not None
    assert shrunk.violation is not None and (shrunk.violation.checker, shrunk.violation.kind) in failing.signature()
    assert len(lines) == shrunk.runs  # one line per candidate: one attempt each
    report = describe_shrink(shrunk)
    print("\n".join([*lines, *report]))  # shown when the test fails, and with -s
    assert report[1].startswith("original: 3 faults")
    assert any(r.startswith("minimal: 1 fault, 1 client") for r in report)

    path = write_repro(soak / REPRO, repro_of(MEMORY, "docker", shrunk.minimal, ORIGINAL, shrunk.violation))
    assert read_repro(path).plan == shrunk.minimal
    assert json.loads(path.read_text())["plan"]["schedule"] == [{"fault": "crash", "at": 4.0, "target": "0",
                                                                 "hold": 0.0}]

    replay = subprocess.run([sys.executable, "-m", "harness.cli", "replay", str(path),
                             "--out", str(tmp_path / "replay")], cwd=ROOT, capture_output=True, text=True,
                            timeout=300, env={**os.environ, "COLUMNS": "200"})
    print(replay.stderr + replay.stdout)
    assert replay.returncode == 1, replay.stdout + replay.stderr
    assert "reproduced 1 of 1" in replay.stdout
    assert f"{shrunk.violation.checker}/{shrunk.violation.kind}" in replay.stderr  # what it looked for
