"""When a dependency was out of the replicas' reach: outage windows read from a history's fault events.

One rule for every checker that asks (fail-loud: a write acknowledged then must not be lost;
rate limits: a limiter may deny while its store is unreachable): a dependency outage or a
network cut lasts from its start to the end of its heal on the same target (to the end of
time when it was never healed); a dependency restart is an outage for as long as it lasts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

from harness.history import FaultEvent, Operation
from harness.vocabulary import OUTAGE_FAULTS


@dataclass(frozen=True)
class Outage:
    """A window during which a dependency (or the network to it) was unavailable."""

    target: str
    fault: str
    start: float
    #: ``math.inf`` when the outage was never healed
    end: float

    def overlaps(self, op: Operation) -> bool:
        return op.start < self.end and op.end > self.start

    def describe(self, t0: float) -> str:
        return f"{self.fault} of {self.target}, +{self.start - t0:.2f}s to +{self.end - t0:.2f}s"


def outages(faults: Iterable[FaultEvent]) -> list[Outage]:
    """Outage windows: each outage fault paired with the next heal of the same fault and target."""
    events = sorted(faults, key=lambda f: f.start)
    windows = []
    # walked backwards, the next heal of each (fault, target) is at hand: one pass, however many faults
    next_heal: dict[tuple[str, str], FaultEvent] = {}
    for f in reversed(events):
        if f.heal:
            next_heal[(f.fault, f.target)] = f
            continue
        if f.fault not in OUTAGE_FAULTS:
            continue
        if not OUTAGE_FAULTS[f.fault]:  # down while it lasts
            windows.append(Outage(f.target, f.fault, f.start, f.end))
            continue
        heal = next_heal.get((f.fault, f.target))
        windows.append(Outage(f.target, f.fault, f.start, heal.end if heal else math.inf))
    windows.reverse()
    return windows
