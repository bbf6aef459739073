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

Dependencies are real servers when their programs are installed: PostgreSQL from
``initdb`` in a temporary data directory, run as our child (as the ``postgres``
user, or ``nobody``, when the harness runs as root, since PostgreSQL refuses root)
and stopped with ``pg_ctl``; ``redis-server`` with the spec's persistence (append-only,
fsync always). Both keep their port for the deployment's life, since the replicas'
environment names it. Where a server is not installed, its address is an embedded
SQLite file (WAL) shared by the replicas (``sqlite:///path``; the reference app
keeps all of its durable state there), and faults of that dependency raise a
``BackendError`` saying so; ``description`` and the log say which is used.
A network cut needs the Docker backend: processes share the host's network.

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
import glob
import json
import logging
import os
import pwd
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

from harness.backends.docker import render_env
from harness.backends import watchdog
from harness.backends.pool import DependencyPool, Leasing, recreate_database
from harness import interrupt
from harness.cleanup import pid_alive
from harness.deployment import POLL_INTERVAL, Deployment, first_error
from harness.errors import BackendError, DeploymentError, ReadinessTimeout, SpecError
from harness.history import History
from harness.spec import PostgresSpec, RedisSpec, TargetSpec, VolumeSpec

log = logging.getLogger("harness.backends.local")

DEPENDENCY_READY_TIMEOUT = 30.0
#: A deployment's temporary root is ``<tmp>/harness-local-<owner pid>-<run id>-<random>``.
ROOT_PREFIX = "harness-local-"
#: Environment passed on from the harness to every child; everything else comes from the spec.
INHERITED_ENV = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",
                 "SSL_CERT_FILE", "SSL_CERT_DIR")
#: Set in every replica's environment: which run and which harness process it belongs to.
ENV_RUN, ENV_OWNER = "HARNESS_LOCAL_RUN", "HARNESS_LOCAL_OWNER"

Dependencies = Literal["auto", "servers", "embedded"]


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode(errors="replace")
    except OSError as exc:
        return f"(log {path} unavailable: {exc})"
    return "\n".join(text.rstrip().splitlines()[-lines:])


# ---- finding the servers ---------------------------------------------------------


def postgres_bindir() -> Path | None:
    """The folder with initdb, pg_ctl and postgres: ``HARNESS_PG_BINDIR``, PATH, or the usual places."""
    wanted = ("initdb", "pg_ctl", "postgres")
    candidates = [os.environ.get("HARNESS_PG_BINDIR", "")]
    if (initdb := shutil.which("initdb")) is not None:
        candidates.append(str(Path(initdb).resolve().parent))
    versions = glob.glob("/usr/lib/postgresql/*/bin") + glob.glob("/usr/pgsql-*/bin")
    candidates += sorted(versions, key=lambda p: [int(n) for n in re.findall(r"\d+", p)] or [0], reverse=True)
    for folder in filter(None, candidates):
        if all(os.access(Path(folder) / name, os.X_OK) for name in wanted):
            return Path(folder)
    return None


def redis_server() -> Path | None:
    found = shutil.which("redis-server")
    return Path(found) if found else None


def _version(program: Path) -> str:
    try:
        out = subprocess.run([str(program), "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return program.name
    found = re.search(r"(\d+\.\d+(?:\.\d+)?)", out)
    return f"{program.name} {found.group(1)}" if found else program.name


def can_fault_dependency(name: str) -> bool:
    """Whether a fault can reach this dependency here: only a real server can be restarted or stopped."""
    if name == "postgres":
        return postgres_bindir() is not None
    if name == "redis":
        return redis_server() is not None
    return False


def servers_found() -> str:
    """One line: which dependency servers this machine can run (for the backend choice)."""
    pg, rd = postgres_bindir(), redis_server()
    parts = [f"postgres from {pg}" if pg else "no PostgreSQL (initdb/pg_ctl/postgres)",
             f"redis from {rd}" if rd else "no redis-server"]
    if not (pg and rd):
        parts.append("an embedded SQLite file stands in for what is missing")
    return "; ".join(parts)


def _run_as() -> tuple[int, int] | None:
    """Uid and gid for PostgreSQL when we are root (it refuses to run as root); None otherwise."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
            return entry.pw_uid, entry.pw_gid
        except KeyError:
            continue
    raise BackendError("the harness runs as root and there is neither a 'postgres' nor a 'nobody' user "
                       "to run PostgreSQL as (it refuses root)")


# ---- processes -------------------------------------------------------------------


class _Process:
    """One child process, leader of its own process group (so its children get every signal too)."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str], log_path: Path,
                 user: tuple[int, int] | None = None) -> None:
        self.argv, self.log_path = argv, log_path
        with open(log_path, "ab") as out:
            ids: dict[str, Any] = {"user": user[0], "group": user[1], "extra_groups": []} if user else {}
            self.popen = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                          stderr=subprocess.STDOUT, start_new_session=True, close_fds=True, **ids)
        self.pid = self.popen.pid

    def signal(self, sig: int) -> None:
        """Send ``sig`` to the whole group; quietly nothing when it is gone."""
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def exit_status(self) -> int | None:
        return self.popen.poll()

    def wait(self, timeout: float) -> bool:
        try:
            self.popen.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def stop(self, sig: int, timeout: float) -> None:
        """``sig`` to the group (woken up if paused), SIGKILL after ``timeout``; reaped either way."""
        if self.exit_status() is None:
            self.signal(sig)
            self.signal(signal.SIGCONT)
            if self.wait(timeout):
                self.signal(signal.SIGKILL)  # anything the leader left in its group
                return
        self.kill()

    def kill(self) -> None:
        """SIGKILL the group and reap the leader."""
        self.signal(signal.SIGKILL)
        self.wait(10)


