"""Faults of a dependency (postgres, redis): restart, and an outage of a given length."""

from __future__ import annotations

import time
from dataclasses import dataclass

from harness.deployment import Deployment


@dataclass(frozen=True)
class DependencyRestart:
    dependency: str
    name: str = "dependency-restart"

    def apply(self, deployment: Deployment) -> None:
        deployment.restart_dependency(self.dependency)

    def heal(self, deployment: Deployment) -> None:
        """Ready again when the restart returns."""


@dataclass(frozen=True)
class DependencyOutage:
    """Stop the dependency for ``seconds``; the heal starts it and waits until it is ready."""

    dependency: str
    seconds: float = 2.0
    name: str = "dependency-outage"

    def apply(self, deployment: Deployment) -> None:
        deployment.stop_dependency(self.dependency)
        time.sleep(self.seconds)

    def heal(self, deployment: Deployment) -> None:
        deployment.start_dependency(self.dependency)
