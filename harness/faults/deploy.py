"""Faults of the deployment's shape: redeploy (container recreated) and scaling."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from harness.capabilities import Capability, Redeployable, Scalable
from harness.deployment import Deployment
from harness.faults.base import pick
from harness.vocabulary import FaultName

if TYPE_CHECKING:
    from harness.spec import TargetSpec


@dataclass(frozen=True)
class Redeploy:
    """Remove the replica and create it from the image again: local files are gone."""

    replica: int = 0
    name: FaultName = FaultName.REDEPLOY
    needs: ClassVar[tuple[type[Capability], ...]] = (Redeployable,)

    def apply(self, deployment: Deployment) -> None:
        deployment.redeploy(pick(deployment, self.replica))

    def heal(self, deployment: Deployment) -> None:
        """The new replica is ready when redeploy returns."""


@dataclass(frozen=True)
class ScaleTo:
    """Scale out or in to ``replicas``; new replicas start empty, removed ones stop gracefully."""

    replicas: int
    name: FaultName = FaultName.SCALE
    needs: ClassVar[tuple[type[Capability], ...]] = (Scalable,)

    def apply(self, deployment: Deployment) -> None:
        deployment.scale(self.replicas)

    def heal(self, deployment: Deployment) -> None:
        """Scaling is a new steady state, not a fault to undo."""

    def unfit(self, kind: type[Deployment], spec: "TargetSpec") -> str | None:
        """Why a deployment of ``kind`` (one that scales) cannot reach ``replicas`` for ``spec``, or None:
        asked before the scenario deploys anything (``harness.capabilities.lacking``)."""
        return kind.unscalable(spec, self.replicas) if issubclass(kind, Scalable) else None


@dataclass(frozen=True)
class RollingRestart:
    """Gracefully restart every replica in turn, as a deploy does, while writes go on."""

    name: FaultName = FaultName.ROLLING_RESTART
    needs: ClassVar[tuple[type[Capability], ...]] = ()  # the core: every backend restarts

    def apply(self, deployment: Deployment) -> None:
        deployment.rolling_restart()

    def heal(self, deployment: Deployment) -> None:
        """Every replica is running again when the last restart returns."""


@dataclass(frozen=True)
class ScaleToZero:
    """Remove every replica (gracefully) for ``seconds``, then start as many anew: the whole app is
    unreachable meanwhile, and what a replica kept in its process or local files is gone, as on a
    serverless platform that scales an idle app to zero between requests."""

    seconds: float = 1.0
    name: FaultName = FaultName.SCALE_TO_ZERO
    needs: ClassVar[tuple[type[Capability], ...]] = (Scalable,)

    def apply(self, deployment: Deployment) -> None:
        deployment.scale_to_zero(len(deployment.replicas))
        time.sleep(self.seconds)

    def heal(self, deployment: Deployment) -> None:
        deployment.scale_from_zero(deployment.scaled_to_zero_from)
