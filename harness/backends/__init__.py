"""Backends: where a deployment runs. The public face of ``harness.backends``.

- ``docker`` (``backends/docker.py``): containers on a Docker engine; every capability, network cuts included.
- ``local`` (``backends/local.py``): child processes on this machine, for machines without Docker;
  PostgreSQL and Redis run from their installed programs, or an embedded SQLite file stands in.
  It lacks the network cut (processes share the host's network).
- ``swarm`` (``backends/swarm.py``): a single-node Docker swarm; the app a service of N replicas, its
  dependencies services, each replica reached on its own through a gateway container; the orchestrator
  replaces what a fault kills. No network cut (a swarm network cannot be detached from a task).
- ``attach`` (``backends/attach.py``): an environment that already runs, given by the spec's ``attach``
  section (replica URLs, a command per fault verb); it has the capabilities whose verbs are given.
- ``auto``: docker when an engine answers, local otherwise.

``choose_backend`` picks one and says why, as a ``Backend``: its name, its deployment class
(what a backend can do is the capabilities that class inherits, ``harness.capabilities``)
and a deployer. The CLI, the plugin and user code use these names only, never a backend's
module: no Docker code is imported until a docker deployment, client or sweep is asked for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from harness.backends.pool import DependencyPool
from harness.errors import BackendError, EngineUnavailable
from harness.vocabulary import BackendName

if TYPE_CHECKING:
    from harness.deployment import Deployment
    from harness.history import History
    from harness.spec import TargetSpec

Deployer = Callable[["TargetSpec", int, "History"], "Deployment"]


def docker_kind() -> type["Deployment"]:
    """The docker backend's deployment class (imports the Docker SDK)."""
    from harness.backends.docker import DockerDeployment

    return DockerDeployment


def local_kind() -> type["Deployment"]:
    """The local backend's deployment class."""
    from harness.backends.local import LocalDeployment

    return LocalDeployment


def swarm_kind() -> type["Deployment"]:
    """The swarm backend's deployment class (imports the Docker SDK)."""
    from harness.backends.swarm import SwarmDeployment

    return SwarmDeployment


def attach_kind(spec: "TargetSpec") -> type["Deployment"]:
    """The attach backend's deployment class for ``spec``: the core, and the capabilities whose verbs its
    ``attach`` section gives (a ``BackendError`` when it has none)."""
    from harness.backends.attach import attach_kind as kind

    if spec.attach is None:
        raise BackendError(f"{spec.source or spec.name}: --backend attach needs an 'attach' section in the target "
                           "spec, or --attach FILE: the replicas' URLs and a command per fault verb "
                           "(docs/kubernetes.md has an example)")
    return kind(spec.attach)


def docker_deployer(spec: "TargetSpec", replicas: int, history: "History") -> "Deployment":
    return docker_kind()(spec, replicas=replicas, history=history).up()  # type: ignore[call-arg, attr-defined]


def local_deployer(spec: "TargetSpec", replicas: int, history: "History") -> "Deployment":
    return local_kind()(spec, replicas=replicas, history=history).up()  # type: ignore[call-arg, attr-defined]


def docker_client() -> Any:
    """A docker SDK client that answers, or ``EngineUnavailable`` saying how to get one."""
    from harness.backends.docker import docker_client as client

    return client()


def docker_addresses(spec: "TargetSpec") -> dict[str, dict[str, str]]:
    """What the docker backend fills each ``{name.field}`` placeholder with: the dependencies'
    network names and ports, under every alias (known before anything runs, unlike local ports)."""
    from harness.backends.docker import dependency_addresses

    return dependency_addresses(spec)


def servers_found() -> str:
    """One line: which dependency servers the local backend can run on this machine."""
    from harness.backends.local_servers import servers_found as found

    return found()


def sweep_local() -> list[str]:
    """Kill the processes and remove the roots of local deployments whose harness process died."""
    from harness.backends.local_sweep import sweep

    return sweep()


