"""What a backend can do beyond the core: pause, redeploy, scale, dependency faults, network cut.

Every deployment has the core (``harness.deployment.Deployment``: start, stop, crash,
graceful and rolling restart, endpoints, history). The rest are capabilities, each a
class that holds its primitive steps (abstract: the backend supplies them) and its
recorded verbs, as Jepsen's ``db.clj`` separates ``Kill`` from ``Pause``. A backend's
deployment inherits the capabilities it really has, so it never pretends: the local
backend is not ``NetworkCuttable`` (its processes share the host's network), and has no
``cut_network`` to call.

A fault states what it needs (``needs``, a tuple of these classes); a scenario whose
faults need what a backend lacks is skipped with that reason (``lacking``,
``require``), decided by ``issubclass`` on the backend's deployment class, never by a
backend's name.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import TYPE_CHECKING, ClassVar, Iterable, Protocol

from harness.deployment import Deployment, recorded
from harness.errors import BackendError, MissingCapability
from harness.vocabulary import FaultName

if TYPE_CHECKING:
    from harness.spec import TargetSpec


class Needing(Protocol):
    """What ``lacking`` asks of a fault (``harness.faults.base.Fault``, a layer above): its name and needs.

    A fault whose fit depends on the spec too (a scale to N replicas, on a backend with a fixed
    list of them) also has ``unfit(kind, spec) -> str | None``, asked once ``kind`` has its needs.
    """

    name: str
    needs: ClassVar[tuple[type["Capability"], ...]]


class Capability(Deployment):
    """Base of the optional capabilities; ``name`` is how reports and skip reasons call one."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""


class Pausable(Capability):
    """Freeze a replica's processes and thaw them (cgroup freezer, SIGSTOP/SIGCONT)."""

    name = "pause"
    summary = "freeze a replica's processes and thaw them"

    @abstractmethod
    def _pause(self, replica: str) -> None:
        """Freeze every process of the replica; requests to it hang."""

    @abstractmethod
    def _unpause(self, replica: str) -> None:
        """Let the replica's processes run again."""

    @recorded(FaultName.PAUSE)
    def pause(self, replica: str) -> None:
        self._pause(replica)

    @recorded(FaultName.PAUSE, heal=True)
    def resume(self, replica: str) -> None:
        self._unpause(replica)


class Redeployable(Capability):
    """Remove a replica and create it anew from its image or command: its local files are gone."""

    name = "redeploy"
    summary = "remove a replica and create it anew, its local files gone"

    @abstractmethod
    def _remove(self, replica: str) -> None:
        """Remove a stopped replica and its writable state (volumes of the deployment stay)."""

    @recorded(FaultName.REDEPLOY)
    def redeploy(self, replica: str) -> None:
        """Remove the replica and create it anew: its writable layer is gone, as after a deploy.
        The event's detail says how the stop ended and where the new replica listens."""
        before = self._address(replica)
        self._stop_noted(replica)
        self._remove(replica)
        self._create_replica(replica)
        self.wait_ready(replica)
        self._note_address(replica, before)


class Scalable(Capability):
    """Add replicas or remove the newest ones while the deployment runs."""

    name = "scale"
    summary = "add replicas or remove the newest ones"

    #: how many replicas the last ``scale_to_zero`` removed: what bringing the deployment back restores
    scaled_to_zero_from: int = 0

    @abstractmethod
    def _remove(self, replica: str) -> None:
        """Remove a stopped replica and its writable state (volumes of the deployment stay)."""

    @classmethod
    def unscalable(cls, spec: "TargetSpec", count: int) -> str | None:
        """Why this backend cannot scale a deployment of ``spec`` to ``count`` replicas, or None when it can.

        Asked before a deployment exists (to skip a scenario, or leave scaling out of a soak); a
        backend whose replicas are a fixed list says so (the attach backend's ``attach.replicas``).
        """
        return None

    @recorded(FaultName.SCALE)
    def scale(self, count: int) -> None:
        """Add replicas (started in parallel) or remove the newest ones, gracefully."""
        if count < 1:
            raise BackendError(f"scale({count}): a deployment needs at least one replica")
        current = len(self.replicas)
        if count > current:
            names = [self.replica_name(i) for i in range(current, count)]
            self.replicas.extend(names)
            self._bring_up(names)
        for name in self.replicas[count:][::-1]:
            self._stop_noted(name, prefix=f"{name}: ")
            self._remove(name)
            self.replicas.remove(name)

    @recorded(FaultName.SCALE_TO_ZERO)
    def scale_to_zero(self, count: int) -> None:
        """Remove every replica, gracefully, newest first: nothing answers until ``scale_from_zero``, as on a
        serverless platform between requests. ``count`` is how many there are (the event's target, so the
        heal that brings as many back pairs with it); another count is an error, not a partial scale."""
        if count != len(self.replicas) or count < 1:
            raise BackendError(f"scale_to_zero({count}): the deployment has {len(self.replicas)} replica(s)")
        self.scaled_to_zero_from = count
        for name in self.replicas[::-1]:
            self._stop_noted(name, prefix=f"{name}: ")
            self._remove(name)
            self.replicas.remove(name)

    @recorded(FaultName.SCALE_TO_ZERO, heal=True)
    def scale_from_zero(self, count: int) -> None:
        """Start ``count`` new replicas (in parallel, each with fresh local state) on a deployment scaled to
        zero, under the first replica names again, and wait until all are ready."""
        if self.replicas or count < 1:
            raise BackendError(f"scale_from_zero({count}): the deployment has {len(self.replicas)} replica(s) "
                               "running; it must be scaled to zero first, and come back with at least one")
        names = [self.replica_name(i) for i in range(count)]
        self.replicas.extend(names)
        self._bring_up(names)


