"""The reaper: removes a harness process's Docker objects once its connection drops.

Runs in the ``harness-reaper`` container, started by ``harness/reaper.py`` with the
engine's socket mounted in, and its port published on 127.0.0.1 only. The design is
testcontainers' Ryuk, which cannot be pulled here: a client connects over TCP, sends
one filter per line, ``label=io.harness.run=<run id>``, and gets ``ACK`` back for each;
when that connection closes, however its process ended (a SIGKILL included: the kernel
closes the socket), every Swarm service and config, then every container (forced, with
its anonymous volumes), network and volume carrying one of its labels is removed
(services first: while one exists, Swarm replaces its removed task containers; an
engine outside a swarm answers 503 for them, and is skipped). Unlike Ryuk, objects are
removed per connection, right away: each connection names only its own runs, so the runs of
another harness process still connected are never touched. Only ``io.harness.run``
filters with a value are accepted, so a stray line cannot name every harness object.

The reaper exits once its last connection is gone and its objects are removed, or when
no client connected within ``CONNECT_TIMEOUT`` seconds; the container is started with
``--rm``, so nothing of it stays. Standard library only.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import sys
import threading
import time
import urllib.parse

ENGINE = "/var/run/docker.sock"
PORT = 8080
CONNECT_TIMEOUT = 60.0
REMOVE_FOR = 30.0  # seconds to keep retrying (a network is busy until its containers are gone)
PREFIX = "label=io.harness.run="

_lock = threading.Lock()
_active = 0
_served = 0


class _Engine(http.client.HTTPConnection):
    """HTTP to the Docker engine over its unix socket."""

    def __init__(self) -> None:
        super().__init__("localhost", timeout=60)

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(60)
        sock.connect(ENGINE)
        self.sock = sock


def _api(method: str, path: str) -> tuple[int, object]:
    conn = _Engine()
    try:
        conn.request(method, path)
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(body) if body else None
    except ValueError:
        return response.status, body.decode(errors="replace")


def _remove(label: str) -> int:
    """One pass over the objects labelled ``label`` (``key=value``); returns how many are left."""
    query = urllib.parse.quote(json.dumps({"label": [label]}))
    left = 0
    for kind in ("services", "configs"):
        # 503 on an engine that is no swarm manager: it has none of either
        status, objects = _api("GET", f"/{kind}?filters={query}")
        if status == 503:
            break
        for obj in objects if isinstance(objects, list) else []:
            status, _ = _api("DELETE", f"/{kind}/{obj['ID']}")
            left += status not in (200, 204, 404)
    _, containers = _api("GET", f"/containers/json?all=1&filters={query}")
    for c in containers if isinstance(containers, list) else []:
        status, _ = _api("DELETE", f"/containers/{c['Id']}?force=1&v=1")
        left += status not in (204, 404)
    _, networks = _api("GET", f"/networks?filters={query}")
    for n in networks if isinstance(networks, list) else []:
        # refused (an overlay network: 400 "in use by task") until the tasks detach: the next pass
        status, _ = _api("DELETE", f"/networks/{n['Id']}")
        left += status not in (204, 404)
    _, volumes = _api("GET", f"/volumes?filters={query}")
    for v in (volumes or {}).get("Volumes") or [] if isinstance(volumes, dict) else []:
        status, _ = _api("DELETE", f"/volumes/{urllib.parse.quote(v['Name'])}?force=1")
        left += status not in (204, 404)
    return left


def prune(labels: list[str]) -> None:
    deadline = time.monotonic() + REMOVE_FOR
    pending = list(labels)
    while pending and time.monotonic() < deadline:
        pending = [label for label in pending if _remove(label)]
        if pending:
            time.sleep(0.2)
    print(f"reaper: removed the objects of {len(labels) - len(pending)} run(s)"
          + (f"; could not remove all of {pending}" if pending else ""), flush=True)


def serve(conn: socket.socket) -> None:
    """Read filters until the client goes, then remove what they name."""
    global _active
    labels: list[str] = []
    try:
        conn.sendall(b"READY\n")
        with conn.makefile("rb") as lines:
            for raw in lines:
                line = raw.decode(errors="replace").strip()
                if line.startswith(PREFIX) and len(line) > len(PREFIX) and "&" not in line:
                    labels.append(line[len("label="):])
                    conn.sendall(b"ACK\n")
                elif line:
                    conn.sendall(b"ERR expected label=io.harness.run=<run id>\n")
    except OSError:
        pass  # a reset is a drop like any other
    finally:
        conn.close()
        try:
            prune(labels)
        finally:
            with _lock:
                _active -= 1
                last = _active == 0
            if last:
                print("reaper: no client left, exiting", flush=True)
                sys.stdout.flush()
                os._exit(0)


def main() -> None:
    global _active, _served
    server = socket.create_server(("0.0.0.0", PORT))
    server.settimeout(CONNECT_TIMEOUT)
    print(f"reaper: listening on {PORT}", flush=True)
    while True:
        try:
            conn, _ = server.accept()
        except socket.timeout:
            with _lock:
                if _served == 0:
                    print("reaper: no client connected, exiting", flush=True)
                    return
            continue
        conn.settimeout(None)
        with _lock:
            _active += 1
            _served += 1
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
