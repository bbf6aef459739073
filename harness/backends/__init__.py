"""Backends: where a deployment runs. ``choose_backend`` picks one and says why.

- ``docker`` (``backends/docker.py``): containers on a Docker engine; every fault, network cuts included.
- ``local`` (``backends/local.py``): child processes on this machine, for machines without Docker;
  PostgreSQL and Redis run from their installed programs, or an embedded SQLite file stands in.
- ``auto``: docker when an engine answers, local otherwise.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Callable

from harness.errors import BackendError, EngineUnavailable

if TYPE_CHECKING:
    from harness.deployment import Deployment
    from harness.history import History
    from harness.spec import TargetSpec

Deployer = Callable[["TargetSpec", int, "History"], "Deployment"]

BACKEND_NAMES = ("auto", "docker", "local")


def docker_deployer(spec: "TargetSpec", replicas: int, history: "History") -> "Deployment":
    from harness.backends.docker import DockerDeployment

    return DockerDeployment(spec, replicas=replicas, history=history).up()


def local_deployer(spec: "TargetSpec", replicas: int, history: "History") -> "Deployment":
    from harness.backends.local import LocalDeployment

    return LocalDeployment(spec, replicas=replicas, history=history).up()


def _first_line(exc: BaseException, limit: int = 160) -> str:
    text = (str(exc).splitlines() or [type(exc).__name__])[0]
    return text if len(text) <= limit else text[: limit - 3] + "..."


def choose_backend(name: str = "auto") -> tuple[Deployer, str]:
    """The deployer for ``auto``, ``docker`` or ``local``, and one line saying which and why.

    ``auto`` pings the Docker engine (``DOCKER_HOST`` or the default socket): docker when it
    answers, local processes otherwise. The line names the engine, or the reason there is
    none and which dependency servers the local backend will run.
    """
    from harness.backends.local import servers_found

    if name == "docker":
        return docker_deployer, "docker: asked for (--backend docker)"
    if name == "local":
        return local_deployer, f"local: asked for (--backend local); {servers_found()}"
    if name != "auto":
        raise BackendError(f"unknown backend {name!r}: expected one of {', '.join(BACKEND_NAMES)}")
    from harness.backends.docker import docker_client

    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker_client()
    except EngineUnavailable as exc:
        return local_deployer, f"local: no Docker engine at {where} ({_engine_reason(exc)}); {servers_found()}"
    try:
        client.close()
    except Exception:  # noqa: BLE001 - only releasing a connection pool
        pass
    return docker_deployer, f"docker: engine answers at {where}"


def _engine_reason(exc: EngineUnavailable) -> str:
    """The cause inside docker_client's message: 'no Docker engine answers at X (cause). Start one ...'."""
    text = str(exc)
    start, end = text.find("("), text.find("). ")
    return text[start + 1:end] if 0 <= start < end else _first_line(exc)


__all__ = ["BACKEND_NAMES", "Deployer", "choose_backend", "docker_deployer", "local_deployer"]
