"""Nothing is left behind: labels on everything, removal by run, a sweep of dead runs.

Every container, network and volume carries ``io.harness.run`` (the deployment's run id),
the owning process id and host. A deployment removes its own run on exit; an
``atexit`` hook removes runs still registered when the interpreter ends (Ctrl-C,
an error outside a ``with``); ``sweep`` removes runs whose owning process is gone
(a killed harness), on this host only. Nothing without our label is ever touched.
"""

from __future__ import annotations

import atexit
import os
import socket
import threading
import time
from typing import Any

LABEL_RUN = "io.harness.run"
LABEL_PID = "io.harness.pid"
LABEL_HOST = "io.harness.host"
LABEL_ROLE = "io.harness.role"
LABEL_NAME = "io.harness.name"

_live: dict[str, Any] = {}
_lock = threading.Lock()


def labels(run_id: str) -> dict[str, str]:
    return {LABEL_RUN: run_id, LABEL_PID: str(os.getpid()), LABEL_HOST: socket.gethostname()}


def register(client: Any, run_id: str) -> None:
    with _lock:
        _live[run_id] = client


def unregister(run_id: str) -> None:
    with _lock:
        _live.pop(run_id, None)


def remove_run(client: Any, run_id: str, wait: float = 10.0) -> int:
    """Remove every container, then every network and volume, of one run; returns how many objects went.

    Networks and volumes go last: Docker refuses to remove one that a container still uses.
    Another remover may be at work on the same run at the same time (the reaper of a killed
    harness, a second sweep): a container it is already removing is left to it, and networks
    and volumes are retried, for at most ``wait`` seconds, until its containers are gone.
    """
    import docker.errors

    selector = {"label": f"{LABEL_RUN}={run_id}"}
    removed = 0
    for container in client.containers.list(all=True, filters=selector, ignore_removed=True):
        removed += _remove(lambda: container.remove(force=True, v=True))
    deadline = time.monotonic() + wait
    for kind in (client.networks, client.volumes):
        for obj in kind.list(filters=selector):
            while True:
                try:
                    removed += _remove(obj.remove)
                    break
                except docker.errors.APIError as exc:
                    # in use (a network: 403 "has active endpoints"; a volume: 409) by a container
                    # another remover is still removing
                    if exc.status_code not in (403, 409) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
    return removed


def _remove(remove: Any) -> int:
    """1 when ``remove()`` removed the object; 0 when it is gone already or another remover has it."""
    import docker.errors

    try:
        remove()
        return 1
    except docker.errors.NotFound:
        return 0
    except docker.errors.APIError as exc:
        if exc.status_code == 409 and "in progress" in str(exc.explanation or exc):
            return 0
        raise


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(client: Any) -> list[str]:
    """Remove the runs of harness processes on this host that no longer exist.

    Runs of live processes are left alone: another harness may be using them.
    """
    runs: dict[str, dict[str, str]] = {}
    for obj in [*client.containers.list(all=True, filters={"label": LABEL_RUN}, ignore_removed=True),
                *client.networks.list(filters={"label": LABEL_RUN}),
                *client.volumes.list(filters={"label": LABEL_RUN})]:
        obj_labels = obj.attrs.get("Labels") or obj.attrs.get("Config", {}).get("Labels") or {}
        runs.setdefault(obj_labels.get(LABEL_RUN, ""), obj_labels)
    swept = []
    for run_id, run_labels in runs.items():
        if not run_id or run_labels.get(LABEL_HOST) != socket.gethostname():
            continue
        if not pid_alive(int(run_labels.get(LABEL_PID, "0") or 0)):
            remove_run(client, run_id)
            swept.append(run_id)
    return swept


@atexit.register
def _remove_live_runs() -> None:
    with _lock:
        live = list(_live.items())
    for run_id, client in live:
        try:
            remove_run(client, run_id)
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            pass
