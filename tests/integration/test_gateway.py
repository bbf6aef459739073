"""The gateway (harness/backends/gateway.py) against real containers: slots routed, re-routed and unrouted.

Two small HTTP servers (the gateway image's own python3, each answering with its name) run on a
network of the test's own; the host reaches them only through the gateway's 127.0.0.1 ports.
"""

from __future__ import annotations

import socket
import time
import uuid
from typing import Any, Iterator

import httpx
import pytest

from harness import cleanup
from harness.backends import gateway as gateway_module
from harness.backends.gateway import IMAGE, Gateway
from harness.errors import BackendError, DeploymentError

pytestmark = pytest.mark.docker

#: answers GET with its NAME (keep-alive); POST reads the body to the end of the stream, so it answers
#: only once the client half-closed: "NAME <bytes read>"
SERVER = """
import http.server, os
NAME = os.environ["NAME"]
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms wait between them
    def reply(self, text):
        body = text.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        self.reply(NAME)
    def do_POST(self):
        data = self.rfile.read()
        self.close_connection = True
        self.reply(f"{NAME} {len(data)}")
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
"""


def _leftovers(client: Any, run_id: str) -> list[str]:
    label = f"{cleanup.LABEL_RUN}={run_id}"
    found = [c.name for c in client.containers.list(all=True, filters={"label": label}, ignore_removed=True)]
    return found + [n.name for n in client.networks.list(filters={"label": label})]


def _server(client: Any, network: str, name: str, run_id: str) -> Any:
    return client.containers.run(IMAGE, entrypoint=["python3", "-I", "-u", "-c", SERVER], environment={"NAME": name},
                                 detach=True, name=name, network=network, labels=cleanup.labels(run_id))


def _wait_reachable(gateway: Gateway, host: str, port: int) -> None:
    deadline = time.monotonic() + 15
    while not gateway.reaches(host, port):
        assert time.monotonic() < deadline, f"{host}:{port} never answered inside the network"
        time.sleep(0.1)


def _remove_network(client: Any, network: Any) -> None:
    """Removed once its last container has detached; an overlay network stays listed a moment after."""
    import docker.errors

    deadline = time.monotonic() + 15
    while True:
        try:
            network.remove()
            break
        except docker.errors.NotFound:
            break
        except docker.errors.APIError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    while client.networks.list(ids=[network.id]) and time.monotonic() < deadline:
        time.sleep(0.05)


def _get(gateway: Gateway, slot: int) -> str:
    """One request on a new connection through the slot's 127.0.0.1 port."""
    return httpx.get(f"http://127.0.0.1:{gateway.port(slot)}/", timeout=5).text


def _answered(sock: socket.socket, name: str) -> bool:
    """Whether a keep-alive GET's answer on ``sock`` comes from the server ``name`` (its headers and
    body may arrive in separate segments)."""
    sock.settimeout(5)
    answer = b""
    while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < len(name):
        chunk = sock.recv(1024)
        if not chunk:
            break
        answer += chunk
    return answer.startswith(b"HTTP/1.1 200") and answer.endswith(name.encode())


def _closed(sock: socket.socket) -> bool:
    """Whether the peer closed the connection (an end-of-file or a reset) within 5 s."""
    sock.settimeout(5)
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


@pytest.fixture
def bridge(docker_engine: Any, images: None) -> Iterator[tuple[Any, str, list[str]]]:
    """A bridge network of the test's own with two servers on it: (client, run id, their names).
    Afterwards nothing of the run may be left."""
    client = docker_engine
    run_id = f"gw-{uuid.uuid4().hex[:10]}"
    names = [f"harness-{run_id}-a", f"harness-{run_id}-b"]
    network = client.networks.create(f"harness-{run_id}", driver="bridge", labels=cleanup.labels(run_id))
    servers = []
    try:
        servers = [_server(client, network.name, name, run_id) for name in names]
        yield client, run_id, names
    finally:
        for server in servers:
            server.remove(force=True)
        _remove_network(client, network)
    assert _leftovers(client, run_id) == []


