"""The Swarm backend: the app as a service of N replicas, each dependency a service, on an overlay network.

An orchestrator stands between the harness and the replicas here, as in production: a killed
task is replaced by the orchestrator on its own, in the same slot, as a *new container* (its
writable layer gone, volumes kept), and a rolling update replaces every task. So each fault
is the real thing, and each heal is the orchestrator's work, observed and recorded:

- crash: SIGKILL to the task's container; the orchestrator starts a replacement (restart
  policy ``any``, no delay); the crash's heal waits for it, routes to it and notes which task
  replaced which (``REPLACED_BY_ORCHESTRATOR``, shown on the report's timeline).
- graceful restart: ``docker stop`` of the task's container (SIGTERM, SIGKILL after the spec's
  ``stop_timeout``), then the orchestrator's replacement; redeploy also removes the old container.
- rolling restart: ``service update --force``, one slot at a time, stop first; each slot's
  replacement is one event, from its old task's end to its new task's readiness.
- scale: ``service scale``; which slots remain is read back from the tasks, not assumed.
- pause: the engine's cgroup freezer on the task's container (Swarm has no pause and does not notice).
- dependency faults: restart = ``service update --force`` (a new task on the same data volume);
  outage = scale to 0, then back to 1.
- no network cut: a container cannot be disconnected from a swarm-scoped network, and
  ``service update --network-rm`` replaces the task, which is a restart, not a cut.

Every replica is reached on its own, never through Swarm's load balancer (which would hide which
replica answered): the host cannot reach overlay addresses and host-mode publishing binds every
interface, so a gateway container of ours on the overlay network publishes one port per slot on
127.0.0.1 and forwards to the task behind that slot (``harness.backends.gateway``). A replica's
endpoint stays the same across replacements; the task behind it changes, and the fault events say so.

Services, their task containers, the network, the volumes and the gateway carry the run's labels:
``cleanup.remove_run``, the reaper and ``harness sweep`` remove them like the docker backend's.
Only one node's tasks are reached (the manager's engine): a single-node swarm.
"""

from __future__ import annotations

import copy
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Callable

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")

from harness import cleanup, interrupt, reaper  # noqa: E402
from harness.backends.app_env import render_env  # noqa: E402
from harness.backends.docker import (  # noqa: E402
    DEPENDENCY_READY_TIMEOUT, _Dependency, _dependencies, _exec, check_images, docker_client, find_dependency,
    seed_volume)
from harness.backends.gateway import SLOTS, Gateway  # noqa: E402
from harness.capabilities import DependencyFaultable, Pausable, Redeployable, Scalable  # noqa: E402
from harness.deployment import POLL_INTERVAL, Stopped, recorded  # noqa: E402
from harness.errors import BackendError, DeploymentError, ReadinessTimeout  # noqa: E402
from harness.history import History  # noqa: E402
from harness.spec import TargetSpec, VolumeSpec  # noqa: E402
from harness.vocabulary import REPLACED_BY_ORCHESTRATOR, FaultName  # noqa: E402

#: task states after which a task never runs again
ENDED = frozenset({"complete", "failed", "shutdown", "rejected", "orphaned", "remove"})
#: where the bundled dependencies keep their data: a volume there survives the orchestrator's new task
#: a slot whose tasks failed this many times while the harness waits for it is failing, not starting
FAILURES = 2
#: how long the orchestrator watches a new task before a rolling update moves on to the next slot
MONITOR = 1.0
DATA_PATHS = {"postgres": "/var/lib/postgresql/data", "redis": "/data"}


def swarm_state(client: Any) -> str | None:
    """Why this engine cannot run a swarm deployment, or None when it is an active swarm manager."""
    swarm = (client.info() or {}).get("Swarm") or {}
    state = swarm.get("LocalNodeState", "inactive")
    if state != "active":
        return (f"the Docker engine is not part of a swarm (state {state!r}): initialise a single-node swarm "
                "with `scripts/swarm.sh ensure` (it listens on 127.0.0.1 only), or `docker swarm init "
                "--listen-addr 127.0.0.1:2377 --advertise-addr 127.0.0.1`")
    if not swarm.get("ControlAvailable"):
        return "the Docker engine is a swarm worker: services can only be created on a manager"
    return None


