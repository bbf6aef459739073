"""One scenario, start to verdict: deploy -> write -> faults (each healed) -> final read -> check.

Recording and judging are kept apart: the run only records into the history; the
verdict comes from the checkers afterwards, so a stored history can be judged again.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from harness.checkers.base import Checker, Verdict, judge
from harness.client import Client
from harness.deployment import Deployment
from harness.faults.base import Fault
from harness.history import History
from harness.spec import TargetSpec
from harness.workloads.base import Workload

Deployer = Callable[[TargetSpec, int, History], Deployment]


@dataclass
class Scenario:
    name: str
    workload: Workload
    faults: Sequence[Fault]
    checkers: Sequence[Checker]
    replicas: int | None = None  # None: the run's default
    notes: list[str] = field(default_factory=list)


@dataclass
class Result:
    scenario: str
    target: str
    verdict: Verdict
    history: History
    replicas: int

    def to_dict(self) -> dict:
        return {"scenario": self.scenario, "target": self.target, "replicas": self.replicas,
                **self.verdict.to_dict()}


#: Writes while one fault is under way: at most this many, one every STEP_INTERVAL seconds.
MAX_STEPS_PER_FAULT = 40
STEP_INTERVAL = 0.05


def _write_during(client: Client, workload: Workload, deployment: Deployment, stop: threading.Event) -> None:
    """Keep writing while a fault happens: bounded in count, and stopped when the fault is healed."""
    for i in range(MAX_STEPS_PER_FAULT):
        if stop.is_set():
            return
        workload.step(client, list(deployment.replicas), i)
        stop.wait(STEP_INTERVAL)


def drive(deployment: Deployment, scenario: Scenario) -> Verdict:
    """Run a scenario on a deployment that is already up, then judge its history.

    Each fault is applied and healed while a second thread keeps writing; the final
    read starts only after the last heal, on every replica.
    """
    with Client(deployment, deployment.history) as client:
        scenario.workload.write(client, list(deployment.replicas))
        for fault in scenario.faults:
            stop = threading.Event()
            writer = threading.Thread(target=_write_during, args=(client, scenario.workload, deployment, stop),
                                      name=f"writes during {fault.name}", daemon=True)
            writer.start()
            try:
                fault.apply(deployment)
                fault.heal(deployment)
            finally:
                stop.set()
                writer.join()
        scenario.workload.final_read(client, list(deployment.replicas))
    return judge(deployment.history, scenario.checkers)


def docker_deployer(spec: TargetSpec, replicas: int, history: History) -> Deployment:
    from harness.backends.docker import DockerDeployment

    return DockerDeployment(spec, replicas=replicas, history=history).up()


def execute(spec: TargetSpec, scenario: Scenario, replicas: int, deployer: Deployer = docker_deployer) -> Result:
    """Deploy, drive, tear down (always), and return the verdict with its history."""
    history = History()
    count = scenario.replicas or replicas
    with deployer(spec, count, history) as deployment:
        verdict = drive(deployment, scenario)
    return Result(scenario.name, spec.name, verdict, history, count)


def save(result: Result, out: Path, slug: str) -> Path:
    """Write the history (JSON lines) and verdict (JSON) of one scenario under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    history_path = out / f"{slug}.history.jsonl"
    result.history.to_jsonl(history_path)
    (out / f"{slug}.verdict.json").write_text(json.dumps(result.to_dict(), indent=2, default=str))
    return history_path
