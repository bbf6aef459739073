"""The Docker backend: a private network, the dependencies, and N app replicas.

Containers are created with testcontainers (Ryuk disabled: it cannot be pulled
offline; our labels, our own reaper (``harness.reaper``, for a SIGKILLed harness) and
``cleanup.sweep`` replace it) and driven afterwards with the
docker SDK container it wraps, since testcontainers has no kill, restart or pause.
Ports are published on 127.0.0.1 only, and re-read after every start because a
restarted container gets a new host port.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

from harness import cleanup, interrupt, reaper  # noqa: E402
from harness.backends.app_env import render_env  # noqa: E402
from harness.backends.pool import Leasing, recreate_database  # noqa: E402
from harness.capabilities import DependencyFaultable, NetworkCuttable, Pausable, Redeployable, Scalable  # noqa: E402
from harness.deployment import POLL_INTERVAL, Stopped  # noqa: E402
from harness.errors import BackendError, DeploymentError, EngineUnavailable, ReadinessTimeout  # noqa: E402
from harness.history import History  # noqa: E402
from harness.spec import TargetSpec, VolumeSpec  # noqa: E402

if TYPE_CHECKING:
    from harness.backends.pool import DependencyPool

DEPENDENCY_READY_TIMEOUT = 30.0


def docker_client():
    """A docker SDK client that answers, or EngineUnavailable saying how to get one."""
    import docker
    import docker.errors

    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.from_env(timeout=60)
        client.ping()
        return client
    except (docker.errors.DockerException, OSError) as exc:
        raise EngineUnavailable(
            f"no Docker engine answers at {where} ({exc}). Start one (as root: `dockerd &`, or "
            "`scripts/docker-engine.sh start`, which installs Debian's docker.io if needed), "
            "or point DOCKER_HOST at a running engine."
        ) from None


class _Dependency:
    """How to run and probe one dependency: postgres, redis, or any named service.

    ``aliases`` are the names it answers to on the network and in fault verbs and env
    placeholders: its own name, plus its role for a compose service playing one
    (a service ``db`` with role ``postgres`` is reached by ``DependencyRestart("postgres")``).
    Readiness is the exec ``probe`` when there is one, else a TCP connect to ``port``
    over the deployment's network, else simply running.
    """

    def __init__(self, name: str, image: str, command: list[str] | None, env: dict[str, str],
                 probe: list[str] | None, address: dict[str, str], port: int | None = None,
                 aliases: tuple[str, ...] = (), volumes: tuple[VolumeSpec, ...] = ()) -> None:
        self.name, self.image, self.command, self.env = name, image, command, env
        self.probe, self.address, self.port = probe, address, port
        self.volumes = volumes
        self.aliases = (name, *(a for a in aliases if a != name))

    def describe_probe(self) -> str:
        if self.probe:
            return f"probe: {' '.join(self.probe)}"
        return f"TCP port {self.port}" if self.port else "running"


def _dependencies(spec: TargetSpec) -> list[_Dependency]:
    deps = []
    if (pg := spec.dependencies.postgres) is not None:
        deps.append(_Dependency(
            "postgres", pg.image, None,
            {"POSTGRES_USER": pg.user, "POSTGRES_PASSWORD": pg.password, "POSTGRES_DB": pg.database},
            ["pg_isready", "-q", "-h", "127.0.0.1", "-U", pg.user, "-d", pg.database],
            # every placeholder of harness.spec.env_placeholders, as the local backend gives them
            {"host": "postgres", "port": "5432", "user": pg.user, "password": pg.password, "database": pg.database,
             "url": f"postgresql://{pg.user}:{pg.password}@postgres:5432/{pg.database}"},
        ))
    if (rd := spec.dependencies.redis) is not None:
        persistence = (["--appendonly", "yes", "--appendfsync", "always"] if rd.persistence
                       else ["--appendonly", "no", "--save", ""])
        deps.append(_Dependency(
            "redis", rd.image,
            ["redis-server", "--protected-mode", "no", "--bind", "0.0.0.0", "--dir", "/data", *persistence],
            {}, ["redis-cli", "ping"],
            {"host": "redis", "port": "6379", "url": "redis://redis:6379/0"},
        ))
    for name, service in spec.dependencies.services.items():
        deps.append(_Dependency(
            name, service.image, service.command, service.environment, service.probe,
            {"host": name, "port": str(service.port or "")}, port=service.port,
            aliases=(service.role,) if service.role else (), volumes=tuple(service.volumes),
        ))
    return deps


def find_dependency(deps: list[_Dependency], spec: TargetSpec, name: str) -> _Dependency:
    """The dependency answering to ``name`` (its own name or its role), or an error listing those there are."""
    for dep in deps:
        if name in dep.aliases:
            return dep
    have = ", ".join("/".join(d.aliases) for d in deps) or "none"
    raise BackendError(f"{spec.name} has no dependency {name!r} (has: {have})")


def dependency_addresses(spec: TargetSpec) -> dict[str, dict[str, str]]:
    """Each dependency's address fields under every alias it answers to (``{postgres.url}`` ...)."""
    return {alias: dict(d.address) for d in _dependencies(spec) for alias in d.aliases}


