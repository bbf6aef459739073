"""The Docker backend: a private network, the dependencies, and N app replicas.

Containers are created with testcontainers (Ryuk disabled: it cannot be pulled
offline; our labels and ``cleanup.sweep`` replace it) and driven afterwards with the
docker SDK container it wraps, since testcontainers has no kill, restart or pause.
Ports are published on 127.0.0.1 only, and re-read after every start because a
restarted container gets a new host port.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

from harness import cleanup  # noqa: E402
from harness.deployment import POLL_INTERVAL, Deployment  # noqa: E402
from harness.errors import BackendError, DeploymentError, EngineUnavailable, ReadinessTimeout, SpecError  # noqa: E402
from harness.history import History  # noqa: E402
from harness.spec import TargetSpec  # noqa: E402

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
    """How to run and probe one dependency kind."""

    def __init__(self, name: str, image: str, command: list[str] | None, env: dict[str, str],
                 probe: list[str], address: dict[str, str]) -> None:
        self.name, self.image, self.command, self.env = name, image, command, env
        self.probe, self.address = probe, address


def _dependencies(spec: TargetSpec) -> list[_Dependency]:
    deps = []
    if (pg := spec.dependencies.postgres) is not None:
        deps.append(_Dependency(
            "postgres", pg.image, None,
            {"POSTGRES_USER": pg.user, "POSTGRES_PASSWORD": pg.password, "POSTGRES_DB": pg.database},
            ["pg_isready", "-q", "-h", "127.0.0.1", "-U", pg.user, "-d", pg.database],
            {"host": "postgres", "port": "5432",
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
    return deps


def render_env(spec: TargetSpec, addresses: dict[str, dict[str, str]]) -> dict[str, str]:
    """Fill ``{postgres.url}``-style placeholders; an unknown one is a spec error naming the key."""
    namespace = {name: SimpleNamespace(**fields) for name, fields in addresses.items()}
    env = {}
    for key, value in spec.app.env.items():
        try:
            env[key] = value.format_map(namespace)
        except (KeyError, AttributeError) as exc:
            known = ", ".join(f"{{{n}.{f}}}" for n, fs in addresses.items() for f in fs) or "none"
            raise SpecError(
                f"{spec.source or spec.name}: field 'app.env.{key}': placeholder {exc} is not a "
                f"dependency address of this target (known: {known})"
            ) from None
    return env


class DockerDeployment(Deployment):
    """A deployment on the local Docker engine; see the module docstring."""

    def __init__(self, spec: TargetSpec, replicas: int = 1, history: History | None = None, client: Any = None) -> None:
        super().__init__(spec, history)
        if replicas < 1:
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
        cleanup.register(self.client, self.run_id)

    # ---- lifecycle ---------------------------------------------------------------
    def up(self) -> "DockerDeployment":
        """Network, then dependencies (in parallel), then replicas (in parallel); all ready.

        On any failure everything created so far is removed before the error propagates.
        """
        try:
            self._check_images()
            self._env = render_env(self.spec, {d.name: d.address for d in self._deps})
            self._network = self.client.networks.create(
                f"harness-{self.run_id}", driver="bridge", labels=self.labels, check_duplicate=True
            )
            with ThreadPoolExecutor(max_workers=max(1, len(self._deps))) as pool:
                for future in [pool.submit(self._start_dependency, d) for d in self._deps]:
                    future.result()
            self.replicas = [self.replica_name(i) for i in range(self._initial)]
            self._bring_up(self.replicas)
        except BaseException:
            self.close()
            raise
        return self

    def _check_images(self) -> None:
        """Every image present locally, or pulled now; fail before creating anything else."""
        import docker.errors

        for image in [self.spec.app.image, *(d.image for d in self._deps)]:
            try:
                self.client.images.get(image)
                continue
            except docker.errors.ImageNotFound:
                pass
            try:
                self.client.images.pull(image)
            except docker.errors.DockerException as exc:
                raise DeploymentError(
                    f"image {image!r} of {self.spec.name} is not present locally and could not be pulled "
                    f"({str(exc).splitlines()[0][:200]}). Build the offline images with `harness images`, "
                    "or name an image that exists in the target spec."
                ) from None

    def __enter__(self) -> "DockerDeployment":
        return self.up() if self._network is None else self

    def close(self) -> None:
        cleanup.remove_run(self.client, self.run_id)
        cleanup.unregister(self.run_id)
        self._containers.clear()
        self._ports.clear()

    # ---- containers --------------------------------------------------------------
    def _run_container(self, name: str, image: str, command: list[str] | None, env: dict[str, str],
                       role: str, publish: int | None = None) -> Any:
        from testcontainers.core.container import DockerContainer

        container = DockerContainer(image, command=command, env=env, name=f"harness-{self.run_id}-{name}")
        if publish is not None:
            container.ports[f"{publish}/tcp"] = ("127.0.0.1", None)  # type: ignore[assignment]
        container.with_kwargs(
            labels={**self.labels, cleanup.LABEL_ROLE: role, cleanup.LABEL_NAME: name},
            hostname=name,
            network=self._network.name,
            networking_config={self._network.name: self.client.api.create_endpoint_config(aliases=[name])},
        )
        try:
            container.start()
        except Exception as exc:
            raise DeploymentError(f"could not start {name} from image {image!r}: {exc}") from exc
        wrapped = container.get_wrapped_container()
        with self._lock:
            self._containers[name] = wrapped
        return wrapped

    def _container(self, name: str) -> Any:
        try:
            return self._containers[name]
        except KeyError:
            raise BackendError(f"{name} is not part of this deployment (have: {', '.join(self._containers)})") from None

    def _start_dependency(self, dep: _Dependency) -> None:
        self._run_container(dep.name, dep.image, dep.command, dep.env, role="dependency")
        self._wait_dependency(dep)

    def _wait_dependency(self, dep: _Dependency) -> None:
        container = self._container(dep.name)
        deadline = time.monotonic() + DEPENDENCY_READY_TIMEOUT
        while True:
            container.reload()
            if container.status in ("exited", "dead"):
                raise DeploymentError(f"dependency {dep.name} exited before it became ready", self.logs(dep.name))
            if container.status == "running" and container.exec_run(dep.probe).exit_code == 0:
                return
            if time.monotonic() > deadline:
                raise ReadinessTimeout(
                    f"dependency {dep.name} was not ready after {DEPENDENCY_READY_TIMEOUT:.0f}s "
                    f"(probe: {' '.join(dep.probe)})",
                    self.logs(dep.name),
                )
            time.sleep(POLL_INTERVAL)

    def _dependency(self, name: str) -> _Dependency:
        for dep in self._deps:
            if dep.name == name:
                return dep
        raise BackendError(f"{self.spec.name} has no dependency {name!r} (has: {', '.join(d.name for d in self._deps) or 'none'})")

    def _dependency_action(self, name: str, action: str) -> None:
        dep = self._dependency(name)
        container = self._container(name)
        if action == "stop":
            container.stop(timeout=10)
            return
        if action == "restart":
            container.restart(timeout=10)
        else:
            container.start()
        self._wait_dependency(dep)

    # ---- replica primitives ------------------------------------------------------
    def _create_replica(self, replica: str) -> None:
        self._run_container(replica, self.spec.app.image, self.spec.app.command, self._env,
                            role="app", publish=self.spec.app.port)
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

    def _stop(self, replica: str) -> None:
        self._container(replica).stop(timeout=self.spec.app.stop_timeout)
        self._ports.pop(replica, None)

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
