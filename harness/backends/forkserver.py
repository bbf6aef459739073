"""A process that imports a Python app's libraries once and forks every replica from itself.

A Python web app spends most of its start-up importing its framework and drivers
(the reference app: ~0.75 s of CPU, fastapi, uvicorn, psycopg, redis). Started as N
independent processes on a machine with fewer cores than N, the imports queue up for
the CPU and N replicas take N/cores times as long as one. Forked from a process that
has already imported them, each replica only pays for its own module and its server.

Run by the local backend as ``python -m harness.backends.forkserver MODULE...`` when a
spec lists ``app.process.preload``. It imports the modules, says ``{"ready": true}`` on
stdout, then reads one JSON request per line on stdin (``argv`` after the interpreter:
``-m module ...``, ``-c code ...`` or ``script ...``;
``cwd``, ``env``, ``log``) and answers ``{"pid": N}``. The child starts a session of its
own (a process group the harness signals as a whole), takes the working directory, the
environment (``PYTHONPATH`` put on ``sys.path``, as a fresh interpreter would) and the
log file, and then runs ``-m module`` or the script as ``__main__``: the app's own
modules are imported fresh in each replica, so no replica inherits another's state.
Only the preloaded libraries are shared, and those must not read per-replica settings
when imported.

This process reaps its children and writes each exit status to ``<exits>/<pid>``
(``HARNESS_FORK_EXITS``), where the harness, which is not their parent, reads it. It
waits in a ``select`` over its stdin and a pipe that ``signal.set_wakeup_fd`` writes to
on every SIGCHLD, and reaps after every wake-up: an exit is written as soon as it
happens, whatever the fork server was doing at the time.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import runpy
import select
import signal
import sys
import traceback
from typing import Any

EXITS_ENV = "HARNESS_FORK_EXITS"


def _reap(exits: str) -> None:
    """Write the exit status of every child that ended, then reap it.

    The status is read without reaping (``WNOWAIT``) and written first: while the file
    is missing the pid still exists (a zombie), so the harness never sees a replica
    that is gone with no status.

    Called from the main loop only, never from a signal handler: a Python handler runs
    between bytecodes, so a SIGCHLD that lands just before the loop blocks in a read
    would wait for the next request to be handled (and a handler that reaps can nest
    inside itself and reap a child twice).
    """
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if info is None or info.si_pid == 0:
            return
        code = info.si_status if info.si_code == os.CLD_EXITED else -info.si_status
        path = os.path.join(exits, str(info.si_pid))
        with open(path + ".tmp", "w") as fh:
            fh.write(str(code))
        os.replace(path + ".tmp", path)
        os.waitpid(info.si_pid, 0)


def _drain(fd: int) -> None:
    """Empty the non-blocking wake-up pipe."""
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def _run_child(request: dict[str, Any]) -> None:
    """In the forked child: become the replica. Never returns."""
    code = 1
    try:
        os.setsid()
        signal.set_wakeup_fd(-1)  # the fork server's pipe: closed below, and its number may be reused
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, set())  # a replica starts with no signal blocked
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.chdir(request["cwd"])
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # the log copies, the fork server's answer pipe
        sys.stdin = open(0, closefd=False)
        sys.stdout = open(1, "w", buffering=1, closefd=False)
        sys.stderr = open(2, "w", buffering=1, closefd=False)
        os.environ.clear()
        os.environ.update(request["env"])
        paths = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
        argv = list(request["argv"])
        if argv[0] == "-m":
            sys.path[:0] = [os.getcwd(), *paths]
            sys.argv = [argv[1], *argv[2:]]
            runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
        elif argv[0] == "-c":
            sys.path[:0] = ["", *paths]
            sys.argv = ["-c", *argv[2:]]
            exec(compile(argv[1], "<string>", "exec"), {"__name__": "__main__"})  # noqa: S102 - the spec's command
        else:
            sys.path[:0] = [os.path.dirname(os.path.abspath(argv[0])), *paths]
            sys.argv = argv
            runpy.run_path(argv[0], run_name="__main__")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - the replica's crash, into its log
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        os._exit(code)


def main(modules: list[str]) -> int:
    exits = os.environ[EXITS_ENV]
    # Answers go to a private copy of stdout; whatever else writes to stdout (a chatty import)
    # goes to the log, so it can never be mistaken for an answer.
    answers = open(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    for module in modules:
        importlib.import_module(module)
    # What is preloaded lives as long as the replicas: out of the collector's sight, a collection in
    # a replica does not touch (and copy, page by page) the memory it shares with this process.
    gc.collect()
    gc.freeze()
    # A SIGCHLD only wakes the loop: the C-level handler writes to this pipe at the moment of the
    # signal, so an exit just before the loop blocks still makes the select below return at once.
    wake_r, wake_w = os.pipe()
    for fd in (wake_r, wake_w):
        os.set_blocking(fd, False)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the harness stops this process, not a Ctrl-C on its terminal
    answers.write(json.dumps({"ready": True}) + "\n")
    answers.flush()
    pending = b""
    while True:
        _reap(exits)
        readable, _, _ = select.select([0, wake_r], [], [])
        if wake_r in readable:
            _drain(wake_r)
        if 0 not in readable:
            continue
        chunk = os.read(0, 65536)
        if not chunk:
            return 0  # the harness closed our stdin
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in filter(None, lines):
            pid = os.fork()
            if pid == 0:
                _run_child(json.loads(line))
            answers.write(json.dumps({"pid": pid}) + "\n")
            answers.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
