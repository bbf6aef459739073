"""Faults to one replica's process: crash (SIGKILL), graceful restart (SIGTERM), pause."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

from harness.capabilities import Capability, Pausable
from harness.deployment import Deployment
from harness.faults.base import pick
from harness.vocabulary import FaultName


@dataclass(frozen=True)
class Crash:
    """SIGKILL, then start the same container again: no shutdown hook gets to run."""

    replica: int = 0
    name: FaultName = FaultName.CRASH
    needs: ClassVar[tuple[type[Capability], ...]] = ()  # the core: every backend crashes and starts

    def apply(self, deployment: Deployment) -> None:
        deployment.crash(pick(deployment, self.replica))

    def heal(self, deployment: Deployment) -> None:
        deployment.start(pick(deployment, self.replica))


@dataclass(frozen=True)
class GracefulRestart:
    """SIGTERM, wait for exit, start again; the writable layer is kept."""

    replica: int = 0
    name: FaultName = FaultName.GRACEFUL_RESTART
    needs: ClassVar[tuple[type[Capability], ...]] = ()  # the core

    def apply(self, deployment: Deployment) -> None:
        deployment.restart(pick(deployment, self.replica))

    def heal(self, deployment: Deployment) -> None:
        """Already running again: the restart heals itself."""


@dataclass(frozen=True)
class Pause:
    """Freeze every process in the replica (cgroup freezer) for ``seconds``; requests hang meanwhile."""

    replica: int = 0
    seconds: float = 1.0
    name: FaultName = FaultName.PAUSE
    needs: ClassVar[tuple[type[Capability], ...]] = (Pausable,)

    def apply(self, deployment: Deployment) -> None:
        deployment.pause(pick(deployment, self.replica))
        time.sleep(self.seconds)

    def heal(self, deployment: Deployment) -> None:
        deployment.resume(pick(deployment, self.replica))
