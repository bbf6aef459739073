"""Faults during load: crash or restart a replica while locust is hammering it.

A thread waits until ``at`` seconds into the load, applies the fault, keeps it for
``down`` seconds, heals it, and republishes the endpoints file after each step, so
the locust users follow the replica to its new port (they re-read the file when it
changes, and at once after a connection error). A crashed replica is published as
down (``null``) until it is back, so users spread its share over the others instead
of spinning on a refused port. The heal always runs, even when the load ends first:
the deployment is never left with a replica down.

``at`` counts from the moment locust's users start, which locust announces with a
file in the records folder, not from starting locust: its imports and forks take
seconds, and a fault meant for the middle of the load would land at its start.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from harness.deployment import Deployment
from harness.faults.base import Fault
from harness.load.endpoints import publish


@dataclass(frozen=True)
class DuringLoad:
    """A fault applied ``at`` seconds after the load starts and healed ``down`` seconds later."""

    fault: Fault
    at: float = 3.0
    down: float = 1.0

    @property
    def name(self) -> str:
        return self.fault.name


class FaultsDuringLoad(threading.Thread):
    """Runs the steps in order, against the load's clock; errors are raised again by ``finish``."""

    def __init__(self, deployment: Deployment, endpoints_file: Path, steps: Sequence[DuringLoad],
                 started: Path | None = None) -> None:
        super().__init__(name="faults during load", daemon=True)
        self.deployment, self.endpoints_file, self.steps = deployment, endpoints_file, list(steps)
        self.started = started
        self.stopping = threading.Event()
        self.error: BaseException | None = None
        self.t0 = time.monotonic()

    def begin(self) -> None:
        """Start the thread (called once locust is started); ``at`` counts from the users' start."""
        if self.steps:
            self.start()

    def _wait_for_users(self) -> None:
        """Locust takes seconds to import and fork: wait for the file it writes when users start."""
        while self.started is not None and not self.started.exists() and not self.stopping.wait(0.05):
            pass
        self.t0 = time.monotonic()

    def run(self) -> None:
        try:
            self._wait_for_users()
            for step in self.steps:
                if self.stopping.wait(max(0.0, self.t0 + step.at - time.monotonic())):
                    return  # the load is over before this fault was due: skip it
                step.fault.apply(self.deployment)
                publish(self.deployment, self.endpoints_file)
                try:
                    self.stopping.wait(step.down)
                finally:
                    step.fault.heal(self.deployment)
                    publish(self.deployment, self.endpoints_file)
        except BaseException as exc:  # noqa: BLE001 - handed to the scenario's thread
            self.error = exc

    def finish(self) -> None:
        """Stop scheduling new faults, wait for a fault under way to heal, raise its error if any."""
        self.stopping.set()
        if self.is_alive():
            self.join()
        if self.error is not None:
            raise self.error
