"""Nothing is left behind: labels on everything, removal by run, a sweep of dead runs.

Every container, network and volume carries ``io.harness.run`` (the deployment's run id),
the owning process id and host; so do the Swarm services (and configs) of the swarm
backend, whose task containers carry them too. A deployment removes its own run on exit; an
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
    """Remove every service and config, then every container, then every network and volume, of
    one run; returns how many objects went.

    Services go first: removing one stops its tasks, and while it exists Swarm would replace a
    task container removed under it. Networks and volumes go last: Docker refuses to remove one
    that a container still uses. Another remover may be at work on the same run at the same time
    (the reaper of a killed harness, a second sweep), and Swarm itself removes the task containers
    of a removed service: a container already being removed is left to its remover, and networks
    and volumes are retried, for at most ``wait`` seconds, until those containers are gone.
    """
    selector = {"label": f"{LABEL_RUN}={run_id}"}
    removed = 0
    for obj in _swarm_objects(client, selector):
        removed += _remove(obj.remove)
    for container in client.containers.list(all=True, filters=selector, ignore_removed=True):
        removed += _remove(lambda: container.remove(force=True, v=True))
    deadline = time.monotonic() + wait
    overlay = False
    for network in client.networks.list(filters=selector):
        removed += _remove_once_unused(network, deadline)
        overlay |= network.attrs.get("Scope") == "swarm"
    # An overlay network goes from the swarm at once, and from this engine's list a moment later
    # (0.2 s here): waited for, so that nothing of the run is listed once this returns.
    while overlay and time.monotonic() < deadline and client.networks.list(filters=selector):
        time.sleep(0.05)
    for volume in client.volumes.list(filters=selector):
        removed += _remove_once_unused(volume, deadline)
    return removed


def _remove_once_unused(obj: Any, deadline: float) -> int:
    """``_remove`` a network or volume, retried until ``deadline`` while a container still uses it."""
    import docker.errors

    while True:
        try:
            return _remove(obj.remove)
        except docker.errors.APIError as exc:
            if not _in_use(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _swarm_objects(client: Any, selector: dict[str, Any]) -> list[Any]:
    """The services, then the configs, matching ``selector``; none when the engine is no swarm manager.

    One list call per kind, and a single one on an engine outside a swarm (the common case of the
    docker and local backends): the engine answers 503 ("This node is not a swarm manager"), and a
    node that cannot hold services holds no configs either.
    """
    import docker.errors

    try:
        services = client.services.list(filters=selector)
    except docker.errors.APIError as exc:
        if exc.status_code == 503:
            return []
        raise
    return [*services, *client.configs.list(filters=selector)]


def _in_use(exc: Any) -> bool:
    """Whether Docker refused a removal because a container, or a Swarm task, still uses the object.

    A local network answers 403 "has active endpoints"; a volume 409 "volume is in use"; an overlay
    network 400 "rpc error: code = FailedPrecondition desc = network ... is in use by task ..." (or
    "... by service ...") while the tasks of a removed service, or a removed container's attachment,
    still detach.
    """
    if exc.status_code in (403, 409):
        return True
    return exc.status_code == 400 and "in use by" in str(exc.explanation or exc)


def _remove(remove: Any) -> int:
    """1 when ``remove()`` removed the object; 0 when it is gone already or another remover has it."""
    import docker.errors

    try:
        remove()
        return 1
    except docker.errors.NotFound:
        return 0
    except docker.errors.APIError as exc:
        explanation = str(exc.explanation or exc)
        if exc.status_code == 409 and "in progress" in explanation:
            return 0
        # an overlay network the swarm removed, still listed by this engine a moment longer
        if exc.status_code == 500 and "not found" in explanation:
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

    A run is known by any of its objects: a service, config, container, network or volume.
    Runs of live processes are left alone: another harness may be using them.
    """
    runs: dict[str, dict[str, str]] = {}
    for obj in [*_swarm_objects(client, {"label": LABEL_RUN}),
                *client.containers.list(all=True, filters={"label": LABEL_RUN}, ignore_removed=True),
                *client.networks.list(filters={"label": LABEL_RUN}),
                *client.volumes.list(filters={"label": LABEL_RUN})]:
        # a network's or volume's labels are at the top, a container's under Config, a service's
        # and a config's under Spec
        obj_labels = (obj.attrs.get("Labels") or obj.attrs.get("Config", {}).get("Labels")
                      or obj.attrs.get("Spec", {}).get("Labels") or {})
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
