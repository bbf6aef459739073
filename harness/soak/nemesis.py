"""The soak's nemesis: a plan's fault steps as the fault objects of ``harness.faults``, and the faults a
backend and target support (what ``--faults`` draws from by default).

Pure: it builds fault objects and answers from classes, never touches a deployment. A soak draws only
faults the backend has (``harness.capabilities``), so a schedule never holds a step that would be
skipped, and the same seed on the same backend and target always names the same schedule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from harness import capabilities
from harness.faults import (Crash, DependencyOutage, DependencyRestart, Fault, GracefulRestart, NetworkCut, Pause,
                            Redeploy, RollingRestart, ScaleTo, ScaleToZero)
from harness.soak.plan import HELD, ON_DEPENDENCY, FaultStep
from harness.vocabulary import FaultName

if TYPE_CHECKING:
    from harness.deployment import Deployment
    from harness.spec import TargetSpec

#: one fault object per name, to ask what each needs (its arguments do not change its needs)
_SAMPLES: dict[FaultName, Fault] = {
    FaultName.CRASH: Crash(),
    FaultName.GRACEFUL_RESTART: GracefulRestart(),
    FaultName.REDEPLOY: Redeploy(),
    FaultName.ROLLING_RESTART: RollingRestart(),
    FaultName.SCALE: ScaleTo(1),
    FaultName.SCALE_TO_ZERO: ScaleToZero(),
    FaultName.PAUSE: Pause(),
    FaultName.DEPENDENCY_RESTART: DependencyRestart(""),
    FaultName.DEPENDENCY_OUTAGE: DependencyOutage(""),
    FaultName.NETWORK_CUT: NetworkCut(""),
}


def fault_of(step: FaultStep) -> Fault:
    """The fault object that applies ``step`` (and heals it): a replica by its index, a dependency by
    name, held faults for the step's ``hold``. ValueError naming the step when it lacks a field it needs."""
    name = step.fault
    if name in (FaultName.CRASH, FaultName.GRACEFUL_RESTART, FaultName.REDEPLOY, FaultName.PAUSE):
        if step.target is None or not step.target.isdigit():
            raise ValueError(f"soak step {step.describe()}: target must be a replica index such as '0', "
                             f"got {step.target!r}")
        replica = int(step.target)
        if name is FaultName.CRASH:
            return Crash(replica=replica)
        if name is FaultName.GRACEFUL_RESTART:
            return GracefulRestart(replica=replica)
        if name is FaultName.REDEPLOY:
            return Redeploy(replica=replica)
        return Pause(replica=replica, seconds=step.hold)
    if name in ON_DEPENDENCY:
        if not step.target:
            raise ValueError(f"soak step {step.describe()}: target must name a dependency (postgres, redis, ...)")
        if name is FaultName.DEPENDENCY_RESTART:
            return DependencyRestart(step.target)
        if name is FaultName.DEPENDENCY_OUTAGE:
            return DependencyOutage(step.target, seconds=step.hold)
        return NetworkCut(step.target, seconds=step.hold)
    if name is FaultName.SCALE:
        if step.replicas is None or step.replicas < 1:
            raise ValueError(f"soak step {step.describe()}: a scale step needs replicas >= 1, got {step.replicas!r}")
        return ScaleTo(step.replicas)
    if name is FaultName.SCALE_TO_ZERO:
        return ScaleToZero(seconds=step.hold)
    if name is FaultName.ROLLING_RESTART:
        return RollingRestart()
    raise ValueError(f"soak step {step.describe()}: no fault object for {name!r}")


def holds_itself(step: FaultStep) -> bool:
    """Whether the step's fault object waits ``hold`` itself between apply and heal (pause, outage, cut,
    scale to zero); for the others the driver waits the step's ``hold`` (a crashed replica left down)."""
    return step.fault in HELD


def dependencies_for(kind: "type[Deployment]", spec: "TargetSpec") -> list[str]:
    """The target's dependencies a deployment of ``kind`` can fault (restart, stop, start), sorted."""
    deps = spec.dependencies
    names = [n for n in ("postgres", "redis") if getattr(deps, n, None) is not None] + sorted(deps.services)
    return sorted(n for n in names if capabilities.dependency_unfaultable(kind, spec, n) is None)


def _sample(name: FaultName, replicas: int | None) -> Fault:
    """The fault object asked about ``name``; a soak of ``replicas`` scales out to one more (``draw_plan``)."""
    return ScaleTo(replicas + 1) if name is FaultName.SCALE and replicas is not None else _SAMPLES[name]


def faults_for(kind: "type[Deployment]", spec: "TargetSpec", replicas: int | None = None) -> list[FaultName]:
    """The faults a soak on a deployment of ``kind`` against ``spec`` can draw, in the vocabulary's order:
    those whose capabilities ``kind`` has, and dependency faults only when some dependency can be faulted.
    With ``replicas`` (the plan's), scaling only when ``kind`` can scale out to one more for ``spec``."""
    faultable = bool(dependencies_for(kind, spec))
    return [name for name in FaultName
            if capabilities.lacking(kind, [_sample(name, replicas)], spec) is None
            and (name not in ON_DEPENDENCY or faultable)]


def unsupported(kind: "type[Deployment]", spec: "TargetSpec", faults: Sequence[FaultName],
                replicas: int | None = None) -> str | None:
    """Why some of ``faults`` (asked for with ``--faults``) cannot run here, or None when all can."""
    for name in faults:
        reason = capabilities.lacking(kind, [_sample(FaultName(name), replicas)], spec)
        if reason is not None:
            return reason
        if name in ON_DEPENDENCY and not dependencies_for(kind, spec):
            return f"fault {name} needs a dependency this backend can fault, and {spec.name} has none here"
    return None


__all__ = ["dependencies_for", "fault_of", "faults_for", "holds_itself", "unsupported"]
