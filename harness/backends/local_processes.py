"""Processes of the local backend: a child process group, the fork-server client, free ports.

Every process the local backend starts (a replica, a server, the fork server) is the
leader of its own process group, so a fault's signal reaches its children too. Replicas
whose spec preloads modules (``app.process.preload``) are forked by one fork server per
deployment (``harness.backends.forkserver``) instead, which writes their exit status
where ``ForkedProcess`` reads it. Whatever still runs under a deployment's root when it
closes is found by working directory and killed (``kill_under``), as the watchdog does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from harness import interrupt
from harness.backends import watchdog
from harness.cleanup import pid_alive
from harness.deployment import POLL_INTERVAL
from harness.errors import DeploymentError
from harness.ports import free_port  # re-exported: the local backend's modules take it from here


def tail(path: Path, lines: int) -> str:
    """The last ``lines`` of a log (read from its last 64 KiB), or why it cannot be read: error evidence."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode(errors="replace")
    except OSError as exc:
        return f"(log {path} unavailable: {exc})"
    return "\n".join(text.rstrip().splitlines()[-lines:])


class Process:
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

    def stop(self, sig: int, timeout: float) -> bool:
        """``sig`` to the group (woken up if paused), SIGKILL after ``timeout``; reaped either way.

        True when the leader was still running ``timeout`` seconds after ``sig`` and was killed
        (it ignored the signal): a graceful stop that was a kill, which the fault event reports.
        """
        if self.exit_status() is not None:
            self.kill()  # already gone: whatever it left in its group goes too
            return False
        self.signal(sig)
        self.signal(signal.SIGCONT)
        if self.wait(timeout):
            self.signal(signal.SIGKILL)  # anything the leader left in its group
            return False
        self.kill()
        return True

    def kill(self) -> None:
        """SIGKILL the group and reap the leader."""
        self.signal(signal.SIGKILL)
        self.wait(10)


class ForkedProcess(Process):
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


class ForkServer:
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
                                  tail(self.log, 30))
        return json.loads(line)

    def spawn(self, argv: list[str], cwd: Path, env: dict[str, str], log_path: Path) -> ForkedProcess:
        """Fork a replica running ``argv`` (after the interpreter: ``-m module ...`` or a script)."""
        request = json.dumps({"argv": argv, "cwd": str(cwd), "env": env, "log": str(log_path)})
        with self._lock:
            assert self.proc.stdin is not None
            try:
                self.proc.stdin.write(request + "\n")
                self.proc.stdin.flush()
            except OSError as exc:
                raise DeploymentError(f"the fork server is gone ({exc})", tail(self.log, 30)) from None
            pid = int(self._answer(30.0, f"forking {' '.join(argv)}")["pid"])
        return ForkedProcess(pid, argv, log_path, self.exits)

    def close(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait(10)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


def processes_under(root: Path) -> list[int]:
    """Pids of every process whose working directory lies under ``root`` (ours and their children):
    the watchdog's own scan, so the harness and its watchdog agree on what a run owns."""
    return watchdog.processes_under(str(root))


def kill_under(root: Path, timeout: float = 5.0) -> list[int]:
    """SIGKILL whatever still runs under ``root``, and wait (bounded) until it is gone."""
    pids = [p for p in processes_under(root) if p != os.getpid()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.monotonic() + timeout
    while pids and time.monotonic() < deadline and processes_under(root):
        time.sleep(0.02)
    return pids


__all__ = ["ForkServer", "ForkedProcess", "Process", "free_port", "kill_under", "processes_under", "tail"]
