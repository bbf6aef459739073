"""A process that outlives the harness only to kill what the harness started, when it dies.

The local backend's processes (replicas, the fork server, PostgreSQL and Redis servers,
locust) are children of the harness, but a child does not die with its parent: after a
SIGKILL of the harness they would run on, holding ports and memory, until someone ran
``harness sweep``. ``PR_SET_PDEATHSIG`` is not enough: it fires when the *thread* that
started the child ends (replicas are started by short-lived pool threads), it is not
inherited by the children's own children (PostgreSQL's backends), and a program may
reset it.

So the harness starts this watchdog once (``watch()``), in a session of its own (a Ctrl-C
or SIGHUP meant for the harness's terminal does not reach it), and keeps the write end
of a pipe to its stdin that no other process holds. It tells the watchdog, one line
each, what to clean up should it die:

- ``root PATH``: a local deployment's temporary root. Every process whose working
  directory lies under it (ours, and theirs: PostgreSQL's backends, forked replicas) is
  SIGKILLed and the folder removed. ``done PATH`` forgets it (closed normally).
- ``group PGID``: a process group to SIGKILL (locust); ``ungroup PGID`` forgets it.

The pipe closes when the harness ends, however it ends (the kernel closes a killed
process's descriptors): the watchdog then cleans up what is still registered (nothing,
after a normal exit) and exits. Run as a script (``python -I watchdog.py``): it imports
only the standard library, so it starts in a few tens of milliseconds.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

KILL_TIMEOUT = 5.0


def processes_under(root: str) -> list[int]:
    """Pids of every process whose working directory lies under ``root``."""
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for name in entries:
        if not name.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{name}/cwd")
        except OSError:
            continue
        if cwd == root or cwd.startswith(root + "/"):
            found.append(int(name))
    return found


def clean(roots: set[str], groups: set[int]) -> None:
    """SIGKILL every registered group and everything under every registered root, then remove the roots."""
    me = os.getpid()
    deadline = time.monotonic() + KILL_TIMEOUT
    while True:
        for pgid in groups:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        pids = [p for root in roots for p in processes_under(root) if p != me]
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if not pids or time.monotonic() > deadline:
            break
        time.sleep(0.05)  # a process may have forked meanwhile: look again
    for root in roots:
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    os.chdir("/")  # never inside a root it is about to remove
    roots: set[str] = set()
    groups: set[int] = set()
    for line in sys.stdin:
        verb, _, arg = line.rstrip("\n").partition(" ")
        if verb == "root" and arg:
            roots.add(arg)
        elif verb == "done":
            roots.discard(arg)
        elif verb == "group" and arg.isdigit():
            groups.add(int(arg))
        elif verb == "ungroup" and arg.isdigit():
            groups.discard(int(arg))
    clean(roots, groups)  # the harness is gone (or done): what it left registered goes
    return 0


# ---- the harness's side ----------------------------------------------------------

_lock = threading.Lock()
_proc: subprocess.Popen[str] | None = None
_owner = 0


def _tell(line: str) -> None:
    """Send one line to this process's watchdog, started on first use."""
    global _proc, _owner
    with _lock:
        if _proc is None or _owner != os.getpid() or _proc.poll() is not None:
            # stderr stays ours: a watchdog that failed would say so on the harness's console
            _proc = subprocess.Popen([sys.executable, "-I", str(Path(__file__).resolve())], stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, text=True, bufsize=1, start_new_session=True,
                                     close_fds=True, cwd="/")
            _owner = os.getpid()
        assert _proc.stdin is not None
        try:
            _proc.stdin.write(line + "\n")
            _proc.stdin.flush()
        except OSError:  # it died: the next line starts another
            _proc = None


def watch_root(root: Path | str) -> None:
    """Should this process die, kill everything under ``root`` and remove it."""
    _tell(f"root {root}")


def forget_root(root: Path | str) -> None:
    """``root`` was cleaned up normally: nothing to do for it any more."""
    _tell(f"done {root}")


def watch_group(pgid: int) -> None:
    """Should this process die, SIGKILL process group ``pgid``."""
    _tell(f"group {pgid}")


def forget_group(pgid: int) -> None:
    _tell(f"ungroup {pgid}")


if __name__ == "__main__":
    sys.exit(main())
