"""The network-cut fault on real containers: the replicas lose the dependency, then get it back.

Unlike a dependency outage, the dependency keeps running: only the path from the
replicas to it is cut. A DB-backed write must fail loudly (5xx) while it is cut, and
work again right after the heal, without restarting anything.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.backends.docker import DockerDeployment
from harness.spec import load_spec

from .conftest import labelled

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.docker

#: The refapp bounds every storage wait by DB_TIMEOUT (2 s); a cut must answer well within this.
ANSWER_TIMEOUT = 15.0
#: After the heal the replicas must be writing again within this (measured: the first write answers).
RECOVERY_TIMEOUT = 10.0


@pytest.fixture
def deployment(images: None, docker_engine: Any):
    with DockerDeployment(load_spec(ROOT / "targets" / "refapp" / "durable.yaml"), replicas=2) as d:
        yield d
    assert not [n for n in labelled(docker_engine) if d.run_id in n]


def create_record(deployment: DockerDeployment, replica: str, data: dict[str, Any]) -> httpx.Response:
    return httpx.post(deployment.endpoint(replica) + "/records", json={"data": data}, timeout=ANSWER_TIMEOUT)


def recovers(deployment: DockerDeployment, replica: str, attempt: Any) -> float:
    """Seconds until ``attempt(replica)`` answers 2xx; fails with the last answer after RECOVERY_TIMEOUT."""
    start = time.monotonic()
    while True:
        response = attempt(replica)
        if response.is_success:
            return time.monotonic() - start
        assert time.monotonic() - start < RECOVERY_TIMEOUT, (
            f"{replica} still answers {response.status_code} {response.text[:200]} "
            f"{RECOVERY_TIMEOUT:.0f}s after the heal\n{deployment.logs(replica)}")
        time.sleep(0.1)


def test_network_cut_fails_writes_loudly_and_heals(deployment: DockerDeployment, docker_engine: Any) -> None:
    before = create_record(deployment, "app-0", {"n": 0})
    assert before.status_code == 201, before.text
    postgres = docker_engine.containers.get(f"harness-{deployment.run_id}-postgres")

    deployment.cut_network("postgres")
    postgres.reload()
    assert postgres.status == "running"  # the database still runs: only the path to it is gone
    assert deployment._network.name not in postgres.attrs["NetworkSettings"]["Networks"]
    during = create_record(deployment, "app-0", {"n": 1})
    assert during.status_code >= 500, f"write during the cut answered {during.status_code}: {during.text}"
    assert httpx.get(deployment.endpoint("app-1") + "/readyz", timeout=ANSWER_TIMEOUT).status_code == 503

    deployment.heal_network("postgres")
    postgres.reload()
    assert deployment._network.name in postgres.attrs["NetworkSettings"]["Networks"]
    for replica in deployment.replicas:  # both: one had its pool broken by the failed write, one only idled
        recovers(deployment, replica, lambda r: create_record(deployment, r, {"n": 2, "on": r}))
    record = before.json()["id"]
    assert httpx.get(deployment.endpoint("app-1") + f"/records/{record}").json()["data"] == {"n": 0}

    deployment.cut_network("redis")
    limited = httpx.get(deployment.endpoint("app-0") + "/limited/cut", timeout=ANSWER_TIMEOUT)
    assert limited.status_code >= 500, f"rate-limited request during the redis cut answered {limited.status_code}"
    deployment.heal_network("redis")
    recovers(deployment, "app-0", lambda r: httpx.get(deployment.endpoint(r) + "/limited/cut", timeout=ANSWER_TIMEOUT))

    faults = [(f.label, f.target) for f in deployment.history.faults()]
    assert faults == [("network-cut", "postgres"), ("network-cut heal", "postgres"),
                      ("network-cut", "redis"), ("network-cut heal", "redis")]
    assert all(f.end >= f.start and not f.detail for f in deployment.history.faults())


def test_heal_without_a_cut_and_a_repeated_cut_are_no_ops(deployment: DockerDeployment) -> None:
    deployment.heal_network("postgres")
    deployment.cut_network("postgres")
    deployment.cut_network("postgres")
    deployment.heal_network("postgres")
    recovers(deployment, "app-0", lambda r: create_record(deployment, r, {"n": 3}))
    assert [f.label for f in deployment.history.faults()] == ["network-cut heal", "network-cut", "network-cut",
                                                              "network-cut heal"]
