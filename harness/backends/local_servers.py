"""Dependency servers of the local backend: PostgreSQL and Redis from installed programs,
or an embedded SQLite file where a program is missing.

PostgreSQL runs from ``initdb`` in a temporary data directory, as our child (as the
``postgres`` user, or ``nobody``, when the harness runs as root, since PostgreSQL refuses
root), and is stopped with ``pg_ctl``; ``redis-server`` runs with the spec's persistence
(append-only, fsync always). Both keep their port for the deployment's life, since the
replicas' environment names it. Where a server is not installed, its address is an
embedded SQLite file (WAL) shared by the replicas (``sqlite:///path``; the reference app
keeps all of its durable state there): such a dependency cannot be faulted.
"""

from __future__ import annotations

import glob
import logging
import os
import pwd
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from harness import interrupt
from harness.backends.local_processes import Process, free_port, tail
from harness.backends.pool import recreate_database
from harness.deployment import POLL_INTERVAL
from harness.errors import BackendError, DeploymentError, ReadinessTimeout
from harness.spec import PostgresSpec, RedisSpec

log = logging.getLogger("harness.backends.local")

DEPENDENCY_READY_TIMEOUT = 30.0


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


class Server(ABC):
    """A dependency run as a local server process on a fixed port of 127.0.0.1."""

    name = ""

    def __init__(self, home: Path, logs: Path) -> None:
        self.home, self.log_path = home, logs / f"{self.name}.log"
        self.port = free_port()
        self.process: Process | None = None
        self.describe = ""

    @abstractmethod
    def address(self) -> dict[str, str]:
        """What the app's ``{name.field}`` placeholders become for this server."""

    def prepare(self) -> None:
        """One-time set-up before the first start."""

    @abstractmethod
    def _spawn(self) -> Process:
        """Start the server process (not yet ready)."""

    @abstractmethod
    def answers(self) -> bool:
        """Whether the server answers its readiness probe now."""

    def start(self) -> None:
        self.process = self._spawn()
        deadline = time.monotonic() + DEPENDENCY_READY_TIMEOUT
        while not self.answers():
            interrupt.check(f"waiting for dependency {self.name} to be ready")
            if (code := self.process.exit_status()) is not None:
                raise DeploymentError(f"dependency {self.name} exited with code {code} before it became ready",
                                      tail(self.log_path, 30))
            if time.monotonic() > deadline:
                raise ReadinessTimeout(f"dependency {self.name} was not ready on 127.0.0.1:{self.port} after "
                                       f"{DEPENDENCY_READY_TIMEOUT:.0f}s", tail(self.log_path, 30))
            time.sleep(POLL_INTERVAL)

    def stop(self) -> None:
        """A clean shutdown, as ``docker stop`` would do it."""
        if self.process is not None:
            self.process.stop(signal.SIGTERM, 10)

    @abstractmethod
    def wipe(self) -> None:
        """Empty the server's state for the next deployment (``harness.backends.pool``)."""

    def close(self) -> None:
        """Fast teardown: the data goes with the deployment anyway."""
        if self.process is not None:
            self.process.kill()


class Postgres(Server):
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

    def _spawn(self) -> Process:
        return Process([str(self.bindir / "postgres"), "-D", str(self.data), "-p", str(self.port),
                         "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
                         "-c", "dynamic_shared_memory_type=mmap", "-c", "max_connections=200"],
                        self.home, {"PATH": os.environ.get("PATH", ""), "LANG": "C"}, self.log_path, self.user)

    def answers(self) -> bool:
        probe = self.bindir / "pg_isready"
        if not probe.exists():
            return tcp_answers(self.port)
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


def tcp_answers(port: int, payload: bytes = b"", expect: bytes = b"") -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            if payload:
                sock.sendall(payload)
                return sock.recv(64).startswith(expect)
            return True
    except OSError:
        return False


class Redis(Server):
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

    def _spawn(self) -> Process:
        persistence = (["--appendonly", "yes", "--appendfsync", "always", "--save", ""] if self.spec.persistence
                       else ["--appendonly", "no", "--save", ""])
        return Process([str(self.program), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.home),
                         "--daemonize", "no", "--protected-mode", "no", *persistence],
                        self.home, {"PATH": os.environ.get("PATH", "")}, self.log_path)

    def answers(self) -> bool:
        return tcp_answers(self.port, b"PING\r\n", b"+PONG")

    def wipe(self) -> None:
        if not tcp_answers(self.port, b"FLUSHALL\r\n", b"+OK"):
            raise DeploymentError(f"redis on 127.0.0.1:{self.port} did not answer FLUSHALL with +OK")


class Embedded:
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


__all__ = ["DEPENDENCY_READY_TIMEOUT", "Embedded", "Postgres", "Redis", "Server", "can_fault_dependency",
           "postgres_bindir", "redis_server", "servers_found"]
