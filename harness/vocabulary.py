"""The domain's words, written once: state kinds, faults, backends and suites.

Every other module takes its names from here (spec models, policy entries, recorded
fault events, test ids, the CLI's choices, reports), so a name a user copies from
one place (a test id, a report) is accepted in every other (a policy entry, ``-k``).
This module imports nothing of the harness: it sits below everything else.
"""

from __future__ import annotations

from enum import StrEnum


class StateKind(StrEnum):
    """What users rely on an app to keep; one workload and one checker each."""

    SESSIONS = "sessions"
    FILES = "files"
    QUOTES = "quotes"
    RATE_LIMIT = "rate_limit"
    COOLDOWNS = "cooldowns"
    RECORDS = "records"
    COUNTERS = "counters"


class FaultName(StrEnum):
    """One name per fault: the fault object's ``name``, the test id, the recorded event, the policy entry.

    A heal is recorded under its fault's name with ``heal=True`` (the crash's restart, the
    outage's end), so a reader never has to know which verb undoes which fault.
    """

    CRASH = "crash"
    GRACEFUL_RESTART = "graceful-restart"
    REDEPLOY = "redeploy"
    ROLLING_RESTART = "rolling-restart"
    SCALE = "scale"
    #: every replica removed, then as many started again: a serverless platform between requests
    SCALE_TO_ZERO = "scale-to-zero"
    PAUSE = "pause"
    DEPENDENCY_RESTART = "dependency-restart"
    DEPENDENCY_OUTAGE = "dependency-outage"
    NETWORK_CUT = "network-cut"


#: faults during which a dependency is out of the replicas' reach: writes then must fail loudly.
#: The value says whether the fault has a separate heal that ends the outage (``True``) or the
#: outage is the fault event itself (a restart: down while it lasts).
OUTAGE_FAULTS: dict[FaultName, bool] = {
    FaultName.DEPENDENCY_OUTAGE: True,
    FaultName.NETWORK_CUT: True,
    FaultName.DEPENDENCY_RESTART: False,
}


class BackendName(StrEnum):
    """Where a deployment runs; ``auto`` picks docker when an engine answers, local otherwise."""

    AUTO = "auto"
    DOCKER = "docker"
    LOCAL = "local"
    #: an environment that already runs: replica URLs and a command per fault verb (``attach`` in the spec)
    ATTACH = "attach"
    #: a single-node Docker swarm: the app a service of N replicas, its dependencies services (``backends/swarm.py``)
    SWARM = "swarm"

    @classmethod
    def concrete(cls) -> tuple["BackendName", ...]:
        """The backends a deployment really runs on (``auto`` only chooses one of them)."""
        return tuple(b for b in cls if b is not cls.AUTO)

    @classmethod
    def from_images(cls) -> tuple["BackendName", ...]:
        """The backends that run the app and its dependencies from images on a Docker engine: they need
        ``app.image``, build the offline images, and fill placeholders with the dependencies' network names."""
        return (cls.DOCKER, cls.SWARM)


class Suite(StrEnum):
    """A named set of scenarios; its pytest marker is the name with ``_`` for ``-``."""

    RESTART = "restart"
    SCALE_OUT = "scale-out"
    DEPENDENCY = "dependency"
    LOAD = "load"
    #: a short soak (concurrent clients, a random seeded fault schedule); ``harness soak`` runs long ones
    SOAK = "soak"

    @property
    def marker(self) -> str:
        return self.value.replace("-", "_")

    @property
    def description(self) -> str:
        return f"scenarios of the {self.value} suite"


#: what ``harness run`` runs when no ``--suite`` is given: load and soak are heavier and asked for by name
DEFAULT_SUITES: tuple[Suite, ...] = (Suite.RESTART, Suite.SCALE_OUT, Suite.DEPENDENCY)

#: how a fault event's detail says a graceful stop (SIGTERM) ended in SIGKILL after the spec's stop_timeout:
#: written by the deployment, read by the faults-as-claimed finding and the HTML timeline
KILLED_ON_STOP = "SIGTERM ignored"

#: how a fault event's detail says the heal was the orchestrator's, not the harness's (the swarm backend:
#: a killed or stopped task is replaced by a new one in its slot): read by the HTML timeline
REPLACED_BY_ORCHESTRATOR = "replaced by the orchestrator"

#: the operation kind of a spec's own rules (``invariants``: setup, exercise and probe requests). Not a
#: ``StateKind``: a state kind is a fixed set of abstract operations with its own workload, checker,
#: ``operations`` section and policy entry, while invariants are whatever requests a spec states, all
#: judged by one checker against the expectations they carry
INVARIANTS = "invariants"

__all__ = ["DEFAULT_SUITES", "INVARIANTS", "KILLED_ON_STOP", "OUTAGE_FAULTS", "REPLACED_BY_ORCHESTRATOR", "BackendName", "FaultName", "StateKind",
           "Suite"]