def _exec(container: Any, argv: list[str]) -> tuple[int, str]:
    result = container.exec_run(argv)
    return result.exit_code, (result.output or b"").decode(errors="replace").strip()


def _wipe_postgres(container: Any, user: str, database: str) -> None:
    """Recreate the app's database over the local socket, as ``postgres`` (the superuser of
    harness-postgres) or else as ``user`` (the superuser of the official image with POSTGRES_USER)."""
    errors = []
    for superuser in dict.fromkeys(["postgres", user]):
        code, output = _exec(container, ["psql", "-U", superuser, "-d", "postgres", *recreate_database(user, database)])
        if code == 0:
            return
        errors.append(f"as {superuser}: {output[-200:]}")
    raise BackendError(f"postgres: could not recreate database {database!r}: {'; '.join(errors)}")


def check_images(client: Any, spec: TargetSpec, dependency_images: list[str], backend: str = "docker") -> None:
    """Every image of ``spec`` present locally, or pulled now; fail before creating anything else."""
    import docker.errors

    if spec.app.image is None:  # choose_backend says so first; a deployment made directly says it here
        raise BackendError(f"{spec.source or spec.name}: field 'app.image' is required by the {backend} backend, which "
                           "runs the app from its image")
    for image in dict.fromkeys([spec.app.image, *dependency_images]):
        try:
            client.images.get(image)
            continue
        except docker.errors.ImageNotFound:
            pass
        try:
            client.images.pull(image)
        except docker.errors.DockerException as exc:
            raise DeploymentError(
                f"image {image!r} of {spec.name} is not present locally and could not be pulled "
                f"({str(exc).splitlines()[0][:200]}). Build the offline images with `harness images`, "
                "or name an image that exists in the target spec."
            ) from None


def seed_volume(client: Any, name: str, volume: VolumeSpec, image: str, labels: dict[str, str], helper: str) -> None:
    """Copy the host folder ``volume.source`` into the new volume ``name``, as the container will see it.

    Through a container (``helper``) that mounts the volume and is never started: the engine's archive
    API writes into its mounts. ``no_copy``: like a bind mount, the volume shows the host
    folder only, not what the image has at that path.
    """
    import io
    import tarfile

    import docker.errors
    from docker.types import Mount

    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        tar.add(str(volume.source), arcname=".")
    container = client.containers.create(image, name=helper, labels={**labels, cleanup.LABEL_ROLE: "seed",
                                                                     cleanup.LABEL_NAME: name},
                                         mounts=[Mount(volume.path, name, type="volume", no_copy=True)])
    try:
        if not container.put_archive(volume.path, archive.getvalue()):
            raise DeploymentError(f"could not copy {volume.source} into volume {name}")
    except docker.errors.APIError as exc:
        raise DeploymentError(f"could not copy {volume.source} into volume {name}: {exc}") from None
    finally:
        container.remove(force=True)


