"""What every workload offers the scenario runner, and how several run as one.

A workload performs the operations of one state kind through the client: a write
phase (spread over replicas, with "write on A, read on B" reads), single writes
while a fault is under way (``step``), and a final read phase on every replica after
the deployment has healed. It records everything in the history and decides
nothing: judging is the checkers' job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

from harness.client import Client


class Workload(Protocol):
    kind: str

    def write(self, client: Client, replicas: list[str]) -> None:
        """Operations before the faults."""

    def step(self, client: Client, replicas: list[str], i: int) -> None:
        """One write while a fault is under way; ``i`` counts the steps of that fault."""

    def final_read(self, client: Client, replicas: list[str]) -> None:
        """Read back everything written, on every replica, with phase ``final``."""


@dataclass
class Mixed:
    """Several workloads on one deployment: each phase runs every workload's phase in turn."""

    workloads: Sequence[Workload]

    @property
    def kind(self) -> str:
        return "+".join(w.kind for w in self.workloads)

    def present(self, client: Client) -> list[Workload]:
        """The workloads of the kinds this target has; the others are simply absent."""
        kinds = set(client.adapter.kinds())
        return [w for w in self.workloads if w.kind in kinds]

    def write(self, client: Client, replicas: list[str]) -> None:
        for workload in self.present(client):
            workload.write(client, replicas)

    def step(self, client: Client, replicas: list[str], i: int) -> None:
        present = self.present(client)
        if present:
            present[i % len(present)].step(client, replicas, i // len(present))

    def final_read(self, client: Client, replicas: list[str]) -> None:
        for workload in self.present(client):
            workload.final_read(client, replicas)
