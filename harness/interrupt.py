"""One way to stop a run: SIGINT, SIGTERM and SIGHUP all interrupt it the same way, fast.

A CI supervisor stops a job with SIGTERM and a grace of a few seconds (``docker stop``:
10 s); a closed terminal or a lost SSH session sends SIGHUP; a user presses Ctrl-C.
Each of them must leave the same thing behind: every deployment removed, the reports
of the scenarios that finished, marked interrupted, and exit status 130.

``install()`` turns the first of these signals into ``KeyboardInterrupt`` in the main
thread, so every ``with`` and ``finally`` on the way up runs (the deployments' teardown
among them), and sets ``stopping``, which the threads that wait (replicas and
dependencies getting ready) poll in short steps: they give up within a poll, rather
than holding the teardown for the whole ``ready_timeout``. Later signals are only
noted: a second Ctrl-C must not break off the teardown the first one started.

While the reports are written (``shielded()``) a signal is noted and not raised, so a
report is never left half written; the run then ends as interrupted all the same.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

#: what ``harness run`` exits with when a signal stopped it (128 + SIGINT, as shells report Ctrl-C)
EXIT_INTERRUPTED = 130
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

#: set by the first signal: threads that wait check it and stop waiting
stopping = threading.Event()
_received: list[str] = []
_shield = 0


class Interrupted(KeyboardInterrupt):
    """Raised by a wait that gave up because the run is stopping (a ``KeyboardInterrupt``, so
    ``except Exception`` cannot swallow it)."""


def received() -> str | None:
    """The name of the first signal that stopped this run (``SIGTERM``), or None."""
    return _received[0] if _received else None


def _handle(signum: int, frame: object) -> None:
    name = signal.Signals(signum).name
    first = not _received
    _received.append(name)
    stopping.set()
    if first and not _shield:
        raise KeyboardInterrupt(f"interrupted by {name}")


def install() -> None:
    """Handle SIGINT, SIGTERM and SIGHUP as described above (main thread only; else a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in SIGNALS:
        if signal.getsignal(sig) is not _handle:
            signal.signal(sig, _handle)


def note(name: str) -> None:
    """Record an interrupt that arrived some other way (pytest's own Ctrl-C handling)."""
    if not _received:
        _received.append(name)
    stopping.set()


def check(doing: str = "") -> None:
    """Raise ``Interrupted`` when the run is stopping: called by loops that wait, between polls."""
    if stopping.is_set():
        raise Interrupted(f"interrupted by {received() or 'a signal'}" + (f" while {doing}" if doing else ""))


@contextmanager
def shielded() -> Iterator[None]:
    """Defer signals (noted, not raised) while the block runs: for writing the reports."""
    global _shield
    _shield += 1
    try:
        yield
    finally:
        _shield -= 1


def reset() -> None:
    """Forget a past interrupt (tests that run several sessions in one process)."""
    stopping.clear()
    _received.clear()
