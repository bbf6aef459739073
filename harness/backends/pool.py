"""PostgreSQL and Redis kept from one deployment to the next, wiped in between (either backend).

Starting a dependency costs more than starting a replica (a container or an
``initdb``, then a readiness probe), and most scenarios never touch their
dependencies. A session keeps one *host* per distinct dependency configuration: a
replica-less deployment of the session's backend that runs the target's
``postgres`` and ``redis`` (on docker, with the network they are on). A deployment
leases it, starts only its own replicas (and, on docker, compose services, which are
never shared) beside it, and hands it back when it closes. Only then, with no replica
left to hold a connection, is the host's state wiped, so no scenario sees another's
data: the app's database is dropped (``WITH (FORCE)``) and created again, empty, owned
by the app's role, and Redis is flushed (``FLUSHALL``). Each backend's host knows how
(``wipe_dependencies``).

A dependency that a scenario faulted (restart, outage, network cut) is never reused:
its host is removed on release and the next deployment starts a fresh one. So is a
host whose wipe failed: reuse can cost time, never correctness. A host is leased to
one deployment at a time; a second deployment alive at the same moment starts its
own dependencies, as without a pool. A local host that had to embed a dependency in
an SQLite file is not shared at all.

The host is a deployment of its own (labels and ``cleanup.register`` on docker, its
own temporary root on local), so Ctrl-C, the exit hooks and ``harness sweep`` remove
it like any other.
"""

from __future__ import annotations

import json
import logging
import threading
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from harness.spec import Dependencies, TargetSpec

if TYPE_CHECKING:
    from harness.deployment import Deployment
    from harness.history import History

log = logging.getLogger(__name__)


def host_spec(spec: TargetSpec) -> TargetSpec | None:
    """The part of ``spec`` a host runs: its postgres and redis, no app environment; None if neither."""
    deps = spec.dependencies
    if deps.postgres is None and deps.redis is None:
        return None
    app = spec.app.model_copy(update={"env": {}})
    return spec.model_copy(update={"app": app,
                                   "dependencies": Dependencies(postgres=deps.postgres, redis=deps.redis)})


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def recreate_database(user: str, database: str) -> list[str]:
    """psql arguments that drop the app's database and create it again, empty, owned by ``user``."""
    return ["-X", "-q", "-v", "ON_ERROR_STOP=1",
            "-c", f"DROP DATABASE IF EXISTS {_quoted(database)} WITH (FORCE)",
            "-c", f"CREATE DATABASE {_quoted(database)} OWNER {_quoted(user)}"]


def _key(spec: TargetSpec) -> str:
    return json.dumps(spec.dependencies.model_dump(mode="json"), sort_keys=True)


class DependencyPool:
    """Hosts of shared dependencies for one session on one backend; see the module docstring.

    ``kind`` is the backend's deployment class, called as ``kind(spec, replicas=..., history=...,
    pool=..., **options)`` (``options``: e.g. the docker client all deployments share). The pool
    knows no backend by name: ``harness.backends.Backend.pool`` makes the pool of a backend.
    """

    def __init__(self, kind: "type[Leasing]", **options: Any) -> None:
        self.kind = kind
        self._options = options
        self._hosts: dict[str, "Leasing"] = {}
        self._leased: set[str] = set()
        self._unshareable: set[str] = set()
        self._lock = threading.Lock()
        self.started = 0  # hosts started so far
        self.reused = 0   # leases of a host that was already up

    def deployer(self, spec: TargetSpec, replicas: int, history: "History") -> "Deployment":
        """A ``Deployer``: a deployment of this pool's backend that leases its postgres and redis here."""
        return self.kind(spec, replicas=replicas, history=history, pool=self, **self._options).up()

    def _start_host(self, spec: TargetSpec) -> "Leasing":
        return self.kind(spec, replicas=0, **self._options).up()

    def lease(self, spec: TargetSpec) -> "Leasing | None":
        """The running host for ``spec``'s postgres and redis, started if needed; None if there is
        nothing to share, the host is leased already, or it cannot be shared."""
        shared = host_spec(spec)
        if shared is None:
            return None
        key = _key(shared)
        with self._lock:
            if key in self._leased or key in self._unshareable:
                return None
            self._leased.add(key)
            host = self._hosts.get(key)
        if host is not None:
            self.reused += 1
            return host
        try:
            host = self._start_host(shared)
        except BaseException:
            with self._lock:
                self._leased.discard(key)
            raise
        self.started += 1
        if not host.shareable_dependencies():
            host.close()
            with self._lock:
                self._leased.discard(key)
                self._unshareable.add(key)
            return None
        with self._lock:
            self._hosts[key] = host
        return host

    def release(self, host: "Leasing", faulted: bool) -> None:
        """Take the host back: wiped for the next deployment, or removed when it was faulted or
        cannot be wiped."""
        from harness import interrupt

        key = _key(host.spec)
        keep = not faulted and not interrupt.stopping.is_set()  # a run that is stopping needs no wiped host
        if keep:
            try:
                host.wipe_dependencies()
            except Exception as exc:  # noqa: BLE001 - a failed wipe only costs a fresh host
                log.warning("dependency pool: %s; removing the shared dependencies", exc)
                keep = False
        with self._lock:
            self._leased.discard(key)
            if not keep:
                self._hosts.pop(key, None)
        if not keep:
            host.close()

    def close(self) -> None:
        """Remove every host (at the end of the session)."""
        with self._lock:
            hosts = list(self._hosts.values())
            self._hosts.clear()
            self._leased.clear()
        for host in hosts:
            host.close()


class Leasing(ABC):
    """What a deployment does with a pool: lease on up, note faults of shared dependencies, give back
    on close; and what a pool's host must do: name, share and wipe its dependencies. Mixed into each
    backend's deployment, which sets ``_pool`` before ``up``."""

    spec: TargetSpec
    _pool: DependencyPool | None = None
    _host: "Leasing | None" = None
    _faulted_shared: bool = False

    @abstractmethod
    def dependency_names(self) -> set[str]:
        """Names of the dependencies this deployment runs itself."""

    @abstractmethod
    def shareable_dependencies(self) -> bool:
        """Whether these dependencies can be wiped and handed to the next deployment."""

    @abstractmethod
    def wipe_dependencies(self) -> None:
        """Empty every dependency's state (the app's database recreated, Redis flushed)."""

    @abstractmethod
    def up(self) -> "Leasing":
        """Start everything; ready when it returns."""

    @abstractmethod
    def close(self) -> None:
        """Remove everything this deployment created."""

    def _lease(self, spec: TargetSpec) -> "Leasing | None":
        self._host = self._pool.lease(spec) if self._pool is not None else None
        return self._host

    def _is_shared(self, name: str) -> bool:
        return self._host is not None and name in self._host.dependency_names()

    def _note_fault(self, name: str) -> None:
        """Called before any fault of dependency ``name``: a shared one is not reused afterwards."""
        self._faulted_shared |= self._is_shared(name)

    def _give_back(self) -> None:
        host, self._host = self._host, None
        if host is not None and self._pool is not None:
            self._pool.release(host, faulted=self._faulted_shared)
