"""The swarm backend on a single-node swarm, as a user runs it: `--backend swarm`.

The reference app's `durable` mode passes the restart and scale-out suites there, and
`memory` is caught; the crash's heal is the orchestrator's replacement task, recorded as
such and shown on the HTML timeline; and a run stopped by Ctrl-C or killed outright leaves
no service, container, network or volume behind (its exit hooks, or its reaper).
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from harness.vocabulary import REPLACED_BY_ORCHESTRATOR

from .conftest import REFAPP, labelled
from .suite_runs import SuiteRun, run_suites
from .test_signals import DURABLE, LEFTOVER_BOUND, NEVER_READY, Run

pytestmark = pytest.mark.docker

RESTART = ("crash", "graceful-restart", "pause", "redeploy", "rolling-restart")


def faults(run: SuiteRun, scenario: str) -> list[dict[str, Any]]:
    """The fault events of a scenario's history."""
    history = run.out / run.scenario(scenario)["history"]
    return [e for e in map(json.loads, history.read_text().splitlines()) if e["type"] == "fault"]


def test_durable_passes_the_restart_and_scale_out_suites(swarm: Any, tmp_path: Path) -> None:
    run = run_suites(REFAPP / "durable.yaml", tmp_path / "out", "-m", "restart or scale_out",
                     "--backend", "swarm", "--replicas", "2", "-rs")
    assert run.code == 0, run.tail()
    names = [f"state survives {fault}" for fault in RESTART] + ["state after scale-out 1 -> 3",
                                                                  "state after scale-in 3 -> 1"]
    for name in names:
        verdict = run.scenario(name)
        assert verdict["validity"] == "pass" and not verdict["violations"], (name, verdict)

    # the crash, and its heal: the orchestrator's new task in the same slot, a task other than the killed one
    crash = faults(run, "state survives crash")
    assert [(e["target"], e["heal"]) for e in crash] == [("app-1", False), ("app-1", True)], crash
    heal = crash[1]["detail"]
    assert heal.startswith(f"{REPLACED_BY_ORCHESTRATOR}: task "), heal
    old, new = heal.split("task ", 1)[1].split(",")[0].split(" by ")
    assert old != new, heal
    assert "crash heal app-1 (orchestrator)" in (run.out / "report.html").read_text()

    # a rolling update replaces every slot, one event each, in the orchestrator's words
    rolling = faults(run, "state survives rolling-restart")
    assert sorted(e["target"] for e in rolling) == ["app-1", "app-2"], rolling
    assert all("service update --force" in e["detail"] for e in rolling), rolling
    # scaling in: which slots Swarm removed is read back, and each removal says how its task ended
    scale_in = [e for e in faults(run, "state after scale-in 3 -> 1") if e["fault"] == "scale" and e["target"] == "1"]
    assert scale_in and scale_in[-1]["detail"].count("removed by the orchestrator") == 2, scale_in


def test_memory_is_caught(swarm: Any, tmp_path: Path) -> None:
    run = run_suites(REFAPP / "memory.yaml", tmp_path / "out", "-m", "restart", "-k", "crash",
                     "--backend", "swarm", "--replicas", "2")
    assert run.code != 0, run.tail()
    caught = {(v["checker"], v["kind"]) for v in run.violations("state survives crash")}
    assert ("records", "lost") in caught and ("sessions", "lost") in caught, (caught, run.tail())


@pytest.mark.parametrize(("stage", "signame"), [("deploy", "SIGINT"), ("mid-scenario", "SIGINT"),
                                               ("mid-scenario", "SIGKILL")])
def test_a_stopped_or_killed_run_leaves_nothing(swarm: Any, stage: str, signame: str, tmp_path: Path) -> None:
    target = DURABLE
    if stage == "deploy":  # the replica never answers 200: the signal comes while the harness waits for it
        target = tmp_path / "never-ready.yaml"
        target.write_text(NEVER_READY.format(durable=DURABLE))
    run = Run(tmp_path, "swarm", target, hold=30.0)
    try:
        if stage == "deploy":
            run.wait_for("the app's service", lambda: any(n.endswith("-app") for n in labelled(swarm, run.pid)))
            time.sleep(2.0)  # its tasks started, the harness polling their readiness
        else:
            run.wait_for("scenario under way", run.mark.exists)
        assert any(name.endswith("-app") for name in labelled(swarm, run.pid)), "no service of the run's own"
        os.kill(run.pid, signal.Signals[signame])
        signalled = time.monotonic()
        code = run.proc.wait(timeout=60)
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait()
    while (left := labelled(swarm, run.pid)) and time.monotonic() < signalled + LEFTOVER_BOUND:
        time.sleep(0.2)
    assert left == [], f"{LEFTOVER_BOUND:.0f}s after {signame} at {stage}: {left}\n{run.output()}"
    assert code == (-signal.SIGKILL if signame == "SIGKILL" else 130), run.output()
    if signame == "SIGINT":
        assert "interrupted by SIGINT" in run.output() and "Traceback" not in run.output(), run.output()
