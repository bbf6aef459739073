"""Run locust headless, in processes of its own, and leave nothing running afterwards.

Importing locust monkey-patches a process with gevent (it has broken pytest,
subprocess and SSL users), so the harness only ever starts it as a subprocess and
reads its results from files: our per-response records, and locust's own CSV, JSON
and HTML reports, all in the run's load folder.

Everything is bounded: locust gets ``--run-time`` and ``--stop-timeout`` (in-flight
requests finish and are recorded), the subprocess gets a timeout of its own, and
locust runs in its own process group, which is killed whole (master and every
forked or started worker) on a timeout, on Ctrl-C, or if anything of it is still
there when the run ends.
"""

from __future__ import annotations

import csv
import json
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from harness import bundled
from harness.backends import watchdog
from harness.errors import HarnessError

#: the source tree's top-level locustfile.py, or the copy a wheel ships (harness/bundled.py)
LOCUSTFILE = bundled.LOCUSTFILE

#: seconds locust may take to start (imports, forking, workers connecting) and to write its reports
STARTUP_MARGIN = 60.0
#: seconds past the duration at which --run-time stops a distributed run that did not end on its own
RUN_TIME_BACKSTOP = 15.0
#: seconds between SIGTERM and SIGKILL when a run is cut short
KILL_GRACE = 5.0
#: the file locust writes into the records folder when its users start (see locustfile.py)
STARTED = "load-started"


class LoadError(HarnessError):
    """Locust failed to run (bad arguments, crashed, timed out): no load result to judge."""


@dataclass(frozen=True)
class LoadConfig:
    """How much load, for how long, from how many processes.

    ``remote_workers`` > 0 runs locust as ``--master`` (bound to ``master_bind``) with
    ``processes`` local workers, and waits for that many more workers started by hand
    on other machines (see the README); otherwise ``--processes`` forks local workers.
    """

    users: int = 30
    duration: float = 20.0
    spawn_rate: float | None = None  # users started per second; default: all within a second
    processes: int = field(default_factory=lambda: os.cpu_count() or 1)
    stop_timeout: float = 10.0
    wait: float = 0.0  # seconds a user waits between requests
    max_requests: int = 10_000_000  # per locust process
    remote_workers: int = 0
    master_bind: str = "0.0.0.0:5557"
    expect_workers_timeout: float = 120.0
    hold: bool = True  # hold requests across window boundaries (see harness.load.plan)

    @classmethod
    def from_env(cls, **given: Any) -> "LoadConfig":
        """``given`` plus distributed settings from HARNESS_LOAD_REMOTE_WORKERS / HARNESS_LOAD_MASTER_BIND."""
        env = os.environ
        if "remote_workers" not in given and env.get("HARNESS_LOAD_REMOTE_WORKERS"):
            given["remote_workers"] = int(env["HARNESS_LOAD_REMOTE_WORKERS"])
        if "master_bind" not in given and env.get("HARNESS_LOAD_MASTER_BIND"):
            given["master_bind"] = env["HARNESS_LOAD_MASTER_BIND"]
        return cls(**given)

    @property
    def distributed(self) -> bool:
        return self.processes > 1 or self.remote_workers > 0

    def run_time(self) -> int:
        """``--run-time``: the duration, or a backstop past it when the master ends the run itself."""
        extra = self.stop_timeout + RUN_TIME_BACKSTOP if self.distributed else 0.0
        return max(1, math.ceil(self.duration + extra))

    def timeout(self) -> float:
        waiting = self.expect_workers_timeout if self.remote_workers else 0.0
        return self.run_time() + self.stop_timeout + STARTUP_MARGIN + waiting


@dataclass
class LoadRun:
    """A finished locust run: where its files are and what it said."""

    folder: Path
    records: Path
    command: list[str]
    returncode: int
    started: float
    ended: float
    log: Path

    @property
    def stats_csv(self) -> Path:
        return self.folder / "locust_stats.csv"

    @property
    def html(self) -> Path:
        return self.folder / "locust.html"

    def totals(self) -> dict[str, int]:
        """Locust's own count of requests and failures (its CSV's Aggregated row; JSON as fallback)."""
        if self.stats_csv.is_file():
            with self.stats_csv.open(newline="") as fh:
                for row in csv.DictReader(fh):
                    if row.get("Name") == "Aggregated":
                        return {"requests": int(row["Request Count"]), "failures": int(row["Failure Count"])}
        json_file = self.folder / "locust.json"
        if json_file.is_file():
            entries = json.loads(json_file.read_text())
            return {"requests": sum(e["num_requests"] for e in entries),
                    "failures": sum(e["num_failures"] for e in entries)}
        raise LoadError(f"locust wrote no statistics in {self.folder} (see {self.log})")

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no locust log)"


def _locust(*args: str) -> list[str]:
    return [sys.executable, "-m", "locust", *args]


