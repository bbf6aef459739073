"""What a soak runs, as data: the fault schedule and the size of the workload.

A plan is all a soak needs besides its target, so the same plan runs the same soak:
``draw_plan`` draws one from a seed (the same seed, target and options always give the
same schedule), shrinking makes smaller plans from a failing one, and ``repro.json``
stores one for ``harness replay``. Pure: no deployment, no clock.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Sequence

from harness.vocabulary import FaultName

#: operations per second per client a soak runs at unless told otherwise: a 30-minute soak of 4 clients then
#: records about 180,000 operations, which its history and checkers hold well within 500 MB
DEFAULT_RATE = 25.0


def default_mean_gap(duration: float) -> float:
    """Seconds between fault starts on average unless told: a quarter of the soak, between 5 s and 20 s
    (a one-minute soak sees a few faults, a 30-minute one about ninety)."""
    return max(5.0, min(20.0, duration / 4))


#: faults that last a while before their heal (the others heal as soon as they are done)
HELD = frozenset({FaultName.PAUSE, FaultName.DEPENDENCY_OUTAGE, FaultName.NETWORK_CUT, FaultName.SCALE_TO_ZERO})
#: faults aimed at one replica (the target is its index); dependency faults aim at a dependency by name
ON_REPLICA = frozenset({FaultName.CRASH, FaultName.GRACEFUL_RESTART, FaultName.REDEPLOY, FaultName.PAUSE})
ON_DEPENDENCY = frozenset({FaultName.DEPENDENCY_RESTART, FaultName.DEPENDENCY_OUTAGE, FaultName.NETWORK_CUT})


@dataclass(frozen=True)
class FaultStep:
    """One fault of a schedule: what, to whom, when it begins and how long it is held before its heal.

    ``at`` is seconds after the workload began; a step whose predecessor ran late begins as
    soon as that one is healed (faults never overlap). ``target``: a replica index (``"0"``),
    a dependency name, or None for the whole deployment (rolling restart, scaling).
    ``replicas``: the count a ``scale`` step scales to.
    """

    fault: FaultName
    at: float
    target: str | None = None
    hold: float = 0.0
    replicas: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "FaultStep":
        return cls(**{**raw, "fault": FaultName(raw["fault"])})

    def describe(self) -> str:
        """``crash of replica 1 at +12.0s``: how reports and the live line name a step."""
        target = (f" of replica {self.target}" if self.fault in ON_REPLICA
                  else f" of {self.target}" if self.target else "")
        size = f" to {self.replicas}" if self.replicas is not None else ""
        held = f" for {self.hold:.1f}s" if self.hold else ""
        return f"{self.fault}{target}{size} at +{self.at:.1f}s{held}"


@dataclass(frozen=True)
class SoakPlan:
    """A whole soak: seed (for the workload's random choices too), length, clients, replicas, schedule.

    ``rate``: operations per second per client at most (None: as fast as the app answers).
    ``kinds``: the state kinds the clients exercise (None: every kind the target has).
    """

    seed: int
    duration: float
    clients: int
    replicas: int
    schedule: tuple[FaultStep, ...] = ()
    rate: float | None = None
    kinds: tuple[str, ...] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        raw = asdict(self)
        raw["schedule"] = [s.to_dict() for s in self.schedule]
        raw["kinds"] = list(self.kinds) if self.kinds is not None else None
        return raw

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "SoakPlan":
        kinds = raw.get("kinds")
        return cls(seed=int(raw["seed"]), duration=float(raw["duration"]), clients=int(raw["clients"]),
                   replicas=int(raw["replicas"]), schedule=tuple(FaultStep.from_dict(s) for s in raw.get("schedule", ())),
                   rate=raw.get("rate"), kinds=tuple(kinds) if kinds is not None else None, meta=raw.get("meta") or {})

    def with_schedule(self, steps: Sequence[FaultStep]) -> "SoakPlan":
        return replace(self, schedule=tuple(steps))


def draw_plan(seed: int, duration: float, clients: int, replicas: int, faults: Sequence[FaultName],
              mean_gap: float, dependencies: Sequence[str] = (), rate: float | None = None,
              hold: tuple[float, float] = (0.5, 3.0)) -> SoakPlan:
    """A random schedule for ``duration`` seconds from ``seed``: fault starts spaced by exponential gaps of
    mean ``mean_gap`` (the intensity), each fault drawn from ``faults`` (those the backend has), aimed
    at a random replica or dependency, held for a random time in ``hold`` when it lasts.

    The draw depends only on its arguments (its own ``random.Random(seed)``), so a seed names a schedule.
    Dependency faults are left out when the target has no dependency; ``scale`` alternates between
    out (one more replica than the plan's) and back in, so the deployment ends where it began.
    """
    rng = random.Random(seed)
    usable = [f for f in faults if f not in ON_DEPENDENCY or dependencies]
    steps: list[FaultStep] = []
    at = rng.expovariate(1 / mean_gap) if usable else duration
    scaled_out = False
    while at < duration and usable:
        fault = FaultName(rng.choice(sorted(usable)))
        held = round(rng.uniform(*hold), 2) if fault in HELD else 0.0
        if fault in ON_REPLICA:
            step = FaultStep(fault, round(at, 2), str(rng.randrange(replicas)), held)
        elif fault in ON_DEPENDENCY:
            step = FaultStep(fault, round(at, 2), rng.choice(sorted(dependencies)), held)
        elif fault is FaultName.SCALE:
            step = FaultStep(fault, round(at, 2), None, 0.0, replicas if scaled_out else replicas + 1)
            scaled_out = not scaled_out
        else:
            step = FaultStep(fault, round(at, 2), None, held)
        steps.append(step)
        at += held + rng.expovariate(1 / mean_gap)
    if scaled_out:  # back to the plan's size before the final read
        steps.append(FaultStep(FaultName.SCALE, round(min(at, duration), 2), None, 0.0, replicas))
    return SoakPlan(seed, duration, clients, replicas, tuple(steps), rate)
