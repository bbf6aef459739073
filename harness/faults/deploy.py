"""Faults of the deployment's shape: redeploy (container recreated) and scaling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from harness.capabilities import Capability, Redeployable, Scalable
from harness.deployment import Deployment
from harness.faults.base import pick
from harness.vocabulary import FaultName


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


@dataclass(frozen=True)
class RollingRestart:
    """Gracefully restart every replica in turn, as a deploy does, while writes go on."""

    name: FaultName = FaultName.ROLLING_RESTART
    needs: ClassVar[tuple[type[Capability], ...]] = ()  # the core: every backend restarts

    def apply(self, deployment: Deployment) -> None:
        deployment.rolling_restart()

    def heal(self, deployment: Deployment) -> None:
        """Every replica is running again when the last restart returns."""
