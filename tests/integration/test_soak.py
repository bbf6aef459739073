"""A short soak on real containers: concurrent clients over shared keys, a few faults (scale to zero among
them), every replica read back, the whole history judged; and scale to zero on local processes.

The durable reference app must pass (no false alarm under concurrency and faults), the in-memory one
must fail, and does at once (``fail_fast``); both under the same plan, so the verdict is the app's
doing, not the schedule's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.backends import docker_deployer, local_deployer
from harness.history import Outcome
from harness.soak.driver import SoakProgress, SoakResult, run_soak
from harness.soak.plan import FaultStep, SoakPlan
from harness.spec import load_spec
from harness.vocabulary import FaultName as F

from .conftest import REFAPP

#: about half a minute: a crash, every replica gone and back, a pause, a Redis restart
PLAN = SoakPlan(seed=14, duration=30.0, clients=3, replicas=2, schedule=(
    FaultStep(F.CRASH, 3.0, "0", 0.5),
    FaultStep(F.SCALE_TO_ZERO, 7.0, None, 0.5),
    FaultStep(F.PAUSE, 12.0, "1", 1.0),
    FaultStep(F.DEPENDENCY_RESTART, 14.0, "redis"),
))


def soak(target: str, out: Path, deployer: Any = docker_deployer, plan: SoakPlan = PLAN) -> SoakResult:
    return run_soak(load_spec(REFAPP / f"{target}.yaml"), plan, deployer, out=out)


def assert_ran_as_planned(result: SoakResult, plan: SoakPlan = PLAN) -> None:
    """The steps applied in order (a late one may be left out at the deadline), clients contended,
    and the final read went to every replica after the heal."""
    assert result.done == plan.schedule[:len(result.done)] and len(result.done) >= 2, result.done
    main = [op for op in result.history.operations() if op.phase == "main"]
    final = [op for op in result.history.operations() if op.phase == "final"]
    kinds = {op.kind for op in main}
    assert {"sessions", "records", "files", "counters", "quotes", "rate_limit", "cooldowns"} <= kinds
    assert {op.replica for op in final} == {"app-0", "app-1"}
    assert final and min(op.start for op in final) > max(f.end for f in result.history.faults())
    assert any(op.outcome is Outcome.FAIL for op in main)  # replicas were down while clients ran
    assert result.peak_rss_mb < 500


@pytest.mark.docker
def test_a_soak_of_the_durable_app_passes_and_of_the_memory_app_fails(images: None, docker_engine: Any,
                                                                        tmp_path: Path) -> None:
    durable = soak("durable", tmp_path / "durable")
    assert durable.verdict.ok, durable.verdict.explain()
    assert not durable.failed and durable.signature() == frozenset() and not durable.stopped_early
    assert_ran_as_planned(durable)
    events = [e.label for e in durable.history.faults()]
    assert "scale-to-zero" in events and "scale-to-zero heal" in events

    # the same plan against the in-memory app, stopping at the first violation judged while it runs
    seen: list[SoakProgress] = []
    memory = run_soak(load_spec(REFAPP / "memory.yaml"), PLAN, docker_deployer, out=tmp_path / "memory",
                      progress=seen.append, fail_fast=True)
    assert memory.failed and memory.stopped_early
    assert ("sessions", "lost") in memory.signature(), memory.signature()  # replicas share no session
    assert memory.done == PLAN.schedule[:len(memory.done)]
    assert seen and seen[-1].violations > 0  # the live line counted them
    main = [op for op in memory.history.operations() if op.phase == "main"]
    assert max(op.end for op in main) - min(op.start for op in main) < PLAN.duration - 5  # stopped early
    final = [op for op in memory.history.operations() if op.phase == "final"]
    assert {op.replica for op in final} == {"app-0", "app-1"}  # healed and read back all the same

    # the run folder: the history streamed (redacted), the record, soak.json with the figures
    folder = tmp_path / "durable"
    lines = (folder / "history.jsonl").read_text().splitlines()
    assert len(lines) == len(durable.history)
    tokens = [op.value["token"] for op in durable.history.operations("sessions") if op.name == "login"
              and op.outcome is Outcome.OK]
    assert tokens and not any(token in (folder / "history.jsonl").read_text() for token in tokens[:50])
    record = json.loads((folder / "verdicts.json").read_text())[0]
    assert record["validity"] == "pass" and record["history"] == "history.jsonl" and record["seed"] == 14
    figures = json.loads((folder / "soak.json").read_text())
    assert figures["plan"] == PLAN.to_dict() and len(figures["done"]) == len(durable.done)
    assert figures["figures"]["operations"] > 1000 and figures["figures"]["peak_rss_mb"] > 0


@pytest.mark.local
def test_scale_to_zero_and_back_on_local_processes(tmp_path: Path) -> None:
    plan = SoakPlan(seed=3, duration=6.0, clients=2, replicas=2,
                    schedule=(FaultStep(F.SCALE_TO_ZERO, 1.5, None, 0.5),))
    result = soak("durable", tmp_path, local_deployer, plan)
    assert result.verdict.ok, result.verdict.explain()
    assert result.done == plan.schedule
    removed, healed = [e for e in result.history.faults() if e.fault == "scale-to-zero"]
    assert (removed.target, removed.heal, healed.target, healed.heal) == ("2", False, "2", True)
    down = [op for op in result.history.operations() if removed.end <= op.start and op.end <= healed.start]
    assert not down  # while no replica exists, the clients wait instead of calling
    assert {op.replica for op in result.history.operations() if op.phase == "final"} == {"app-0", "app-1"}
