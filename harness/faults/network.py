"""Faults of the network: cut a dependency off from the replicas, then heal the cut."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

from harness.capabilities import Capability, NetworkCuttable
from harness.deployment import Deployment
from harness.vocabulary import FaultName


@dataclass(frozen=True)
class NetworkCut:
    """Cut the network between the replicas and a dependency for ``seconds``.

    Unlike an outage the dependency keeps running with its data: only the path to
    it is gone, so replicas see hanging and refused connections rather than a
    clean shutdown. The heal reconnects it and waits until it answers again.
    """

    dependency: str
    seconds: float = 2.0
    name: FaultName = FaultName.NETWORK_CUT
    needs: ClassVar[tuple[type[Capability], ...]] = (NetworkCuttable,)

    def apply(self, deployment: Deployment) -> None:
        deployment.cut_network(self.dependency)
        time.sleep(self.seconds)

    def heal(self, deployment: Deployment) -> None:
        deployment.heal_network(self.dependency)
