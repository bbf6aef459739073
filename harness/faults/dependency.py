"""Faults of a dependency (postgres, redis): restart, and an outage of a given length."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

from harness.capabilities import Capability, DependencyFaultable
from harness.deployment import Deployment
from harness.vocabulary import FaultName


@dataclass(frozen=True)
class DependencyRestart:
    dependency: str
    name: FaultName = FaultName.DEPENDENCY_RESTART
    needs: ClassVar[tuple[type[Capability], ...]] = (DependencyFaultable,)

    def apply(self, deployment: Deployment) -> None:
        deployment.restart_dependency(self.dependency)

    def heal(self, deployment: Deployment) -> None:
        """Ready again when the restart returns."""


@dataclass(frozen=True)
class DependencyOutage:
    """Stop the dependency for ``seconds``; the heal starts it and waits until it is ready."""

    dependency: str
    seconds: float = 2.0
    name: FaultName = FaultName.DEPENDENCY_OUTAGE
    needs: ClassVar[tuple[type[Capability], ...]] = (DependencyFaultable,)

    def apply(self, deployment: Deployment) -> None:
        deployment.stop_dependency(self.dependency)
        time.sleep(self.seconds)

    def heal(self, deployment: Deployment) -> None:
        deployment.start_dependency(self.dependency)
