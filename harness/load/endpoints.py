"""The endpoints file: where each replica answers right now, for the locust processes.

A restarted container gets a new host port, and locust runs in other processes (and
possibly on other machines), so the harness publishes the replicas' addresses in a
small JSON file and rewrites it, atomically (write then rename), after every fault
step. A replica that is down is published as ``null``: users skip it instead of
hammering a closed port. Locust users re-read the file when it changes (a cheap
``stat``, at most every 0.2 s, and at once after a connection error); the locust
master forwards each new version to workers that cannot see the file.

Why a file and not a fixed port: a fixed port would need a proxy in front of each
replica, which is one more process on the request path, measured by the benchmark
and able to hide a reset or a refusal. The file keeps the path direct.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from harness.deployment import Deployment
from harness.errors import BackendError


def current(deployment: Deployment) -> dict[str, str | None]:
    """Replica -> base URL, or None for a replica that is not running."""
    found: dict[str, str | None] = {}
    for replica in deployment.replicas:
        try:
            found[replica] = deployment.endpoint(replica)
        except BackendError:
            found[replica] = None
    return found


def publish(deployment: Deployment, path: Path) -> dict[str, str | None]:
    """Write the current endpoints to ``path`` atomically; returns what was written."""
    endpoints = current(deployment)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"replicas": endpoints}))
    os.replace(tmp, path)
    return endpoints
