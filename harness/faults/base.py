"""A fault is a step done to a deployment, shipped with the step that heals it.

The runner always heals before the final read, so a verdict is about what survived
the fault, never about a replica that is simply still down.

A fault says which capabilities of a deployment it ``needs`` (``harness.capabilities``;
empty for the core every backend has); a scenario needing one its backend lacks is
skipped with that reason.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

from harness.capabilities import Capability
from harness.deployment import Deployment


class Fault(Protocol):
    name: str
    needs: ClassVar[tuple[type[Capability], ...]]

    def apply(self, deployment: Deployment) -> None: ...

    def heal(self, deployment: Deployment) -> None: ...


def pick(deployment: Deployment, replica: int) -> str:
    """The replica at an index; negative indexes count from the newest."""
    return deployment.replicas[replica]
