"""The soak's nemesis: each step of a plan becomes the fault object that applies and heals it, a soak draws
only the faults its backend and target have, and scale to zero is recorded and healed under its one name."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.backends.docker import DockerDeployment
from harness.backends.local import LocalDeployment
from harness.faults import (Crash, DependencyOutage, DependencyRestart, GracefulRestart, NetworkCut, Pause, Redeploy,
                            RollingRestart, ScaleTo, ScaleToZero)
from harness.policy import check_entry
from harness.soak.nemesis import dependencies_for, fault_of, faults_for, holds_itself, unsupported
from harness.soak.plan import FaultStep, draw_plan
from harness.spec import Dependencies, load_spec
from harness.vocabulary import FaultName as F

from .test_vocabulary import recording_deployment

DURABLE = Path(__file__).resolve().parents[2] / "targets" / "refapp" / "durable.yaml"


@pytest.mark.parametrize("step, expected", [
    (FaultStep(F.CRASH, 1.0, "1"), Crash(replica=1)),
    (FaultStep(F.GRACEFUL_RESTART, 1.0, "0"), GracefulRestart(replica=0)),
    (FaultStep(F.REDEPLOY, 1.0, "2"), Redeploy(replica=2)),
    (FaultStep(F.PAUSE, 1.0, "1", 2.5), Pause(replica=1, seconds=2.5)),
    (FaultStep(F.ROLLING_RESTART, 1.0), RollingRestart()),
    (FaultStep(F.SCALE, 1.0, None, 0.0, 3), ScaleTo(3)),
    (FaultStep(F.SCALE_TO_ZERO, 1.0, None, 1.5), ScaleToZero(seconds=1.5)),
    (FaultStep(F.DEPENDENCY_RESTART, 1.0, "redis"), DependencyRestart("redis")),
    (FaultStep(F.DEPENDENCY_OUTAGE, 1.0, "postgres", 2.0), DependencyOutage("postgres", seconds=2.0)),
    (FaultStep(F.NETWORK_CUT, 1.0, "redis", 0.7), NetworkCut("redis", seconds=0.7)),
], ids=lambda v: v.fault if isinstance(v, FaultStep) else "")
def test_each_step_becomes_its_fault_object(step: FaultStep, expected: object) -> None:
    fault = fault_of(step)
    assert fault == expected
    assert fault.name == step.fault  # recorded, reported and exempted under the step's own name


def test_every_fault_name_has_a_fault_object() -> None:
    for name in F:
        step = FaultStep(name, 0.0, "postgres" if "dependency" in name or name is F.NETWORK_CUT else "0", 1.0,
                         2 if name is F.SCALE else None)
        if name in (F.ROLLING_RESTART, F.SCALE, F.SCALE_TO_ZERO):
            step = FaultStep(name, 0.0, None, 1.0, 2 if name is F.SCALE else None)
        assert fault_of(step).name == name


@pytest.mark.parametrize("step, words", [
    (FaultStep(F.CRASH, 3.0), "target must be a replica index"),
    (FaultStep(F.PAUSE, 3.0, "redis"), "target must be a replica index"),
    (FaultStep(F.NETWORK_CUT, 3.0), "must name a dependency"),
    (FaultStep(F.SCALE, 3.0), "needs replicas >= 1"),
])
def test_a_step_missing_what_its_fault_needs_is_refused_naming_it(step: FaultStep, words: str) -> None:
    with pytest.raises(ValueError, match=words) as caught:
        fault_of(step)
    assert step.describe() in str(caught.value)


def test_held_faults_wait_themselves_and_the_driver_holds_the_others() -> None:
    assert holds_itself(FaultStep(F.PAUSE, 0.0, "0", 1.0))
    assert holds_itself(FaultStep(F.SCALE_TO_ZERO, 0.0, None, 1.0))
    assert not holds_itself(FaultStep(F.CRASH, 0.0, "0", 1.0))  # the driver leaves the replica down for hold


def test_faults_for_follow_the_backend_capabilities() -> None:
    spec = load_spec(DURABLE)
    assert faults_for(DockerDeployment, spec) == list(F)
    local = faults_for(LocalDeployment, spec)
    assert F.NETWORK_CUT not in local  # the local backend cannot cut a network
    assert {F.CRASH, F.SCALE_TO_ZERO, F.PAUSE, F.SCALE} <= set(local)
    assert dependencies_for(DockerDeployment, spec) == ["postgres", "redis"]
    assert unsupported(DockerDeployment, spec, [F.CRASH, F.NETWORK_CUT]) is None
    assert "network-cut" in (unsupported(LocalDeployment, spec, [F.CRASH, F.NETWORK_CUT]) or "")


def test_a_target_without_dependencies_draws_no_dependency_fault() -> None:
    spec = load_spec(DURABLE).model_copy(update={"dependencies": Dependencies()})
    faults = faults_for(DockerDeployment, spec)
    assert F.CRASH in faults
    assert not {F.DEPENDENCY_RESTART, F.DEPENDENCY_OUTAGE, F.NETWORK_CUT} & set(faults)
    assert "has none here" in (unsupported(DockerDeployment, spec, [F.DEPENDENCY_RESTART]) or "")


def test_every_step_of_a_drawn_plan_maps_to_a_fault() -> None:
    spec = load_spec(DURABLE)
    plan = draw_plan(11, 600.0, 3, 3, faults_for(DockerDeployment, spec), mean_gap=5.0,
                     dependencies=dependencies_for(DockerDeployment, spec))
    assert {s.fault for s in plan.schedule} == set(F)  # a long plan draws every fault, scale to zero included
    for step in plan.schedule:
        assert fault_of(step).name == step.fault


def test_scale_to_zero_removes_every_replica_and_its_heal_brings_as_many_back() -> None:
    deployment = recording_deployment()
    fault = ScaleToZero(seconds=0)
    fault.apply(deployment)
    assert deployment.replicas == []
    fault.heal(deployment)
    assert deployment.replicas == ["app-0", "app-1"]
    events = deployment.history.faults()
    assert [(e.fault, e.target, e.heal) for e in events] == [("scale-to-zero", "2", False), ("scale-to-zero", "2", True)]
    assert check_entry(events[0].fault) == "scale-to-zero"  # a policy may exempt a kind from it


def test_scale_to_zero_refuses_a_partial_or_doubled_scale() -> None:
    deployment = recording_deployment()
    with pytest.raises(Exception, match="has 2 replica"):
        deployment.scale_to_zero(1)
    with pytest.raises(Exception, match="scaled to zero first"):
        deployment.scale_from_zero(2)
    assert deployment.replicas == ["app-0", "app-1"]