class DockerDeployment(Leasing, Pausable, Redeployable, Scalable, DependencyFaultable, NetworkCuttable):
    """A deployment on the local Docker engine, with every capability; see the module docstring.

    With a ``pool`` (``harness.backends.pool``) it leases the pool's running postgres
    and redis, and their network, instead of starting its own; it hands them back on close,
    saying whether it faulted them. ``replicas=0`` is the pool's own use: dependencies only.
    """

    def __init__(self, spec: TargetSpec, replicas: int = 1, history: History | None = None, client: Any = None,
                 pool: "DependencyPool | None" = None) -> None:
        super().__init__(spec, history)
        if replicas < 1 and not (replicas == 0 and pool is None):
            raise BackendError(f"a deployment needs at least one replica, got {replicas}")
        self.client = client or docker_client()
        self.run_id = uuid.uuid4().hex[:10]
        self.labels = cleanup.labels(self.run_id)
        self._containers: dict[str, Any] = {}
        self._ports: dict[str, int] = {}
        self._lock = threading.Lock()
        self._deps = _dependencies(spec)
        self._env: dict[str, str] = {}
        self._network = None
        self._initial = replicas
        self._pool = pool
        self._volumes: set[str] = set()  # names of the Docker volumes created so far
        cleanup.register(self.client, self.run_id)

    # ---- lifecycle ---------------------------------------------------------------
    def up(self) -> "DockerDeployment":
        """Network, then dependencies (in parallel), then replicas (in parallel); all ready.

        On any failure everything created so far is removed before the error propagates.
        """
        try:
            self._check_images()
            # before anything is created: should this process be SIGKILLed, the reaper removes it all
            reaper.watch(self.client, self.run_id)
            self._env = render_env(self.spec, {alias: d.address for d in self._deps for alias in d.aliases})
            own = self._lease_shared()
            if self._network is None:
                self._network = self.client.networks.create(
                    f"harness-{self.run_id}", driver="bridge", labels=self.labels, check_duplicate=True
                )
            with ThreadPoolExecutor(max_workers=max(1, len(own))) as pool:
                for future in [pool.submit(self._start_dependency, d) for d in own]:
                    future.result()
            self.replicas = [self.replica_name(i) for i in range(self._initial)]
            self._bring_up(self.replicas)
        except BaseException:
            self.close()
            raise
        return self

    def _lease_shared(self) -> list[_Dependency]:
        """Take the pool's running dependencies and network, if any; return the ones to start here."""
        host = self._lease(self.spec)
        if host is None:
            return self._deps
        assert isinstance(host, DockerDeployment)
        self._network = host._network
        shared = host.dependency_names()
        with self._lock:
            self._containers.update({name: host.container(name) for name in shared})
        return [d for d in self._deps if d.name not in shared]

    def dependency_names(self) -> set[str]:
        return {d.name for d in self._deps}

    def shareable_dependencies(self) -> bool:
        return True

    def wipe_dependencies(self) -> None:
        deps = self.spec.dependencies
        if deps.postgres is not None:
            _wipe_postgres(self.container("postgres"), deps.postgres.user, deps.postgres.database)
        if deps.redis is not None:
            code, output = _exec(self.container("redis"), ["redis-cli", "FLUSHALL"])
            if code != 0 or output != "OK":
                raise BackendError(f"redis: FLUSHALL answered {output[-200:]!r} (exit {code})")

    def _check_images(self) -> None:
        check_images(self.client, self.spec, [d.image for d in self._deps])

    def __enter__(self) -> "DockerDeployment":
        return self.up() if self._network is None else self

    def close(self) -> None:
        """Remove this run's containers, network and volumes; hand leased dependencies back (wiped by the pool)."""
        cleanup.remove_run(self.client, self.run_id)
        cleanup.unregister(self.run_id)
        self._containers.clear()
        self._ports.clear()
        self._volumes.clear()
        self._give_back()

    # ---- containers --------------------------------------------------------------
    def _run_container(self, name: str, image: str, command: list[str] | None, env: dict[str, str],
                       role: str, publish: int | None = None, aliases: tuple[str, ...] = (),
                       volumes: tuple[VolumeSpec, ...] = ()) -> Any:
        from testcontainers.core.container import DockerContainer

        container = DockerContainer(image, command=command, env=env, name=f"harness-{self.run_id}-{name}")
        if publish is not None:
            container.ports[f"{publish}/tcp"] = ("127.0.0.1", None)  # type: ignore[assignment]
        container.with_kwargs(
            labels={**self.labels, cleanup.LABEL_ROLE: role, cleanup.LABEL_NAME: name},
            mounts=self._mounts(volumes, name, image),
            hostname=name,
            network=self._network.name,
            networking_config={self._network.name: self.client.api.create_endpoint_config(
                aliases=list(dict.fromkeys([name, *aliases])))},
        )
        try:
            container.start()
        except Exception as exc:
            raise DeploymentError(f"could not start {name} from image {image!r}: {exc}") from exc
        wrapped = container.get_wrapped_container()
        with self._lock:
            self._containers[name] = wrapped
        return wrapped

    def container(self, name: str) -> Any:
        """The docker SDK container of a replica or dependency of this deployment."""
        return self._container(name)

    def _container(self, name: str) -> Any:
        try:
            return self._containers[name]
        except KeyError:
            raise BackendError(f"{name} is not part of this deployment (have: {', '.join(self._containers)})") from None

    # ---- volumes -----------------------------------------------------------------
    def volume_name(self, volume: VolumeSpec, replica: str) -> str:
        """The Docker volume behind ``volume`` for ``replica``: this run's id, the volume's name, and
        for scope ``replica`` the replica's name (the same after a redeploy: its claim)."""
        suffix = f"-{replica}" if volume.scope == "replica" else ""
        return f"harness-{self.run_id}-{volume.name}{suffix}"

    def _mounts(self, volumes: tuple[VolumeSpec, ...] | list[VolumeSpec], replica: str, image: str) -> list[Any]:
        """Mounts for a new container, creating its volumes (labelled as this run) on first use.

        Docker would create a missing named volume by itself, but without our labels, out of
        reach of ``cleanup``: so every volume is created here first. A read-only ``source`` is
        bound as it is; any other ``source`` is copied into the new volume.
        """
        from docker.types import Mount

        mounts = []
        for volume in volumes:
            if volume.source is not None and volume.read_only:
                mounts.append(Mount(volume.path, volume.source, type="bind", read_only=True))
                continue
            name = self.volume_name(volume, replica)
            with self._lock:
                if name not in self._volumes:
                    self.client.volumes.create(name=name, driver="local", labels={
                        **self.labels, cleanup.LABEL_ROLE: "volume", cleanup.LABEL_NAME: name})
                    self._volumes.add(name)
                    if volume.source is not None:
                        self._seed(name, volume, image)
            mounts.append(Mount(volume.path, name, type="volume", read_only=volume.read_only))
        return mounts

    def _seed(self, name: str, volume: VolumeSpec, image: str) -> None:
        seed_volume(self.client, name, volume, image, self.labels,
                    f"harness-{self.run_id}-seed-{name.removeprefix(f'harness-{self.run_id}-')}")

    def _start_dependency(self, dep: _Dependency) -> None:
        self._run_container(dep.name, dep.image, dep.command, dep.env, role="dependency", aliases=dep.aliases,
                            volumes=dep.volumes)
        self._wait_dependency(dep)

    def _wait_dependency(self, dep: _Dependency) -> None:
        container = self._container(dep.name)
        deadline = time.monotonic() + DEPENDENCY_READY_TIMEOUT
        while True:
            interrupt.check(f"waiting for dependency {dep.name} to be ready")
            container.reload()
            if container.status in ("exited", "dead"):
                raise DeploymentError(f"dependency {dep.name} exited before it became ready", self.logs(dep.name))
            if container.status == "running" and self._answers(container, dep):
                return
            if time.monotonic() > deadline:
                raise ReadinessTimeout(
                    f"dependency {dep.name} was not ready after {DEPENDENCY_READY_TIMEOUT:.0f}s "
                    f"({dep.describe_probe()})",
                    self.logs(dep.name),
                )
            time.sleep(POLL_INTERVAL)

    def _answers(self, container: Any, dep: _Dependency) -> bool:
        """The dependency's readiness check (see ``_Dependency``), once it is running."""
        if dep.probe:
            return container.exec_run(dep.probe).exit_code == 0
        if dep.port:
            address = (container.attrs["NetworkSettings"]["Networks"].get(self._network.name) or {}).get("IPAddress")
            if not address:
                return False
            try:
                with socket.create_connection((address, dep.port), timeout=0.5):
                    return True
            except OSError:
                return False
        return True

    def _dependency(self, name: str) -> _Dependency:
        return find_dependency(self._deps, self.spec, name)

    def _dependency_action(self, name: str, action: str) -> None:
        dep = self._dependency(name)
        self._note_fault(dep.name)
        container = self._container(dep.name)
        if action == "stop":
            container.stop(timeout=10)
            return
        if action == "restart":
            container.restart(timeout=10)
        else:
            container.start()
        self._wait_dependency(dep)

    def _network_action(self, name: str, connected: bool) -> None:
        """Disconnect the dependency from the deployment's network, or reconnect it under its alias.

        The container keeps running and keeps its data; the replicas can neither resolve
        its name nor reach its old address while it is cut, so their open connections
        time out and new ones fail. The readiness probe runs through ``docker exec``, not
        this network, so it still answers. On reconnect Docker may hand out a new
        address: the alias (the name in the replicas' URLs) is what stays the same.
        Either step is a no-op when the dependency is already in the wanted state.
        """
        import docker.errors

        dep = self._dependency(name)
        self._note_fault(dep.name)
        container = self._container(dep.name)
        container.reload()
        attached = self._network.name in (container.attrs["NetworkSettings"]["Networks"] or {})
        try:
            if not connected and attached:
                self._network.disconnect(container)
            elif connected and not attached:
                self._network.connect(container, aliases=list(dep.aliases))
        except docker.errors.APIError as exc:
            verb = "reconnect" if connected else "disconnect"
            raise BackendError(f"could not {verb} {name} {'to' if connected else 'from'} network "
                               f"{self._network.name}: {exc.explanation or exc}") from None
        if connected:
            self._wait_dependency(dep)

    # ---- replica primitives ------------------------------------------------------
    def _create_replica(self, replica: str) -> None:
        self._run_container(replica, self.spec.app.image, self.spec.app.command, self._env,
                            role="app", publish=self.spec.app.port, volumes=tuple(self.spec.app.volumes))
        self._read_port(replica)

    def _read_port(self, replica: str) -> None:
        container = self._container(replica)
        container.reload()
        bindings = (container.attrs["NetworkSettings"]["Ports"] or {}).get(f"{self.spec.app.port}/tcp") or []
        for binding in bindings:
            if binding.get("HostIp") in ("127.0.0.1", "") and binding.get("HostPort"):
                self._ports[replica] = int(binding["HostPort"])
                return
        self._ports.pop(replica, None)

    def endpoint(self, replica: str) -> str:
        port = self._ports.get(replica)
        if port is None:
            raise BackendError(f"replica {replica} is not running (no published port)")
        return f"http://127.0.0.1:{port}"

    def _signal(self, replica: str, signal: str) -> None:
        container = self._container(replica)
        container.kill(signal=signal)
        if signal == "SIGKILL":
            container.wait(timeout=10)
            self._ports.pop(replica, None)

    def _stop(self, replica: str) -> Stopped:
        """``docker stop``, timed, then its exit code read: 137 (128 + SIGKILL) once the stop timeout
        ran out means the app ignored SIGTERM and was killed; one that obeys exits with 0 or 143."""
        container = self._container(replica)
        timeout = self.spec.app.stop_timeout
        began = time.monotonic()
        container.stop(timeout=timeout)
        seconds = time.monotonic() - began
        self._ports.pop(replica, None)
        container.reload()
        code = container.attrs["State"].get("ExitCode")
        # an earlier 137 (a crash before this stop) comes back at once: only a wait through the timeout is this kill
        return Stopped(killed=code == 137 and seconds >= timeout * 0.9, seconds=seconds, timeout=timeout)

    def _start(self, replica: str) -> None:
        self._container(replica).start()
        self._read_port(replica)

    def _remove(self, replica: str) -> None:
        self._container(replica).remove(force=True, v=True)
        with self._lock:
            self._containers.pop(replica, None)
        self._ports.pop(replica, None)

    def _pause(self, replica: str) -> None:
        self._container(replica).pause()

    def _unpause(self, replica: str) -> None:
        self._container(replica).unpause()

    def _exit_status(self, replica: str) -> int | None:
        container = self._container(replica)
        container.reload()
        if container.status in ("exited", "dead"):
            return int(container.attrs["State"].get("ExitCode", -1))
        return None

    def logs(self, name: str, lines: int = 30) -> str:
        try:
            return self._container(name).logs(tail=lines).decode(errors="replace").rstrip()
        except Exception as exc:  # noqa: BLE001 - logs are best effort evidence
            return f"(logs of {name} unavailable: {exc})"