def test_slots_are_routed_rerouted_and_unrouted(bridge: tuple[Any, str, list[str]]) -> None:
    client, run_id, (a, b) = bridge
    gateway = Gateway(client, f"harness-{run_id}", f"harness-{run_id}-gateway", cleanup.labels(run_id), slots=2)
    try:
        container = client.containers.get(f"harness-{run_id}-gateway")
        assert container.labels[cleanup.LABEL_ROLE] == "gateway"
        assert container.labels[cleanup.LABEL_RUN] == run_id
        for binding in container.attrs["NetworkSettings"]["Ports"].values():
            assert {b["HostIp"] for b in binding} == {"127.0.0.1"}  # never on the host's other interfaces
        assert len({gateway.port(1), gateway.port(2)}) == 2

        # probes from inside the network: a listening port, a closed one, a name nobody has
        _wait_reachable(gateway, a, 8000)
        _wait_reachable(gateway, b, 8000)
        assert gateway.reaches(a, 8001) is False
        assert gateway.reaches(f"harness-{run_id}-nobody", 8000) is False

        # each slot reaches its own target; an unrouted slot closes new connections at once
        with pytest.raises(httpx.TransportError):
            _get(gateway, 1)
        gateway.route(1, a, 8000)
        gateway.route(2, b, 8000)
        assert [_get(gateway, 1), _get(gateway, 2), _get(gateway, 1)] == [a, b, a]

        # an open connection to the old target is closed by a re-route; new ones reach the new target
        held = socket.create_connection(("127.0.0.1", gateway.port(1)), timeout=5)
        try:
            held.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            assert _answered(held, a)  # kept alive, through the gateway to a
            gateway.route(1, b, 8000)
            assert _closed(held)
        finally:
            held.close()
        assert [_get(gateway, 1), _get(gateway, 2)] == [b, b]

        # both ways with half-close: the server answers only after the client's end-of-file reached it,
        # a body far larger than any buffer on the way
        with socket.create_connection(("127.0.0.1", gateway.port(2)), timeout=10) as sock:
            body = b"x" * 4_000_000
            sock.sendall(b"POST / HTTP/1.1\r\nHost: b\r\n\r\n" + body)
            sock.shutdown(socket.SHUT_WR)
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        assert answer.startswith(b"HTTP/1.") and answer.endswith(f"{b} {len(body)}".encode())

        # a target that refuses closes the client's connection
        gateway.route(2, a, 8001)
        with socket.create_connection(("127.0.0.1", gateway.port(2)), timeout=5) as sock:
            assert _closed(sock)

        # unroute: new connections closed at once, open ones closed too
        held = socket.create_connection(("127.0.0.1", gateway.port(1)), timeout=5)
        try:
            held.sendall(b"GET / HTTP/1.1\r\nHost: b\r\n\r\n")
            assert _answered(held, b)
            gateway.unroute(1)
            assert _closed(held)
        finally:
            held.close()
        with pytest.raises(httpx.TransportError):
            _get(gateway, 1)

        # slots outside 1..slots, and what is not an address, are refused before anything is sent
        for bad in (0, 3, -1):
            with pytest.raises(BackendError, match=r"slots 1\.\.2"):
                gateway.port(bad)
            with pytest.raises(BackendError, match=r"slots 1\.\.2"):
                gateway.route(bad, a, 8000)
            with pytest.raises(BackendError, match=r"slots 1\.\.2"):
                gateway.unroute(bad)
        with pytest.raises(BackendError, match="not an address"):
            gateway.route(1, "two words", 8000)
        with pytest.raises(BackendError, match="not an address"):
            gateway.reaches(a, 70000)

        # a dropped control connection is made again, once
        gateway._sock.shutdown(socket.SHUT_RDWR)  # noqa: SLF001 - as if the connection had dropped
        gateway.route(1, a, 8000)
        assert _get(gateway, 1) == a
    finally:
        gateway.remove()
        gateway.remove()  # idempotent
    assert [n for n in _leftovers(client, run_id) if "gateway" in n] == []
    with pytest.raises(BackendError, match="removed"):
        gateway.route(1, a, 8000)


def test_a_gateway_on_an_attachable_overlay_network(docker_engine: Any, images: None) -> None:
    """The swarm backend's case: the host cannot reach the overlay network's addresses, the gateway can."""
    client = docker_engine
    run_id = f"gw-{uuid.uuid4().hex[:10]}"
    network = client.networks.create(f"harness-{run_id}", driver="overlay", attachable=True,
                                     labels=cleanup.labels(run_id))
    server = gateway = None
    try:
        server = _server(client, network.name, f"harness-{run_id}-a", run_id)
        gateway = Gateway(client, network.name, f"harness-{run_id}-gateway", cleanup.labels(run_id))
        _wait_reachable(gateway, server.name, 8000)
        gateway.route(gateway_module.SLOTS, server.name, 8000)
        assert _get(gateway, gateway_module.SLOTS) == server.name
        with pytest.raises(httpx.TransportError):
            _get(gateway, 1)  # unrouted
    finally:
        if gateway is not None:
            gateway.remove()
        if server is not None:
            server.remove(force=True)
        _remove_network(client, network)
    assert _leftovers(client, run_id) == []


def test_a_gateway_that_cannot_start_leaves_nothing(docker_engine: Any, images: None,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    client = docker_engine
    run_id = f"gw-{uuid.uuid4().hex[:10]}"
    labels = cleanup.labels(run_id)
    name = f"harness-{run_id}-gateway"
    with pytest.raises(DeploymentError, match=f"on network harness-{run_id}-nowhere: .*not found"):
        Gateway(client, f"harness-{run_id}-nowhere", name, labels)
    assert _leftovers(client, run_id) == []
    with pytest.raises(BackendError, match="1..64 slots"):
        Gateway(client, f"harness-{run_id}-nowhere", name, labels, slots=0)
    monkeypatch.setattr(gateway_module, "IMAGE", "harness-gateway-missing:latest")
    with pytest.raises(DeploymentError, match="harness-gateway-missing:latest is missing: build it with `harness images`"):
        Gateway(client, f"harness-{run_id}-nowhere", name, labels)
    monkeypatch.undo()

    # nothing greets on the port the harness takes for the control port (docker-proxy accepts there all
    # the same): no answer in time, and the error carries the program's logs
    network = client.networks.create(f"harness-{run_id}", driver="bridge", labels=labels)
    try:
        monkeypatch.setattr(gateway_module, "CONTROL_PORT", 8081)
        monkeypatch.setattr(gateway_module, "READY_WITHIN", 1.0)
        with pytest.raises(DeploymentError, match=r"(?s)did not answer on its control port.*gateway: control on 8080"):
            Gateway(client, network.name, name, labels, slots=1)
        assert [n for n in _leftovers(client, run_id) if n != network.name] == []
    finally:
        _remove_network(client, network)
    assert _leftovers(client, run_id) == []
