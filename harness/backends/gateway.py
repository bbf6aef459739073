"""The gateway: the host's way to the replicas of a network it cannot reach.

A Swarm service's tasks live on an overlay network whose addresses the host cannot reach,
and a service's published ports bind every interface. So the harness reaches each replica
through a plain container of its own on that network (``harness-gateway``, built offline
like the other images, program in ``harness/dockerfiles/gateway.py``): one data port per
replica slot, published on 127.0.0.1 only, forwards each new connection to the task the
harness currently routes that slot to; a control port takes the routes, and probes whether
an address answers from inside the network (dependency readiness).

The container carries the run's labels with role ``gateway``, so the run's cleanup, the
reaper and ``harness sweep`` remove it like any other object of the run.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from harness import cleanup
from harness.errors import BackendError, DeploymentError

IMAGE = "harness-gateway:latest"
SLOTS = 8  # replica slots 1..SLOTS
MAX_SLOTS = 64  # the program's own bound (harness/dockerfiles/gateway.py)
ROLE = "gateway"
CONTROL_PORT = 8080  # in the container
DATA_BASE = 9000  # slot s listens on DATA_BASE + s in the container
READY_WITHIN = 10.0  # seconds for a started gateway to greet on its control port
ANSWER_TIMEOUT = 10.0  # seconds for an answer to a control line (a probe: plus its own timeout)
LINE_LIMIT = 1024


class Gateway:
    """One running gateway container and the harness's control connection to it."""

    def __init__(self, client: Any, network: str, name: str, labels: dict[str, str], slots: int = SLOTS) -> None:
        """Start the gateway container ``name`` on ``network`` (any Docker network the harness created,
        bridge or attachable overlay), control port and one data port per slot published on 127.0.0.1
        (random host ports); return once it greets on its control port.

        Raises ``DeploymentError`` when the image is missing (``harness images`` builds it), the container
        cannot start, or it does not greet within ``READY_WITHIN`` seconds (with its logs); nothing is
        left behind then.
        """
        import docker.errors

        if not 1 <= slots <= MAX_SLOTS:
            raise BackendError(f"a gateway has 1..{MAX_SLOTS} slots, not {slots}")
        self.client = client
        self.name = name
        self.slots = slots
        self.container: Any = None
        self._sock: socket.socket | None = None
        self._file: Any = None
        self._lock = threading.Lock()
        try:
            # no pull: containers.run would try a registry when the image is missing
            client.images.get(IMAGE)
        except docker.errors.ImageNotFound:
            raise DeploymentError(f"the gateway image {IMAGE} is missing: build it with `harness images`") from None
        ports: dict[str, tuple[str, None]] = {f"{CONTROL_PORT}/tcp": ("127.0.0.1", None)}
        ports.update({f"{DATA_BASE + s}/tcp": ("127.0.0.1", None) for s in range(1, slots + 1)})
        try:
            self.container = client.containers.create(
                IMAGE, command=[str(slots)], detach=True, name=name, network=network, ports=ports,
                labels={**labels, cleanup.LABEL_ROLE: ROLE, cleanup.LABEL_NAME: name},
            )
            self.container.start()
            self._ports = self._published()
            self._connect()
        except docker.errors.DockerException as exc:
            self.remove()
            raise DeploymentError(f"could not start the gateway {name} from {IMAGE} on network {network}: "
                                  f"{exc}") from None
        except BaseException:
            self.remove()
            raise

    def _published(self) -> dict[int, int]:
        """Host port of the control port (key 0) and of each slot, as the engine published them."""
        deadline = time.monotonic() + READY_WITHIN
        while True:
            self.container.reload()
            published = self.container.attrs["NetworkSettings"]["Ports"] or {}
            found: dict[int, int] = {}
            for key, inner in [(0, CONTROL_PORT), *((s, DATA_BASE + s) for s in range(1, self.slots + 1))]:
                for binding in published.get(f"{inner}/tcp") or []:
                    if binding.get("HostIp") in ("127.0.0.1", "") and binding.get("HostPort"):
                        found[key] = int(binding["HostPort"])
            if len(found) == self.slots + 1:
                return found
            if self.container.status not in ("created", "running") or time.monotonic() > deadline:
                raise DeploymentError(
                    f"the gateway {self.name} has not published its ports "
                    f"(status {self.container.status}, published {sorted(published)})", self._logs())
            time.sleep(0.05)

    def _logs(self) -> str:
        try:
            return self.container.logs(tail=20).decode(errors="replace")
        except Exception:  # noqa: BLE001 - the logs only explain an error raised already
            return ""

    def _connect(self) -> None:
        """Connect to the control port and read its greeting: docker-proxy accepts before the program
        listens, so only ``READY`` proves the connection reaches it."""
        self._disconnect()
        deadline = time.monotonic() + READY_WITHIN
        last = "no answer"
        while time.monotonic() < deadline:
            sock = None
            try:
                sock = socket.create_connection(("127.0.0.1", self._ports[0]), timeout=ANSWER_TIMEOUT)
                file = sock.makefile("rb")
                greeting = file.readline(LINE_LIMIT).decode(errors="replace").strip()
                if greeting == "READY":
                    self._sock, self._file = sock, file
                    return
                last = f"greeted {greeting!r}" if greeting else "the connection closed before the gateway greeted"
                file.close()
            except OSError as exc:
                last = f"{type(exc).__name__}: {exc}"
            if sock is not None:
                sock.close()
            self.container.reload()
            if self.container.status != "running":
                last = f"the container is {self.container.status}"
                break
            time.sleep(0.05)
        raise DeploymentError(f"the gateway {self.name} did not answer on its control port within "
                              f"{READY_WITHIN:.0f}s ({last})", self._logs())

    def _disconnect(self) -> None:
        for closable in (self._file, self._sock):
            if closable is not None:
                try:
                    closable.close()
                except OSError:
                    pass
        self._sock = self._file = None

    def _ask(self, line: str, timeout: float = ANSWER_TIMEOUT) -> str:
        """Send one control line and return the answer; the connection is made again once if it dropped."""
        import docker.errors

        with self._lock:
            if self.container is None:
                raise BackendError(f"the gateway {self.name} was removed")
            for _attempt in (1, 2):
                try:
                    if self._sock is None:
                        self._connect()
                    assert self._sock is not None
                    self._sock.settimeout(timeout)
                    self._sock.sendall(line.encode() + b"\n")
                    answer = self._file.readline(LINE_LIMIT).decode(errors="replace").strip()
                    if answer:
                        return answer
                    error = "the control connection closed"
                except OSError as exc:
                    error = f"{type(exc).__name__}: {exc}"
                except DeploymentError as exc:  # the connection could not be made again
                    error = str(exc).splitlines()[0]
                except docker.errors.DockerException as exc:  # the container is gone
                    error = f"{type(exc).__name__}: {exc}"
                self._disconnect()
            raise DeploymentError(f"the gateway {self.name} did not answer {line.split()[0]}: {error}", self._logs())

    def _expect_ok(self, line: str) -> None:
        answer = self._ask(line)
        if answer != "OK":
            raise BackendError(f"the gateway {self.name} refused {line!r}: {answer}")

    def _slot(self, slot: int) -> int:
        if not isinstance(slot, int) or not 1 <= slot <= self.slots:
            raise BackendError(f"the gateway {self.name} has slots 1..{self.slots}, not {slot!r}")
        return slot

    @staticmethod
    def _address(host: str, port: int) -> str:
        if not host or any(c.isspace() for c in host) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise BackendError(f"not an address on the network: host {host!r}, port {port!r}")
        return f"{host} {port}"

    def port(self, slot: int) -> int:
        """The 127.0.0.1 port of ``slot`` (1..slots)."""
        return self._ports[self._slot(slot)]

    def route(self, slot: int, host: str, port: int) -> None:
        """New connections to the slot go to host:port (an address on the network); the slot's open
        connections (to the old target) are closed."""
        self._expect_ok(f"ROUTE {self._slot(slot)} {self._address(host, port)}")

    def unroute(self, slot: int) -> None:
        """New connections to the slot are closed at once; its open ones are closed."""
        self._expect_ok(f"UNROUTE {self._slot(slot)}")

    def reaches(self, host: str, port: int, timeout: float = 0.5) -> bool:
        """Whether a TCP connect to host:port succeeds from inside the network (dependency readiness)."""
        if not 0 < timeout <= 30:
            raise BackendError(f"a probe's timeout is in (0, 30] seconds, not {timeout!r}")
        line = f"PROBE {self._address(host, port)} {timeout:g}"
        answer = self._ask(line, timeout=timeout + ANSWER_TIMEOUT)
        if answer not in ("OK", "NO"):
            raise BackendError(f"the gateway {self.name} refused {line!r}: {answer}")
        return answer == "OK"

    def remove(self) -> None:
        """Close the control connection and remove the container; idempotent."""
        import docker.errors

        with self._lock:
            self._disconnect()
            container, self.container = self.container, None
        if container is None:
            return
        try:
            container.remove(force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if exc.status_code != 409 or "already in progress" not in str(exc):
                raise BackendError(f"could not remove the gateway {self.name}: {exc}") from None
