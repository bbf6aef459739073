"""The local-process backend: replicas and dependencies as child processes, no Docker.

Each app replica runs the spec's ``app.process`` command as a child process, leader
of its own process group (a fault signals the whole group), listening on a free
port on 127.0.0.1, in its own fresh working directory under the deployment's
temporary root (a redeploy gives it a new one: local files are gone, as with a
recreated container). The spec's ``app.volumes`` are folders of the deployment that
outlive that: one per ``shared`` volume, one per replica for scope ``replica`` (kept
across its crash, restart, redeploy and scaling), named to the app by ``{volume.NAME}``
in ``app.env`` and ``app.process.env``. Faults are signals: crash = SIGKILL, graceful stop = SIGTERM
(SIGKILL after ``stop_timeout``), pause = SIGSTOP / SIGCONT.

This module is the deployment; its rooms: ``local_servers`` (PostgreSQL and Redis from
their installed programs, or an embedded SQLite file where one is missing, whose faults
then fail saying so), ``local_processes`` (process groups, the fork-server client) and
``local_sweep``. There is no network cut: processes share the host's network, so the
backend lacks that capability (``harness.capabilities``) and such scenarios are skipped.

Nothing is left behind: every process is reaped when the deployment closes (also
after a failed start or Ctrl-C, since ``up`` closes on any exception); an ``atexit``
hook closes deployments still open; and as a last net, every process whose working
directory lies under the deployment's root (what our processes and theirs share)
is killed. Should the harness itself be killed (SIGKILL: no hook runs), its watchdog
(``harness.backends.watchdog``) does the same within a fraction of a second. ``sweep``
does it for roots of harness processes that died, as a backstop.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

from harness.backends import watchdog
from harness.backends.app_env import render_env
from harness.backends.local_processes import ForkServer, Process, free_port, kill_under, tail
from harness.backends.local_servers import (Embedded, Postgres, Redis, Server, can_fault_dependency, postgres_bindir,
                                            redis_server)
from harness.backends.local_sweep import ROOT_PREFIX, sweep
from harness.backends.pool import DependencyPool, Leasing
from harness.capabilities import DependencyFaultable, Pausable, Redeployable, Scalable
from harness.deployment import Stopped, first_error
from harness.errors import BackendError, DeploymentError, SpecError
from harness.history import History
from harness.spec import TargetSpec, VolumeSpec

log = logging.getLogger("harness.backends.local")

#: Environment passed on from the harness to every child; everything else comes from the spec.
INHERITED_ENV = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",
                 "SSL_CERT_FILE", "SSL_CERT_DIR")
#: Set in every replica's environment: which run and which harness process it belongs to.
ENV_RUN, ENV_OWNER = "HARNESS_LOCAL_RUN", "HARNESS_LOCAL_OWNER"

Dependencies = Literal["auto", "servers", "embedded"]


# ---- the deployment --------------------------------------------------------------

_live: dict[str, "LocalDeployment"] = {}
_live_lock = threading.Lock()


class LocalDeployment(Leasing, Pausable, Redeployable, Scalable, DependencyFaultable):
    """A deployment of local processes; see the module docstring. It is not ``NetworkCuttable``:
    its processes share the host's network, which the harness does not rewire.

    ``dependencies``: ``auto`` runs the servers that are installed and embeds the rest,
    ``servers`` fails when one is missing, ``embedded`` never runs servers (default:
    ``HARNESS_LOCAL_DEPENDENCIES``, else ``auto``).

    With a ``pool`` (``harness.backends.pool``) it leases the pool's running postgres and
    redis servers instead of starting its own, and hands them back on close, saying
    whether it faulted them. ``replicas=0`` is the pool's own use: dependencies only.
    """

    def __init__(self, spec: TargetSpec, replicas: int = 1, history: History | None = None,
                 dependencies: Dependencies | None = None, pool: DependencyPool | None = None) -> None:
        super().__init__(spec, history)
        if replicas < 1 and not (replicas == 0 and pool is None):
            raise BackendError(f"a deployment needs at least one replica, got {replicas}")
        self._pool = pool
        mode = dependencies or os.environ.get("HARNESS_LOCAL_DEPENDENCIES", "auto")
        if mode not in ("auto", "servers", "embedded"):
            raise BackendError(f"dependencies={mode!r}: expected auto, servers or embedded")
        self.dependency_mode = mode
        self.run_id = uuid.uuid4().hex[:10]
        self.root = Path(tempfile.mkdtemp(prefix=f"{ROOT_PREFIX}{os.getpid()}-{self.run_id}-"))
        self.root.chmod(0o711)  # a PostgreSQL run as another user must reach its own folder
        watchdog.watch_root(self.root)  # should the harness be SIGKILLed, whatever runs under the root dies too
        (self.root / "logs").mkdir()
        (self.root / "replicas").mkdir()
        self.description = f"local processes under {self.root}"
        self._initial = replicas
        self._lock = threading.Lock()
        self._procs: dict[str, Process] = {}
        self._work: dict[str, Path] = {}
        self._ports: dict[str, int] = {}
        self._deps: dict[str, Server | Embedded] = {}  # started (and closed) by this deployment
        self._shared_deps: dict[str, Server | Embedded] = {}  # leased from the pool's host
        self._addresses: dict[str, dict[str, str]] = {}
        self._app_env: dict[str, str] = {}
        self._closed = False
        self._closing = threading.Event()  # set on teardown: replicas still starting give up
        self._forkserver: ForkServer | None = None
        self._forkserver_lock = threading.Lock()
        with _live_lock:
            _live[self.run_id] = self

    # ---- lifecycle ---------------------------------------------------------------
    def up(self) -> "LocalDeployment":
        """Dependencies (in parallel), then replicas (in parallel); all ready.

        On any failure, Ctrl-C included, everything started so far is stopped and
        removed before the error propagates.
        """
        try:
            if self.spec.app.process is None:
                raise SpecError(f"{self.spec.source or self.spec.name}: the local backend needs 'app.process' "
                                "(the command that runs one replica), or use the docker backend")
            if self.spec.dependencies.services:
                names = ", ".join(self.spec.dependencies.services)
                raise BackendError(f"{self.spec.name}: dependency services ({names}) run only on the docker "
                                   "backend; the local backend runs postgres and redis")
            host = self._lease(self.spec)
            if host is not None:
                assert isinstance(host, LocalDeployment)
                self._shared_deps = dict(host._deps)
            self._plan_dependencies()
            with ThreadPoolExecutor(max_workers=max(1, len(self._deps))) as pool:
                for future in [pool.submit(self._start_dependency, d) for d in self._deps.values()]:
                    future.result()
            self._addresses = {name: dep.address() for name, dep in {**self._shared_deps, **self._deps}.items()}
            self._app_env = render_env(self.spec, self._addresses)
            self.replicas = [self.replica_name(i) for i in range(self._initial)]
            self._bring_up(self.replicas)
        except BaseException:
            self.close()
            raise
        return self

    def _plan_dependencies(self) -> None:
        deps = self.spec.dependencies
        embedded = self.root / "embedded" / "state.sqlite3"
        lines = [f"{name}: shared, {dep.describe}" for name, dep in self._shared_deps.items()]
        if deps.postgres is not None and "postgres" not in self._shared_deps:
            bindir = postgres_bindir() if self.dependency_mode != "embedded" else None
            if bindir is not None:
                self._deps["postgres"] = Postgres(self.root / "postgres", self.root / "logs", deps.postgres, bindir)
            else:
                self._deps["postgres"] = self._embedded("postgres", embedded, "no initdb, pg_ctl and postgres found")
        if deps.redis is not None and "redis" not in self._shared_deps:
            program = redis_server() if self.dependency_mode != "embedded" else None
            if program is not None:
                self._deps["redis"] = Redis(self.root / "redis", self.root / "logs", deps.redis, program)
            else:
                self._deps["redis"] = self._embedded("redis", embedded, "no redis-server found")
        for name, dep in self._deps.items():
            lines.append(f"{name}: {dep.describe}")
            (log.warning if isinstance(dep, Embedded) else log.info)("local backend, %s: %s", name, dep.describe)
        self.description = "; ".join([f"local processes under {self.root}", *lines])

    def _embedded(self, name: str, path: Path, missing: str) -> Embedded:
        if self.dependency_mode == "servers":
            raise BackendError(f"{self.spec.name} needs {name} and {missing} (dependencies='servers'); install "
                               "it (Debian: apt-get install -y postgresql redis-server) or allow the embedded file")
        if self.dependency_mode == "embedded":
            missing = "embedded on request"
        return Embedded(name, path, missing)

    def _start_dependency(self, dep: Server | Embedded) -> None:
        dep.prepare()
        if isinstance(dep, Server):
            dep.start()

    def _bring_up(self, names: list[str]) -> None:
        """As the base class, but an error or Ctrl-C does not wait for the other replicas to get ready."""

        def one(name: str) -> None:
            self._create_replica(name)
            self.wait_ready(name)

        pool = ThreadPoolExecutor(max_workers=max(1, len(names)))
        try:
            first_error([pool.submit(one, n) for n in names])
        except BaseException:
            self._closing.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()

    def __enter__(self) -> "LocalDeployment":
        return self.up() if not self.replicas and not self._closed else self

    def close(self) -> None:
        """SIGKILL every replica, stop the servers, kill what is left under the root, remove it."""
        self._closing.set()
        with self._lock:
            procs = list(self._procs.values())
            self._procs.clear()
        for proc in procs:
            proc.kill()
        with self._forkserver_lock:
            server, self._forkserver = self._forkserver, None
        if server is not None:
            server.close()
        for dep in self._deps.values():
            if isinstance(dep, Server):
                dep.close()
        leftovers = kill_under(self.root)
        if leftovers:
            log.warning("local backend: killed %d leftover process(es) under %s", len(leftovers), self.root)
        shutil.rmtree(self.root, ignore_errors=True)
        if self.root.exists():  # a process was still writing: once more
            kill_under(self.root)
            shutil.rmtree(self.root, ignore_errors=True)
        if not self.root.exists():
            watchdog.forget_root(self.root)
        self._ports.clear()
        self._closed = True
        with _live_lock:
            _live.pop(self.run_id, None)
        self._shared_deps = {}
        self._give_back()  # after the replicas are gone: the pool wipes what they wrote

    def dependency_names(self) -> set[str]:
        return set(self._deps)

    def shareable_dependencies(self) -> bool:
        """Servers only: an embedded SQLite file lives in this deployment's folder, with its replicas."""
        return all(isinstance(dep, Server) for dep in self._deps.values())

    def wipe_dependencies(self) -> None:
        for dep in self._deps.values():
            if isinstance(dep, Server):
                dep.wipe()

    # ---- replica primitives ------------------------------------------------------
    def _create_replica(self, replica: str) -> None:
        work = Path(tempfile.mkdtemp(prefix=f"{replica}-", dir=self.root / "replicas"))
        with self._lock:
            self._work[replica] = work
        self._spawn(replica)

    def _spawn(self, replica: str) -> None:
        process = self.spec.app.process
        assert process is not None  # checked in up()
        port = free_port()
        work = self._work[replica]
        volumes = self._volume_dirs(replica)
        values = {"port": str(port), "app_dir": process.cwd, "work_dir": str(work), "replica": replica,
                  **{name: SimpleNamespace(**fields) for name, fields in self._addresses.items()}}
        if volumes:
            values["volume"] = SimpleNamespace(**volumes)
        argv = [self._fill(arg, values, f"app.process.command[{i}]") for i, arg in enumerate(process.command)]
        argv[0] = self._program(argv[0], process.cwd)
        env = {k: os.environ[k] for k in INHERITED_ENV if k in os.environ}
        env.update(render_env(self.spec, self._addresses, volumes) if volumes else self._app_env)
        env.update({key: self._fill(value, values, f"app.process.env.{key}") for key, value in process.env.items()})
        env.update({ENV_RUN: self.run_id, ENV_OWNER: str(os.getpid())})
        try:
            proc = self._launch(argv, work, env, self.root / "logs" / f"{replica}.log")
        except OSError as exc:
            raise DeploymentError(f"could not start replica {replica} of {self.spec.name} "
                                  f"({' '.join(argv)}): {exc}") from None
        with self._lock:
            if not self._closing.is_set():
                self._procs[replica] = proc
                self._ports[replica] = port
                return
        proc.kill()  # the deployment is being torn down meanwhile
        raise DeploymentError(f"replica {replica} of {self.spec.name}: the deployment is closing")

    def volume_dir(self, volume: VolumeSpec, replica: str) -> Path:
        """The folder behind ``volume`` for ``replica``: one per deployment, or per replica for scope
        ``replica`` (the same after a redeploy, which only replaces the working directory)."""
        suffix = f"-{replica}" if volume.scope == "replica" else ""
        return self.root / "volumes" / f"{volume.name}{suffix}"

    def _volume_dirs(self, replica: str) -> dict[str, str]:
        """``{volume.NAME}`` for each of the app's volumes, their folders made on first use. A
        ``source`` is copied in, so the app can never write into the host's folder."""
        found = {}
        for volume in self.spec.app.volumes:
            folder = self.volume_dir(volume, replica)
            with self._lock:
                if not folder.exists():
                    (self.root / "volumes").mkdir(exist_ok=True)
                    source = Path(volume.source) if volume.source is not None else None
                    if source is not None and source.is_dir():
                        shutil.copytree(source, folder, symlinks=True)
                    elif source is not None:  # a file mounted at the path itself
                        folder.mkdir()
                        shutil.copy2(source, folder / source.name)
                        folder = folder / source.name
                    else:
                        folder.mkdir()
                elif volume.source is not None and not Path(volume.source).is_dir():
                    folder = folder / Path(volume.source).name
            found[volume.name] = str(folder)
        return found

    def _launch(self, argv: list[str], cwd: Path, env: dict[str, str], log_path: Path) -> Process:
        """A new process, or a fork of the fork server when the spec preloads modules for the harness's
        own interpreter (``app.process.preload``)."""
        process = self.spec.app.process
        if not (process and process.preload and argv[0] == sys.executable):
            return Process(argv, cwd, env, log_path)
        with self._forkserver_lock:
            if self._closing.is_set():
                raise DeploymentError(f"{self.spec.name}: the deployment is closing")
            if self._forkserver is None:
                # the app's folder is importable, as for the replicas (their PYTHONPATH is theirs alone)
                base = {**{k: os.environ[k] for k in INHERITED_ENV if k in os.environ}, "PYTHONPATH": process.cwd}
                self._forkserver = ForkServer(process.preload, self.root, base, self.spec.app.ready_timeout)
            server = self._forkserver
        return server.spawn(argv[1:], cwd, env, log_path)

    def _fill(self, text: str, values: dict[str, Any], field: str) -> str:
        try:
            return text.format_map(values)
        except (KeyError, AttributeError, IndexError, ValueError) as exc:
            known = "{port}, {app_dir}, {work_dir}, {replica}" + "".join(
                f", {{{n}.{f}}}" for n, fs in self._addresses.items() for f in fs) + "".join(
                f", {{volume.{v.name}}}" for v in self.spec.app.volumes)
            raise SpecError(f"{self.spec.source or self.spec.name}: field '{field}': placeholder {exc} is not "
                            f"known (known: {known})") from None

    @staticmethod
    def _program(word: str, app_dir: str) -> str:
        """``python`` is the harness's own interpreter; a relative path is taken from the app's folder."""
        if word in ("python", "python3"):
            return sys.executable
        if "/" in word and not os.path.isabs(word):
            return str(Path(app_dir) / word)
        return word

    def _proc(self, replica: str) -> Process:
        try:
            return self._procs[replica]
        except KeyError:
            raise BackendError(f"replica {replica} is not running (have: {', '.join(self._procs) or 'none'})") from None

    def endpoint(self, replica: str) -> str:
        port = self._ports.get(replica)
        if port is None:
            raise BackendError(f"replica {replica} is not running (no port)")
        return f"http://127.0.0.1:{port}"

    def _signal(self, replica: str, signal_name: str) -> None:
        proc = self._proc(replica)
        sig = signal.Signals[signal_name]
        if sig == signal.SIGKILL:
            proc.kill()
            self._ports.pop(replica, None)
        else:
            proc.signal(sig)

    def _stop(self, replica: str) -> Stopped:
        timeout = self.spec.app.stop_timeout
        began = time.monotonic()
        killed = self._proc(replica).stop(signal.SIGTERM, timeout)
        seconds = time.monotonic() - began
        self._ports.pop(replica, None)
        return Stopped(killed=killed, seconds=seconds, timeout=timeout)

    def _start(self, replica: str) -> None:
        """Start again in the same working directory (its files kept), on a new port."""
        if self._proc(replica).exit_status() is None:
            raise BackendError(f"replica {replica} is already running")
        self._spawn(replica)

    def _remove(self, replica: str) -> None:
        with self._lock:
            proc = self._procs.pop(replica, None)
            work = self._work.pop(replica, None)
            self._ports.pop(replica, None)
        if proc is not None:
            proc.kill()
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)

    def _pause(self, replica: str) -> None:
        self._proc(replica).signal(signal.SIGSTOP)

    def _unpause(self, replica: str) -> None:
        self._proc(replica).signal(signal.SIGCONT)

    def _exit_status(self, replica: str) -> int | None:
        if self._closing.is_set():
            raise DeploymentError(f"replica {replica} of {self.spec.name}: the deployment is closing")
        return self._proc(replica).exit_status()

    def logs(self, name: str, lines: int = 30) -> str:
        return tail(self.root / "logs" / f"{name}.log", lines)

    # ---- dependencies ------------------------------------------------------------
    def _dependency(self, name: str) -> Server:
        every = {**self._shared_deps, **self._deps}
        dep = every.get(name)
        if dep is None:
            raise BackendError(f"{self.spec.name} has no dependency {name!r} (has: {', '.join(every) or 'none'})")
        if isinstance(dep, Embedded):
            raise BackendError(f"dependency {name} of {self.spec.name} is an {dep.describe}; restarting or stopping "
                               f"it needs a real server (install it, e.g. apt-get install -y postgresql "
                               "redis-server, or use the docker backend)")
        return dep

    @classmethod
    def unfaultable(cls, spec: TargetSpec, name: str) -> str | None:
        """Only a real server can be restarted or stopped: not the embedded SQLite file that stands
        in when its program is missing here, or when ``HARNESS_LOCAL_DEPENDENCIES=embedded``."""
        if os.environ.get("HARNESS_LOCAL_DEPENDENCIES") == "embedded":
            return f"{name} is embedded on request (HARNESS_LOCAL_DEPENDENCIES=embedded)"
        if not can_fault_dependency(name):
            return f"no {name} server installed here (an embedded file stands in)"
        return None

    def _dependency_action(self, name: str, action: str) -> None:
        dep = self._dependency(name)
        self._note_fault(name)
        if action in ("stop", "restart"):
            dep.stop()
        if action in ("start", "restart"):
            if dep.process is not None and dep.process.exit_status() is None:
                return  # already running
            dep.start()



# ---- nothing left behind ---------------------------------------------------------


@atexit.register
def _close_live() -> None:
    with _live_lock:
        live = list(_live.values())
    for deployment in live:
        try:
            deployment.close()
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            pass


__all__ = ["Dependencies", "LocalDeployment", "sweep"]
