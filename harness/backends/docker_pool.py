"""PostgreSQL and Redis containers kept from one deployment to the next, wiped in between.

Starting a dependency costs more than starting a replica (a container, then a
readiness probe), and most scenarios never touch their dependencies. A session keeps
one *host* per distinct dependency configuration: a replica-less ``DockerDeployment``
owning a network and the target's ``postgres`` and ``redis`` containers. A deployment
leases it, puts its own replicas (and compose services, which are never shared) on
its network, and hands it back when it closes. Only then, with no replica left to hold
a connection, is the host's state wiped, so no scenario sees another's data:

- postgres: the app's database is dropped (``WITH (FORCE)``) and created again, empty,
  owned by the app's role;
- redis: ``FLUSHALL``.

A dependency that a scenario faulted (restart, outage, network cut) is never reused:
its host is removed on release and the next deployment starts a fresh one. So is a
host whose wipe failed: reuse can cost time, never correctness. A host is leased to
one deployment at a time; a second deployment alive at the same moment starts its
own dependencies, as without a pool.

The host is a run of its own (labels, ``cleanup.register``), so Ctrl-C, the atexit
hook and ``harness sweep`` remove it like any deployment.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import TYPE_CHECKING, Any

from harness.spec import Dependencies, TargetSpec

if TYPE_CHECKING:
    from harness.backends.docker import DockerDeployment
    from harness.deployment import Deployment
    from harness.history import History

log = logging.getLogger(__name__)

#: the dependencies a pool can share: the ones whose state it knows how to wipe
SHARED = ("postgres", "redis")


def _host_spec(spec: TargetSpec) -> TargetSpec | None:
    """The part of ``spec`` a host runs: its postgres and redis, no app environment; None if neither."""
    deps = spec.dependencies
    if deps.postgres is None and deps.redis is None:
        return None
    app = spec.app.model_copy(update={"env": {}})
    return spec.model_copy(update={"app": app,
                                   "dependencies": Dependencies(postgres=deps.postgres, redis=deps.redis)})


def _key(host_spec: TargetSpec) -> str:
    return json.dumps(host_spec.dependencies.model_dump(mode="json"), sort_keys=True)


def _exec(container: Any, argv: list[str]) -> tuple[int, str]:
    result = container.exec_run(argv)
    return result.exit_code, (result.output or b"").decode(errors="replace").strip()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def wipe_postgres(container: Any, user: str, database: str) -> None:
    """Drop the app's database and create it again, empty and owned by ``user``.

    Tried as ``postgres`` (the superuser of harness-postgres) and then as ``user`` (the
    superuser of the official image when POSTGRES_USER is set), over the local socket.
    """
    statements = ["-c", f"DROP DATABASE IF EXISTS {_quoted(database)} WITH (FORCE)",
                  "-c", f"CREATE DATABASE {_quoted(database)} OWNER {_quoted(user)}"]
    errors = []
    for superuser in dict.fromkeys(["postgres", user]):
        code, output = _exec(container, ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-U", superuser,
                                         "-d", "postgres", *statements])
        if code == 0:
            return
        errors.append(f"as {superuser}: {output[-200:]}")
    raise RuntimeError(f"could not recreate database {database!r}: {'; '.join(errors)}")


def wipe_redis(container: Any) -> None:
    code, output = _exec(container, ["redis-cli", "FLUSHALL"])
    if code != 0 or output != "OK":
        raise RuntimeError(f"FLUSHALL answered {output[-200:]!r} (exit {code})")


class DependencyPool:
    """Hosts of shared dependencies for one session; see the module docstring."""

    def __init__(self, client: Any = None) -> None:
        self._client = client
        self._hosts: dict[str, "DockerDeployment"] = {}
        self._leased: set[str] = set()
        self._lock = threading.Lock()
        self.started = 0  # hosts started so far
        self.reused = 0   # leases of a host that was already up

    def deployer(self, spec: TargetSpec, replicas: int, history: "History") -> "Deployment":
        """A ``Deployer``: a docker deployment that leases its postgres and redis from this pool."""
        from harness.backends.docker import DockerDeployment

        return DockerDeployment(spec, replicas=replicas, history=history, client=self._client, pool=self).up()

    def lease(self, spec: TargetSpec) -> "DockerDeployment | None":
        """The running host for ``spec``'s postgres and redis, started if needed; None if there is
        nothing to share or the host is leased already."""
        from harness.backends.docker import DockerDeployment, docker_client

        host_spec = _host_spec(spec)
        if host_spec is None:
            return None
        key = _key(host_spec)
        with self._lock:
            if key in self._leased:
                return None
            self._leased.add(key)
            host = self._hosts.get(key)
        if host is not None:
            self.reused += 1
            return host
        try:
            if self._client is None:
                self._client = docker_client()
            host = DockerDeployment(host_spec, replicas=0, client=self._client).up()
        except BaseException:
            with self._lock:
                self._leased.discard(key)
            raise
        self.started += 1
        with self._lock:
            self._hosts[key] = host
        return host

    def release(self, host: "DockerDeployment", faulted: bool) -> None:
        """Take the host back: wiped for the next deployment, or removed when it was faulted or
        cannot be wiped."""
        key = _key(host.spec)
        keep = not faulted
        if keep:
            try:
                self._wipe(host)
            except Exception as exc:  # noqa: BLE001 - a failed wipe only costs a fresh host
                log.warning("dependency pool: %s; removing the shared dependencies", exc)
                keep = False
        with self._lock:
            self._leased.discard(key)
            if not keep:
                self._hosts.pop(key, None)
        if not keep:
            host.close()

    @staticmethod
    def _wipe(host: "DockerDeployment") -> None:
        deps = host.spec.dependencies
        if deps.postgres is not None:
            wipe_postgres(host.container("postgres"), deps.postgres.user, deps.postgres.database)
        if deps.redis is not None:
            wipe_redis(host.container("redis"))

    def close(self) -> None:
        """Remove every host (at the end of the session)."""
        with self._lock:
            hosts = list(self._hosts.values())
            self._hosts.clear()
            self._leased.clear()
        for host in hosts:
            host.close()