@dataclass(frozen=True)
class Backend:
    """A chosen backend: its name, its deployment class, and one line saying why it was chosen.

    ``kind`` is what scenarios ask about: ``issubclass(backend.kind, NetworkCuttable)``.
    ``options`` are passed to every deployment (e.g. one docker client shared by a pool's).
    """

    name: BackendName
    kind: type["Deployment"]
    reason: str
    options: dict[str, Any] = field(default_factory=dict)

    def deploy(self, spec: "TargetSpec", replicas: int, history: "History") -> "Deployment":
        """A ``Deployer``: a fresh deployment of this backend, up and ready."""
        return self.kind(spec, replicas=replicas, history=history, **self.options).up()  # type: ignore[call-arg, attr-defined]

    @property
    def poolable(self) -> bool:
        """Whether this backend's deployments can lease postgres and redis from a ``DependencyPool``."""
        from harness.backends.pool import Leasing

        return self.kind.owns_state and issubclass(self.kind, Leasing)

    def pool(self) -> DependencyPool:
        """A pool that keeps postgres and redis running between this backend's deployments."""
        options = dict(self.options)
        if self.name is BackendName.DOCKER and "client" not in options:
            options["client"] = docker_client()  # one client for the pool's hosts and deployments
        return DependencyPool(self.kind, **options)  # type: ignore[arg-type]


def _first_line(exc: BaseException, limit: int = 160) -> str:
    text = (str(exc).splitlines() or [type(exc).__name__])[0]
    return text if len(text) <= limit else text[: limit - 3] + "..."


def choose_backend(name: str = BackendName.AUTO, spec: "TargetSpec | None" = None) -> Backend:
    """The backend for ``auto``, ``docker``, ``swarm``, ``local`` or ``attach`` (which needs ``spec``, with its
    ``attach`` section), with one line saying which and why (``_choose``); a ``BackendError`` naming the
    field when ``spec`` lacks what that backend needs: ``app.image`` for one that deploys it (only an
    environment that already runs needs no image)."""
    backend = _choose(name, spec)
    if spec is not None and spec.app.image is None and backend.name in BackendName.from_images():
        raise BackendError(f"{spec.source or spec.name}: field 'app.image' is required by the {backend.name} backend "
                           f"({backend.reason}), which runs the app from its image; only --backend attach, on an "
                           "environment that already runs, needs none")
    return backend


def _choose(name: str, spec: "TargetSpec | None") -> Backend:
    """The backend for ``name``, with one line saying which and why.

    ``auto`` pings the Docker engine (``DOCKER_HOST`` or the default socket): docker when it
    answers, local processes otherwise. The line names the engine, or the reason there is
    none and which dependency servers the local backend will run.
    """
    try:
        chosen = BackendName(name)
    except ValueError:
        raise BackendError(f"unknown backend {name!r}: expected one of {', '.join(BackendName)}") from None
    if chosen is BackendName.DOCKER:
        return Backend(chosen, docker_kind(), "docker: asked for (--backend docker)")
    if chosen is BackendName.SWARM:
        from harness.backends.swarm import swarm_state

        client = docker_client()
        try:
            why = swarm_state(client)
        finally:
            client.close()
        if why is not None:
            raise BackendError(f"--backend swarm: {why}")
        return Backend(chosen, swarm_kind(), "swarm: asked for (--backend swarm); a single-node swarm, each replica "
                                             "a task reached through the deployment's gateway")
    if chosen is BackendName.LOCAL:
        return Backend(chosen, local_kind(), f"local: asked for (--backend local); {servers_found()}")
    if chosen is BackendName.ATTACH:
        if spec is None:
            raise BackendError("--backend attach needs a target spec with an 'attach' section (or --attach FILE)")
        kind = attach_kind(spec)
        from harness.capabilities import capabilities_of

        has = ", ".join(c.name for c in capabilities_of(kind)) or "none beyond the core"
        return Backend(chosen, kind, f"attach: asked for (--backend attach); {len(spec.attach.replicas)} replicas "  # type: ignore[union-attr]
                                     f"that already run, nothing deployed or wiped; capabilities: {has}")
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker_client()
    except EngineUnavailable as exc:
        return Backend(BackendName.LOCAL, local_kind(),
                       f"local: no Docker engine at {where} ({_engine_reason(exc)}); {servers_found()}")
    try:
        client.close()
    except Exception:  # noqa: BLE001 - only releasing a connection pool
        pass
    return Backend(BackendName.DOCKER, docker_kind(), f"docker: engine answers at {where}")


def _engine_reason(exc: EngineUnavailable) -> str:
    """The cause inside docker_client's message: 'no Docker engine answers at X (cause). Start one ...'."""
    text = str(exc)
    start, end = text.find("("), text.find("). ")
    return text[start + 1:end] if 0 <= start < end else _first_line(exc)


__all__ = ["Backend", "Deployer", "DependencyPool", "attach_kind", "choose_backend", "docker_addresses", "docker_client",
           "docker_deployer", "docker_kind", "local_deployer", "local_kind", "servers_found", "swarm_kind",
           "sweep_local"]
