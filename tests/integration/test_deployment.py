"""The Docker backend's fault verbs on real containers: addresses stay right, faults are recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from harness.backends.docker import DockerDeployment
from harness.errors import BackendError
from harness.spec import load_spec

from .conftest import labelled

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.docker


@pytest.fixture
def deployment(images: None, docker_engine: Any):
    with DockerDeployment(load_spec(ROOT / "targets" / "refapp" / "durable.yaml"), replicas=2) as d:
        yield d
    assert not [n for n in labelled(docker_engine) if d.run_id in n]


def login(deployment: DockerDeployment, replica: str) -> str:
    response = httpx.post(deployment.endpoint(replica) + "/sessions/login", json={"user": "u"})
    response.raise_for_status()
    return response.json()["token"]


def accepted(deployment: DockerDeployment, replica: str, token: str) -> bool:
    response = httpx.get(deployment.endpoint(replica) + "/sessions/whoami",
                         headers={"Authorization": f"Bearer {token}"})
    return response.status_code == 200


def test_fault_verbs_keep_endpoints_right_and_are_recorded(deployment: DockerDeployment, docker_engine: Any) -> None:
    token = login(deployment, "app-0")
    port_before = deployment.endpoint("app-0")

    deployment.crash("app-0")
    with pytest.raises(BackendError, match="not running"):
        deployment.endpoint("app-0")
    deployment.start("app-0")
    assert deployment.endpoint("app-0") != port_before  # a restarted container gets a new host port
    assert accepted(deployment, "app-0", token)

    deployment.restart("app-1")
    deployment.redeploy("app-1")
    assert accepted(deployment, "app-1", token)

    deployment.scale(3)
    assert deployment.replicas == ["app-0", "app-1", "app-2"]
    assert accepted(deployment, "app-2", token)
    deployment.scale(1)
    assert deployment.replicas == ["app-0"]
    assert len(docker_engine.containers.list(filters={"label": f"io.harness.run={deployment.run_id}"})) == 3

    deployment.pause("app-0")
    with pytest.raises(httpx.TimeoutException):
        httpx.get(deployment.endpoint("app-0") + "/healthz", timeout=0.5)
    deployment.resume("app-0")

    deployment.stop_dependency("postgres")
    assert httpx.get(deployment.endpoint("app-0") + "/readyz", timeout=10).status_code == 503
    deployment.start_dependency("postgres")
    deployment.restart_dependency("redis")
    deployment.wait_ready("app-0")
    assert accepted(deployment, "app-0", token)

    faults = [(f.label, f.target) for f in deployment.history.faults()]
    assert faults == [("crash", "app-0"), ("crash heal", "app-0"), ("graceful-restart", "app-1"),
                      ("redeploy", "app-1"), ("scale", "3"), ("scale", "1"), ("pause", "app-0"),
                      ("pause heal", "app-0"), ("dependency-outage", "postgres"),
                      ("dependency-outage heal", "postgres"), ("dependency-restart", "redis")]
    assert all(f.end >= f.start for f in deployment.history.faults())
    # each graceful stop says how it ended: the reference app exits on SIGTERM, well within stop_timeout
    restart, redeploy, _, scale_in = deployment.history.faults()[2:6]
    for event in (restart, redeploy):
        assert event.detail.startswith("exited on SIGTERM after ") and "came back on 127.0.0.1:" in event.detail
    assert "app-2: exited on SIGTERM after " in scale_in.detail and "app-1: exited on SIGTERM" in scale_in.detail


def test_ports_are_published_on_loopback_only(deployment: DockerDeployment, docker_engine: Any) -> None:
    for container in docker_engine.containers.list(filters={"label": f"io.harness.run={deployment.run_id}"}):
        for bindings in (container.attrs["NetworkSettings"]["Ports"] or {}).values():
            for binding in bindings or []:
                assert binding["HostIp"] == "127.0.0.1", (container.name, binding)


def test_unknown_dependency_is_a_clear_error(deployment: DockerDeployment) -> None:
    with pytest.raises(BackendError, match="has no dependency 'mysql'.*postgres, redis"):
        deployment.restart_dependency("mysql")
