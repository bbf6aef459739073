"""What every workload offers the scenario runner.

A workload performs the operations of one state kind through the client: a write
phase (spread over replicas, with "write on A, read on B" reads), and a final read
phase on every replica after the deployment has healed. It records everything in
the history and decides nothing: judging is the checkers' job.
"""

from __future__ import annotations

from typing import Protocol

from harness.client import Client


class Workload(Protocol):
    kind: str

    def write(self, client: Client, replicas: list[str]) -> None:
        """Operations before (and between) faults."""

    def final_read(self, client: Client, replicas: list[str]) -> None:
        """Read back everything written, on every replica, with phase ``final``."""
