"""One name per fault: the names are read from the scenarios and the deployment's verbs themselves,
never from a table built out of the thing it checks.

A scenario's fault is applied and healed on a deployment whose primitives do nothing (what is
verified is which events the verbs record, not what a backend does), and every event it records
must carry the fault object's name, the name in the test id, and a name the policy accepts.
"""

from __future__ import annotations

import importlib.util
import inspect
from dataclasses import fields, replace
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import pytest

from harness.backends.docker import DockerDeployment
from harness.deployment import Deployment
from harness.history import History
from harness.policy import FAULTS, check_entry
from harness.spec import load_spec
from harness.vocabulary import BackendName, FaultName, Suite

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("test_*.py"))


def _module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_scenarios_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def scenario_faults() -> Iterator[tuple[str, Any]]:
    """(test id, fault object) for every fault a bundled scenario is parametrized with."""
    for path in SCENARIOS:
        for name, test in inspect.getmembers(_module(path), inspect.isfunction):
            for mark in getattr(test, "pytestmark", []):
                if mark.name != "parametrize":
                    continue
                ids = mark.kwargs.get("ids")
                for value in mark.args[1]:
                    fault = getattr(value, "fault", value)  # a load scenario's step wraps its fault
                    if hasattr(fault, "apply"):
                        yield f"{path.stem}::{name}[{ids(value) if callable(ids) else fault.name}]", fault


def recording_deployment() -> Deployment:
    """A deployment with every capability the docker backend has, whose primitives do nothing."""
    bases = DockerDeployment.__bases__
    abstract = set().union(*(getattr(b, "__abstractmethods__", ()) for b in bases))

    def noop(*args: Any, **kwargs: Any) -> None:
        return None

    namespace: dict[str, Any] = {name: noop for name in abstract}
    namespace["wait_ready"] = lambda self, replica, timeout=None: 0.0
    fake = type("NoopDeployment", bases, namespace)(load_spec(ROOT / "targets" / "refapp" / "durable.yaml"), History())
    fake.replicas = ["app-0", "app-1"]
    return fake


def test_the_scenarios_have_faults_to_check() -> None:
    names = {fault.name for _, fault in scenario_faults()}
    assert {FaultName.CRASH, FaultName.GRACEFUL_RESTART, FaultName.ROLLING_RESTART,
            FaultName.DEPENDENCY_OUTAGE, FaultName.NETWORK_CUT} <= names, names


@pytest.mark.parametrize("test_id, fault", list(scenario_faults()), ids=[i for i, _ in scenario_faults()])
def test_a_scenario_fault_is_recorded_reported_and_exempted_under_its_one_name(test_id: str, fault: Any) -> None:
    assert fault.name in FaultName.__members__.values()
    assert check_entry(fault.name) == fault.name  # the name a user copies from the test id into a policy
    assert f"[{fault.name}" in test_id
    if "seconds" in {f.name for f in fields(fault)}:
        fault = replace(fault, seconds=0)
    deployment = recording_deployment()
    fault.apply(deployment)
    fault.heal(deployment)
    events = deployment.history.faults()
    assert events, f"{fault.name} recorded nothing"
    assert {e.fault for e in events} == {fault.name}, [e.label for e in events]
    assert not events[0].heal


def test_every_recorded_verb_names_a_fault() -> None:
    """A verb recorded under a name the vocabulary lacks would reach reports and fail every policy."""
    verbs = {name: getattr(member, "__fault__") for cls in DockerDeployment.__mro__
             for name, member in vars(cls).items() if hasattr(member, "__fault__")}
    assert {"crash", "start", "restart", "redeploy", "pause", "resume"} <= set(verbs), verbs
    for name, (fault, heal) in verbs.items():
        assert isinstance(fault, FaultName), name
        assert fault in FAULTS
    healed = {fault for fault, heal in verbs.values() if heal}
    assert healed == {FaultName.CRASH, FaultName.PAUSE, FaultName.DEPENDENCY_OUTAGE, FaultName.NETWORK_CUT,
                      FaultName.SCALE_TO_ZERO}


def test_backend_and_suite_names() -> None:
    concrete = [b.value for b in BackendName.concrete()]
    assert concrete[:2] == ["docker", "local"] and "attach" in concrete and "auto" not in concrete
    assert Suite.SCALE_OUT.marker == "scale_out"
    markers = {Suite(m).marker for m in Suite}
    for path in SCENARIOS:
        assert any(f"pytest.mark.{marker}" in path.read_text() for marker in markers), path