def _seconds(stamp: str) -> float:
    """A Docker timestamp (RFC 3339, nanoseconds) as seconds since the epoch."""
    head, _, tail = stamp.rstrip("Z").partition(".")
    return datetime.fromisoformat(head + "+00:00").timestamp() + float(f"0.{tail or 0}")


def _state(task: dict[str, Any]) -> str:
    return (task.get("Status") or {}).get("State", "")


def _short(task: dict[str, Any] | None) -> str:
    return (task or {}).get("ID", "?")[:10]


class SwarmDeployment(Pausable, Redeployable, Scalable, DependencyFaultable):
    """A deployment on a single-node Docker swarm; see the module docstring."""

    def __init__(self, spec: TargetSpec, replicas: int = 1, history: History | None = None, client: Any = None) -> None:
        super().__init__(spec, history)
        if not 1 <= replicas <= SLOTS:
            raise BackendError(f"the swarm backend runs 1 to {SLOTS} replicas (one gateway port each), got {replicas}")
        self.client = client or docker_client()
        self.run_id = uuid.uuid4().hex[:10]
        self.labels = cleanup.labels(self.run_id)
        self._deps = _dependencies(spec)
        self._initial = replicas
        self._network: Any = None
        self._gateway: Gateway | None = None
        self._app: Any = None
        self._services: dict[str, Any] = {}  # dependency name -> its service
        self._tasks: dict[str, dict[str, Any]] = {}  # replica -> the task the gateway routes it to
        self._ended: dict[str, dict[str, Any]] = {}  # replica -> its last task that ended (to tell a replacement)
        self._ended_at: dict[str, float] = {}  # replica -> when the harness saw that task end (epoch seconds)
        self._lock = threading.Lock()
        self._volumes: set[str] = set()
        cleanup.register(self.client, self.run_id)

    @staticmethod
    def replica_name(index: int) -> str:
        """``app-<slot>``: Swarm numbers a service's slots from 1, and the task's hostname is this name."""
        return f"app-{index + 1}"

    @classmethod
    def unscalable(cls, spec: TargetSpec, count: int) -> str | None:
        if count > SLOTS:
            return f"scale to {count}: the swarm backend reaches at most {SLOTS} replicas (one gateway port each)"
        return None

    @staticmethod
    def _slot(replica: str) -> int:
        return int(replica.rsplit("-", 1)[1])

    # ---- lifecycle ---------------------------------------------------------------
    def up(self) -> "SwarmDeployment":
        """Overlay network and gateway, then dependencies (in parallel), then the app's service; all ready.

        On any failure everything created so far is removed before the error propagates.
        """
        try:
            why = swarm_state(self.client)
            if why is not None:
                raise BackendError(why)
            check_images(self.client, self.spec, [d.image for d in self._deps], backend="swarm")
            reaper.watch(self.client, self.run_id)
            self._env = render_env(self.spec, {alias: d.address for d in self._deps for alias in d.aliases})
            self._network = self.client.networks.create(
                f"harness-{self.run_id}", driver="overlay", attachable=True, labels=self.labels, check_duplicate=True)
            self._gateway = Gateway(self.client, self._network.name, f"harness-{self.run_id}-gateway", self.labels)
            with ThreadPoolExecutor(max_workers=max(1, len(self._deps))) as pool:
                for future in [pool.submit(self._start_dependency, d) for d in self._deps]:
                    future.result()
            self._app = self._create_service(
                "app", self.spec.app.image, self.spec.app.command, self._env, "app", self._initial,
                tuple(self.spec.app.volumes), hostname="app-{{.Task.Slot}}", aliases=())
            self.replicas = [self.replica_name(i) for i in range(self._initial)]
            self._bring_up(self.replicas)
        except BaseException:
            self.close()
            raise
        return self

    def __enter__(self) -> "SwarmDeployment":
        return self.up() if self._network is None else self

    def close(self) -> None:
        """Remove this run's services (their tasks stop), containers, network and volumes."""
        cleanup.remove_run(self.client, self.run_id)
        cleanup.unregister(self.run_id)
        self._tasks.clear()
        self._services.clear()
        self._app = None

    # ---- services ----------------------------------------------------------------
    def _create_service(self, name: str, image: str, command: list[str] | None, env: dict[str, str], role: str,
                        replicas: int, volumes: tuple[VolumeSpec, ...], hostname: str,
                        aliases: tuple[str, ...]) -> Any:
        """A replicated service of ours: restarted on any exit at once, stopped within ``stop_timeout``,
        updated one task at a time (stop first), its tasks' containers labelled as this run's."""
        from docker.types import EndpointSpec, NetworkAttachmentConfig, RestartPolicy, ServiceMode, UpdateConfig

        try:
            return self.client.services.create(
                image, args=command, name=f"harness-{self.run_id}-{name}",
                env=[f"{k}={v}" for k, v in env.items()],
                labels={**self.labels, cleanup.LABEL_ROLE: role, cleanup.LABEL_NAME: name},
                container_labels={**self.labels, cleanup.LABEL_ROLE: role, cleanup.LABEL_NAME: name},
                hostname=hostname, mounts=self._mounts(volumes, name, image),
                networks=[NetworkAttachmentConfig(self._network.id, aliases=list(dict.fromkeys([name, *aliases])))],
                mode=ServiceMode("replicated", replicas=replicas),
                restart_policy=RestartPolicy(condition="any", delay=0, max_attempts=0),
                stop_grace_period=int(self.spec.app.stop_timeout * 1e9),
                update_config=UpdateConfig(parallelism=1, delay=0, failure_action="continue", order="stop-first",
                                           monitor=int(MONITOR * 1e9)),
                # nobody reaches a service by its virtual IP: DNS names its tasks, the gateway routes to each
                endpoint_spec=EndpointSpec(mode="dnsrr"),
            )
        except Exception as exc:
            raise DeploymentError(f"could not create the swarm service for {name} from image {image!r}: {exc}") from exc

    def _mounts(self, volumes: tuple[VolumeSpec, ...], owner: str, image: str) -> list[Any]:
        """Mounts for a service; its volumes are created here first, labelled (a ``replica`` volume per slot,
        by a template the engine fills in, so a replaced task finds its slot's volume again)."""
        from docker.types import Mount

        mounts = []
        for volume in volumes:
            if volume.source is not None and volume.read_only:
                mounts.append(Mount(volume.path, volume.source, type="bind", read_only=True))
                continue
            name = f"harness-{self.run_id}-{volume.name}"
            if volume.scope == "replica":
                if volume.source is not None:
                    raise BackendError(f"{self.spec.source or self.spec.name}: volume {volume.name!r}: a per-replica "
                                       "volume with a source is not supported on the swarm backend (the engine "
                                       "creates a slot's volume when its task starts, before anything could copy "
                                       "into it); use scope shared, or the docker backend")
                name += "-app-{{.Task.Slot}}"
            else:
                self._volume(name, volume, image)
            labels = {**self.labels, cleanup.LABEL_ROLE: "volume", cleanup.LABEL_NAME: f"{owner}:{volume.name}"}
            mounts.append(Mount(volume.path, name, type="volume", read_only=volume.read_only, labels=labels))
        return mounts

    def _volume(self, name: str, volume: VolumeSpec, image: str) -> None:
        with self._lock:
            if name in self._volumes:
                return
            self.client.volumes.create(name=name, driver="local", labels={
                **self.labels, cleanup.LABEL_ROLE: "volume", cleanup.LABEL_NAME: name})
            self._volumes.add(name)
        if volume.source is not None:
            seed_volume(self.client, name, volume, image, self.labels, f"{name}-seed")

    def _running(self, service: Any) -> dict[int, dict[str, Any]]:
        """The newest task of each slot that the orchestrator wants running."""
        newest: dict[int, dict[str, Any]] = {}
        for task in service.tasks(filters={"desired-state": "running"}):
            slot = int(task.get("Slot") or 1)
            if slot not in newest or task["Version"]["Index"] > newest[slot]["Version"]["Index"]:
                newest[slot] = task
        return newest

    def _task_address(self, task: dict[str, Any]) -> str:
        for attachment in task.get("NetworksAttachments") or []:
            if attachment["Network"]["ID"] == self._network.id and attachment.get("Addresses"):
                return attachment["Addresses"][0].split("/")[0]
        raise BackendError(f"task {_short(task)} has no address on network {self._network.name}")

    def _container_of(self, task: dict[str, Any] | None) -> Any:
        container_id = ((task or {}).get("Status") or {}).get("ContainerStatus", {}).get("ContainerID")
        if not container_id:
            raise BackendError(f"task {_short(task)} has no container (yet)")
        return self.client.containers.get(container_id)

    def _wait_task(self, service: Any, slot: int, what: str, not_id: str | None, timeout: float) -> dict[str, Any]:
        """Wait until ``slot`` of ``service`` runs a task other than ``not_id``; the orchestrator's reason
        when it cannot start one (an image the node lacks, a mount it refuses) ends the wait at once."""
        deadline = time.monotonic() + timeout
        since, checked = time.time() - 1.0, time.monotonic()
        while True:
            interrupt.check(f"waiting for the orchestrator to start {what}")
            if self._stop_waiting.is_set():
                raise DeploymentError(f"{what} of {self.spec.name}: another replica failed to start, so this one "
                                      "is no longer waited for")
            task = self._running(service).get(slot)
            if task is not None and task["ID"] != not_id and _state(task) == "running":
                return task
            if time.monotonic() - checked >= 1.0:
                checked = time.monotonic()
                self._failing(service, slot, what, since)
            if time.monotonic() > deadline:
                raise ReadinessTimeout(f"the orchestrator had not started {what} after {timeout:.0f}s "
                                       f"(last task state: {_state(task) if task else 'none'})")
            time.sleep(POLL_INTERVAL)

    def _failing(self, service: Any, slot: int, what: str, since: float) -> None:
        """Raise when the orchestrator's tasks for ``slot`` keep failing (FAILURES of them since ``since``):
        with restart policy ``any`` it would retry for ever, and a wait until the readiness timeout would
        only hide the app's own error (an exit at start, an image the node lacks)."""
        failed = [t for t in service.tasks() if int(t.get("Slot") or 1) == slot and _state(t) in ("failed", "rejected")
                  and _seconds(t.get("CreatedAt", "1970-01-01T00:00:00Z")) >= since]
        if len(failed) < FAILURES:
            return
        last = max(failed, key=lambda t: t["Version"]["Index"])
        status = last.get("Status") or {}
        code = (status.get("ContainerStatus") or {}).get("ExitCode")
        cause = f"exit code {code}" if code not in (None, 0) else status.get("Err") or _state(last)
        logs = ""
        try:
            logs = self._container_of(last).logs(tail=30).decode(errors="replace").rstrip()
        except Exception:  # noqa: BLE001 - a rejected task never had a container
            pass
        raise DeploymentError(f"{what} of {self.spec.name} never became ready: the orchestrator's last "
                              f"{len(failed)} tasks for it failed (last: {cause}: {status.get('Err', '')})", logs)

    # ---- replica primitives ------------------------------------------------------
    def _create_replica(self, replica: str) -> None:
        """Wait for the orchestrator's task in the replica's slot (a new one, after a stop), and route to it."""
        old = self._ended.get(replica)
        task = self._wait_task(self._app, self._slot(replica), f"replica {replica}", old["ID"] if old else None,
                               self.spec.app.ready_timeout)
        self._route(replica, task)
        if old is not None:
            after = _seconds(task["Status"]["Timestamp"]) - self._ended_at.get(replica, 0.0)
            self.note(f"{REPLACED_BY_ORCHESTRATOR}: task {_short(old)} by {_short(task)}, running "
                      f"{max(0.0, after):.1f} s after the old one ended")

    def _route(self, replica: str, task: dict[str, Any]) -> None:
        assert self._gateway is not None
        self._gateway.route(self._slot(replica), self._task_address(task), self.spec.app.port)
        with self._lock:
            self._tasks[replica] = task

    def _unroute(self, replica: str) -> dict[str, Any] | None:
        """Stop routing to the replica's task; returns the task, now remembered as ended."""
        with self._lock:
            task = self._tasks.pop(replica, None)
        if self._gateway is not None:
            self._gateway.unroute(self._slot(replica))
        if task is not None:
            self._ended_at[replica] = time.time()
            try:
                task = self.client.api.inspect_task(task["ID"])
            except Exception:  # noqa: BLE001 - the task may be gone already; what we knew of it will do
                pass
            self._ended[replica] = task
        return task

    def _task(self, replica: str) -> dict[str, Any]:
        try:
            return self._tasks[replica]
        except KeyError:
            raise BackendError(f"replica {replica} is not running (no task of it is routed)") from None

    def endpoint(self, replica: str) -> str:
        self._task(replica)
        assert self._gateway is not None
        return f"http://127.0.0.1:{self._gateway.port(self._slot(replica))}"

    def _signal(self, replica: str, signal: str) -> None:
        container = self._container_of(self._task(replica))
        container.kill(signal=signal)
        if signal == "SIGKILL":
            container.wait(timeout=10)
            self._unroute(replica)

    def _stop(self, replica: str) -> Stopped:
        """``docker stop`` of the task's container, timed; its exit code tells an obeyed SIGTERM from a kill.
        The orchestrator then starts a replacement: ``_start`` waits for it."""
        container = self._container_of(self._task(replica))
        timeout = self.spec.app.stop_timeout
        began = time.monotonic()
        container.stop(timeout=timeout)
        seconds = time.monotonic() - began
        container.reload()
        code = container.attrs["State"].get("ExitCode")
        self._unroute(replica)
        return Stopped(killed=code == 137 and seconds >= timeout * 0.9, seconds=seconds, timeout=timeout)

    def _start(self, replica: str) -> None:
        """The orchestrator restarts a stopped or killed task by itself: wait for it, and route to it."""
        self._create_replica(replica)

    def _remove(self, replica: str) -> None:
        """Remove the container of the replica's ended task: the next task of its slot starts from the image."""
        old = self._ended.get(replica)
        if old is None:
            return
        try:
            self._container_of(old).remove(force=True)
        except Exception:  # noqa: BLE001 - gone already: the orchestrator prunes old tasks itself
            pass

    def _pause(self, replica: str) -> None:
        self._container_of(self._task(replica)).pause()

    def _unpause(self, replica: str) -> None:
        self._container_of(self._task(replica)).unpause()

    def _exit_status(self, replica: str) -> int | None:
        task = self._tasks.get(replica)
        if task is None:
            return None
        try:
            current = self.client.api.inspect_task(task["ID"])
        except Exception:  # noqa: BLE001 - a task the orchestrator already pruned ended long ago
            return -1
        if _state(current) in ENDED:
            return int(((current.get("Status") or {}).get("ContainerStatus") or {}).get("ExitCode", -1))
        return None

    def logs(self, name: str, lines: int = 30) -> str:
        try:
            task = self._tasks.get(name) or self._ended.get(name)
            if task is None and name in self._services:
                task = next(iter(self._running(self._services[name]).values()), None)
            return self._container_of(task).logs(tail=lines).decode(errors="replace").rstrip()
        except Exception as exc:  # noqa: BLE001 - logs are best effort evidence
            return f"(logs of {name} unavailable: {exc})"

    # ---- verbs the orchestrator carries out --------------------------------------
    def _update(self, service: Any, what: str, change: Callable[[dict[str, Any]], None]) -> None:
        """Update a service's spec as stored, changed only by ``change``. Not through the SDK's ``scale`` or
        ``update``: they rebuild the spec from their arguments, and the task template that comes out differs
        from the stored one, which makes the orchestrator replace every task (a rolling update on a scale)."""
        import docker.errors

        service.reload()
        spec = copy.deepcopy(service.attrs["Spec"])
        change(spec)
        try:  # every part of the stored spec handed back as it is (dicts, not the SDK's types rebuilt)
            self.client.api.update_service(
                service.id, service.version, task_template=spec["TaskTemplate"], name=spec["Name"],
                labels=spec.get("Labels"), mode=spec["Mode"], update_config=spec.get("UpdateConfig"),
                rollback_config=spec.get("RollbackConfig"), networks=spec.get("Networks"),
                endpoint_spec=spec.get("EndpointSpec"))
        except docker.errors.APIError as exc:
            raise BackendError(f"the orchestrator refused to {what} {service.name}: {exc.explanation or exc}") from None

    def _scale_service(self, service: Any, count: int) -> None:
        self._update(service, f"scale to {count}", lambda spec: spec["Mode"]["Replicated"].update(Replicas=count))

    def _force_update(self, service: Any) -> None:
        """``service update --force``: the orchestrator replaces every task, one at a time."""
        def force(spec: dict[str, Any]) -> None:
            template = spec["TaskTemplate"]
            template["ForceUpdate"] = int(template.get("ForceUpdate") or 0) + 1

        self._update(service, "force an update of", force)

    def _wanted(self) -> dict[int, dict[str, Any]]:
        """The app's slots the orchestrator keeps (a task it wants running), each with its newest task."""
        return self._running(self._app)

    def _scale_to(self, count: int) -> None:
        """``service scale`` to ``count``, then take the replicas as Swarm left them: which slots it removes
        is its choice (not the newest, as elsewhere), so the slots are read back, never assumed. New slots
        are waited for and routed; a removed slot's task is waited for until it has stopped, and how it
        ended is noted."""
        self._scale_service(self._app, count)
        deadline = time.monotonic() + self.spec.app.stop_timeout + self.spec.app.ready_timeout + 30
        while len(wanted := self._wanted()) != count:
            interrupt.check("waiting for the orchestrator to scale the app")
            if time.monotonic() > deadline:
                raise BackendError(f"the orchestrator kept {len(wanted)} slots of the app, {count} wanted")
            time.sleep(POLL_INTERVAL)
        for replica in [r for r in self.replicas if self._slot(r) not in wanted]:
            task = self._tasks.get(replica)
            began = time.monotonic()
            while task is not None and self._task_running(task["ID"]) and time.monotonic() < deadline:
                interrupt.check(f"waiting for {replica} to stop")
                time.sleep(POLL_INTERVAL)
            ended = self._unroute(replica) or {}
            code = ((ended.get("Status") or {}).get("ContainerStatus") or {}).get("ExitCode")
            self.note(f"{replica}: removed by the orchestrator, stopped after {time.monotonic() - began:.1f} s"
                      + (f" (exit {code})" if code is not None else ""))
            self.replicas.remove(replica)
        names = [self.replica_name(slot - 1) for slot in sorted(wanted) if self.replica_name(slot - 1) not in self.replicas]
        self.replicas.extend(names)
        self._bring_up(names)

    @recorded(FaultName.SCALE)
    def scale(self, count: int) -> None:
        """``service scale``; the slots Swarm keeps or adds are read back (see ``_scale_to``)."""
        if not 1 <= count <= SLOTS:
            raise BackendError(f"scale({count}): the swarm backend runs 1 to {SLOTS} replicas")
        self._scale_to(count)

    @recorded(FaultName.SCALE_TO_ZERO)
    def scale_to_zero(self, count: int) -> None:
        if count != len(self.replicas) or count < 1:
            raise BackendError(f"scale_to_zero({count}): the deployment has {len(self.replicas)} replica(s)")
        self.scaled_to_zero_from = count
        self._scale_to(0)

    @recorded(FaultName.SCALE_TO_ZERO, heal=True)
    def scale_from_zero(self, count: int) -> None:
        if self.replicas or not 1 <= count <= SLOTS:
            raise BackendError(f"scale_from_zero({count}): the deployment has {len(self.replicas)} replica(s) "
                               f"running; it must be scaled to zero first, and come back with 1 to {SLOTS}")
        self._scale_to(count)

    def rolling_restart(self) -> None:
        """``service update --force``: the orchestrator replaces one task at a time. Each slot's replacement is
        recorded as one event, from its old task's end to the new task's readiness."""
        old = {replica: self._task(replica) for replica in self.replicas}
        self._force_update(self._app)
        pending = list(self.replicas)
        began: dict[str, float] = {}  # replica -> when its old task was seen replaced (history clock)
        deadline = time.monotonic() + (self.spec.app.stop_timeout + self.spec.app.ready_timeout) * len(pending) + 30
        while pending:
            interrupt.check("waiting for the orchestrator's rolling update")
            running = self._running(self._app)
            for replica in list(pending):
                task = running.get(self._slot(replica))
                if task is not None and task["ID"] == old[replica]["ID"]:
                    continue  # not its turn yet
                if replica not in began:  # its old task is being stopped: nothing answers there any more
                    began[replica] = self.history.clock.now()
                    self._unroute(replica)
                if task is None or _state(task) != "running":
                    continue
                self._replaced(replica, old[replica], task, began[replica])
                pending.remove(replica)
            if pending and time.monotonic() > deadline:
                raise BackendError(f"the rolling update had not replaced {', '.join(pending)} in time")
            time.sleep(POLL_INTERVAL)

    def _replaced(self, replica: str, old: dict[str, Any], task: dict[str, Any], start: float) -> None:
        """Route to a slot's new task and wait until it is ready, recorded as one rolling-restart event that
        starts when its old task was seen going (the verb's own time would start it at the update's end)."""
        notes = [f"{REPLACED_BY_ORCHESTRATOR} (service update --force): task {_short(old)} by {_short(task)}"]
        try:
            self._route(replica, task)
            self.wait_ready(replica)
        except BaseException as exc:
            notes.insert(0, f"failed: {exc!r}"[:500])
            raise
        finally:
            self.history.record_fault(FaultName.ROLLING_RESTART, replica, start, self.history.clock.now(),
                                      "; ".join(notes), False)

    # ---- dependencies --------------------------------------------------------------
    def _start_dependency(self, dep: _Dependency) -> None:
        volumes = dep.volumes
        data = DATA_PATHS.get(dep.name) if dep.name in ("postgres", "redis") and not dep.volumes else None
        if data is not None:
            volumes = (VolumeSpec(name=f"{dep.name}-data", path=data),)
        self._services[dep.name] = self._create_service(
            dep.name, dep.image, dep.command, dep.env, "dependency", 1, volumes, hostname=dep.name,
            aliases=dep.aliases)
        self._wait_dependency(dep, None)

    def _wait_dependency(self, dep: _Dependency, not_id: str | None) -> dict[str, Any]:
        """Wait for the dependency's (new) task to run, then for its readiness check: its probe run inside it,
        else a TCP connect to its port from inside the network (the gateway), else running."""
        deadline = time.monotonic() + DEPENDENCY_READY_TIMEOUT
        task = self._wait_task(self._services[dep.name], 1, f"dependency {dep.name}", not_id, DEPENDENCY_READY_TIMEOUT)
        while True:
            interrupt.check(f"waiting for dependency {dep.name} to be ready")
            if self._dependency_answers(dep, task):
                return task
            if time.monotonic() > deadline:
                raise ReadinessTimeout(f"dependency {dep.name} was not ready after {DEPENDENCY_READY_TIMEOUT:.0f}s "
                                       f"({dep.describe_probe()})", self.logs(dep.name))
            time.sleep(POLL_INTERVAL)

    def _dependency_answers(self, dep: _Dependency, task: dict[str, Any]) -> bool:
        if dep.probe:
            try:
                return _exec(self._container_of(task), dep.probe)[0] == 0
            except Exception:  # noqa: BLE001 - a container still starting, or already replaced
                return False
        if dep.port:
            assert self._gateway is not None
            return self._gateway.reaches(self._task_address(task), dep.port)
        return True

    def _dependency(self, name: str) -> _Dependency:
        return find_dependency(self._deps, self.spec, name)

    def _dependency_action(self, name: str, action: str) -> None:
        dep = self._dependency(name)
        service = self._services[dep.name]
        before = self._running(service).get(1)
        if action == "restart":
            self._force_update(service)
        else:
            self._scale_service(service, 0 if action == "stop" else 1)
        if action == "stop":
            deadline = time.monotonic() + self.spec.app.stop_timeout + 30
            # scaled to 0, the service wants no task running: only the one that ran may still be stopping
            while before is not None and self._task_running(before["ID"]):
                interrupt.check(f"waiting for dependency {dep.name} to stop")
                if time.monotonic() > deadline:
                    raise BackendError(f"dependency {dep.name} still ran after it was scaled to 0")
                time.sleep(POLL_INTERVAL)
            return
        task = self._wait_dependency(dep, before["ID"] if before is not None else None)
        if before is not None:
            self.note(f"{REPLACED_BY_ORCHESTRATOR}: task {_short(before)} by {_short(task)}")

    def _task_running(self, task_id: str) -> bool:
        try:
            return _state(self.client.api.inspect_task(task_id)) == "running"
        except Exception:  # noqa: BLE001 - pruned: not running
            return False