class DependencyFaultable(Capability):
    """Restart a dependency (postgres, redis, a service), or stop it and start it again."""

    name = "dependency-faults"
    summary = "restart, stop and start a dependency"

    @abstractmethod
    def _dependency_action(self, name: str, action: str) -> None:
        """``restart``, ``stop`` or ``start`` a dependency, waiting for readiness when it comes up."""

    @classmethod
    def unfaultable(cls, spec: "TargetSpec", name: str) -> str | None:
        """Why this backend cannot fault dependency ``name`` of ``spec`` here, or None when it can.

        Asked before a deployment exists (to skip a scenario); a backend whose stand-in for
        a dependency cannot be restarted says so (the local backend's embedded SQLite file).
        """
        return None

    @recorded(FaultName.DEPENDENCY_RESTART)
    def restart_dependency(self, name: str) -> None:
        self._dependency_action(name, "restart")

    @recorded(FaultName.DEPENDENCY_OUTAGE)
    def stop_dependency(self, name: str) -> None:
        self._dependency_action(name, "stop")

    @recorded(FaultName.DEPENDENCY_OUTAGE, heal=True)
    def start_dependency(self, name: str) -> None:
        self._dependency_action(name, "start")


class NetworkCuttable(Capability):
    """Cut the network between the replicas and a running dependency, and heal the cut."""

    name = "network-cut"
    summary = "cut the network between the replicas and a running dependency"

    @abstractmethod
    def _network_action(self, name: str, connected: bool) -> None:
        """Cut (``connected=False``) or restore the network between a dependency and the replicas.

        The dependency keeps running; only the replicas lose it. Restoring waits until
        the dependency answers its readiness probe again.
        """

    @recorded(FaultName.NETWORK_CUT)
    def cut_network(self, dependency: str) -> None:
        """Disconnect a running dependency from the replicas: their connections hang or fail."""
        self._network_action(dependency, False)

    @recorded(FaultName.NETWORK_CUT, heal=True)
    def heal_network(self, dependency: str) -> None:
        """Reconnect the dependency under its usual name and wait until it answers again."""
        self._network_action(dependency, True)


#: every optional capability, in the order reports list them
CAPABILITIES: tuple[type[Capability], ...] = (Pausable, Redeployable, Scalable, DependencyFaultable, NetworkCuttable)


def capabilities_of(kind: type[Deployment]) -> list[type[Capability]]:
    """The optional capabilities a deployment class has."""
    return [c for c in CAPABILITIES if issubclass(kind, c)]


def missing(kind: type[Deployment], capability: type[Capability], what: str) -> str | None:
    """Why ``what`` cannot run on a deployment of ``kind`` (the capability named), or None when it can."""
    if issubclass(kind, capability):
        return None
    return f"{what} needs the {capability.name} capability ({capability.summary}), which {kind.__name__} lacks"


def lacking(kind: type[Deployment], faults: Iterable[Needing], spec: "TargetSpec | None" = None) -> str | None:
    """Why a deployment of ``kind`` cannot run ``faults`` (the first capability one needs that
    ``kind`` lacks, named), or None when it can run them all.

    With ``spec``, a fault that has every capability it needs is also asked whether it fits this
    spec on ``kind`` (its ``unfit``, when it has one: a scale beyond the replicas a backend has).
    """
    for fault in faults:
        for capability in getattr(fault, "needs", ()):
            reason = missing(kind, capability, f"fault {fault.name}")
            if reason is not None:
                return reason
        unfit = getattr(fault, "unfit", None)
        if spec is not None and unfit is not None:
            reason = unfit(kind, spec)
            if reason is not None:
                return f"fault {fault.name}: {reason}"
    return None


def dependency_unfaultable(kind: type[Deployment], spec: "TargetSpec", name: str) -> str | None:
    """Why a deployment of ``kind`` cannot fault dependency ``name`` of ``spec``, or None when it can."""
    if not issubclass(kind, DependencyFaultable):
        return missing(kind, DependencyFaultable, f"a fault of {name}")
    return kind.unfaultable(spec, name)


def require(kind: type[Deployment], faults: Iterable[Needing], spec: "TargetSpec | None" = None) -> None:
    """Raise ``MissingCapability`` (a skip, not a failure) when ``kind`` lacks what ``faults`` need
    (or, with ``spec``, when one of them does not fit it: ``lacking``)."""
    reason = lacking(kind, faults, spec)
    if reason is not None:
        raise MissingCapability(reason)


__all__ = ["CAPABILITIES", "Capability", "DependencyFaultable", "NetworkCuttable", "Pausable", "Redeployable",
           "Scalable", "capabilities_of", "dependency_unfaultable", "lacking", "missing", "require"]
