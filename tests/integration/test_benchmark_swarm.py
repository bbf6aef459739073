"""``benchmarks/swarm_crash_cycle.py`` runs end to end: one cycle per backend, both rows in its table.

No timing threshold (a timed test is a flaky test): the figures must only be there, positive,
and add up (crash + ready = cycle). The full run (``--cycles 10``) is the benchmark itself.
Needs an engine that is a swarm manager (the ``swarm`` fixture: skipped without one, except under
CI=true); the deployments are closed by the benchmark, and nothing of its runs may be left.
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest

from benchmarks.swarm_crash_cycle import BACKENDS, PHASES, main

pytestmark = pytest.mark.docker

ROW = re.compile(r"^\s+(docker|swarm)\s+(crash|ready|cycle)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$")
UP = re.compile(r"^\s+(docker|swarm)\s+([\d.]+) s$")
RATIO = re.compile(r"ratio swarm/docker, median cycle: ([\d.]+)$")


def test_one_cycle_on_each_backend(swarm: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.integration.conftest import labelled

    before = set(labelled(swarm, os.getpid()))
    assert main(["--cycles", "1"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()

    rows = {(m[1], m[2]): [int(v) for v in m.groups()[2:]] for line in lines if (m := ROW.match(line))}
    assert set(rows) == {(b, p) for b in BACKENDS for p in PHASES}, out
    for backend in BACKENDS:
        for phase in PHASES:
            median, p90, low, high = rows[backend, phase]
            assert 0 < low <= median <= p90 <= high, (backend, phase, out)
            assert low == high, "one cycle: median, p90, min and max are that cycle"
        crash, ready, cycle = (rows[backend, p][0] for p in PHASES)
        assert abs(crash + ready - cycle) <= 2, (backend, out)  # each rounded to the ms

    ups = {m[1]: float(m[2]) for line in lines if (m := UP.match(line))}
    assert set(ups) == set(BACKENDS) and all(v > 0 for v in ups.values()), out
    ratio = [float(m[1]) for line in lines if (m := RATIO.search(line))]
    expected = rows["swarm", "cycle"][0] / rows["docker", "cycle"][0]
    assert len(ratio) == 1 and ratio[0] == pytest.approx(expected, rel=0.01, abs=0.01), out
    # the process's reaper container outlives a run, by design
    left = {name for name in labelled(swarm, os.getpid()) if not name.startswith("harness-reaper-")}
    assert left <= before, "the benchmark's deployments left something behind"