class _Forked(_Process):
    """A replica forked by the fork server: signalled by group like any, but its exit status is
    written by the fork server (its parent), not reaped here."""

    def __init__(self, pid: int, argv: list[str], log_path: Path, exits: Path) -> None:
        self.argv, self.log_path, self.pid, self._exits = argv, log_path, pid, exits

    def exit_status(self) -> int | None:
        status = self._written()
        if status is not None or pid_alive(self.pid):
            return status
        # Gone: the fork server writes the status before it reaps, so it is there now, unless the
        # fork server itself is gone and cannot report it. (It may have been written and reaped
        # between the first read and the liveness check.)
        status = self._written()
        return -1 if status is None else status

    def _written(self) -> int | None:
        try:
            return int((self._exits / str(self.pid)).read_text())
        except (OSError, ValueError):
            return None

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.exit_status() is None:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True


class _ForkServer:
    """The client of ``harness.backends.forkserver``: one per deployment, started on first use."""

    def __init__(self, modules: list[str], root: Path, env: dict[str, str], timeout: float) -> None:
        from harness.backends.forkserver import EXITS_ENV

        self.exits = root / "exits"
        self.exits.mkdir(exist_ok=True)
        self.log = root / "logs" / "forkserver.log"
        self._lock = threading.Lock()
        with open(self.log, "ab") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "harness.backends.forkserver", *modules], cwd=root,
                                         env={**env, EXITS_ENV: str(self.exits)}, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=err, start_new_session=True, close_fds=True,
                                         text=True, bufsize=1)
        self._answer(timeout, f"importing {', '.join(modules)} (app.process.preload)")

    def _answer(self, timeout: float, doing: str) -> dict[str, Any]:
        """The next line from the fork server, or an error with its log, within ``timeout``."""
        import selectors

        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            ready = []
            while not ready and time.monotonic() < deadline:  # in short steps: a signal stops the wait
                interrupt.check(doing)
                ready = selector.select(min(POLL_INTERVAL, max(0.0, deadline - time.monotonic())))
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.close()
            raise DeploymentError(f"the fork server failed while {doing}" if ready else
                                  f"the fork server did not answer within {timeout:.0f}s while {doing}",
                                  _tail(self.log, 30))
        return json.loads(line)

    def spawn(self, argv: list[str], cwd: Path, env: dict[str, str], log_path: Path) -> _Forked:
        """Fork a replica running ``argv`` (after the interpreter: ``-m module ...`` or a script)."""
        request = json.dumps({"argv": argv, "cwd": str(cwd), "env": env, "log": str(log_path)})
        with self._lock:
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.write(request + "\n")
                self.proc.stdin.flush()
            except OSError as exc:
                raise DeploymentError(f"the fork server is gone ({exc})", _tail(self.log, 30)) from None
            pid = int(self._answer(30.0, f"forking {' '.join(argv)}")["pid"])
        return _Forked(pid, argv, log_path, self.exits)

    def close(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait(10)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


def _processes_under(root: Path) -> list[int]:
    """Pids of every process whose working directory lies under ``root`` (ours and their children):
    the watchdog's own scan, so the harness and its watchdog agree on what a run owns."""
    return watchdog.processes_under(str(root))


def _kill_under(root: Path, timeout: float = 5.0) -> list[int]:
    """SIGKILL whatever still runs under ``root``, and wait (bounded) until it is gone."""
    pids = [p for p in _processes_under(root) if p != os.getpid()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + timeout
    while pids and time.monotonic() < deadline and _processes_under(root):
        time.sleep(0.02)
    return pids


# ---- dependencies ----------------------------------------------------------------


class _Server:
    """A dependency run as a local server process on a fixed port of 127.0.0.1."""

    name = ""

    def __init__(self, home: Path, logs: Path) -> None:
        self.home, self.log_path = home, logs / f"{self.name}.log"
        self.port = free_port()
        self.process: _Process | None = None
        self.describe = ""

    def address(self) -> dict[str, str]:
        raise NotImplementedError

    def prepare(self) -> None:
        """One-time set-up before the first start."""

    def _spawn(self) -> _Process:
        raise NotImplementedError

    def answers(self) -> bool:
        raise NotImplementedError

    def start(self) -> None:
        self.process = self._spawn()
        deadline = time.monotonic() + DEPENDENCY_READY_TIMEOUT
        while not self.answers():
            interrupt.check(f"waiting for dependency {self.name} to be ready")
            if (code := self.process.exit_status()) is not None:
                raise DeploymentError(f"dependency {self.name} exited with code {code} before it became ready",
                                      _tail(self.log_path, 30))
            if time.monotonic() > deadline:
                raise ReadinessTimeout(f"dependency {self.name} was not ready on 127.0.0.1:{self.port} after "
                                       f"{DEPENDENCY_READY_TIMEOUT:.0f}s", _tail(self.log_path, 30))
            time.sleep(POLL_INTERVAL)

    def stop(self) -> None:
        """A clean shutdown, as ``docker stop`` would do it."""
        if self.process is not None:
            self.process.stop(signal.SIGTERM, 10)

    def wipe(self) -> None:
        """Empty the server's state for the next deployment (``harness.backends.pool``)."""
        raise NotImplementedError

    def close(self) -> None:
        """Fast teardown: the data goes with the deployment anyway."""
        if self.process is not None:
            self.process.kill()


class _Postgres(_Server):
    name = "postgres"

    def __init__(self, home: Path, logs: Path, spec: PostgresSpec, bindir: Path) -> None:
        super().__init__(home, logs)
        self.spec, self.bindir = spec, bindir
        self.data = home / "data"
        self.user = _run_as()
        self.describe = f"{_version(bindir / 'postgres')} server (initdb in {self.data}, 127.0.0.1:{self.port})"

    def address(self) -> dict[str, str]:
        pg = self.spec
        return {"host": "127.0.0.1", "port": str(self.port), "user": pg.user, "password": pg.password,
                "database": pg.database, "url": f"postgresql://{pg.user}:{pg.password}@127.0.0.1:{self.port}/{pg.database}"}

    def _tool(self, *args: str, stdin: str | None = None, timeout: float = 60) -> None:
        ids: dict[str, Any] = {"user": self.user[0], "group": self.user[1], "extra_groups": []} if self.user else {}
        try:
            proc = subprocess.run([str(self.bindir / args[0]), *args[1:]], input=stdin, capture_output=True,
                                  text=True, timeout=timeout, cwd=self.home, **ids)
        except (OSError, subprocess.SubprocessError) as exc:
            raise DeploymentError(f"postgres: {args[0]} failed: {exc}") from None
        if proc.returncode != 0:
            raise DeploymentError(f"postgres: {' '.join(args[:2])} exited with code {proc.returncode}",
                                  (proc.stdout + proc.stderr)[-3000:])

    def prepare(self) -> None:
        self.home.mkdir()
        password = self.home / "password"
        password.write_text(self.spec.password + "\n")
        if self.user:
            os.chown(self.home, *self.user)
            os.chown(password, *self.user)
        try:
            self._tool("initdb", "-D", str(self.data), "-U", self.spec.user, f"--pwfile={password}",
                       "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
        finally:
            password.unlink()
        if self.spec.database != "postgres":
            self._tool("postgres", "--single", "-D", str(self.data), "postgres",
                       stdin=f'CREATE DATABASE "{self.spec.database}" OWNER "{self.spec.user}";\n')

    def wipe(self) -> None:
        """Recreate the app's database, over TCP as the app's role (the cluster's superuser here)."""
        pg = self.spec
        conninfo = f"host=127.0.0.1 port={self.port} user={pg.user} password={pg.password} dbname=postgres"
        self._tool("psql", "-d", conninfo, *recreate_database(pg.user, pg.database))

    def _spawn(self) -> _Process:
        return _Process([str(self.bindir / "postgres"), "-D", str(self.data), "-p", str(self.port),
                         "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
                         "-c", "dynamic_shared_memory_type=mmap", "-c", "max_connections=200"],
                        self.home, {"PATH": os.environ.get("PATH", ""), "LANG": "C"}, self.log_path, self.user)

    def answers(self) -> bool:
        probe = self.bindir / "pg_isready"
        if not probe.exists():
            return _tcp_answers(self.port)
        try:
            return subprocess.run([str(probe), "-q", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.spec.user,
                                   "-d", self.spec.database, "-t", "2"], timeout=10).returncode == 0
        except (OSError, subprocess.SubprocessError):
            return False

    def stop(self) -> None:
        """``pg_ctl stop -m fast``: the postmaster is our child, so it is reaped here too."""
        if self.process is None or self.process.exit_status() is not None:
            return
        try:
            self._tool("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w", "-t", "30")
        except DeploymentError as exc:
            log.warning("pg_ctl stop failed, stopping postgres with SIGINT: %s", exc)
        self.process.stop(signal.SIGINT, 30)

    def close(self) -> None:
        if self.process is not None:
            self.process.stop(signal.SIGQUIT, 5)  # immediate shutdown: it still removes its shared memory


def _tcp_answers(port: int, payload: bytes = b"", expect: bytes = b"") -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            if payload:
                sock.sendall(payload)
                return sock.recv(64).startswith(expect)
            return True
    except OSError:
        return False


class _Redis(_Server):
    name = "redis"

    def __init__(self, home: Path, logs: Path, spec: RedisSpec, program: Path) -> None:
        super().__init__(home, logs)
        self.spec, self.program = spec, program
        kept = "append-only file, fsync always" if spec.persistence else "no persistence"
        self.describe = f"{_version(program)} (127.0.0.1:{self.port}, {kept})"

    def address(self) -> dict[str, str]:
        return {"host": "127.0.0.1", "port": str(self.port), "url": f"redis://127.0.0.1:{self.port}/0"}

    def prepare(self) -> None:
        self.home.mkdir()

    def _spawn(self) -> _Process:
        persistence = (["--appendonly", "yes", "--appendfsync", "always", "--save", ""] if self.spec.persistence
                       else ["--appendonly", "no", "--save", ""])
        return _Process([str(self.program), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.home),
                         "--daemonize", "no", "--protected-mode", "no", *persistence],
                        self.home, {"PATH": os.environ.get("PATH", "")}, self.log_path)

    def answers(self) -> bool:
        return _tcp_answers(self.port, b"PING\r\n", b"+PONG")

    def wipe(self) -> None:
        if not _tcp_answers(self.port, b"FLUSHALL\r\n", b"+OK"):
            raise DeploymentError(f"redis on 127.0.0.1:{self.port} did not answer FLUSHALL with +OK")


class _Embedded:
    """A dependency this machine cannot run: an SQLite file (WAL) shared by the replicas instead."""

    def __init__(self, name: str, path: Path, missing: str) -> None:
        self.name, self.path = name, path
        self.describe = f"embedded SQLite file {path} (WAL), shared by the replicas: {missing}"

    def address(self) -> dict[str, str]:
        return {"host": "", "port": "", "url": f"sqlite:///{self.path}", "path": str(self.path),
                "user": "", "password": "", "database": str(self.path)}

    _lock = threading.Lock()  # postgres and redis may share the one file, prepared in parallel

    def prepare(self) -> None:
        with self._lock:
            self.path.parent.mkdir(exist_ok=True)
            conn = sqlite3.connect(self.path)  # in WAL mode before any replica opens it
            try:
                conn.execute("PRAGMA journal_mode=WAL")
            finally:
                conn.close()


# ---- the deployment --------------------------------------------------------------

_live: dict[str, "LocalDeployment"] = {}
_live_lock = threading.Lock()


class LocalDeployment(Leasing, Deployment):
    """A deployment of local processes; see the module docstring.

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
        self._procs: dict[str, _Process] = {}
        self._work: dict[str, Path] = {}
        self._ports: dict[str, int] = {}
        self._deps: dict[str, _Server | _Embedded] = {}  # started (and closed) by this deployment
        self._shared_deps: dict[str, _Server | _Embedded] = {}  # leased from the pool's host
        self._addresses: dict[str, dict[str, str]] = {}
        self._app_env: dict[str, str] = {}
        self._closed = False
        self._closing = threading.Event()  # set on teardown: replicas still starting give up
        self._forkserver: _ForkServer | None = None
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
                self._deps["postgres"] = _Postgres(self.root / "postgres", self.root / "logs", deps.postgres, bindir)
            else:
                self._deps["postgres"] = self._embedded("postgres", embedded, "no initdb, pg_ctl and postgres found")
        if deps.redis is not None and "redis" not in self._shared_deps:
            program = redis_server() if self.dependency_mode != "embedded" else None
            if program is not None:
                self._deps["redis"] = _Redis(self.root / "redis", self.root / "logs", deps.redis, program)
            else:
                self._deps["redis"] = self._embedded("redis", embedded, "no redis-server found")
        for name, dep in self._deps.items():
            lines.append(f"{name}: {dep.describe}")
            (log.warning if isinstance(dep, _Embedded) else log.info)("local backend, %s: %s", name, dep.describe)
        self.description = "; ".join([f"local processes under {self.root}", *lines])

    def _embedded(self, name: str, path: Path, missing: str) -> _Embedded:
        if self.dependency_mode == "servers":
            raise BackendError(f"{self.spec.name} needs {name} and {missing} (dependencies='servers'); install "
                               "it (Debian: apt-get install -y postgresql redis-server) or allow the embedded file")
        if self.dependency_mode == "embedded":
            missing = "embedded on request"
        return _Embedded(name, path, missing)

    def _start_dependency(self, dep: _Server | _Embedded) -> None:
        dep.prepare()
        if isinstance(dep, _Server):
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
            if isinstance(dep, _Server):
                dep.close()
        leftovers = _kill_under(self.root)
        if leftovers:
            log.warning("local backend: killed %d leftover process(es) under %s", len(leftovers), self.root)
        shutil.rmtree(self.root, ignore_errors=True)
        if self.root.exists():  # a process was still writing: once more
            _kill_under(self.root)
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
        return all(isinstance(dep, _Server) for dep in self._deps.values())

    def wipe_dependencies(self) -> None:
        for dep in self._deps.values():
            if isinstance(dep, _Server):
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

    def _launch(self, argv: list[str], cwd: Path, env: dict[str, str], log_path: Path) -> _Process:
        """A new process, or a fork of the fork server when the spec preloads modules for the harness's
        own interpreter (``app.process.preload``)."""
        process = self.spec.app.process
        if not (process and process.preload and argv[0] == sys.executable):
            return _Process(argv, cwd, env, log_path)
        with self._forkserver_lock:
            if self._closing.is_set():
                raise DeploymentError(f"{self.spec.name}: the deployment is closing")
            if self._forkserver is None:
                # the app's folder is importable, as for the replicas (their PYTHONPATH is theirs alone)
                base = {**{k: os.environ[k] for k in INHERITED_ENV if k in os.environ}, "PYTHONPATH": process.cwd}
                self._forkserver = _ForkServer(process.preload, self.root, base, self.spec.app.ready_timeout)
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

    def _proc(self, replica: str) -> _Process:
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

    def _stop(self, replica: str) -> None:
        self._proc(replica).stop(signal.SIGTERM, self.spec.app.stop_timeout)
        self._ports.pop(replica, None)

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
        return _tail(self.root / "logs" / f"{name}.log", lines)

    # ---- dependencies ------------------------------------------------------------
    def _dependency(self, name: str) -> _Server:
        every = {**self._shared_deps, **self._deps}
        dep = every.get(name)
        if dep is None:
            raise BackendError(f"{self.spec.name} has no dependency {name!r} (has: {', '.join(every) or 'none'})")
        if isinstance(dep, _Embedded):
            raise BackendError(f"dependency {name} of {self.spec.name} is an {dep.describe}; restarting or stopping "
                               f"it needs a real server (install it, e.g. apt-get install -y postgresql "
                               "redis-server, or use the docker backend)")
        return dep

    def _dependency_action(self, name: str, action: str) -> None:
        dep = self._dependency(name)
        self._note_fault(name)
        if action in ("stop", "restart"):
            dep.stop()
        if action in ("start", "restart"):
            if dep.process is not None and dep.process.exit_status() is None:
                return  # already running
            dep.start()

    def _network_action(self, name: str, connected: bool) -> None:
        raise BackendError(f"a network {'heal' if connected else 'cut'} of {name} needs the docker backend: local "
                           "processes share the host's network, which the harness does not rewire")


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


def sweep() -> list[str]:
    """Kill the processes and remove the roots of local deployments whose harness process died."""
    swept = []
    for root in Path(tempfile.gettempdir()).glob(f"{ROOT_PREFIX}*"):
        owner = root.name[len(ROOT_PREFIX):].split("-", 1)[0]
        if not owner.isdigit() or pid_alive(int(owner)) or not root.is_dir():
            continue
        _kill_under(root)
        shutil.rmtree(root, ignore_errors=True)
        swept.append(str(root))
    return swept
