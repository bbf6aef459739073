"""Dependencies reused between deployments, on both backends: the same containers or server processes,
no data carried over, faulted ones replaced, nothing left after the pool closes."""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest

from harness.backends import DependencyPool, docker_kind, local_kind
from harness.backends.local_servers import postgres_bindir, redis_server
from harness.history import History
from harness.spec import load_spec

from .conftest import REFAPP, labelled


def _ids(deployment: Any) -> dict[str, str]:
    """Which postgres and redis the deployment uses: container ids (docker) or server pids (local)."""
    if hasattr(deployment, "container"):
        return {name: deployment.container(name).id for name in ("postgres", "redis")}
    return {name: str(deployment._dependency(name).process.pid) for name in ("postgres", "redis")}


def _write(deployment: Any) -> tuple[str, str]:
    """A record (postgres) and a session (redis) written through the app."""
    base = deployment.endpoint(deployment.replicas[0])
    record = httpx.post(f"{base}/records", json={"data": {"n": 1}}, timeout=10).json()["id"]
    token = httpx.post(f"{base}/sessions/login", json={"user": "u"}, timeout=10).json()["token"]
    return record, token


def _seen(deployment: Any, record: str, token: str) -> tuple[int, int]:
    base = deployment.endpoint(deployment.replicas[0])
    return (httpx.get(f"{base}/records/{record}", timeout=10).status_code,
            httpx.get(f"{base}/sessions/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code)


@pytest.mark.parametrize("backend", [pytest.param("docker", marks=pytest.mark.docker),
                                     pytest.param("local", marks=pytest.mark.local)])
def test_reused_dependencies_are_wiped_and_faulted_ones_replaced(backend: str, request: pytest.FixtureRequest) -> None:
    from tests.integration.test_local_backend import children, roots

    if backend == "docker":
        request.getfixturevalue("images")
        engine = request.getfixturevalue("docker_engine")
    elif postgres_bindir() is None or redis_server() is None:
        pytest.skip("the local pool shares postgres and redis servers; neither is installed here")
    spec = load_spec(REFAPP / "durable.yaml")
    pool = DependencyPool(docker_kind(), client=engine) if backend == "docker" else DependencyPool(local_kind())
    try:
        with pool.deployer(spec, 1, History()) as first:
            ids = _ids(first)
            record, token = _write(first)
            assert _seen(first, record, token) == (200, 200)
        with pool.deployer(spec, 1, History()) as second:
            assert _ids(second) == ids, "the second deployment did not reuse the dependencies"
            assert _seen(second, record, token) == (404, 401), "data of the first deployment was still there"
            record, token = _write(second)
            second.restart_dependency("postgres")
        with pool.deployer(spec, 1, History()) as third:
            fresh = _ids(third)
            assert fresh["postgres"] != ids["postgres"] and fresh["redis"] != ids["redis"], \
                "a faulted dependency was reused"
            assert _seen(third, record, token) == (404, 401)
        assert (pool.started, pool.reused) == (2, 1)
        with pool.deployer(spec, 1, History()) as fourth, pool.deployer(spec, 1, History()) as fifth:
            assert _ids(fourth) == fresh and _ids(fifth)["postgres"] != fresh["postgres"], \
                "two live deployments shared one postgres"
    finally:
        pool.close()
    if backend == "docker":
        # this process's, not another harness's on the engine; this process's reaper lives as long as it does
        assert [n for n in labelled(engine, os.getpid()) if not n.startswith("harness-reaper-")] == []
    else:
        assert children() == [] and roots() == []
