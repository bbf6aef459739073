"""One scenario, start to verdict: deploy -> write -> faults (each healed) -> final read -> check.

Recording and judging are kept apart: the run only records into the history; the
verdict comes from the checkers afterwards, so a stored history can be judged again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from harness import capabilities, run_folder
from harness.backends import Deployer, docker_deployer
from harness.checkers.base import Checker, Verdict, judge, not_in_spec
from harness.checkers.causes import causes
from harness.checkers.faults_as_claimed import with_fault_findings
from harness.checkers.invariants import check_invariants
from harness.adapter import Adapter
from harness.client import Client
from harness.deployment import Deployment
from harness.faults.base import Fault
from harness.history import History
from harness.spec import TargetSpec
from harness.spec_adapter import make_adapter
from harness.workloads.base import Workload
from harness.workloads.invariants import WithInvariants

if TYPE_CHECKING:
    from harness.redaction import Redactor



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
    #: the state kinds the target's spec (or adapter) has; None when not known (a hand-made Result)
    kinds: tuple[str, ...] | None = None

    def to_dict(self) -> dict:
        """The record of verdicts.json (``harness.run_folder.Record``): the verdict, and what a reader asks
        next: the cause of its violations (``causes``) and the kinds the target lacks (``not_in_spec``)."""
        record = {"scenario": self.scenario, "target": self.target, "replicas": self.replicas,
                  **self.verdict.to_dict()}
        explained = causes(self.verdict, self.history)
        if explained is not None:
            record["causes"] = explained
        # an idle checker's kind is "not in the spec" only when the spec lacks it (a narrow workload
        # may leave a kind the target has unjudged: that is not the target's doing)
        absent = [k for k in not_in_spec(self.verdict) if self.kinds is None or k not in self.kinds]
        if absent:
            record["not_in_spec"] = absent
        return record


#: Writes while one fault is under way: at most this many, one every STEP_INTERVAL seconds.
MAX_STEPS_PER_FAULT = 40
STEP_INTERVAL = 0.05


class _WritesDuring(threading.Thread):
    """Keeps writing while a fault happens: bounded in count, stopped when the fault is healed.

    An error (a spec mistake found at run time) is kept and raised again by ``finish``,
    in the scenario's own thread, rather than dying unseen with this one.
    """

    def __init__(self, client: Client, workload: Workload, deployment: Deployment, fault: str) -> None:
        super().__init__(name=f"writes during {fault}", daemon=True)
        self.client, self.workload, self.deployment = client, workload, deployment
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for i in range(MAX_STEPS_PER_FAULT):
                if self.stop.is_set():
                    return
                self.workload.step(self.client, list(self.deployment.replicas), i)
                self.stop.wait(STEP_INTERVAL)
        except BaseException as exc:  # noqa: BLE001 - handed to the scenario's thread
            self.error = exc

    def finish(self) -> None:
        self.stop.set()
        self.join()
        if self.error is not None:
            raise self.error


def drive(deployment: Deployment, scenario: Scenario, adapter: Adapter | None = None) -> Verdict:
    """Run a scenario on a deployment that is already up, then judge its history.

    Each fault is applied and healed while a second thread keeps writing; the final
    read starts only after the last heal, on every replica. The target's policy
    turns violations that only exempt faults explain into notes. ``adapter``: the
    target's (default: made from its spec).

    A spec with ``invariants`` has them driven alongside the workload (setup, exercise,
    probes on every replica before, during and after the faults) and judged by
    ``check_invariants`` (``with_invariants``).

    A fault needing a capability the deployment lacks (``harness.capabilities``), or one that does
    not fit its spec there (a scale beyond the replicas an attached environment lists), raises
    ``MissingCapability`` before anything is written: the plugin skips such a scenario.
    """
    capabilities.require(type(deployment), scenario.faults, deployment.spec)
    spec = deployment.spec
    workload, checkers = with_invariants(scenario, spec)
    try:
        with Client(deployment, deployment.history, adapter=adapter or make_adapter(spec)) as client:
            workload.write(client, list(deployment.replicas))
            if isinstance(workload, WithInvariants) and scenario.faults:
                workload.fault_begins()  # exercises that stop at the first fault start no further round
            for fault in scenario.faults:
                writer = _WritesDuring(client, workload, deployment, fault.name)
                writer.start()
                try:
                    fault.apply(deployment)
                    fault.heal(deployment)
                finally:
                    writer.finish()
            workload.final_read(client, list(deployment.replicas))
    finally:
        if isinstance(workload, WithInvariants):
            workload.stop()  # the exercise rounds never outlive the scenario, even one that ends early
    # a graceful stop that was a kill is a finding: the scenario did not test what its name says
    return with_fault_findings(judge(deployment.history, checkers, spec.exempt), deployment.history)


def with_invariants(scenario: Scenario, spec: TargetSpec) -> tuple[Workload, list[Checker]]:
    """The scenario's workload and checkers, with the spec's own rules (``invariants``) driven and judged
    too when it states some: every scenario of every suite then checks them, with no suite of their own."""
    if spec.invariants is None:
        return scenario.workload, list(scenario.checkers)
    checkers = list(scenario.checkers)
    if check_invariants not in checkers:
        checkers.append(check_invariants)
    return WithInvariants(scenario.workload, spec.invariants), checkers


def execute(spec: TargetSpec, scenario: Scenario, replicas: int, deployer: Deployer = docker_deployer) -> Result:
    """Deploy, drive, tear down (always), and return the verdict with its history."""
    history = History()
    count = scenario.replicas or replicas
    adapter = make_adapter(spec)  # a Python adapter that cannot load fails before anything starts
    with deployer(spec, count, history) as deployment:
        verdict = drive(deployment, scenario, adapter)
    return Result(scenario.name, spec.name, verdict, history, count, tuple(str(k) for k in adapter.kinds()))


def save(result: Result, out: Path, slug: str, redactor: "Redactor | None" = None) -> Path:
    """Write the history and record of one scenario into the run folder ``out``, redacted (``harness.run_folder``).

    Redacted as they are written (by ``redactor``, else one that knows the secrets of this
    process and of this history), never afterwards: a run folder never holds a raw history.
    """
    from harness.redaction import process_redactor

    if redactor is None:
        redactor = process_redactor().collect_history(result.history)
    return run_folder.save_scenario(out, slug, result.history, result.to_dict(), redactor)
