"""Refuse a bad run before it starts: every check here costs milliseconds, a run minutes.

A run that is doomed from its arguments (a run folder already holding another run, a
file given as ``--out``, more replicas than the machine can start in time, zero workers,
a negative duration) must say so at once, naming the flag the user typed, rather than
fail halfway with a traceback or a misleading readiness timeout.
"""

from __future__ import annotations

import argparse
import atexit
import fcntl
import os
import re
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError

#: The file that marks a run folder as in use; held with flock(2) for the life of the run.
LOCK = ".harness.lock"

#: CPU seconds one replica of a Python web app needs to start (interpreter, imports, first
#: answer to its readiness check). The reference app measures 0.3-0.6 s here; the higher end
#: is used, since other processes (dependencies, the harness) share the CPUs meanwhile.
START_CPU_SECONDS = 0.6
#: Memory one replica holds once started: a Python web app with its database drivers (the
#: reference app: 60-80 MiB resident), plus its container's or process's share of the rest.
REPLICA_MEMORY = 100 * 2**20


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1 (argparse names the flag in the message)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value}")
    return value


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([hms])")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0}


def duration(text: str) -> float:
    """An argparse type: a length of time in seconds, from ``30s``, ``10m``, ``1h``, ``1h30m`` or a bare
    number of seconds; more than zero (argparse names the flag in the message)."""
    raw = text.strip().lower()
    try:
        seconds = float(raw)
    except ValueError:
        parts = _DURATION_PART.findall(raw)
        if not parts or "".join(n + u for n, u in parts) != raw:
            raise argparse.ArgumentTypeError(
                f"expected a length of time such as 30s, 10m, 1h or 1h30m (a bare number is seconds), "
                f"got {text!r}") from None
        seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
    if not seconds > 0 or seconds == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a length of time above zero, got {text!r}")
    return seconds


def check_target(path: Path, flag: str = "--target") -> None:
    """A target spec is a file: a folder or a missing path is named with the flag that gave it."""
    if path.is_dir():
        specs = sorted(p.name for p in path.glob("*.yaml"))[:5]
        hint = f" (it holds {', '.join(specs)})" if specs else ""
        raise HarnessError(f"{flag} {path}: is a folder; expected a target spec file (YAML){hint}")
    if not path.is_file():
        raise HarnessError(f"{flag} {path}: no such file; expected a target spec file (YAML), "
                           "e.g. targets/refapp/durable.yaml")


@dataclass(frozen=True)
class Machine:
    """What this machine offers a run: CPUs it may use and memory available now."""

    cpus: int
    memory: int  # bytes available

    @classmethod
    def here(cls) -> "Machine":
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        return cls(cpus=cpus, memory=_available_memory())


def _available_memory() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    pages, size = os.sysconf("SC_AVPHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    return pages * size


def replica_capacity(machine: Machine, ready_timeout: float) -> tuple[int, str]:
    """How many replicas this machine can plausibly start at once, and why that many.

    Two limits: replicas start in parallel and must all answer within the spec's
    ``app.ready_timeout``, so the CPUs can start about ``cpus * ready_timeout /
    START_CPU_SECONDS`` of them; and each holds ``REPLICA_MEMORY`` once started.
    """
    by_cpu = int(machine.cpus * ready_timeout / START_CPU_SECONDS)
    by_memory = int(machine.memory // REPLICA_MEMORY)
    if by_cpu <= by_memory:
        return by_cpu, (f"{machine.cpus} CPU(s) start about {machine.cpus / START_CPU_SECONDS:.1f} replicas a second "
                        f"(~{START_CPU_SECONDS:g} CPU-s each), and every replica must be ready within "
                        f"app.ready_timeout ({ready_timeout:g}s)")
    return by_memory, (f"{machine.memory / 2**30:.1f} GiB of memory available, ~{REPLICA_MEMORY // 2**20} MiB "
                       "per replica")


def check_replicas(replicas: int, parallel: int, ready_timeout: float, machine: Machine | None = None) -> None:
    """Refuse more replicas (times scenarios run at once) than the machine can start in time."""
    machine = machine or Machine.here()
    capacity, why = replica_capacity(machine, ready_timeout)
    wanted = replicas * parallel
    if wanted <= capacity:
        return
    at_once = f"--replicas {replicas} x --parallel {parallel} = {wanted} replicas" if parallel > 1 \
        else f"--replicas {replicas}"
    raise HarnessError(
        f"{at_once} at once is more than this machine can plausibly start: about {capacity} ({why}). "
        "Use fewer replicas (or fewer --parallel scenarios), or raise app.ready_timeout in the target spec "
        "if the app is known to start that many in time.")


_held: dict[int, Path] = {}  # claimed folders' lock descriptors, and their lock files


def claim_out(out: Path, flag: str = "--out") -> Path:
    """Make ``out`` this run's folder: new or empty, and locked until this process ends.

    A second run given the same folder is refused while the first one runs (flock(2),
    released by the kernel even if this process is killed), and a folder holding an
    earlier run is refused too: its stale histories would mix with this run's.
    """
    if out.exists() and not out.is_dir():
        raise HarnessError(f"{flag} {out}: is a file; expected a new or empty folder for the run's "
                           "histories and reports")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HarnessError(f"{flag} {out}: cannot create the folder ({exc.strerror})") from None
    lock = out / LOCK
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise HarnessError(f"{flag} {out}: another harness run (pid {owner}) is using this folder; "
                           "give each run its own --out") from None
    leftovers = sorted(p.name for p in out.iterdir() if p.name != LOCK)
    if leftovers:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        shown = ", ".join(leftovers[:3]) + (f" and {len(leftovers) - 3} more" if len(leftovers) > 3 else "")
        raise HarnessError(f"{flag} {out}: the folder is not empty ({shown}); expected a new or empty folder, "
                           "so no earlier run's histories mix with this one's. Name another folder or empty it.")
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    _held[fd] = lock
    atexit.register(_release, fd)
    return out


def claim_default_out(base: Path, tries: int = 20) -> Path:
    """The folder of a run given no ``--out``: ``base`` (``runs/<time>``), or ``base-2``, ``base-3``...
    when another run started in the same second holds it, so parallel CI jobs never refuse each other."""
    error: HarnessError | None = None
    for n in range(1, tries + 1):
        try:
            return claim_out(base if n == 1 else base.with_name(f"{base.name}-{n}"))
        except HarnessError as exc:  # in use, or an earlier run's: the next name
            error = exc
    assert error is not None
    raise error


def _release(fd: int) -> None:
    """Remove the lock file and unlock (a killed run leaves the file, unlocked: the next run takes it over)."""
    lock = _held.pop(fd, None)
    if lock is None:
        return  # released already
    lock.unlink(missing_ok=True)
    os.close(fd)


def release_all() -> None:
    """Release every folder this process claimed (tests; a process exit does it anyway)."""
    for fd in list(_held):
        _release(fd)