def command(config: LoadConfig, folder: Path, locustfile: Path = LOCUSTFILE) -> list[str]:
    """The locust command line of the master (or of the only process) for ``config``."""
    spawn = config.spawn_rate or config.users
    args = ["-f", str(locustfile), "--headless", "-u", str(config.users), "-r", f"{spawn:g}",
            "--run-time", f"{config.run_time()}s", "--stop-timeout", f"{config.stop_timeout:g}",
            "--csv", str(folder / "locust"), "--html", str(folder / "locust.html"),
            "--json-file", str(folder / "locust"), "--only-summary", "--exit-code-on-error", "0",
            "--loglevel", "WARNING"]
    if config.remote_workers:
        host, _, port = config.master_bind.rpartition(":")
        args += ["--master", "--master-bind-host", host or "*", "--master-bind-port", port,
                 "--expect-workers", str(config.processes + config.remote_workers),
                 "--expect-workers-max-wait", f"{config.expect_workers_timeout:g}"]
    elif config.processes > 1:
        # Locust's own master and forked workers talk over TCP: on 127.0.0.1 only (its default binds
        # every interface) and on a free port (its default 5557 would clash between parallel runs).
        from harness.ports import free_port

        port = str(free_port())
        args += ["--processes", str(config.processes), "--master-bind-host", "127.0.0.1",
                 "--master-bind-port", port, "--master-host", "127.0.0.1", "--master-port", port]
    return _locust(*args)


def _kill_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def stop_group(proc: subprocess.Popen[bytes], grace: float = KILL_GRACE) -> None:
    """SIGTERM the whole process group (locust writes its reports), SIGKILL what is left after ``grace``."""
    pgid = proc.pid
    _kill_group(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _group_alive(pgid):
        if proc.poll() is None:
            try:
                proc.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                pass
        else:
            time.sleep(0.05)
    _kill_group(pgid, signal.SIGKILL)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:  # pragma: no cover - a SIGKILLed process always goes
        pass


def run_locust(folder: Path, plan_file: Path, endpoints_file: Path, config: LoadConfig,
               locustfile: Path = LOCUSTFILE, timeout: float | None = None,
               on_started: Callable[[], None] | None = None) -> LoadRun:
    """Run locust headless against the replicas in ``endpoints_file``; block until it is done.

    Outputs land in ``folder``: ``records/`` (ours), ``locust_stats.csv`` and friends,
    ``locust.json``, ``locust.html`` and ``locust.log``. ``on_started`` is called once
    the processes are started (the faults-during-load thread hangs off it).
    Raises ``LoadError`` when locust fails or overruns ``timeout`` (default: run time
    plus stop timeout plus a start-up margin); in every case no locust process is
    left behind.
    """
    folder = Path(folder)
    records = folder / "records"
    records.mkdir(parents=True, exist_ok=True)
    log = folder / "locust.log"
    env = {**os.environ, "HARNESS_LOAD_PLAN": str(plan_file), "HARNESS_LOAD_ENDPOINTS": str(endpoints_file),
           "HARNESS_LOAD_RECORDS": str(records), "HARNESS_LOAD_WAIT": f"{config.wait:g}",
           "HARNESS_LOAD_MAX_REQUESTS": str(config.max_requests), "PYTHONUNBUFFERED": "1",
           # a distributed run ends here, stopping its workers first (see locustfile.py); else on --run-time
           "HARNESS_LOAD_DURATION": f"{config.duration:g}" if config.distributed else "0"}
    env.pop("HARNESS_LOAD_SPEC", None)
    cmd = command(config, folder, locustfile)
    limit = timeout if timeout is not None else config.timeout()
    started = time.time()
    with log.open("wb") as out:
        # A process group of its own (Ctrl-C in the terminal goes to the harness, which stops it whole),
        # in the harness's session, so the workers started below may join it.
        proc = subprocess.Popen(cmd, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, process_group=0)
        watchdog.watch_group(proc.pid)  # a SIGKILLed harness takes locust with it
        try:
            if config.remote_workers:
                host, _, port = config.master_bind.rpartition(":")
                for _ in range(config.processes):
                    subprocess.Popen(_locust("-f", str(locustfile), "--worker", "--master-host", "127.0.0.1",
                                             "--master-port", port, "--loglevel", "WARNING"),
                                     cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, process_group=proc.pid)
            if on_started is not None:
                on_started()
            proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            stop_group(proc)
            raise LoadError(f"locust did not finish within {limit:.0f}s; it was stopped (log: {log})") from None
        except KeyboardInterrupt:
            stop_group(proc, grace=1.0)  # a signal stops the run: its teardown must fit a supervisor's grace
            raise
        except BaseException:
            stop_group(proc)  # an error in on_started
            raise
        finally:
            if _group_alive(proc.pid):  # a worker outliving its master
                stop_group(proc, grace=1.0)
            watchdog.forget_group(proc.pid)
    run = LoadRun(folder, records, cmd, proc.returncode, started, time.time(), log)
    if proc.returncode != 0:
        raise LoadError(f"locust exited with code {proc.returncode}; last lines of {log}:\n{run.tail()}")
    return run
