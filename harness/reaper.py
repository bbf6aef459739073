"""The harness's side of the reaper: Docker objects go when the harness process goes, however.

A deployment removes its own containers and network when it ends, an exit hook those
still open; neither runs when the harness is SIGKILLed (the OOM killer, a CI runner
out of patience, ``kill -9``). The reaper covers that case without a sweep: a small
container (``harness-reaper``, built offline like the other images, program in
``harness/dockerfiles/reaper.py``) that the harness process starts once and stays
connected to over TCP. Before a deployment creates anything, its run id is sent as
``label=io.harness.run=<id>`` and acknowledged; when the connection drops, because
the process ended in any way, the reaper removes every service (swarm backend),
container, network and volume of the runs this connection named, then exits
(``--rm``: it leaves nothing of itself). This is the design of testcontainers' Ryuk,
which cannot be pulled here.

The reaper's port is published on 127.0.0.1 only. It carries the harness's labels with
role ``reaper`` and a run id of its own, so ``harness sweep`` removes it too, should it
outlive its process. Each harness process (each pytest-xdist worker) has its own
connection and its own reaper, so one process's end never touches another's runs.

At a normal exit the connection is closed first and the reaper is waited for (a
second at most), so the process leaves nothing behind when it returns.
"""

from __future__ import annotations

import atexit
import logging
import os
import socket
import threading
import time
import uuid
from typing import Any

from harness import cleanup
from harness.errors import DeploymentError

log = logging.getLogger(__name__)

IMAGE = "harness-reaper:latest"
PORT = 8080
ROLE = "reaper"
CONNECT_FOR = 10.0   # seconds to reach a freshly started reaper
ANSWER_TIMEOUT = 10.0
EXIT_WAIT = 3.0      # at a normal exit, how long the reaper is given to leave by itself


def _engine_socket() -> str:
    """The engine's unix socket (``DOCKER_HOST`` or the default), mounted into the reaper."""
    host = os.environ.get("DOCKER_HOST", "")
    return host.removeprefix("unix://") if host.startswith("unix://") else "/var/run/docker.sock"


class Reaper:
    """One running reaper container and this process's connection to it."""

    def __init__(self, client: Any) -> None:
        import docker.errors

        self.client = client
        self.run_id = f"reaper-{uuid.uuid4().hex[:10]}"
        self.labels = {**cleanup.labels(self.run_id), cleanup.LABEL_ROLE: ROLE}
        try:
            self.container = client.containers.run(
                IMAGE, detach=True, auto_remove=True, name=f"harness-{self.run_id}", labels=self.labels,
                ports={f"{PORT}/tcp": ("127.0.0.1", None)},
                volumes={_engine_socket(): {"bind": "/var/run/docker.sock", "mode": "rw"}},
            )
        except docker.errors.ImageNotFound:
            raise DeploymentError(f"the reaper image {IMAGE} is missing: build it with `harness images`") from None
        except docker.errors.DockerException as exc:
            raise DeploymentError(f"could not start the reaper from {IMAGE}: {exc}") from None
        self._lock = threading.Lock()
        try:
            self.sock = self._connect()
        except BaseException:
            self._remove()
            raise

    def _port(self) -> int | None:
        self.container.reload()
        for binding in (self.container.attrs["NetworkSettings"]["Ports"] or {}).get(f"{PORT}/tcp") or []:
            if binding.get("HostPort"):
                return int(binding["HostPort"])
        return None

    def _connect(self) -> socket.socket:
        """Connect and read its greeting: docker-proxy accepts before the reaper listens, so
        only ``READY`` proves the connection reaches it."""
        deadline = time.monotonic() + CONNECT_FOR
        last = "no port published yet"
        while time.monotonic() < deadline:
            port = self._port()
            if port is not None:
                sock = None
                try:
                    sock = socket.create_connection(("127.0.0.1", port), timeout=ANSWER_TIMEOUT)
                    if self._line(sock) == "READY":
                        return sock
                    last = "the connection closed before the reaper greeted"
                except OSError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                if sock is not None:
                    sock.close()
            time.sleep(0.05)
        raise DeploymentError(f"the reaper did not answer within {CONNECT_FOR:.0f}s ({last})",
                              self.container.logs(tail=20).decode(errors="replace"))

    @staticmethod
    def _line(sock: socket.socket) -> str:
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(1)
            if not chunk:
                break
            data += chunk
        return data.decode(errors="replace").strip()

    def watch(self, run_id: str) -> None:
        """Have the reaper remove run ``run_id``'s objects when this process's connection drops."""
        with self._lock:
            self.sock.sendall(f"label={cleanup.LABEL_RUN}={run_id}\n".encode())
            answer = self._line(self.sock)
        if answer != "ACK":
            raise DeploymentError(f"the reaper refused run {run_id}: {answer or 'connection closed'}")

    def close(self) -> None:
        """Drop the connection (the reaper removes what is left of our runs, then exits) and wait
        for it to go; remove it if it lingers."""
        try:
            self.sock.close()
        except OSError:
            pass
        deadline = time.monotonic() + EXIT_WAIT
        while time.monotonic() < deadline:
            # ignore_removed: a container the reaper removes while the list is read is gone, not an error
            if not self.client.containers.list(all=True, filters={"label": f"{cleanup.LABEL_RUN}={self.run_id}"},
                                               ignore_removed=True):
                return
            time.sleep(0.05)
        self._remove()

    def _remove(self) -> None:
        try:
            self.container.remove(force=True)
        except Exception:  # noqa: BLE001 - gone already, or the engine is gone
            pass


_lock = threading.Lock()
_reaper: Reaper | None = None
_owner = 0


def watch(client: Any, run_id: str) -> None:
    """Start this process's reaper if needed and have it watch run ``run_id``.

    Called by a deployment before it creates anything. Raises ``DeploymentError`` when the
    reaper cannot be started (its image missing: ``harness images`` builds it).
    """
    global _reaper, _owner
    with _lock:
        if _reaper is None or _owner != os.getpid():
            _reaper = Reaper(client)
            _owner = os.getpid()
            atexit.register(_close)
        reaper = _reaper
    reaper.watch(run_id)


def release() -> None:
    """Let this process's reaper go once nothing of ours runs any more (``harness run``'s end).

    Runs still open are removed first, by this process; then the connection is closed and
    the reaper is waited for. Also an exit hook, for every other user of the backend.
    """
    _close()


def _close() -> None:
    """At a normal exit. Registered after ``cleanup``'s exit hook, so it runs before it: the runs
    still open are removed here first, by this process, then the reaper is let go."""
    global _reaper
    with _lock:
        reaper, _reaper = _reaper, None
    if reaper is not None and _owner == os.getpid():
        try:
            cleanup._remove_live_runs()  # noqa: SLF001 - runs still open go first, by us, not by the reaper
        except Exception:  # noqa: BLE001
            pass
        reaper.close()
