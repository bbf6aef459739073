"""A fault is a step done to a deployment, shipped with the step that heals it.

The runner always heals before the final read, so a verdict is about what survived
the fault, never about a replica that is simply still down.
"""

from __future__ import annotations

from typing import Protocol

from harness.deployment import Deployment


class Fault(Protocol):
    name: str

    def apply(self, deployment: Deployment) -> None: ...

    def heal(self, deployment: Deployment) -> None: ...


def pick(deployment: Deployment, replica: int) -> str:
    """The replica at an index; negative indexes count from the newest."""
    return deployment.replicas[replica]
