"""Hand-written histories of the three causes of a loss, for the cause grouping and its reports."""

from __future__ import annotations

from harness.checkers import check_files, check_records, check_sessions
from harness.checkers.base import judge
from harness.history import History
from tests.unit.histories import OK, HistoryBuilder


def _login(b: HistoryBuilder, replica: str, user: str) -> str:
    token = f"tok-{user}-0123456789abcdef"
    b.op("login", replica, OK, {"user": user}, {"token": token, "user": user})
    return token


def _whoami(b: HistoryBuilder, replica: str, token: str, accepted: bool, phase: str = "main") -> None:
    b.op("whoami", replica, OK, {"token": token}, {"accepted": accepted, "user": None},
         status=200 if accepted else 401, phase=phase)


def crash_that_lost_nothing() -> History:
    """In-memory sessions per replica: every loss is a session read on the replica that never had it;
    the crashed replica still knows its own sessions afterwards (the app kept them on disk)."""
    b = HistoryBuilder("sessions")
    tokens = {r: _login(b, r, f"user-{r}") for r in ("app-0", "app-1")}
    _whoami(b, "app-1", tokens["app-0"], False)  # cross-replica, no fault in between: not shared
    b.fault("crash", "app-0")
    b.fault("crash", "app-0", heal=True)
    for reader in ("app-0", "app-1"):
        for writer, token in tokens.items():
            _whoami(b, reader, token, reader == writer, phase="final")
    return b.history


def redeploy_that_lost_everything() -> History:
    """Records and files kept in the container's writable layer: a redeploy of app-0 takes them all."""
    b = HistoryBuilder("records")
    for i in (1, 2):
        b.op("create", "app-0", OK, {"data": {"nonce": f"n-{i}"}}, {"id": f"r{i}", "version": 1})
    b.op("upload", "app-0", OK, {"size": 3, "sha256": "ab" * 32}, {"id": "f1", "sha256": "ab" * 32}, kind="files")
    b.op("read", "app-0", OK, {"id": "r1"}, {"found": True, "data": {"nonce": "n-1"}, "version": 1})
    b.fault("redeploy", "app-0")
    for i in (1, 2):
        b.op("read", "app-0", OK, {"id": f"r{i}"}, {"found": False}, phase="final")
    b.op("download", "app-0", OK, {"id": "f1"}, {"found": False}, kind="files", phase="final", status=404)
    return b.history


def dependency_restart_that_lost_writes() -> History:
    """Records in a shared store that a restart empties: lost on every replica, after a fault elsewhere."""
    b = HistoryBuilder("records")
    b.op("create", "app-0", OK, {"data": {"nonce": "n-1"}}, {"id": "r1", "version": 1})
    b.op("create", "app-1", OK, {"data": {"nonce": "n-2"}}, {"id": "r2", "version": 1})
    b.op("read", "app-1", OK, {"id": "r1"}, {"found": True, "data": {"nonce": "n-1"}, "version": 1})  # shared
    b.fault("dependency-restart", "postgres")
    for reader in ("app-0", "app-1"):
        for rid in ("r1", "r2"):
            b.op("read", reader, OK, {"id": rid}, {"found": False}, phase="final")
    return b.history


CHECKERS = (check_sessions, check_records, check_files)


def verdict_of(history: History):
    return judge(history, CHECKERS)
